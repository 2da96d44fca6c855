'use strict'
// pages/connector (Alipay, via the AXML→WXML bridge): QR entry (query.qrCode, App's pending code, or from the
// station page), the connector and its price, caps, wallet, login and 开始充电 with its pay outcomes.
const { SCANNED, fakeApi, order, alipayTree, openPage, text, texts, hasClass, waitFor, GraphQLError } = require('./fake-api')

const tree = alipayTree()
afterAll(() => tree.cleanup())
beforeEach(() => jest.resetModules())

const QR = 'https://chargeops.example.cn/q/SYGP8P0BP9'

async function opened(options) {
  const result = openPage(tree, 'pages/connector/index', Object.assign({ query: { qrCode: encodeURIComponent(QR) } }, options))
  await waitFor(() => result.page.querySelector('.connector-no') || result.page.querySelector('.state-error'))
  return result
}

function startButton(page) {
  return page.querySelectorAll('.btn-primary').pop()
}

test('a scanned qrCode shows the connector, its price now and the caps (¥50 chosen)', async () => {
  // given
  const api = fakeApi({ loggedIn: false })

  // when
  const { page } = await opened({ api })
  await waitFor(() => text(page, '.price-now'))

  // then
  expect(api.scannedConnector).toHaveBeenCalledWith(QR)
  expect(text(page, '.title')).toBe('西湖文化广场充电站')
  expect(text(page, '.connector-no')).toBe('1 号枪')
  expect(text(page, '.connector-head .tag')).toBe('空闲')
  expect(page.dom.textContent).toContain('DEMO-0001 · 在线')
  expect(page.dom.textContent).toContain('120.0 kW')
  expect(text(page, '.price-now')).toBe('2.0000 元/kWh')
  expect(texts(page, '.cap')).toEqual(['¥30', '¥50', '¥100', '¥200'])
  expect(page.querySelectorAll('.cap').map((c) => hasClass(c, 'chip-on'))).toEqual([false, true, false, false])
  expect(text(page, '.hint')).toBe('先支付 ¥50.00（沙箱支付），结束后按实际费用结算，多余部分原路退回')
  expect(text(page, '.pay-way .muted')).toBe('登录后可用')
  expect(startButton(page).dom.textContent).toBe('开始充电')
})

test('the code App kept from its launch options is taken when the page has no query', async () => {
  const api = fakeApi()
  const { page } = await opened({ api, query: {}, app: { takePendingQr: () => QR } })
  expect(api.scannedConnector).toHaveBeenCalledWith(QR)
  expect(text(page, '.connector-no')).toBe('1 号枪')
})

test('from the station page: the connector is found in its station', async () => {
  const api = fakeApi()
  const { page } = await opened({ api, query: { stationId: '1', chargePointId: 'DEMO-0001', connectorNo: '2' } })
  expect(api.scannedConnector).not.toHaveBeenCalled()
  expect(api.station).toHaveBeenCalledWith('1')
  expect(text(page, '.connector-no')).toBe('2 号枪')
  expect(startButton(page).dom.textContent).toBe('充电枪充电中')
})

test('开始充电 without login: logs in with Alipay, then charges the chosen cap and goes to the charging page', async () => {
  // given
  const api = fakeApi({ loggedIn: false })
  const { page, my } = await opened({ api })
  expect(text(page, '.btn')).toBe('支付宝授权登录')

  // when
  page.querySelectorAll('.cap')[2].dispatchEvent('tap')
  await waitFor(() => page.instance.data.capFen === 10000)
  startButton(page).dispatchEvent('tap')

  // then
  await waitFor(() => my.redirectTo.mock.calls.length === 1)
  expect(api.login).toHaveBeenCalledTimes(1)
  expect(api.charge).toHaveBeenCalledWith({ chargePointId: 'DEMO-0001', connectorNo: 1, capFen: 10000, useWallet: false })
  expect(my.redirectTo.mock.calls[0][0].url).toBe('/pages/charging/index?orderId=41')
})

test('a cancelled payment leaves the driver on the page with a toast', async () => {
  // given
  const api = fakeApi({
    charge: jest.fn(async () => ({ order: order({ status: 'CREATED' }), payResult: 'cancelled' })),
    order: jest.fn(async () => order({ status: 'CREATED' })),
  })
  const { page, my } = await opened({ api })

  // when
  startButton(page).dispatchEvent('tap')

  // then
  await waitFor(() => my.showToast.mock.calls.length === 1)
  expect(my.showToast.mock.calls[0][0].content).toBe('已取消支付')
  expect(my.redirectTo).not.toHaveBeenCalled()
  expect(startButton(page).dom.textContent).toBe('开始充电')
})

