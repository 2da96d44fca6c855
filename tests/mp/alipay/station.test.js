'use strict'
// pages/station (Alipay, via the AXML→WXML bridge): details, the day's tariff table with the current period,
// piles and connectors with live status, navigation, and a connector tap to charge.
const { fakeApi, alipayTree, openPage, text, texts, hasClass, waitFor, counts } = require('./fake-api')

const tree = alipayTree()
afterAll(() => tree.cleanup())
beforeEach(() => jest.resetModules())

async function opened(api, my) {
  const result = openPage(tree, 'pages/station/index', { api, query: { id: '1' }, my })
  await waitFor(() => result.page.querySelector('.tariff-row') && result.page.querySelector('.connector'))
  return result
}

test('name, address, hours and the tariff table with the current period highlighted', async () => {
  // given
  const api = fakeApi()

  // when
  const { page } = await opened(api)

  // then
  expect(api.station).toHaveBeenCalledWith('1')
  expect(api.stationTariff).toHaveBeenCalledWith('1')
  expect(text(page, '.title')).toBe('西湖文化广场充电站')
  expect(text(page, '.subtitle')).toBe('中山北路 B2')
  expect(text(page, '.card')).toContain('00:00-24:00')
  const rows = page.querySelectorAll('.tariff-row')
  expect(rows.map((r) => r.dom.textContent)).toEqual([
    '00:00–09:00谷0.35000.40000.7500', '09:00–11:00尖1.20000.80002.0000', '11:00–24:00平0.70000.60001.3000',
  ])
  expect(rows.map((r) => hasClass(r, 'tariff-current'))).toEqual([false, true, false])
  expect(text(page, '.price-now')).toBe('2.0000 元/kWh')
  expect(page.dom.textContent).toContain('11:00 起1.3000 元/kWh')
})

test('piles and connectors: status labels, an offline pile shows its connectors offline', async () => {
  const { page } = await opened(fakeApi())
  expect(texts(page, '.pile-id')).toEqual(['DEMO-0001', 'DEMO-0002'])
  expect(texts(page, '.connector .tag')).toEqual(['空闲', '充电中', '离线'])
  expect(texts(page, '.connector-no')).toEqual(['1 号枪', '2 号枪', '1 号枪'])
  expect(page.querySelectorAll('.connector')[0].dom.textContent).toContain('国标直流 · 120.0 kW')
})

test('a connectorStatus update changes the connector and the counts', async () => {
  // given
  const api = fakeApi()
  const { page } = await opened(api)

  // when
  api.live('connectorStatus').handlers.next({
    stationId: '1', chargePointId: 'DEMO-0001', connectorNo: 1, status: 'FAULTED', counts: counts(0, 1, 1, 1),
  })

  // then
  await waitFor(() => texts(page, '.connector .tag')[0] === '故障')
  expect(text(page, '.card .tag')).toBe('空闲 0/3')
  expect(api.live('connectorStatus').variables).toEqual({ stationId: '1' })
})

test('a connector tap opens the connector page; 导航 opens the map app', async () => {
  // given
  const { page, my } = await opened(fakeApi())

  // when
  page.querySelectorAll('.connector')[1].dispatchEvent('tap')
  page.querySelector('.btn-primary').dispatchEvent('tap')

  // then
  await waitFor(() => my.navigateTo.mock.calls.length === 1 && my.openLocation.mock.calls.length === 1)
  expect(my.navigateTo.mock.calls[0][0].url).toBe('/pages/connector/index?stationId=1&chargePointId=DEMO-0001&connectorNo=2')
  expect(my.openLocation.mock.calls[0][0]).toMatchObject({ name: '西湖文化广场充电站', address: '中山北路 B2' })
})

test('a station without a tariff says so; the subscription closes on unload', async () => {
  const api = fakeApi({ stationTariff: jest.fn(async () => null) })
  const { page } = openPage(tree, 'pages/station/index', { api, query: { id: '1' } })
  await waitFor(() => page.querySelector('.connector'))
  expect(page.dom.textContent).toContain('该站点暂未设置电价')
  page.unload()
  expect(api.subscriptions.every((s) => s.closed)).toBe(true)
})
