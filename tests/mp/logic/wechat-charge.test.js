'use strict'
// The WeChat mini-program's own JS (app.js, pages, core/) under the logic harness against the REAL server
// stack: a whole charge from the QR scan to the settled order, with the app closed and reopened mid-charge.
//   QR entry (query.q, url-encoded {url}/q/{code}) → connector page → wx.login → cap → 开始充电 → sandbox pay
//   (confirm, POST payUrl) → charging page → samples over the subscription (fields, chart) → relaunch →
//   the charging page resumes the stored order → 停止充电 → final order with paid / used / refunded.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const { startStack } = require('../helpers/stack.js')
const { createHarness } = require('../helpers/mp-harness.js')

const yuanToFen = (label) => {
  const match = /^¥(\d+)\.(\d{2})$/.exec(label)
  assert.ok(match, `a yuan label: ${label}`)
  return Number(match[1]) * 100 + Number(match[2])
}

test('a whole charge on the WeChat mini-program', { timeout: 180000 }, async (t) => {
  const stack = await startStack()
  const h = createHarness({ platform: 'wechat', stack })
  t.after(async () => {
    await h.close()
    await stack.stop()
  })
  const qrUrl = 'https://chargeops.example.cn/q/' + stack.codes['DEMO-0001/1']
  let orderId
  let pointsBeforeRelaunch

  await t.test('QR entry opens the connector page with the demo connector', async () => {
    const launch = { path: 'pages/connector/index', query: { q: encodeURIComponent(qrUrl), scancode_time: String(Math.floor(Date.now() / 1000)) } }
    await h.launchApp(Object.assign({ openPage: false }, launch))
    assert.equal(h.app().globalData.launchQr, qrUrl, 'App.onLaunch read the QR from options.query.q')
    const page = await h.openPage(launch.path, launch.query)
    await h.waitFor(() => page.data.connector && !page.data.loading, 15000, 'the connector')
    const c = page.data.connector
    assert.deepEqual([c.chargePointId, c.connectorNo, c.stationName, c.kindText, c.statusText, c.canCharge],
      ['DEMO-0001', 1, '西湖文化广场充电站', '国标直流', '空闲', true])
    assert.match(page.data.priceNow, /元\/kWh/)
    assert.equal(page.data.providerText, '沙箱支付', 'no WeChat Pay on the stack: the sandbox is offered')
    assert.equal(page.data.loggedIn, false)
    const scanned = h.calls.request.find((r) => r.data && String(r.data).includes('ScannedConnector'))
    assert.equal(JSON.parse(scanned.data).variables.scanned, qrUrl)
    assert.ok(scanned.finalUrl.startsWith(stack.url + '/graphql'), 'the apiBase was rewritten to the stack')
  })

  await t.test('login with the wx.login code', async () => {
    const page = h.currentPage()
    await page.tap('onLogin')
    await h.waitFor(() => page.data.loggedIn && page.data.balanceText, 10000, 'login and the wallet balance')
    assert.equal(h.calls.login.length, 1)
    assert.equal(page.data.balanceText, '¥50.00', 'the demo driver has 50.00 of play money')
    assert.equal(typeof h.storage.get('chargeops.token').token, 'string')
    assert.ok(h.calls.toast.includes('已登录：演示车主'))
  })

  await t.test('choose ¥30, 开始充电, pay in the sandbox, land on the charging page', async () => {
    const page = h.currentPage()
    await page.tap('onSelectCap', { fen: 3000 })
    assert.equal(page.data.capLabel, '¥30.00')
    await page.tap('onStart')
    await h.waitFor(() => h.currentPage().route === 'pages/charging/index', 15000, 'the charging page')
    const start = h.calls.request.find((r) => r.data && String(r.data).includes('StartCharging'))
    assert.deepEqual(JSON.parse(start.data).variables, { chargePointId: 'DEMO-0001', connectorNo: 1, method: 'SANDBOX', capFen: 3000 })
    assert.ok(h.calls.modal.some((m) => m.title === '沙箱支付'), 'the sandbox payment was confirmed')
    const pay = h.calls.request.find((r) => /\/sandbox\/pay\//.test(r.finalUrl))
    assert.equal(pay.method, 'POST')
    assert.equal(pay.status, 200)
    assert.equal(h.calls.pay.length, 0, 'no wx.requestPayment for the sandbox')
    orderId = h.currentPage().options.orderId
    assert.ok(orderId)
    assert.equal(h.storage.get('chargeops.activeOrder').id, orderId)
  })

  await t.test('live samples arrive over the subscription: fields and the chart update', async () => {
    const page = h.currentPage()
    await h.waitFor(() => page.data.chart.powerPoints >= 3 && page.data.power !== '--' && page.data.energy !== '--' && page.data.soc !== '--', 45000, 'samples')
    assert.match(page.data.power, /^\d+\.\d kW$/)
    assert.match(page.data.energy, /^\d+\.\d\d kWh$/)
    assert.match(page.data.soc, /^\d+%$/)
    assert.match(page.data.voltage, /^\d+\.\d V$/)
    assert.equal(page.data.statusText, '充电中')
    assert.match(page.data.elapsed, /^\d\d:\d\d:\d\d$/)
    // the socket: connection_init with the token, subscribe to the order and then the session
    const socket = h.calls.socket[h.calls.socket.length - 1]
    assert.deepEqual(socket.protocols, ['graphql-transport-ws'])
    const sent = socket.sent.map((s) => JSON.parse(s))
    assert.equal(sent[0].type, 'connection_init')
    assert.match(sent[0].payload.authorization, /^Bearer .+/)
    const operations = sent.filter((m) => m.type === 'subscribe').map((m) => /subscription (\w+)/.exec(m.payload.query)[1])
    assert.ok(operations.includes('OrderUpdates') && operations.includes('SessionUpdates'), operations.join())
    assert.ok(socket.received.some((m) => m.includes('SessionSampleRecorded')))
    // the chart was drawn on the canvas: a polyline per series
    const calls = h.canvases.trend.calls
    assert.ok(calls.filter((c) => c[0] === 'lineTo').length >= 4, 'lines drawn')
    assert.ok(calls.some((c) => c[0] === 'fillText' && c[1] === '功率(kW)'))
    await h.waitFor(() => page.data.elapsed !== '00:00:00', 5000, 'the clock')
    pointsBeforeRelaunch = page.data.chart.powerPoints
  })

  await t.test('the map shows the charge in progress', async () => {
    await h.relaunch({ path: 'pages/map/index' })
    const map = h.currentPage()
    await h.waitFor(() => map.data.activeOrderId === orderId, 10000, 'the banner')
  })

  await t.test('relaunch while charging: the charging page resumes the stored order', async () => {
    const page = await h.relaunch({ path: 'pages/charging/index' })
    assert.deepEqual(page.options, {})
    await h.waitFor(() => page.data.orderId === orderId && page.data.chart.powerPoints >= pointsBeforeRelaunch, 20000, 'the whole curve again')
    const history = h.calls.request.filter((r) => r.data && String(r.data).includes('SessionTrend'))
    assert.ok(history.length >= 2, 'the history was loaded again after the relaunch')
    const before = page.data.chart.powerPoints
    await h.waitFor(() => page.data.chart.powerPoints > before, 30000, 'new live samples after the relaunch')
  })

  await t.test('停止充电: the order becomes final with paid, used and refunded', async () => {
    const page = h.currentPage()
    await page.tap('onStop')
    assert.ok(h.calls.modal.some((m) => m.title === '停止充电'))
    assert.ok(h.calls.request.some((r) => r.data && String(r.data).includes('StopCharging')))
    await h.waitFor(() => page.data.final, 60000, 'the final order')
    assert.equal(page.data.statusText, '已完成')
    const paid = yuanToFen(page.data.summary.paid)
    const used = yuanToFen(page.data.summary.used)
    const refunded = yuanToFen(page.data.summary.refunded)
    assert.equal(paid, 3000)
    assert.ok(used > 0, 'energy was charged')
    assert.equal(used + refunded, paid, 'the unused cap came back')
    assert.equal(h.storage.get('chargeops.activeOrder'), undefined, 'the active order is forgotten')
    const token = h.storage.get('chargeops.token').token
    const { order } = await stack.graphql('query ($id: ID!) { order(id: $id) { status paidFen dueFen refundFen } }', { id: orderId }, token)
    assert.deepEqual(order, { status: 'SETTLED', paidFen: 3000, dueFen: used, refundFen: refunded })
  })

  await t.test('the order page shows the same money and the breakdown', async () => {
    const page = await h.relaunch({ path: 'pages/order/index', query: { id: orderId } })
    await h.waitFor(() => page.data.order && page.data.session && page.data.lines.length, 15000, 'the order')
    assert.equal(page.data.order.paid, '¥30.00')
    assert.ok(page.data.lines.every((l) => /^¥\d+\.\d\d$/.test(l.amount)))
    assert.ok(page.data.chart.powerPoints > 0)
  })

  assert.deepEqual(h.errors.map((e) => `${e.where}: ${e.error && e.error.message}`), [])
})
