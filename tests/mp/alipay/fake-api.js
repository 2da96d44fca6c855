'use strict'
// Shared by the Alipay rendering tests (jest): the Alipay tree converted for miniprogram-simulate, a fake of
// core/api.js (jest.fn per call, subscriptions the test can feed), and sample server data shaped as the
// GraphQL documents of core/queries.js return it.
const path = require('path')
const { convertTree, installMy } = require('../helpers/axml-to-wxml')
const { install, loadPage, waitFor } = require('../helpers/wx-env')
const { qrFromLaunch } = require('../../../miniprogram_alipay/core/api.js')

const ALIPAY_ROOT = path.join(__dirname, '../../../miniprogram_alipay')

const counts = (available, charging, faulted, unavailable) => ({
  total: available + charging + faulted + unavailable, available, charging, faulted, unavailable,
})

const STATIONS = [
  { id: '1', name: '西湖文化广场充电站', kind: 'CHARGING', latitude: 30.2774, longitude: 120.169, address: '中山北路 B2', city: '杭州', openingHours: '00:00-24:00', distanceM: 850, connectorCounts: counts(2, 2, 0, 0) },
  { id: '2', name: '黄龙体育中心充电站', kind: 'CHARGING', latitude: 30.27, longitude: 120.13, address: '黄龙路 1 号', city: '杭州', openingHours: '07:00-23:00', distanceM: 2300, connectorCounts: counts(0, 2, 0, 0) },
  { id: '3', name: '钱江新城充电站', kind: 'CHARGING', latitude: 30.25, longitude: 120.21, address: '富春路 8 号', city: '杭州', openingHours: '00:00-24:00', distanceM: 4100, connectorCounts: counts(0, 0, 1, 1) },
]

const STATION = Object.assign({}, STATIONS[0], {
  chargePoints: [
    {
      id: 'DEMO-0001', online: true, status: 'AVAILABLE', connectors: [
        { id: '11', connectorNo: 1, chargePointId: 'DEMO-0001', kind: 'GBT_DC', maxPowerW: 120000, status: 'AVAILABLE' },
        { id: '12', connectorNo: 2, chargePointId: 'DEMO-0001', kind: 'GBT_DC', maxPowerW: 120000, status: 'CHARGING' },
      ],
    },
    {
      id: 'DEMO-0002', online: false, status: 'UNKNOWN', connectors: [
        { id: '21', connectorNo: 1, chargePointId: 'DEMO-0002', kind: 'GBT_AC', maxPowerW: 7000, status: 'AVAILABLE' },
      ],
    },
  ],
})

const price = (tier, e, s) => ({ version: 1, kind: 'TIME_OF_USE', tier, electricityPriceE4: e, servicePriceE4: s, totalPriceE4: e + s, hourlyPriceE4: null, display: `${((e + s) / 10000).toFixed(4)} 元/kWh` })

// 10:30 in Shanghai: the 09:00–11:00 sharp period is the current one
const TARIFF = {
  stationId: '1', at: '2024-05-01T02:30:00+00:00', nextChangeAt: '2024-05-01T03:00:00+00:00',
  price: price('SHARP', 12000, 8000), nextPrice: price('FLAT', 7000, 6000),
  tariff: {
    id: '1', version: 1, kind: 'TIME_OF_USE', note: '尖峰平谷分时电价', hourlyPriceE4: null, hourlyDisplay: null,
    periods: [
      { start: '00:00', end: '09:00', tier: 'VALLEY', electricityPriceE4: 3500, servicePriceE4: 4000, totalPriceE4: 7500, display: '' },
      { start: '09:00', end: '11:00', tier: 'SHARP', electricityPriceE4: 12000, servicePriceE4: 8000, totalPriceE4: 20000, display: '' },
      { start: '11:00', end: '24:00', tier: 'FLAT', electricityPriceE4: 7000, servicePriceE4: 6000, totalPriceE4: 13000, display: '' },
    ],
    prices: [], idleFee: null,
  },
}

const SCANNED = {
  code: 'SYGP8P0BP9', url: 'https://chargeops.example.cn/q/SYGP8P0BP9', stationId: '1', stationName: '西湖文化广场充电站',
  stationAddress: '中山北路 B2', chargePointId: 'DEMO-0001', connectorNo: 1, kind: 'GBT_DC', maxPowerW: 120000,
  status: 'AVAILABLE', pileOnline: true,
}

// an order as the server sends it: with its station's name (ChargingOrder.stationName) and failureCode
function order(fields) {
  const stationId = (fields && fields.stationId) || '1'
  return Object.assign({
    id: '41', outTradeNo: 'CO41', status: 'CHARGING', method: 'SANDBOX', chargePointId: 'DEMO-0001', connectorNo: 1,
    stationId, stationName: STATIONS.find((s) => s.id === String(stationId)).name, capFen: 5000, paidFen: 5000,
    costFen: 1234, dueFen: null, refundFen: 0, sessionId: '7', failure: '', failureCode: null,
    quarantineReason: '', createdAt: '2024-05-01T02:00:00Z', paidAt: '2024-05-01T02:00:05Z', finishedAt: null,
    settledAt: null, costDetail: null,
  }, fields)
}

const trend = (points) => ({
  bucketSeconds: 10, sampleCount: points.length, origin: '2024-05-01T02:00:10Z',
  series: [
    { measurand: 'POWER_W', points: points.map(([s, w]) => ({ offsetS: s, avg: w, last: w })) },
    { measurand: 'SOC_PCT', points: points.map(([s, , soc]) => ({ offsetS: s, avg: soc, last: soc })) },
  ],
})

