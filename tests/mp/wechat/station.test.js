// 充电站 page: piles and connectors with live status, the day's tariff table with the current period, 导航,
// connector taps, subscriptions closed on unload.
let E // fresh modules per test (simulate re-runs the page JS)
beforeEach(() => {
  jest.resetModules()
  E = require('./fixtures/env')
})

async function loaded(options = {}) {
  const r = E.render('station', Object.assign({ query: { id: '1' } }, options))
  await E.waitFor(() => r.page.instance.data.station || r.page.instance.data.error)
  return r
}

test('station head, piles and connectors with zh-CN status', async () => {
  const { page, api, wx } = await loaded()
  expect(api.station).toHaveBeenCalledWith('1')
  expect(api.stationTariff).toHaveBeenCalledWith('1')
  expect(E.text(page, '.station-name')).toBe('西湖文化广场充电站')
  expect(E.text(page)).toContain('营业 00:00-24:00')
  expect(wx.setNavigationBarTitle).toHaveBeenCalledWith({ title: '西湖文化广场充电站' })
  const connectors = E.texts(page, '.connector')
  expect(connectors).toHaveLength(3)
  expect(connectors[0]).toContain('1 号枪 · 国标直流')
  expect(connectors[0]).toContain('最大功率 120.0 kW')
  expect(connectors[0]).toContain('空闲')
  expect(connectors[0]).toContain('充电 ›')
  expect(connectors[1]).toContain('充电中')
  expect(connectors[1]).not.toContain('充电 ›')
  expect(connectors[2]).toContain('离线') // its pile is offline
  expect(E.texts(page, '.pile .row .tag')).toEqual(['在线', '离线'])
})

test('the tariff table lists each period with energy, service and total prices; the current one is marked', async () => {
  const { page } = await loaded()
  const rows = page.querySelectorAll('.tr').slice(1)
  expect(rows.map((r) => r.dom.textContent)).toEqual(['00:00-08:00谷0.30000.40000.7000', '08:00-24:00平0.65000.80001.4500'])
  const hour = Number(new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Shanghai', hour: '2-digit', hour12: false }).format(new Date()))
  const current = page.querySelectorAll('.tr-current').map((r) => r.dom.textContent)
  expect(current).toEqual([hour < 8 ? '00:00-08:00谷0.30000.40000.7000' : '08:00-24:00平0.65000.80001.4500'])
  const card = E.text(page)
  expect(card).toContain('平 1.4500 元/kWh')
  expect(card).toContain('下次变价：00:00 起 谷 0.7000 元/kWh')
  expect(card).toContain('占位费：0.50 元/分钟，免费 30 分钟')
})

test('no tariff in force: said so', async () => {
  const api = E.fakeApi({ stationTariff: jest.fn(async () => null) })
  const { page } = await loaded({ api })
  expect(E.text(page)).toContain('该站点暂未设置电价')
})

test('a free connector opens the connector page; a busy one only tells why', async () => {
  const { page, wx, platform } = await loaded()
  page.querySelectorAll('.connector')[0].dispatchEvent('tap')
  await E.waitFor(() => wx.navigateTo.mock.calls.length)
  expect(wx.navigateTo).toHaveBeenCalledWith({ url: '/pages/connector/index?stationId=1&chargePointId=DEMO-0001&connectorNo=1' })
  page.querySelectorAll('.connector')[1].dispatchEvent('tap')
  await E.waitFor(() => platform.toast.mock.calls.length)
  expect(platform.toast).toHaveBeenCalledWith('该充电枪当前不可用')
  expect(wx.navigateTo).toHaveBeenCalledTimes(1)
})

test('导航 opens the location', async () => {
  const { page, platform } = await loaded()
  page.querySelector('.row .btn').dispatchEvent('tap')
  await E.waitFor(() => platform.openLocation.mock.calls.length)
  expect(platform.openLocation).toHaveBeenCalledWith({ latitude: 30.277412, longitude: 120.168985, name: '西湖文化广场充电站', address: '中山北路西湖文化广场B2' })
})

test('live status: a connector that becomes free is offered, counts follow; unsubscribed on unload', async () => {
  const { page, api } = await loaded()
  expect(api.subscriptions.map((s) => [s.name, s.variables])).toEqual([['connectorStatus', { stationId: '1' }]])
  api.subscriptions[0].handlers.next({ stationId: '1', chargePointId: 'DEMO-0001', connectorNo: 2, status: 'AVAILABLE', counts: E.counts(4, 4) })
  await E.waitFor(() => E.texts(page, '.connector')[1].includes('空闲'))
  expect(E.texts(page, '.connector')[1]).toContain('充电 ›')
  expect(E.text(page)).toContain('空闲 4/4')
  page.unload()
  expect(api.subscriptions[0].unsubscribe).toHaveBeenCalledTimes(1)
})

test('an unknown station and a failed load are shown', async () => {
  const missing = await loaded({ api: E.fakeApi({ station: jest.fn(async () => null) }) })
  expect(E.text(missing.page, '.state-error')).toContain('未找到该充电站')
})
