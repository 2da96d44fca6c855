// app.js and app.json: the one api object in globalData, the QR remembered from the launch options, the pages
// and the text-only tab bar.
const path = require('path')
const fs = require('fs')

let E
beforeEach(() => {
  jest.resetModules()
  E = require('./fixtures/env')
})

test('App builds the api over platform.js and remembers the launch QR', () => {
  const { install } = require('../helpers/wx-env')
  const app = install({})
  require(path.join(E.ROOT, 'app.js'))
  const url = 'https://chargeops.example.cn/q/AbC123'
  app.onLaunch({ path: 'pages/connector/index', query: { q: encodeURIComponent(url), scancode_time: '1' }, scene: 1011 })
  const api = app.globalData.api
  for (const name of ['stationsNear', 'scannedConnector', 'charge', 'subscribe', 'login', 'pay', 'qrFromLaunch']) {
    expect(typeof api[name]).toBe('function')
  }
  expect(api.graphqlUrl).toBe('https://chargeops.example.cn/graphql')
  expect(api.wsUrl).toBe('wss://chargeops.example.cn/graphql')
  expect(app.globalData.platform.name).toBe('wechat')
  expect(app.globalData.launchQr).toBe(url)
  app.onShow({ query: {} }) // a show without a QR keeps the one from the launch
  expect(app.globalData.launchQr).toBe(url)
})

test('app.json: nine pages, the map first, four text tabs, location permission', () => {
  const json = JSON.parse(fs.readFileSync(path.join(E.ROOT, 'app.json'), 'utf8'))
  expect(json.pages).toEqual(['map', 'station', 'connector', 'charging', 'orders', 'order', 'compare', 'wallet', 'me'].map((p) => `pages/${p}/index`))
  expect(json.tabBar.list.map((t) => [t.pagePath, t.text])).toEqual([
    ['pages/map/index', '地图'], ['pages/orders/index', '订单'], ['pages/wallet/index', '钱包'], ['pages/me/index', '我的'],
  ])
  expect(json.requiredPrivateInfos).toContain('getLocation')
  expect(json.permission['scope.userLocation'].desc).toMatch(/充电站/)
  const project = JSON.parse(fs.readFileSync(path.join(E.ROOT, 'project.config.json'), 'utf8'))
  expect(project.appid).toBe('touristappid')
  expect(fs.existsSync(path.join(E.ROOT, 'sitemap.json'))).toBe(true)
  for (const page of json.pages) {
    expect(JSON.parse(fs.readFileSync(path.join(E.ROOT, `${page}.json`), 'utf8')).navigationBarTitleText).toMatch(/[\u4e00-\u9fff]/)
  }
})
