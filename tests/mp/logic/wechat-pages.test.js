'use strict'
// The WeChat mini-program's pages under the logic harness against the REAL server stack, each loading real
// data: me (login, vehicles add/remove, cards), map (stations and markers), station (tariff table, piles),
// orders → order → compare (two real sessions), wallet (top-up through the sandbox: the balance rises).
const { test } = require('node:test')
const assert = require('node:assert/strict')
const { startStack } = require('../helpers/stack.js')
const { createHarness } = require('../helpers/mp-harness.js')

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

async function poll(fn, ms, what) {
  const end = Date.now() + ms
  for (;;) {
    const value = await fn()
    if (value) return value
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(200)
  }
}

// two charges paid from the wallet, made straight through the API (the charge flow itself is wechat-charge.test.js)
async function chargeTwice(stack, token) {
  const gql = (query, variables) => stack.graphql(query, variables, token)
  const ids = []
  for (const [chargePointId, connectorNo] of [['DEMO-0002', 1], ['DEMO-0003', 1]]) {
    const { startCharging } = await gql(
      'mutation ($cp: ID!, $no: Int!) { startCharging(chargePointId: $cp, connectorNo: $no, method: WALLET, capFen: 1000) { order { id } paymentParams } }',
      { cp: chargePointId, no: connectorNo })
    assert.equal(startCharging.paymentParams, null)
    ids.push(startCharging.order.id)
  }
  const orderOf = async (id) => (await gql('query ($id: ID!) { order(id: $id) { status sessionId costFen dueFen } }', { id })).order
  for (const id of ids) await poll(async () => { const o = await orderOf(id); return o.sessionId && o.costFen > 0 }, 45000, `order ${id} charging`)
  for (const id of ids) await gql('mutation ($id: ID!) { stopCharging(orderId: $id) { id } }', { id })
  for (const id of ids) await poll(async () => (await orderOf(id)).status === 'SETTLED', 60000, `order ${id} settled`)
  return Promise.all(ids.map(async (id) => Object.assign({ id }, await orderOf(id))))
}

