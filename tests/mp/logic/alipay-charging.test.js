'use strict'
// The Alipay mini-program's charging journey against the real stack (tests/mp/stack.py): a scanned QR code
// reaches App.onLaunch → the connector page → Alipay login → cap → 开始充电 → sandbox pay → live samples on
// the charging page → stop → the settled order; a relaunch while charging resumes it; a cancelled payment.
const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const { startStack } = require('../helpers/stack')
const { createHarness } = require('../helpers/mp-harness')

let stack

before(async () => {
  stack = await startStack({ loginCodes: 10 })
})

after(async () => {
  if (stack) await stack.stop()
})

const ORDER = 'query($id: ID!) { order(id: $id) { id status paidFen costFen dueFen refundFen sessionId method capFen } }'

function yuan(fen) {
  return `¥${Math.floor(fen / 100)}.${String(fen % 100).padStart(2, '0')}`
}

function tokenOf(h) {
  const saved = h.storage.get('chargeops.token')
  return saved && saved.token
}

function bodies(h, operation) {
  return h.calls.request
    .filter((r) => typeof r.data === 'string' && r.data.includes(operation))
    .map((r) => Object.assign({ status: r.status, response: r.response }, JSON.parse(r.data)))
}

// how many session samples the charging page has received over its sockets
function samplesReceived(h) {
  return h.calls.socket.reduce((n, s) => n + s.received.filter((m) => String(m).includes('SessionSampleRecorded')).length, 0)
}

async function startFromConnector(h, page, capFen) {
  await page.tap('onSelectCap', { fen: capFen })
  await page.tap('onStart')
  await h.waitFor(() => h.currentPage().route === 'pages/charging/index', 15000, 'the charging page')
  return h.currentPage()
}

async function stopAndSettle(h, page) {
  await page.tap('onStop')
  await h.waitFor(() => page.data.summary && page.data.order.status === 'SETTLED', 40000, 'the settled summary')
  await h.settle()
  return page
}

test('QR launch → connector → Alipay login → ¥30 cap → sandbox pay → live samples → stop → paid / used / refunded', async () => {
  const h = createHarness({ platform: 'alipay', stack, quiet: true })
  try {
    // given: the app is started by scanning the pile's QR code (cold start on the home page)
    const url = stack.qrUrls['DEMO-0001/1']
    await h.launchApp({ query: { qrCode: url } })
    await h.waitFor(() => h.currentPage().route === 'pages/connector/index' && h.currentPage().data.connector, 10000, 'the connector page')
    let page = h.currentPage()

    // then: the connector the code names, with its price now
    assert.deepEqual(h.calls.navigate.map((n) => [n.kind, n.url, n.from]), [['navigateTo', '/pages/connector/index', 'pages/map/index']])
    assert.equal(bodies(h, 'ScannedConnector')[0].variables.scanned, url)
    assert.equal(page.data.connector.chargePointId, 'DEMO-0001')
    assert.equal(page.data.connector.connectorNo, 1)
    assert.equal(page.data.connector.stationName, '西湖文化广场充电站')
    assert.equal(page.data.connector.statusLabel, '空闲')
    await h.settle()
    assert.match(page.data.tariff.priceNow, /^\d+\.\d{4} 元\/kWh$/)
    assert.equal(page.data.methodLabel, '沙箱支付')
    assert.equal(page.data.loggedIn, false)

    // when: the driver logs in with Alipay
    await page.tap('onLogin')
    await h.settle()

    // then: my.getAuthCode (auth_base) → loginWithAlipay with that code → token stored, wallet shown
    assert.equal(h.calls.login.length, 1)
    assert.deepEqual(h.calls.login[0].scopes, 'auth_base')
    const login = bodies(h, 'LoginWithAlipay')[0]
    assert.equal(login.variables.authCode, h.calls.login[0].code)
    assert.ok(tokenOf(h))
    assert.equal(page.data.loggedIn, true)
    assert.match(page.data.walletHint, /^可用余额 ¥\d+\.\d{2}$/)

    // when: ¥30 and 开始充电
    page = await startFromConnector(h, page, 3000)

    // then: the sandbox asked for a confirmation and its payUrl was POSTed; the order is the active one
    assert.deepEqual(h.calls.modal[0], { title: '沙箱支付', content: '演示环境的模拟支付，不会产生真实扣款。确认支付？' })
    const started = bodies(h, 'StartCharging')[0]
    assert.deepEqual(started.variables, { chargePointId: 'DEMO-0001', connectorNo: 1, method: 'SANDBOX', capFen: 3000 })
    const payPost = h.calls.request.find((r) => r.finalUrl.includes('/sandbox/pay/'))
    assert.equal(payPost.method, 'POST')
    assert.equal(payPost.status, 200)
    const orderId = started.response.data.startCharging.order.id
    assert.equal(h.calls.navigate.pop().url, `/pages/charging/index?orderId=${orderId}`)
    assert.deepEqual(h.storage.get('chargeops.activeOrder').id, String(orderId))

    // when: the pile starts and sends samples
    await h.waitFor(() => page.data.order.status === 'CHARGING' && page.data.live.power !== '--', 20000, 'live power')
    await h.waitFor(() => samplesReceived(h) >= 3 && page.points.POWER_W.length >= 2, 20000, 'three samples')

    // then: live values, cost against the cap, the chart drawn on the canvas, a ticking clock
    assert.match(page.data.live.power, /^\d+\.\d kW$/)
    assert.match(page.data.live.voltage, /^\d+\.\d V$/)
    assert.match(page.data.live.current, /^\d+\.\d A$/)
    assert.match(page.data.live.soc, /^\d+%$/)
    assert.match(page.data.live.energy, /^\d+\.\d{2} kWh$/)
    assert.equal(page.data.order.cap, '¥30.00')
    assert.equal(page.data.order.stoppable, true)
    assert.equal(page.data.phaseLabel, '充电') // a DC pile reports its phase
    const canvas = h.canvases.trend
    assert.ok(canvas.calls.some((c) => c[0] === 'lineTo'), 'the trend is drawn')
    assert.ok(canvas.calls.some((c) => c[0] === 'fillText' && c[1] === '功率(kW)'))
    const elapsed = page.data.elapsed
    await h.waitFor(() => page.data.elapsed !== elapsed, 3000, 'the clock ticks')
    const sockets = h.calls.socket.map((s) => s.protocols)
    assert.deepEqual(sockets[0], ['graphql-transport-ws'])

    // when: 停止充电
    await stopAndSettle(h, page)

    // then: the summary is the server's settled order; the active order is forgotten, the sockets closed
    const server = (await stack.graphql(ORDER, { id: orderId }, tokenOf(h))).order
    assert.equal(server.status, 'SETTLED')
    assert.equal(server.paidFen, 3000)
    assert.ok(server.dueFen > 0 && server.dueFen < 3000, `due ${server.dueFen}`)
    assert.equal(server.refundFen, server.paidFen - server.dueFen)
    assert.equal(page.data.summary.title, '充电完成')
    assert.equal(page.data.summary.paid, '¥30.00')
    assert.equal(page.data.summary.used, yuan(server.dueFen))
    assert.equal(page.data.summary.refunded, yuan(server.refundFen))
    assert.match(page.data.summary.energy, /^\d+\.\d{2} kWh$/)
    assert.equal(h.storage.get('chargeops.activeOrder'), undefined)
    assert.ok(bodies(h, 'StopCharging').length === 1)
    await h.waitFor(() => h.calls.socket.every((s) => s.closed), 5000, 'subscriptions closed')
    assert.deepEqual(h.errors, [])
  } finally {
    await h.close()
  }
})

