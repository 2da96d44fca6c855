'use strict'
// pages/orders, pages/order and pages/compare (Alipay, via the AXML→WXML bridge).
const { fakeApi, order, session, alipayTree, openPage, text, texts, hasClass, waitFor, GraphQLError } = require('./fake-api')

const tree = alipayTree()
afterAll(() => tree.cleanup())
beforeEach(() => jest.resetModules())

const ORDERS = [
  order({ id: '43', status: 'CHARGING', sessionId: '9', stationId: '2', costFen: 800, refundFen: 0, createdAt: '2024-05-03T01:00:00Z' }),
  order({ id: '42', status: 'SETTLED', sessionId: '8', costFen: 2000, dueFen: 2000, refundFen: 3000, createdAt: '2024-05-02T01:00:00Z' }),
  order({ id: '41', status: 'CANCELLED', sessionId: null, costFen: 0, dueFen: 0, refundFen: 5000, failure: 'the pile did not start: rejected Rejected', failureCode: 'PILE_REFUSED', createdAt: '2024-05-01T01:00:00Z' }),
]

test('orders: newest first with station names, status and paid / used / refunded', async () => {
  // given
  const api = fakeApi({ orders: jest.fn(async () => ({ orders: ORDERS, hasMore: false })) })

  // when
  const { page } = openPage(tree, 'pages/orders/index', { api })
  await waitFor(() => page.querySelectorAll('.order').length === 3)

  // then
  expect(api.orders).toHaveBeenCalledWith({ first: 20 })
  expect(texts(page, '.order-station')).toEqual(['黄龙体育中心充电站', '西湖文化广场充电站', '西湖文化广场充电站'])
  expect(api.stationName).toBeUndefined() // the names come with the orders: no query per station
  expect(api.orders).toHaveBeenCalledTimes(1)
  expect(texts(page, '.order .tag')).toEqual(['充电中', '已完成', '已取消'])
  expect(texts(page, '.order .money').slice(3, 6)).toEqual(['¥50.00', '¥20.00', '¥30.00'])
  expect(page.querySelectorAll('.order')[1].dom.textContent).toContain('2024-05-02 09:00 · DEMO-0001 · 1 号枪')
  expect(texts(page, '.select')).toEqual(['对比', '对比']) // the cancelled order has no session
  expect(text(page, '.end')).toBe('没有更多了')
})

test('orders: more pages load with before = the last id', async () => {
  const api = fakeApi({
    orders: jest.fn()
      .mockResolvedValueOnce({ orders: ORDERS.slice(0, 2), hasMore: true })
      .mockResolvedValueOnce({ orders: ORDERS.slice(2), hasMore: false }),
  })
  const { page } = openPage(tree, 'pages/orders/index', { api })
  await waitFor(() => page.querySelectorAll('.order').length === 2)
  page.querySelectorAll('.btn').pop().dispatchEvent('tap')
  await waitFor(() => page.querySelectorAll('.order').length === 3)
  expect(api.orders).toHaveBeenLastCalledWith({ first: 20, before: '42' })
})

test('orders: a tap opens the order; two ticked orders open the comparison of their sessions', async () => {
  // given
  const api = fakeApi({ orders: jest.fn(async () => ({ orders: ORDERS, hasMore: false })) })
  const { page, my } = openPage(tree, 'pages/orders/index', { api })
  await waitFor(() => page.querySelectorAll('.order').length === 3)

  // when
  page.querySelectorAll('.order')[2].dispatchEvent('tap')
  await waitFor(() => my.navigateTo.mock.calls.length === 1)
  page.querySelectorAll('.select')[0].dispatchEvent('tap')
  page.querySelectorAll('.select')[1].dispatchEvent('tap')
  await waitFor(() => page.instance.data.selectedCount === 2)

  // then
  expect(my.navigateTo.mock.calls[0][0].url).toBe('/pages/order/index?id=41')
  expect(texts(page, '.select')).toEqual(['已选', '已选'])
  expect(hasClass(page.querySelectorAll('.select')[0], 'select-on')).toBe(true)
  expect(text(page, '.compare-bar')).toContain('已选 2/2')
  expect(my.navigateTo).toHaveBeenCalledTimes(1) // catchTap: ticking does not open the order

  // when
  page.querySelector('.compare-bar .btn').dispatchEvent('tap')

  // then
  await waitFor(() => my.navigateTo.mock.calls.length === 2)
  expect(my.navigateTo.mock.calls[1][0].url).toBe('/pages/compare/index?sessions=' + encodeURIComponent('9,8'))
})

test('orders: not logged in → 去登录 goes to the me tab', async () => {
  const api = fakeApi({ loggedIn: false })
  const { page, my } = openPage(tree, 'pages/orders/index', { api })
  await waitFor(() => page.querySelector('.action'))
  expect(text(page, '.state')).toContain('登录后查看充电订单')
  expect(api.orders).not.toHaveBeenCalled()
  page.querySelector('.action').dispatchEvent('tap')
  await waitFor(() => my.switchTab.mock.calls.length === 1)
  expect(my.switchTab.mock.calls[0][0].url).toBe('/pages/me/index')
})

