// 充电枪 page (the QR landing): QR entry with query.q, the connector and the price, cap choice, wallet or
// provider, login, 开始充电 → charging page; refusals shown in Chinese.
let E
beforeEach(() => {
  jest.resetModules()
  E = require('./fixtures/env')
})

const QR = 'https://chargeops.example.cn/q/AbC123'

async function loaded(options = {}) {
  const r = E.render('connector', Object.assign({ query: { q: encodeURIComponent(QR), scancode_time: '1714528800' } }, options))
  await E.waitFor(() => (r.page.instance.data.connector && !r.page.instance.data.loading) || r.page.instance.data.error)
  return r
}

test('QR entry: the decoded URL names the connector; station, kind, power, status and price are shown', async () => {
  const { page, api } = await loaded()
  expect(api.scannedConnector).toHaveBeenCalledWith(QR)
  const shown = E.text(page)
  for (const part of ['西湖文化广场充电站', '1 号枪', '桩号 DEMO-0001', '国标直流', '120.0 kW', '空闲', '平 1.4500 元/kWh', '00:00 起 谷 0.7000 元/kWh']) {
    expect(shown).toContain(part)
  }
  expect(E.text(page, '.start')).toContain('开始充电 · ¥50.00')
  expect(E.texts(page, '.cap')).toEqual(['¥30.00', '¥50.00', '¥100.00', '¥200.00'])
  expect(E.texts(page, '.chip-on')).toEqual(['¥50.00'])
  expect(E.texts(page, '.pay')[0]).toContain('沙箱支付')
  expect(E.texts(page, '.pay')[1]).toContain('钱包余额¥50.00')
})

test('the station page route (chargePointId + connectorNo) finds the connector in the station', async () => {
  const { page, api } = await loaded({ query: { stationId: '1', chargePointId: 'DEMO-0001', connectorNo: '2' } })
  expect(api.scannedConnector).not.toHaveBeenCalled()
  expect(api.station).toHaveBeenCalledWith('1')
  expect(E.text(page)).toContain('2 号枪')
  expect(E.text(page, '.status')).toBe('充电中')
  expect(E.text(page, '.hint')).toContain('请确认充电枪已连接车辆')
})

test('choose a cap, then 开始充电 charges and goes to the charging page', async () => {
  const { page, api, wx } = await loaded()
  page.querySelectorAll('.cap')[2].dispatchEvent('tap')
  await E.waitFor(() => E.text(page, '.start').includes('¥100.00'))
  expect(E.texts(page, '.chip-on')).toEqual(['¥100.00'])
  page.querySelector('.start').dispatchEvent('tap')
  await E.waitFor(() => wx.redirectTo.mock.calls.length)
  expect(api.charge).toHaveBeenCalledWith({ chargePointId: 'DEMO-0001', connectorNo: 1, capFen: 10000, useWallet: false })
  expect(wx.redirectTo).toHaveBeenCalledWith({ url: '/pages/charging/index?orderId=9' })
})

test('paying from the wallet; too little balance is refused before asking the server', async () => {
  const { page, api, platform } = await loaded()
  page.querySelectorAll('.pay')[1].dispatchEvent('tap')
  await E.waitFor(() => page.instance.data.payWith === 'wallet')
  page.querySelectorAll('.cap')[3].dispatchEvent('tap') // ¥200 > ¥50 balance
  await E.waitFor(() => E.text(page).includes('余额不足'))
  page.querySelector('.start').dispatchEvent('tap')
  await E.waitFor(() => platform.toast.mock.calls.length)
  expect(platform.toast).toHaveBeenCalledWith('钱包余额不足，请先充值或改用其他支付方式')
  expect(api.charge).not.toHaveBeenCalled()
  page.querySelectorAll('.cap')[0].dispatchEvent('tap')
  await E.waitFor(() => !E.text(page).includes('余额不足'))
  await page.instance.onStart()
  expect(api.charge).toHaveBeenCalledWith({ chargePointId: 'DEMO-0001', connectorNo: 1, capFen: 3000, useWallet: true })
})