function session(fields) {
  return Object.assign({
    id: '7', status: 'ACTIVE', phase: 'CHARGING', startedAt: '2024-05-01T02:00:10Z', stoppedAt: null, durationS: 120,
    energyWh: 3456, socStartPct: 30, socEndPct: 42, maxPowerW: 118000, stopReason: null,
    latestSample: { at: '2024-05-01T02:02:10Z', energyWh: 100000, powerW: 60500, currentMa: 150200, voltageMv: 402300, socPct: 42 },
    trend: trend([[0, 20000, 30], [60, 60000, 36], [120, 60500, 42]]),
  }, fields)
}

const GraphQLError = require('../../../miniprogram_alipay/core/graphql.js').GraphQLError

// a fake of core/api.js: every call a jest.fn; subscriptions recorded so a test can send events
function fakeApi(overrides = {}) {
  const subscriptions = []
  let token = overrides.loggedIn === false ? null : 'token'
  let activeOrder = overrides.activeOrder || null
  const api = {
    subscriptions,
    stationsNear: jest.fn(async () => STATIONS),
    stationsInBox: jest.fn(async () => STATIONS),
    station: jest.fn(async () => STATION),
    stationTariff: jest.fn(async () => TARIFF),
    scannedConnector: jest.fn(async () => SCANNED),
    payMethods: jest.fn(async () => ['SANDBOX', 'WALLET']),
    chooseMethod: jest.fn((methods, useWallet) => (useWallet ? 'WALLET' : 'SANDBOX')),
    charge: jest.fn(async (args) => ({ order: order({ status: 'PAID', capFen: args.capFen }), payResult: 'paid' })),
    stopCharging: jest.fn(async () => order({ status: 'CHARGING' })),
    order: jest.fn(async () => order()),
    orders: jest.fn(async () => ({ orders: [], hasMore: false })),
    sessionTrend: jest.fn(async () => session()),
    compare: jest.fn(),
    wallet: jest.fn(async () => ({ balanceFen: 5000, heldFen: 0, statement: [] })),
    topUp: jest.fn(),
    me: jest.fn(async () => ({ id: '5', name: '支付宝用户', vehicles: [] })),
    cards: jest.fn(async () => []),
    login: jest.fn(async () => { token = 'token'; return { id: '5', name: '支付宝用户' } }),
    logout: jest.fn(async () => { token = null }),
    addVehicle: jest.fn(),
    removeVehicle: jest.fn(async () => true),
    pay: jest.fn(async () => 'paid'),
    resumeActiveOrder: jest.fn(async () => null),
    isLoggedIn: () => !!token,
    needsLogin: (error) => !!error && error.code === 'UNAUTHENTICATED',
    qrFromLaunch,
    store: {
      getActiveOrder: () => activeOrder,
      setActiveOrder: jest.fn((id) => { activeOrder = String(id) }),
      clearActiveOrder: jest.fn(() => { activeOrder = null }),
      getViewer: () => (token ? { id: '5', name: '支付宝用户' } : null),
    },
    subscribe: jest.fn((name, variables, handlers) => {
      const entry = { name, variables, handlers, closed: false }
      subscriptions.push(entry)
      return () => { entry.closed = true }
    }),
  }
  // the live subscription of `name`, to feed events: api.live('orderUpdates').handlers.next({...})
  api.live = (name) => subscriptions.filter((s) => s.name === name && !s.closed).pop()
  delete overrides.loggedIn
  delete overrides.activeOrder
  return Object.assign(api, overrides)
}

// converts the Alipay tree once per test file
function alipayTree() {
  return convertTree(ALIPAY_ROOT)
}

// installs `my` (jest.fn for what tests look at), App/getApp with the fake api, and loads a page
function openPage(tree, route, { api, query, my, app } = {}) {
  const calls = {
    navigateTo: jest.fn(), redirectTo: jest.fn(), switchTab: jest.fn(), showToast: jest.fn(),
    openLocation: jest.fn((o) => o.success && o.success()),
    confirm: jest.fn((o) => o.success({ confirm: true })),
    getLocation: jest.fn((o) => o.success({ latitude: '30.2741', longitude: '120.1551' })),
    scan: jest.fn((o) => o.success({ code: 'https://chargeops.example.cn/q/SYGP8P0BP9' })),
  }
  const myApi = installMy(Object.assign(calls, my))
  install({ globalData: { api, pendingQr: '' }, app: Object.assign({ takePendingQr: () => '', takeResumeOnLaunch: () => false }, app) })
  const page = loadPage(path.join(tree.root, route), { query: query || {} })
  return { page, my: myApi }
}

// the text of the first node matching the selector ('' when none)
function text(page, selector) {
  const node = page.querySelector(selector)
  return node ? node.dom.textContent : ''
}

function texts(page, selector) {
  return page.querySelectorAll(selector).map((node) => node.dom.textContent)
}

function hasClass(node, name) {
  return node.dom.className.split(/\s+/).some((c) => c === name || c.endsWith(`--${name}`))
}

module.exports = {
  ALIPAY_ROOT, STATIONS, STATION, TARIFF, SCANNED, GraphQLError, counts, order, session, trend,
  fakeApi, alipayTree, openPage, text, texts, hasClass, waitFor,
}
