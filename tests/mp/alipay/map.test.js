'use strict'
// pages/map (Alipay, rendered through the AXML→WXML bridge): markers, marker tap card, filters, list, scan,
// live counts, location fallback and the error state.
const { STATIONS, counts, fakeApi, alipayTree, openPage, text, texts, hasClass, waitFor, GraphQLError } = require('./fake-api')

const tree = alipayTree()
afterAll(() => tree.cleanup())
beforeEach(() => jest.resetModules())

function markersOf(page) {
  const attrs = page.querySelector('#stationMap').toJSON().attrs
  return attrs.find((a) => a.name === 'markers').value
}

test('one numeric-id marker per station, coloured by its counts, with available/total', async () => {
  // given
  const api = fakeApi()

  // when
  const { page } = openPage(tree, 'pages/map/index', { api })
  await waitFor(() => page.instance.data.stations.length === 3)

  // then
  const markers = markersOf(page)
  expect(markers.map((m) => m.id)).toEqual([1, 2, 3])
  expect(markers.map((m) => m.iconPath)).toEqual(['/images/pin-green.png', '/images/pin-grey.png', '/images/pin-red.png'])
  expect(markers.map((m) => m.label.content)).toEqual(['2/4', '0/2', '0/2'])
  expect(api.stationsNear).toHaveBeenCalledWith({
    latitude: 30.2741, longitude: 120.1551, radiusM: 5000,
    filter: { availableNow: false, connectorTypes: null, minPowerW: 0, name: null },
  })
  expect(api.subscribe.mock.calls.map((c) => [c[0], c[1].stationId])).toEqual([
    ['connectorStatus', '1'], ['connectorStatus', '2'], ['connectorStatus', '3'],
  ])
})

test('a marker tap (markerId in detail) opens the station card; 详情 goes to the station page', async () => {
  // given
  const { page, my } = openPage(tree, 'pages/map/index', { api: fakeApi() })
  await waitFor(() => page.instance.data.stations.length === 3)

  // when
  page.querySelector('#stationMap').dispatchEvent('markertap', { detail: { markerId: 2 } })
  await waitFor(() => page.querySelector('.station-card'))

  // then
  expect(text(page, '.card-name')).toBe('黄龙体育中心充电站')
  expect(text(page, '.station-card')).toContain('空闲 0/2')
  expect(text(page, '.station-card')).toContain('距离 2.3 km')

  // when
  page.querySelector('.btn-detail').dispatchEvent('tap')
  page.querySelector('.btn-nav').dispatchEvent('tap')

  // then
  await waitFor(() => my.navigateTo.mock.calls.length === 1 && my.openLocation.mock.calls.length === 1)
  expect(my.navigateTo).toHaveBeenCalledWith(expect.objectContaining({ url: '/pages/station/index?id=2' }))
  expect(my.openLocation.mock.calls[0][0]).toMatchObject({ latitude: '30.27', longitude: '120.13', name: '黄龙体育中心充电站' })
})

test('a connectorStatus update recolours the marker and the list row', async () => {
  // given
  const api = fakeApi()
  const { page } = openPage(tree, 'pages/map/index', { api })
  await waitFor(() => page.instance.data.stations.length === 3)

  // when: the last free connector of station 1 starts charging
  api.subscriptions[0].handlers.next({ stationId: '1', chargePointId: 'DEMO-0001', connectorNo: 1, status: 'CHARGING', counts: counts(0, 4, 0, 0) })

  // then
  await waitFor(() => markersOf(page)[0].label.content === '0/4')
  expect(markersOf(page)[0].iconPath).toBe('/images/pin-grey.png')
  page.querySelector('.chip-mode').dispatchEvent('tap')
  await waitFor(() => page.querySelectorAll('.list-row').length === 3)
  expect(texts(page, '.list-row .tag')).toEqual(['空闲 0/4', '空闲 0/2', '空闲 0/2'])
})

test('filters and search go into the StationFilter; the chip shows it is on', async () => {
  // given
  const api = fakeApi()
  const { page } = openPage(tree, 'pages/map/index', { api })
  await waitFor(() => page.instance.data.stations.length === 3)

  // when
  page.querySelectorAll('.chip')[0].dispatchEvent('tap') // 空闲
  page.querySelectorAll('.chip')[1].dispatchEvent('tap') // 直流
  page.querySelector('.search-input').dispatchEvent('input', { detail: { value: '西湖' } })
  page.querySelector('.search-btn').dispatchEvent('tap')
  await waitFor(() => api.stationsNear.mock.calls.length === 4)

  // then
  expect(api.stationsNear.mock.calls[3][0].filter).toEqual({
    availableNow: true, connectorTypes: ['GBT_DC', 'CCS2', 'CHADEMO'], minPowerW: 0, name: '西湖',
  })
  expect(hasClass(page.querySelectorAll('.chip')[0], 'chip-on')).toBe(true)
  expect(hasClass(page.querySelectorAll('.chip')[2], 'chip-on')).toBe(false)
})

test('without location permission: the demo city centre and a note', async () => {
  const api = fakeApi()
  const { page } = openPage(tree, 'pages/map/index', { api, my: { getLocation: (o) => o.fail({ error: 2001 }) } })
  await waitFor(() => page.instance.data.stations.length === 3)
  expect(text(page, '.note')).toBe('未获得定位，显示默认城市中心附近的充电站')
  expect(api.stationsNear.mock.calls[0][0]).toMatchObject({ latitude: 30.2741, longitude: 120.1551 })
})

test('scan: the scanned URL goes to the connector page', async () => {
  const { page, my } = openPage(tree, 'pages/map/index', { api: fakeApi() })
  await waitFor(() => page.instance.data.stations.length === 3)
  page.querySelector('.chip-scan').dispatchEvent('tap')
  await waitFor(() => my.navigateTo.mock.calls.length === 1)
  expect(my.navigateTo.mock.calls[0][0].url).toBe(
    '/pages/connector/index?scanned=' + encodeURIComponent('https://chargeops.example.cn/q/SYGP8P0BP9'))
})

test('a failed load shows the reason in Chinese and 重试 loads again', async () => {
  // given
  const api = fakeApi({ stationsNear: jest.fn().mockRejectedValueOnce(new GraphQLError('down', 'INTERNAL')).mockResolvedValue(STATIONS) })
  const { page } = openPage(tree, 'pages/map/index', { api })
  await waitFor(() => page.querySelector('.retry'))
  expect(text(page, '.state-error')).toContain('出错了：down')

  // when
  page.querySelector('.retry').dispatchEvent('tap')

  // then
  await waitFor(() => page.instance.data.stations.length === 3)
  expect(page.querySelector('.state-error')).toBeFalsy()
})

test('hiding the page closes its subscriptions; showing it again opens them', async () => {
  const api = fakeApi()
  const { page } = openPage(tree, 'pages/map/index', { api })
  await waitFor(() => page.instance.data.stations.length === 3)
  page.instance.onHide()
  expect(api.subscriptions.every((s) => s.closed)).toBe(true)
  page.instance.onShow()
  expect(api.subscriptions.filter((s) => !s.closed)).toHaveLength(3)
  page.unload()
  expect(api.subscriptions.every((s) => s.closed)).toBe(true)
})
