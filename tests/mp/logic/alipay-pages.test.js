'use strict'
// The Alipay mini-program's other pages against the real stack: map markers with live counts, the station's
// tariff table, orders → order → compare, wallet top-up, me (vehicles, cards, logout) and the login states.
const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const { startStack } = require('../helpers/stack')
const { createHarness } = require('../helpers/mp-harness')

let stack

before(async () => {
  stack = await startStack({ loginCodes: 12 })
})

after(async () => {
  if (stack) await stack.stop()
})

function yuan(fen) {
  const sign = fen < 0 ? '-' : ''
  const abs = Math.abs(fen)
  return `${sign}¥${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`
}

function tokenOf(h) {
  const saved = h.storage.get('chargeops.token')
  return saved && saved.token
}

async function driverToken() {
  const data = await stack.graphql('mutation($c: String!) { loginWithAlipay(authCode: $c) { token } }', { c: stack.alipayAuthCode() })
  return data.loginWithAlipay.token
}

function requests(h, operation) {
  return h.calls.request
    .filter((r) => typeof r.data === 'string' && r.data.includes(operation))
    .map((r) => Object.assign({ status: r.status, response: r.response }, JSON.parse(r.data)))
}

// a harness with the demo driver logged in through the me page
async function loggedIn(options = {}) {
  const h = createHarness(Object.assign({ platform: 'alipay', stack, quiet: true }, options))
  const me = await h.launchApp({ path: 'pages/me/index' })
  await h.settle()
  await me.tap('onLogin')
  await h.settle()
  assert.ok(tokenOf(h), 'logged in')
  return h
}

// one whole charge through the pages: connector (by code) → charging → stop → settled
async function chargeThroughPages(h, connector, capFen) {
  const page = await h.openPage('pages/connector/index', { qrCode: stack.codes[connector] })
  await h.waitFor(() => page.data.connector, 10000, 'the connector')
  await page.tap('onSelectCap', { fen: capFen })
  await page.tap('onStart')
  await h.waitFor(() => h.currentPage().route === 'pages/charging/index', 15000, 'charging page')
  const charging = h.currentPage()
  await h.waitFor(() => charging.points.POWER_W.length >= 3, 25000, 'samples')
  await charging.tap('onStop')
  await h.waitFor(() => charging.data.summary && charging.data.order.status === 'SETTLED', 40000, 'settled')
  await h.settle()
  return charging.data.order.id
}

test('map: one marker per station near the driver with available/total; counts follow connectorStatus', async () => {
  const h = createHarness({ platform: 'alipay', stack, quiet: true })
  try {
    // given: the home page around the demo city centre
    const page = await h.launchApp()
    await h.settle()
    const near = (await stack.graphql(
      '{ stationsNear(latitude: 30.2741, longitude: 120.1551, radiusM: 5000) { id name connectorCounts { total available } } }',
    )).stationsNear

    // then
    assert.equal(h.calls.location.length, 1)
    assert.equal(page.data.markers.length, near.length)
    assert.ok(near.length >= 1)
    page.data.markers.forEach((marker, i) => {
      assert.equal(typeof marker.id, 'number')
      assert.equal(marker.title, near[i].name)
      assert.equal(marker.label.content, `${near[i].connectorCounts.available}/${near[i].connectorCounts.total}`)
      assert.equal(marker.iconPath, '/images/pin-green.png')
    })

    // when: a marker tap with the id on the event (Alipay's shape)
    await page.trigger('onMarkerTap', { markerId: page.data.markers[0].id })

    // then
    assert.equal(page.data.selected.name, near[0].name)

    // when: someone starts charging at DEMO-0001/2 (paid from the wallet)
    const token = await driverToken()
    const started = await stack.graphql(
      'mutation { startCharging(chargePointId: "DEMO-0001", connectorNo: 2, method: WALLET, capFen: 500) { order { id } } }', {}, token)
    const total = near[0].connectorCounts.total
    const available = near[0].connectorCounts.available

    // then: the marker's label and the open card follow the live counts
    await h.waitFor(() => page.data.markers[0].label.content === `${available - 1}/${total}`, 20000, 'counts update')
    assert.equal(page.data.selected.countsText, `空闲 ${available - 1}/${total}`)

    // cleanup: stop once the order is charging
    const id = started.startCharging.order.id
    await h.waitFor(async () => (await stack.graphql('query($id: ID!) { order(id: $id) { status } }', { id }, token)).order.status === 'CHARGING', 20000, 'charging')
    await stack.graphql('mutation($id: ID!) { stopCharging(orderId: $id) { id } }', { id }, token)
    await h.waitFor(() => page.data.markers[0].label.content === `${available}/${total}`, 30000, 'counts back')
  } finally {
    await h.close()
  }
})

