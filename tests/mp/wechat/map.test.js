// 地图 page (miniprogram-simulate): markers on <map>, the station card, live counts, filters, search, list
// view, scan, location fallback, error state, subscriptions closed on hide.
// each test gets fresh modules (simulate, the shims, the page's core modules): resetModules, then require
let env
beforeEach(() => {
  jest.resetModules()
  env = require('./fixtures/env')
})
const [render, fakeApi, fakePlatform, waitFor, text, texts, counts, networkError] =
  ['render', 'fakeApi', 'fakePlatform', 'waitFor', 'text', 'texts', 'counts', 'networkError'].map((name) => (...args) => env[name](...args))

async function loaded(options) {
  const r = render('map', options)
  await waitFor(() => r.page.instance.data.stations.length > 0 || r.page.instance.data.error)
  return r
}

const mapAttr = (page, name) => page.querySelector('#map').toJSON().attrs.find((a) => a.name === name).value

test('one marker per station reaches <map>: numeric ids, pins coloured by free connectors, labels', async () => {
  const { page, api } = await loaded()
  expect(api.stationsNear).toHaveBeenCalledWith({ latitude: 30.28, longitude: 120.16, radiusM: 20000, filter: { availableNow: false } })
  const markers = mapAttr(page, 'markers')
  expect(markers.map((m) => m.id)).toEqual([1, 2, 3])
  expect(markers.map((m) => m.iconPath)).toEqual(['/images/pin-green.png', '/images/pin-grey.png', '/images/pin-red.png'])
  expect(markers.map((m) => m.label.content)).toEqual(['3/4', '0/4', '0/4'])
  expect(markers[0]).toMatchObject({ latitude: 30.277412, longitude: 120.168985, width: 30, height: 36, title: '西湖文化广场充电站' })
  expect(markers[0].callout.content).toBe('西湖文化广场充电站\n空闲 3/4')
  expect(mapAttr(page, 'latitude')).toBe(30.28)
  expect(mapAttr(page, 'longitude')).toBe(120.16)
})

test('the marker icons exist in the package', () => {
  const fs = require('fs')
  const path = require('path')
  const { ROOT } = require('./fixtures/env')
  for (const color of ['green', 'grey', 'red']) {
    const png = fs.readFileSync(path.join(ROOT, 'images', `pin-${color}.png`))
    expect(png.subarray(1, 4).toString()).toBe('PNG')
  }
})

test('a marker tap opens the station card; 详情 goes to the station page', async () => {
  const { page, wx } = await loaded()
  expect(page.querySelector('.station-card')).toBeFalsy()
  page.querySelector('#map').dispatchEvent('markertap', { detail: { markerId: 2 } })
  await waitFor(() => page.querySelector('.station-card'))
  const card = text(page, '.station-card')
  expect(card).toContain('钱江新城市民中心充电站')
  expect(card).toContain('空闲 0/4')
  expect(card).toContain('5.3 km')
  page.querySelector('.station-card .btn').dispatchEvent('tap')
  await waitFor(() => wx.navigateTo.mock.calls.length)
  expect(wx.navigateTo).toHaveBeenCalledWith({ url: '/pages/station/index?id=2' })
  page.querySelector('.close').dispatchEvent('tap')
  await waitFor(() => !page.querySelector('.station-card'))
})

test('live connector counts recolour the marker and update the open card', async () => {
  const { page, api } = await loaded()
  expect(api.subscriptions.map((s) => [s.name, s.variables.stationId])).toEqual([
    ['connectorStatus', '1'], ['connectorStatus', '2'], ['connectorStatus', '3'],
  ])
  page.querySelector('#map').dispatchEvent('markertap', { detail: { markerId: 2 } })
  await waitFor(() => page.querySelector('.station-card'))
  api.subscriptions[1].handlers.next({ stationId: '2', chargePointId: 'DEMO-0003', connectorNo: 1, status: 'AVAILABLE', counts: counts(1, 4) })
  await waitFor(() => mapAttr(page, 'markers')[1].iconPath === '/images/pin-green.png')
  expect(mapAttr(page, 'markers')[1].label.content).toBe('1/4')
  expect(text(page, '.station-card')).toContain('空闲 1/4')
})

test('filters and search go to the server as a StationFilter', async () => {
  const { page, api } = await loaded()
  page.querySelector('.chip').dispatchEvent('tap') // 空闲
  await waitFor(() => api.stationsNear.mock.calls.length === 2)
  expect(api.stationsNear.mock.calls[1][0].filter).toEqual({ availableNow: true })
  page.querySelectorAll('.chip')[1].dispatchEvent('tap') // 直流
  await waitFor(() => api.stationsNear.mock.calls.length === 3)
  expect(api.stationsNear.mock.calls[2][0].filter).toEqual({ availableNow: true, connectorTypes: ['GBT_DC', 'CCS2', 'CHADEMO'] })
  page.querySelectorAll('.chip')[2].dispatchEvent('tap') // 交流 replaces 直流
  await waitFor(() => api.stationsNear.mock.calls.length === 4)
  expect(api.stationsNear.mock.calls[3][0].filter.connectorTypes).toEqual(['GBT_AC', 'TYPE2'])
  page.instance.onKeyword({ detail: { value: ' 西湖 ' } })
  page.instance.onSearch()
  await waitFor(() => api.stationsNear.mock.calls.length === 5)
  expect(api.stationsNear.mock.calls[4][0].filter.name).toBe('西湖')
  expect(texts(page, '.chip-on')).toEqual(['空闲', '交流'])
})