test('relaunched while charging: the home page resumes the order, the charging page shows the whole curve', async () => {
  const h = createHarness({ platform: 'alipay', stack, quiet: true })
  try {
    // given: a charge under way (the connector page opened by the scheme with an encoded qrCode; login on start)
    await h.launchApp({ path: 'pages/connector/index', query: { qrCode: encodeURIComponent(stack.qrUrls['DEMO-0002/1']) } })
    await h.waitFor(() => h.currentPage().data.connector, 10000, 'the connector')
    let page = await startFromConnector(h, h.currentPage(), 5000)
    assert.equal(h.calls.login.length, 1, '开始充电 logged in first')
    const orderId = page.orderId
    await h.waitFor(() => page.points.POWER_W.length >= 3, 25000, 'three points')

    // when: the app is closed and opened again from the home screen
    await h.relaunch()

    // then: the home page goes to the charging page of the stored order, which loads the history first
    await h.waitFor(() => h.currentPage().route === 'pages/charging/index' && h.currentPage().historyLoaded, 10000, 'resumed')
    page = h.currentPage()
    assert.equal(h.calls.navigate.pop().url, `/pages/charging/index?orderId=${orderId}`)
    assert.ok(page.points.POWER_W.length >= 2, `history points: ${page.points.POWER_W.length}`)
    assert.notEqual(page.data.live.power, '--')
    await h.waitFor(() => h.canvases.trend.calls.some((c) => c[0] === 'lineTo'), 5000, 'the curve drawn')

    // when: opened again straight on the charging page, without an order id
    await h.relaunch({ path: 'pages/charging/index' })
    await h.waitFor(() => h.currentPage().historyLoaded, 10000, 'resumed from storage')
    page = h.currentPage()

    // then: the stored order, live again
    assert.equal(page.data.orderId, String(orderId))
    const before = samplesReceived(h)
    await h.waitFor(() => samplesReceived(h) > before, 20000, 'live after the resume')

    // cleanup: stop, and the summary clears the stored order
    await stopAndSettle(h, page)
    assert.equal(h.storage.get('chargeops.activeOrder'), undefined)
  } finally {
    await h.close()
  }
})

test('a cancelled sandbox payment: no charge, the driver stays on the connector page', async () => {
  const h = createHarness({ platform: 'alipay', stack, quiet: true })
  try {
    // given
    await h.launchApp({ path: 'pages/connector/index', query: { qrCode: stack.qrUrls['DEMO-0002/2'] } })
    await h.waitFor(() => h.currentPage().data.connector, 10000, 'the connector')
    const page = h.currentPage()
    await page.tap('onLogin')
    h.settings.confirm = false

    // when
    await page.tap('onStart')
    await h.settle()

    // then
    assert.equal(h.currentPage().route, 'pages/connector/index')
    assert.ok(h.calls.toast.includes('已取消支付'), JSON.stringify(h.calls.toast))
    assert.equal(h.calls.request.filter((r) => r.finalUrl.includes('/sandbox/pay/')).length, 0)
    const orderId = bodies(h, 'StartCharging')[0].response.data.startCharging.order.id
    const server = (await stack.graphql(ORDER, { id: orderId }, tokenOf(h))).order
    assert.ok(['CREATED', 'CANCELLED'].includes(server.status), server.status)
    assert.equal(h.storage.get('chargeops.activeOrder'), undefined)
    assert.equal(page.data.starting, false)
  } finally {
    await h.close()
  }
})