test('the WeChat pages load real data', { timeout: 240000 }, async (t) => {
  const stack = await startStack()
  const h = createHarness({ platform: 'wechat', stack })
  t.after(async () => {
    await h.close()
    await stack.stop()
  })
  let orders

  await t.test('me: login, vehicles add and remove, cards', async () => {
    const page = await h.launchApp({ path: 'pages/me/index' })
    await h.settle()
    assert.equal(page.data.loggedIn, false)
    await page.tap('onLogin')
    await h.waitFor(() => page.data.loggedIn && page.data.name === '演示车主' && !page.data.loading, 10000, 'the driver')
    const before = page.data.vehicles.length
    await page.input('onPlate', '浙A 12345')
    await page.input('onVin', 'lsvag2180n2000001')
    await page.tap('onAddVehicle')
    await h.waitFor(() => page.data.vehicles.length === before + 1, 10000, 'the new vehicle')
    const added = page.data.vehicles.find((v) => v.vin === 'LSVAG2180N2000001')
    assert.ok(added, JSON.stringify(page.data.vehicles))
    assert.match(added.plate, /^浙A12345$/)
    await page.tap('onRemoveVehicle', { id: added.id, label: added.plate })
    await h.waitFor(() => page.data.vehicles.length === before, 10000, 'the vehicle removed')
    // the demo driver has no card of its own: an operator issues one, and the page lists it
    assert.deepEqual(page.data.cards, [])
    const admin = (await stack.graphql('mutation { login(login: "admin", password: "chargeops-demo") { token } }')).login.token
    const driverId = h.storage.get('chargeops.viewer').id
    await stack.graphql('mutation ($user: ID!) { issueIdTag(tag: "WXCARD0001", kind: RFID, userId: $user) { tag } }', { user: driverId }, admin)
    await page.call('onPullDownRefresh')
    await h.waitFor(() => page.data.cards.length === 1, 10000, 'the issued card')
    assert.deepEqual([page.data.cards[0].tag, page.data.cards[0].kindText, page.data.cards[0].statusText], ['WXCARD0001', '充电卡', '有效'])
    assert.equal(page.data.error, '')
  })

  await t.test('(setup) two charges of the logged-in driver', async () => {
    orders = await chargeTwice(stack, h.storage.get('chargeops.token').token)
  })

  await t.test('map: the demo stations with one marker each', async () => {
    const page = await h.relaunch({ path: 'pages/map/index' })
    await h.waitFor(() => page.data.stations.length === 3 && !page.data.loading, 15000, 'the stations')
    assert.equal(h.calls.location.length >= 1, true)
    const names = page.data.stations.map((s) => s.name)
    assert.ok(names.includes('西湖文化广场充电站'), names.join())
    assert.equal(page.data.markers.length, 3)
    for (const marker of page.data.markers) {
      assert.equal(typeof marker.id, 'number')
      assert.match(marker.iconPath, /^\/images\/pin-(green|grey|red)\.png$/)
      assert.match(marker.label.content, /^\d+\/\d+$/)
    }
    assert.ok(page.data.markers.some((m) => m.iconPath === '/images/pin-green.png'), 'free connectors somewhere')
    // a station's connector counts are watched live
    const watched = () => h.calls.socket.flatMap((s) => s.sent.map((m) => JSON.parse(m)))
      .filter((m) => m.type === 'subscribe' && /ConnectorStatus/.test(m.payload.query)).map((m) => m.payload.variables.stationId)
    await h.waitFor(() => watched().length === 3, 10000, 'three connectorStatus subscriptions')
    assert.deepEqual(watched().sort(), page.data.stations.map((s) => s.id).sort())
    // filters go to the server: the AC filter leaves only stations with AC piles
    await page.tap('onKind', { kind: 'ac' })
    await h.waitFor(() => !page.data.loading, 10000, 'the filtered list')
    assert.ok(page.data.stations.length >= 1 && page.data.stations.length < 3, page.data.stations.map((s) => s.name).join())
    await page.tap('onMarkerTap', {}, { markerId: page.data.markers[0].id })
    assert.equal(page.data.selected.id, page.data.stations[0].id)
  })

  await t.test('station: the tariff table and the piles', async () => {
    const map = h.currentPage()
    await map.tap('onStation', { id: map.data.stations[0].id })
    await h.waitFor(() => h.currentPage().route === 'pages/station/index', 5000, 'the station page')
    const page = h.currentPage()
    await h.waitFor(() => page.data.station && !page.data.loading, 10000, 'the station')
    assert.ok(page.data.tariff, 'the demo stations have a tariff')
    assert.ok(page.data.tariff.periods.length >= 2)
    assert.equal(page.data.tariff.periods.filter((p) => p.current).length, 1, 'exactly one current period')
    for (const p of page.data.tariff.periods) {
      assert.match(p.span, /^\d\d:\d\d-\d\d:\d\d$/)
      assert.match(p.total, /^\d+\.\d{4}$/)
      assert.match(p.tierText, /^[尖峰平谷]$/)
    }
    assert.ok(page.data.piles.length >= 1)
    assert.ok(page.data.piles.every((p) => p.connectors.length === 2))
    await page.tap('onNavigate')
    assert.equal(h.calls.openLocation.length, 1)
  })

  await t.test('orders → order → compare', async () => {
    const sentBefore = h.calls.request.length
    const page = await h.relaunch({ path: 'pages/orders/index' })
    await h.waitFor(() => page.data.orders.length >= 2 && page.data.orders.every((o) => o.stationName), 15000, 'the orders')
    const rows = page.data.orders.filter((o) => orders.some((x) => x.id === o.id))
    assert.equal(rows.length, 2)
    // the station names come with the orders (ChargingOrder.stationName): one query, none per station
    const sent = h.calls.request.slice(sentBefore).map((r) => JSON.stringify(r.data))
    assert.equal(sent.filter((body) => body.includes('query Orders')).length, 1, sent.join('\n'))
    assert.ok(!sent.some((body) => body.includes('station(id:')), sent.join('\n'))
    assert.ok(rows.every((o) => !o.stationName.startsWith('充电站 ')), 'named by the server')
    for (const row of rows) {
      assert.equal(row.statusText, '已完成')
      assert.match(row.due, /^¥\d+\.\d\d$/)
    }
    await page.tap('onOrder', { id: rows[0].id, status: 'SETTLED', session: rows[0].sessionId })
    await h.waitFor(() => h.currentPage().route === 'pages/order/index', 5000, 'the order page')
    const order = h.currentPage()
    await h.waitFor(() => order.data.order && order.data.session && !order.data.loading, 15000, 'the order')
    assert.equal(order.data.order.statusText, '已完成')
    assert.ok(order.data.lines.length >= 2, 'the cost by tariff period')
    assert.match(order.data.session.energy, /kWh$/)
    await h.relaunch({ path: 'pages/orders/index' })
    const list = h.currentPage()
    await h.waitFor(() => list.data.orders.length >= 2, 15000, 'the orders again')
    await list.tap('onToggleSelecting')
    for (const row of rows) await list.tap('onOrder', { id: row.id, status: 'SETTLED', session: row.sessionId })
    assert.equal(list.data.selected.length, 2)
    await list.tap('onCompare')
    await h.waitFor(() => h.currentPage().route === 'pages/compare/index', 5000, 'the compare page')
    const compare = h.currentPage()
    await h.waitFor(() => compare.data.sessions.length === 2 && !compare.data.loading, 15000, 'the comparison')
    assert.ok(compare.data.chart.points > 0)
    assert.equal(compare.data.chart.series, 2)
    assert.ok(h.canvases.compare.calls.some((c) => c[0] === 'lineTo'))
    await compare.tap('onMeasurand', { value: 'VOLTAGE_MV' })
    await h.waitFor(() => compare.data.unit === 'V' && !compare.data.loading, 10000, 'the voltage comparison')
  })

  await t.test('wallet: statement, and a top-up through the sandbox raises the balance', async () => {
    const page = await h.relaunch({ path: 'pages/wallet/index' })
    await h.waitFor(() => !page.data.loading && page.data.lines.length, 10000, 'the wallet')
    // each wallet charge held its cap and gave back what was not used
    const kinds = page.data.lines.map((l) => l.kindText)
    assert.equal(kinds.filter((k) => k === '预扣充电费').length, 2, kinds.join())
    assert.equal(kinds.filter((k) => k === '退回预扣').length, 2, kinds.join())
    const spent = orders.reduce((sum, o) => sum + o.dueFen, 0)
    assert.ok(spent > 0)
    const before = page.data.balanceFen
    assert.equal(before, 5000 - spent, 'the demo play money less what the two charges cost')
    assert.equal(page.data.balance, '¥' + (before / 100).toFixed(2))
    await page.tap('onPreset', { fen: 5000 })
    await page.tap('onTopUp')
    await h.waitFor(() => page.data.balanceFen === before + 5000, 20000, 'the credited top-up')
    assert.ok(h.calls.toast.includes('充值成功'))
    assert.ok(h.calls.request.some((r) => /\/sandbox\/pay\//.test(r.finalUrl) && r.status === 200))
    assert.equal(page.data.confirming, false)
  })

  assert.deepEqual(h.errors.map((e) => `${e.where}: ${e.error && e.error.message}`), [])
})