test('map: location refused → the city centre; moving the map loads the stations around the new centre', async () => {
  const h = createHarness({ platform: 'alipay', stack, quiet: true, location: 'denied' })
  try {
    const page = await h.launchApp()
    await h.settle()
    assert.equal(page.data.locationNote, '未获得定位，显示默认城市中心附近的充电站')
    assert.deepEqual(requests(h, 'StationsNear')[0].variables.latitude, 30.2741)

    // when: the map is moved to the Qianjiang new town
    await page.trigger('onRegionChange', { type: 'end', latitude: 30.2452, longitude: 120.2153 })
    await h.waitFor(() => requests(h, 'StationsNear').length === 2 && !page.data.loading, 5000, 'reloaded')

    // then
    assert.ok(page.data.stations.some((s) => s.name === '钱江新城市民中心充电站'), JSON.stringify(page.data.stations.map((s) => s.name)))

    // when: only DC stations, by name
    await page.tap('onToggleFilter', { key: 'dc' })
    await page.input('onSearchInput', '钱江')
    await page.tap('onSearch')
    await h.settle()

    // then
    const filter = requests(h, 'StationsNear').pop().variables.filter
    assert.deepEqual(filter, { availableNow: false, connectorTypes: ['GBT_DC', 'CCS2', 'CHADEMO'], minPowerW: 0, name: '钱江' })
    assert.deepEqual(page.data.stations.map((s) => s.name), ['钱江新城市民中心充电站'])
  } finally {
    await h.close()
  }
})

test('station: the day\'s tariff table with the current period, piles and connectors, navigation', async () => {
  const h = createHarness({ platform: 'alipay', stack, quiet: true })
  try {
    // given
    const scanned = (await stack.graphql('query($s: String!) { scannedConnector(scanned: $s) { stationId } }', { s: stack.codes['DEMO-0001/1'] })).scannedConnector
    const tariff = (await stack.graphql(
      'query($id: ID!) { stationTariff(stationId: $id) { price { tier display } tariff { periods { start end tier totalPriceE4 } } } }',
      { id: scanned.stationId })).stationTariff

    // when
    const page = await h.launchApp({ path: 'pages/station/index', query: { id: scanned.stationId } })
    await h.settle()

    // then
    assert.equal(page.data.station.name, '西湖文化广场充电站')
    assert.equal(page.data.tariff.rows.length, tariff.tariff.periods.length)
    assert.deepEqual(page.data.tariff.rows.map((r) => r.span), tariff.tariff.periods.map((p) => `${p.start}–${p.end}`))
    const current = page.data.tariff.rows.filter((r) => r.current)
    assert.equal(current.length, 1)
    assert.equal(current[0].tier, tariff.price.tier)
    assert.equal(page.data.tariff.priceNow, tariff.price.display)
    assert.deepEqual(page.data.piles.map((p) => p.id), ['DEMO-0001', 'DEMO-0002'])
    assert.deepEqual(page.data.piles[0].connectors.map((c) => c.connectorNo), [1, 2])
    assert.equal(page.data.piles[0].connectors[0].kindLabel, '国标直流')

    // when
    await page.tap('onNavigate')
    await page.tap('onOpenConnector', { cp: 'DEMO-0002', no: 2 })
    await h.settle()

    // then
    assert.equal(h.calls.openLocation[0].name, '西湖文化广场充电站')
    assert.equal(h.currentPage().route, 'pages/connector/index')
    assert.equal(h.currentPage().data.connector.chargePointId, 'DEMO-0002')
    assert.equal(h.currentPage().data.connector.connectorNo, 2)
  } finally {
    await h.close()
  }
})