test('order: paid, used, refunded, the cost by tariff period and the session with its chart', async () => {
  // given
  const detail = {
    total_fen: 2000, energy_wh: 12000,
    energy: [
      { version: 1, tier: 'valley', energy_wh: 4000, energy_price_e4: 3500, service_price_e4: 4000, energy_fee_fen: 140, service_fee_fen: 160 },
      { version: 1, tier: 'sharp', energy_wh: 8000, energy_price_e4: 12000, service_price_e4: 8000, energy_fee_fen: 960, service_fee_fen: 740 },
    ],
    time: [], idle: null, anomalies: [],
  }
  const api = fakeApi({
    order: jest.fn(async () => order({ id: '42', sessionId: '8', status: 'SETTLED', costFen: 2000, dueFen: 2000, refundFen: 3000, costDetail: detail })),
    sessionTrend: jest.fn(async () => session({ id: '8', status: 'COMPLETED', durationS: 1800, energyWh: 12000, socStartPct: 20, socEndPct: 65, maxPowerW: 118000 })),
  })

  // when
  const { page } = openPage(tree, 'pages/order/index', { api, query: { id: '42' } })
  await waitFor(() => page.querySelector('.chart'))

  // then
  expect(text(page, '.title')).toBe('西湖文化广场充电站')
  expect(text(page, '.tag')).toBe('已完成')
  const values = texts(page, '.row-value')
  expect(values.slice(0, 4)).toEqual(['¥50.00', '¥20.00', '¥30.00', '¥50.00'])
  expect(texts(page, '.cost-row')).toEqual([
    '谷时段电费¥1.404.00 kWh × ¥0.3500/kWh',
    '谷时段服务费¥1.604.00 kWh × ¥0.4000/kWh',
    '尖时段电费¥9.608.00 kWh × ¥1.2000/kWh',
    '尖时段服务费¥7.408.00 kWh × ¥0.8000/kWh',
  ])
  expect(values).toEqual(expect.arrayContaining(['¥20.00', '12.00 kWh', '00:30:00', '20% → 65%', '118.0 kW']))
  expect(api.sessionTrend).toHaveBeenCalledWith('8', { measurands: ['POWER_W', 'SOC_PCT'] })
  const calls = []
  page.instance.paint(new Proxy({}, { get: (t, n) => (...a) => calls.push(n), set: () => true }), 300, 200)
  expect(calls.filter((n) => n === 'lineTo').length).toBeGreaterThanOrEqual(4)
})

test('order: a cancelled order shows why, and no session', async () => {
  const api = fakeApi({ order: jest.fn(async () => ORDERS[2]) })
  const { page } = openPage(tree, 'pages/order/index', { api, query: { id: '41' } })
  await waitFor(() => page.querySelector('.failure'))
  expect(text(page, '.failure')).toBe('充电桩未能启动，预付款将原路退回')
  expect(page.querySelector('.chart')).toBeFalsy()
  expect(api.sessionTrend).not.toHaveBeenCalled()
})

test('order: an error in Chinese with 重试', async () => {
  const api = fakeApi({ order: jest.fn(async () => { throw new GraphQLError('order 99 not found', 'NOT_FOUND') }) })
  const { page } = openPage(tree, 'pages/order/index', { api, query: { id: '99' } })
  await waitFor(() => page.querySelector('.state-error'))
  expect(text(page, '.state-error')).toContain('未找到相关记录')
  expect(text(page, '.action')).toBe('重试')
})

function comparison(measurand, scale) {
  const series = (points) => ({ measurand, points: points.map(([s, v]) => ({ offsetS: s, avg: v * scale, last: v * scale })) })
  return {
    bucketSeconds: 10, measurand,
    sessions: [
      { session: { id: '9', startedAt: '2024-05-03T01:00:10Z', durationS: 600, energyWh: 8000, maxPowerW: 60000, station: { id: '2', name: '黄龙体育中心充电站' } }, series: series([[0, 10], [300, 60], [600, 40]]) },
      { session: { id: '8', startedAt: '2024-05-02T01:00:10Z', durationS: 900, energyWh: 12000, maxPowerW: 118000, station: { id: '1', name: '西湖文化广场充电站' } }, series: series([[0, 20], [450, 118], [900, 30]]) },
    ],
  }
}

test('compare: two sessions on one axis; the measurand switch asks again', async () => {
  // given
  const api = fakeApi({ compare: jest.fn(async (ids, m) => comparison(m, m === 'SOC_PCT' ? 1 : 1000)) })

  // when
  const { page } = openPage(tree, 'pages/compare/index', { api, query: { sessions: encodeURIComponent('9,8') } })
  await waitFor(() => page.querySelectorAll('.session-title').length === 2)

  // then
  expect(api.compare).toHaveBeenCalledWith(['9', '8'], 'POWER_W')
  expect(texts(page, '.session-title')).toEqual(['A · 黄龙体育中心充电站', 'B · 西湖文化广场充电站'])
  expect(texts(page, '.chip')).toEqual(['功率', 'SoC', '电压', '电流'])
  const axes = page.instance.paint(new Proxy({}, { get: () => () => {}, set: () => true }), 300, 200).axes
  expect(axes).toEqual([{ min: 0, max: 120 }, { min: 0, max: 120 }]) // shared: 118 kW rounds up to 120

  // when
  page.querySelectorAll('.chip')[1].dispatchEvent('tap')

  // then
  await waitFor(() => api.compare.mock.calls.length === 2 && !page.instance.data.loading)
  expect(api.compare).toHaveBeenLastCalledWith(['9', '8'], 'SOC_PCT')
  expect(hasClass(page.querySelectorAll('.chip')[1], 'chip-on')).toBe(true)
  expect(page.instance.paint(new Proxy({}, { get: () => () => {}, set: () => true }), 300, 200).axes[0]).toEqual({ min: 0, max: 100 })
})

test('compare: without two sessions it explains how to pick them', async () => {
  const { page } = openPage(tree, 'pages/compare/index', { api: fakeApi(), query: {} })
  await waitFor(() => page.querySelector('.state-error'))
  expect(text(page, '.state-error')).toContain('请在订单列表中选择两笔订单进行对比')
})