test('tradePay not 9000 but the server has the order paid: it is the active order and charging goes on', async () => {
  const api = fakeApi({
    charge: jest.fn(async () => ({ order: order({ status: 'CREATED' }), payResult: 'failed' })),
    order: jest.fn(async () => order({ status: 'PAID' })),
  })
  const { page, my } = await opened({ api })
  startButton(page).dispatchEvent('tap')
  await waitFor(() => my.redirectTo.mock.calls.length === 1)
  expect(api.store.setActiveOrder).toHaveBeenCalledWith('41')
  expect(my.redirectTo.mock.calls[0][0].url).toBe('/pages/charging/index?orderId=41')
})

test('the wallet: balance shown when logged in, chosen with a tap, refused when it is short', async () => {
  // given
  const api = fakeApi({ wallet: jest.fn(async () => ({ balanceFen: 4000, heldFen: 0, statement: [] })) })
  const { page, my } = await opened({ api })
  await waitFor(() => text(page, '.pay-way .muted') === '可用余额 ¥40.00')

  // when: the wallet with the ¥50 cap
  page.querySelector('.pay-way').dispatchEvent('tap')
  await waitFor(() => page.instance.data.useWallet)
  startButton(page).dispatchEvent('tap')

  // then
  await waitFor(() => my.showToast.mock.calls.length === 1)
  expect(my.showToast.mock.calls[0][0].content).toBe('钱包余额不足，请先充值')
  expect(text(page, '.hint')).toBe('从钱包预扣 ¥50.00，结束后按实际费用扣款，多余部分退回钱包')

  // when: ¥30 is within the balance (a cap tap goes back to paying)
  page.querySelectorAll('.cap')[0].dispatchEvent('tap')
  await waitFor(() => page.instance.data.capFen === 3000 && !page.instance.data.useWallet)
  page.querySelector('.pay-way').dispatchEvent('tap')
  await waitFor(() => page.instance.data.useWallet)
  startButton(page).dispatchEvent('tap')

  // then
  await waitFor(() => my.redirectTo.mock.calls.length === 1)
  expect(api.charge).toHaveBeenCalledWith({ chargePointId: 'DEMO-0001', connectorNo: 1, capFen: 3000, useWallet: true })
})

test('a busy connector cannot start; an offline pile says so', async () => {
  const api = fakeApi({ scannedConnector: jest.fn(async () => Object.assign({}, SCANNED, { status: 'CHARGING' })) })
  const { page, my } = await opened({ api })
  expect(startButton(page).dom.textContent).toBe('充电枪充电中')
  expect(hasClass(startButton(page), 'btn-disabled')).toBe(true)
  startButton(page).dispatchEvent('tap')
  await waitFor(() => my.showToast.mock.calls.length === 1)
  expect(api.charge).not.toHaveBeenCalled()

  const offline = fakeApi({ scannedConnector: jest.fn(async () => Object.assign({}, SCANNED, { pileOnline: false })) })
  const second = await opened({ api: offline })
  expect(startButton(second.page).dom.textContent).toBe('充电桩离线')
  expect(text(second.page, '.connector-head .tag')).toBe('离线')
})

test('an unknown code: the reason in Chinese, 重新扫码 scans again', async () => {
  // given
  const api = fakeApi({
    scannedConnector: jest.fn()
      .mockRejectedValueOnce(new GraphQLError('no connector has the code', 'UNKNOWN_QR_CODE'))
      .mockResolvedValue(SCANNED),
  })
  const { page, my } = await opened({ api })
  expect(text(page, '.error-text')).toBe('无法识别的二维码，请扫描充电桩上的二维码')

  // when
  page.querySelectorAll('.retry')[1].dispatchEvent('tap')

  // then
  await waitFor(() => page.querySelector('.connector-no'))
  expect(my.scan).toHaveBeenCalledTimes(1)
  expect(api.scannedConnector).toHaveBeenLastCalledWith(QR)
})

test('no entry at all asks for a scan', async () => {
  const { page } = await opened({ api: fakeApi(), query: {} })
  expect(text(page, '.error-text')).toBe('请扫描充电桩上的二维码')
})