test('orders → order → compare: two charges listed with amounts, the cost breakdown, both curves', async () => {
  const h = await loggedIn()
  try {
    // given: two charges made through the pages
    const first = await chargeThroughPages(h, 'DEMO-0001/1', 3000)
    const second = await chargeThroughPages(h, 'DEMO-0004/1', 3000)
    const server = (await stack.graphql('{ orders(first: 20) { id status paidFen dueFen refundFen sessionId } }', {}, tokenOf(h))).orders

    // when
    const orders = await h.openPage('pages/orders/index')
    await h.settle()

    // then: newest first, as the server has them, with station names
    assert.deepEqual(orders.data.orders.map((o) => o.id), server.map((o) => String(o.id)))
    const [two, one] = orders.data.orders
    assert.deepEqual([two.id, one.id], [String(second), String(first)])
    assert.equal(one.station, '西湖文化广场充电站')
    assert.equal(two.station, '钱江新城市民中心充电站')
    assert.equal(one.statusLabel, '已完成')
    assert.equal(one.paid, yuan(server[1].paidFen))
    assert.equal(one.due, yuan(server[1].dueFen))
    assert.equal(one.refund, yuan(server[1].refundFen))

    // when: the order
    await orders.tap('onOpenOrder', { id: one.id })
    await h.settle()
    const detail = h.currentPage()

    // then: the breakdown sums to what was used; the session's curve is drawn
    assert.equal(detail.route, 'pages/order/index')
    assert.equal(detail.data.order.due, yuan(server[1].dueFen))
    assert.equal(detail.data.cost.total, yuan(server[1].dueFen))
    assert.ok(detail.data.cost.rows.length >= 1)
    assert.match(detail.data.session.energy, /^\d+\.\d{2} kWh$/)
    assert.ok(h.canvases.orderTrend.calls.some((c) => c[0] === 'lineTo'), 'order trend drawn')

    // when: back, tick both, compare
    await h.api().navigateBack({})
    await h.settle()
    await orders.tap('onToggleSelect', { id: one.id })
    await orders.tap('onToggleSelect', { id: two.id })
    await orders.tap('onCompare')
    await h.settle()
    const compare = h.currentPage()

    // then
    assert.equal(compare.route, 'pages/compare/index')
    assert.deepEqual(requests(h, 'Compare')[0].variables.ids, [String(server[1].sessionId), String(server[0].sessionId)])
    assert.deepEqual(compare.data.sessions.map((s) => s.station), ['A · 西湖文化广场充电站', 'B · 钱江新城市民中心充电站'])
    assert.ok(compare.series.every((s) => s.points.length >= 1))
    assert.ok(h.canvases.compareTrend.calls.some((c) => c[0] === 'lineTo'))

    // when: SoC
    await compare.tap('onMeasurand', { key: 'SOC_PCT' })
    await h.settle()

    // then
    assert.equal(requests(h, 'Compare').pop().variables.measurand, 'SOC_PCT')
    assert.ok(compare.series.every((s) => s.max === 100))
  } finally {
    await h.close()
  }
})

test('wallet: top up ¥100 through the sandbox; the balance and the statement show it once confirmed', async () => {
  const h = await loggedIn()
  try {
    // given
    const page = await h.openPage('pages/wallet/index')
    await h.settle()
    const before = page.data.wallet.balanceFen

    // when
    await page.tap('onSelectPreset', { fen: 10000 })
    await page.tap('onTopUp')
    await h.waitFor(() => page.data.wallet.balanceFen === before + 10000, 15000, 'credited')
    await h.settle()

    // then
    assert.deepEqual(requests(h, 'TopUp')[0].variables, { method: 'SANDBOX', amountFen: 10000 })
    assert.equal(h.calls.request.filter((r) => r.finalUrl.includes('/sandbox/pay/') && r.status === 200).length, 1)
    assert.equal(page.data.wallet.balance, yuan(before + 10000))
    assert.equal(page.data.lines[0].kindLabel, '充值')
    assert.equal(page.data.lines[0].amount, '+¥100.00')
    assert.ok(h.calls.toast.includes('充值成功'))
    assert.equal(page.data.topping, false)
  } finally {
    await h.close()
  }
})