test('the list view shows each station with distance and counts; a tap opens it', async () => {
  const { page, wx } = await loaded()
  page.querySelector('.mode').dispatchEvent('tap')
  await waitFor(() => page.querySelectorAll('.list-item').length === 3)
  expect(page.querySelector('#map')).toBeFalsy()
  const items = texts(page, '.list-item')
  expect(items[0]).toContain('西湖文化广场充电站')
  expect(items[0]).toContain('850 m')
  expect(items[0]).toContain('空闲 3/4')
  expect(items[2]).toContain('10.2 km')
  page.querySelectorAll('.list-item')[2].dispatchEvent('tap')
  await waitFor(() => wx.navigateTo.mock.calls.length)
  expect(wx.navigateTo).toHaveBeenCalledWith({ url: '/pages/station/index?id=3' })
})

test('a dragged map region loads the stations in the box', async () => {
  const { page, api } = await loaded()
  page.querySelector('#map').dispatchEvent('regionchange', {
    detail: { type: 'end', causedBy: 'drag', region: { southwest: { latitude: 30.1, longitude: 120.1 }, northeast: { latitude: 30.3, longitude: 120.3 } } },
  })
  await waitFor(() => api.stationsInBox.mock.calls.length)
  expect(api.stationsInBox).toHaveBeenCalledWith({ south: 30.1, west: 120.1, north: 30.3, east: 120.3, filter: { availableNow: false } })
  await waitFor(() => mapAttr(page, 'markers').length === 1)
  page.querySelector('#map').dispatchEvent('regionchange', { detail: { type: 'end', causedBy: 'update', region: {} } })
  expect(api.stationsInBox).toHaveBeenCalledTimes(1)
})

test('without location permission the city centre is used and the driver is told', async () => {
  const platform = fakePlatform({ getLocation: jest.fn(async () => { throw { errMsg: 'getLocation:fail auth deny' } }) })
  const { api } = await loaded({ platform })
  expect(api.stationsNear.mock.calls[0][0]).toMatchObject({ latitude: 30.2741, longitude: 120.1551 })
  expect(platform.toast).toHaveBeenCalledWith('未获取到定位，显示市中心附近的充电站')
})

test('a failed load shows a Chinese error and 重试 loads again', async () => {
  const api = fakeApi({ stationsNear: jest.fn().mockRejectedValueOnce(networkError()).mockResolvedValue([]) })
  const { page } = await loaded({ api })
  await waitFor(() => page.querySelector('.state-error'))
  expect(text(page, '.state-error')).toContain('网络不给力，请检查网络后重试')
  page.querySelector('.retry').dispatchEvent('tap')
  await waitFor(() => !page.querySelector('.state-error') && text(page).includes('附近没有符合条件的充电站'))
})

test('scan opens the connector page with the scanned URL', async () => {
  const { page, wx, platform } = await loaded()
  page.querySelector('.scan').dispatchEvent('tap')
  await waitFor(() => wx.navigateTo.mock.calls.length)
  expect(platform.scanCode).toHaveBeenCalled()
  expect(wx.navigateTo).toHaveBeenCalledWith({ url: '/pages/connector/index?scanned=' + encodeURIComponent('https://chargeops.example.cn/q/AbC123') })
})

test('a charge in progress shows a banner back to it', async () => {
  const api = fakeApi({ resumeActiveOrder: jest.fn(async () => ({ id: '9', status: 'CHARGING' })) })
  const { page, wx } = await loaded({ api })
  await waitFor(() => page.querySelector('.banner'))
  expect(text(page, '.banner')).toContain('您有一笔正在进行的充电')
  page.querySelector('.banner').dispatchEvent('tap')
  await waitFor(() => wx.navigateTo.mock.calls.length)
  expect(wx.navigateTo).toHaveBeenCalledWith({ url: '/pages/charging/index?orderId=9' })
})

test('subscriptions are closed on hide and opened again on show, closed on unload', async () => {
  const { page, api } = await loaded()
  const first = api.subscriptions.slice()
  page.instance.onHide()
  for (const s of first) expect(s.unsubscribe).toHaveBeenCalledTimes(1)
  page.instance.onShow()
  expect(api.subscriptions.length).toBe(6)
  page.unload()
  for (const s of api.subscriptions.slice(3)) expect(s.unsubscribe).toHaveBeenCalledTimes(1)
})

test('pull-down refresh reloads and stops the spinner', async () => {
  const { page, api, wx } = await loaded()
  page.instance.onPullDownRefresh()
  await waitFor(() => wx.stopPullDownRefresh.mock.calls.length)
  expect(api.stationsNear).toHaveBeenCalledTimes(2)
})