test('logged out: 微信登录 logs in; 开始充电 logs in first when needed', async () => {
  const api = E.fakeApi({ loggedIn: false })
  const { page, platform } = await loaded({ api })
  expect(E.text(page, '.btn-ghost')).toBe('微信登录')
  expect(api.wallet).not.toHaveBeenCalled()
  page.querySelector('.btn-ghost').dispatchEvent('tap')
  await E.waitFor(() => page.instance.data.loggedIn)
  expect(api.login).toHaveBeenCalledTimes(1)
  expect(platform.toast).toHaveBeenCalledWith('已登录：演示车主')
  await E.waitFor(() => api.wallet.mock.calls.length === 1)
  await E.waitFor(() => !E.text(page).includes('微信登录'))

  const again = E.fakeApi({ loggedIn: false })
  jest.resetModules()
  E = require('./fixtures/env')
  const second = await loaded({ api: again })
  second.page.querySelector('.start').dispatchEvent('tap')
  await E.waitFor(() => second.wx.redirectTo.mock.calls.length)
  expect(again.login).toHaveBeenCalledTimes(1)
  expect(again.charge).toHaveBeenCalledTimes(1)
})

test('a cancelled payment stays on the page and says so', async () => {
  const api = E.fakeApi({ charge: jest.fn(async () => ({ order: E.order({ id: '9', status: 'CREATED' }), payResult: 'cancelled' })) })
  const { page, platform, wx } = await loaded({ api })
  await page.instance.onStart()
  expect(platform.toast).toHaveBeenCalledWith('已取消支付，未开始充电')
  expect(wx.redirectTo).not.toHaveBeenCalled()
  expect(E.text(page, '.start')).toContain('开始充电')
})

test('typed refusals from the server are shown in Chinese', async () => {
  const api = E.fakeApi({ charge: jest.fn(async () => { throw E.graphqlError('CONNECTOR_BUSY', 'the connector is busy') }) })
  const { page, platform } = await loaded({ api })
  await page.instance.onStart()
  expect(platform.toast).toHaveBeenCalledWith('该充电枪正在使用中，请换一个充电枪')
  expect(page.instance.data.starting).toBe(false)
})

test('a connector that cannot charge is not started', async () => {
  const api = E.fakeApi({ scannedConnector: jest.fn(async () => Object.assign({}, E.SCANNED, { pileOnline: false })) })
  const { page, platform } = await loaded({ api })
  expect(E.text(page, '.status')).toBe('充电桩离线')
  expect(page.querySelector('.start').dom.className).toContain('btn-disabled')
  await page.instance.onStart()
  expect(platform.toast).toHaveBeenCalledWith('充电桩离线，请更换充电桩')
  expect(api.charge).not.toHaveBeenCalled()
})

test('an unknown QR code and a page opened without one', async () => {
  const api = E.fakeApi({ scannedConnector: jest.fn(async () => { throw E.graphqlError('UNKNOWN_QR_CODE') }) })
  const unknown = await loaded({ api })
  expect(E.text(unknown.page, '.state-error')).toContain('无法识别的二维码，请扫描充电桩上的二维码')
  jest.resetModules()
  E = require('./fixtures/env')
  const none = await loaded({ query: {} })
  expect(E.text(none.page, '.state-error')).toContain('请扫描充电桩上的二维码')
})

test('live status of this connector; unsubscribed on unload', async () => {
  const { page, api } = await loaded()
  const sub = api.subscriptions.find((s) => s.name === 'connectorStatus')
  expect(sub.variables).toEqual({ stationId: '1' })
  sub.handlers.next({ stationId: '1', chargePointId: 'DEMO-0001', connectorNo: 2, status: 'FAULTED', counts: E.counts(2, 4, 1) })
  sub.handlers.next({ stationId: '1', chargePointId: 'DEMO-0001', connectorNo: 1, status: 'PREPARING', counts: E.counts(2, 4) })
  await E.waitFor(() => E.text(page, '.status') === '准备中')
  expect(page.instance.data.connector.canCharge).toBe(true)
  page.unload()
  expect(sub.unsubscribe).toHaveBeenCalled()
})