test('me: Alipay login, vehicles added and removed, own cards, logout', async () => {
  const h = createHarness({ platform: 'alipay', stack, quiet: true })
  try {
    // given: a new driver
    h.settings.loginCode = () => stack.alipayAuthCode({ newDriver: true })
    const page = await h.launchApp({ path: 'pages/me/index' })
    await h.settle()
    assert.equal(page.data.loggedIn, false)

    // when
    await page.tap('onLogin')
    await h.settle()

    // then
    assert.equal(page.data.loggedIn, true)
    assert.ok(page.data.name)
    assert.deepEqual(page.data.vehicles, [])

    // when: a wrong plate is refused before anything is sent; a good one is added
    await page.input('onPlateInput', '沪12345')
    await page.tap('onAddVehicle')
    assert.equal(page.data.formError, '车牌号格式不正确，例如 浙A12345 或 浙AD12345')
    assert.equal(requests(h, 'AddVehicle').length, 0)
    await page.input('onPlateInput', '浙a·d54321')
    await page.input('onVinInput', 'lsvaa4180e2100999')
    await page.tap('onAddVehicle')
    await h.settle()

    // then
    assert.equal(page.data.formError, '')
    assert.deepEqual(page.data.vehicles.map((v) => [v.plate, v.vin]), [['浙AD54321', 'LSVAA4180E2100999']])
    const server = (await stack.graphql('{ me { vehicles { id plate vin } } }', {}, tokenOf(h))).me.vehicles
    assert.deepEqual(server.map((v) => v.plate), ['浙AD54321'])

    // when: the same vehicle again: the server's reason
    await page.input('onPlateInput', '浙AD54321')
    await page.tap('onAddVehicle')
    await h.settle()
    assert.match(page.data.formError, /^输入有误：/)

    // when: removed
    await page.tap('onRemoveVehicle', { id: page.data.vehicles[0].id })
    await h.settle()

    // then
    assert.deepEqual(page.data.vehicles, [])
    assert.deepEqual((await stack.graphql('{ me { vehicles { id } } }', {}, tokenOf(h))).me.vehicles, [])

    // when: an operator gives the driver a card, and the page is shown again
    assert.deepEqual(page.data.cards, [])
    const admin = (await stack.graphql('mutation { login(login: "admin", password: "chargeops-demo") { token } }')).login.token
    const me = (await stack.graphql('{ me { id } }', {}, tokenOf(h))).me
    await stack.graphql('mutation($u: ID!) { assignIdTag(tag: "DEMO0017", userId: $u) { tag } }', { u: me.id }, admin)
    await page.call('onShow')
    await h.settle()

    // then: the driver's own cards
    assert.deepEqual(page.data.cards.map((c) => [c.tag, c.kindLabel, c.statusLabel]), [['DEMO0017', '充电卡', '有效']])

    // when: logout
    await page.tap('onLogout')

    // then
    assert.equal(page.data.loggedIn, false)
    assert.equal(h.storage.get('chargeops.token'), undefined)
  } finally {
    await h.close()
  }
})

test('hot start with a scanned code: App.onShow opens the connector page, or hands the code to an open one', async () => {
  const h = createHarness({ platform: 'alipay', stack, quiet: true })
  try {
    // given: the app runs on its home page
    await h.launchApp()
    await h.settle()

    // when: the driver scans a pile with the app in the background
    h.app().onShow({ query: { qrCode: stack.qrUrls['DEMO-0004/2'] }, scene: 1011 })
    await h.waitFor(() => h.currentPage().route === 'pages/connector/index' && h.currentPage().data.connector, 10000, 'connector')

    // then
    const page = h.currentPage()
    assert.equal(page.data.connector.chargePointId, 'DEMO-0004')
    assert.equal(page.data.connector.connectorNo, 2)
    assert.equal(h.app().globalData.pendingQr, '')

    // when: another scan while the connector page is open
    h.app().onShow({ query: { qrCode: stack.qrUrls['DEMO-0003/1'] }, scene: 1011 })
    await h.waitFor(() => page.data.connector && page.data.connector.chargePointId === 'DEMO-0003', 10000, 'the new code')

    // then: the same page shows it, nothing was stacked on top
    assert.equal(h.pages().length, 2)
    assert.equal(page.data.connector.stationName, '钱江新城市民中心充电站')
  } finally {
    await h.close()
  }
})

test('login states: no token → the orders page asks to log in; a token the server refuses is forgotten', async () => {
  const h = createHarness({ platform: 'alipay', stack, quiet: true })
  try {
    // given: nobody logged in
    const orders = await h.launchApp({ path: 'pages/orders/index' })
    await h.settle()
    assert.equal(orders.data.needLogin, true)
    assert.equal(requests(h, 'Orders').length, 0)

    // when: a stale token
    h.storage.set('chargeops.token', { token: 'not-a-token', expiresAt: null })
    const wallet = await h.openPage('pages/wallet/index')
    await h.settle()

    // then: UNAUTHENTICATED → the login state, the token dropped
    assert.equal(requests(h, 'Wallet')[0].response.errors[0].extensions.code, 'UNAUTHENTICATED')
    assert.equal(wallet.data.needLogin, true)
    assert.equal(h.storage.get('chargeops.token'), undefined)
  } finally {
    await h.close()
  }
})
