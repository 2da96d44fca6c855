// 订单 (tab) and 订单详情 and 充电对比 pages: the list with station names and amounts, paging, compare mode;
// the order's money, cost breakdown and session; two sessions on one chart with a measurand switch.
let E
beforeEach(() => {
  jest.resetModules()
  E = require('./fixtures/env')
})

async function list(options = {}) {
  const r = E.render('orders', options)
  await E.waitFor(() => r.page.instance.data.orders.length || r.page.instance.data.needLogin || r.page.instance.data.error)
  return r
}

test('orders: status, station name, time and amounts', async () => {
  const { page, api } = await list()
  expect(api.orders).toHaveBeenCalledWith({ first: 10 })
  await E.waitFor(() => E.texts(page, '.order')[0].includes('西湖文化广场充电站'))
  const rows = E.texts(page, '.order')
  expect(rows).toHaveLength(3)
  expect(rows[0]).toMatch(/^西湖文化广场充电站已完成/)
  expect(rows[0]).toContain('已完成')
  expect(rows[0]).toContain('2024-05-01 10:00')
  expect(rows[0]).toContain('消费¥3.45')
  expect(rows[0]).toContain('已付¥50.00')
  expect(rows[0]).toContain('退款¥46.55')
  expect(rows[1]).toContain('已取消')
  expect(rows[1]).not.toContain('退款')
  expect(rows[2]).toContain('钱江新城市民中心充电站')
  expect(api.stationName).toBeUndefined() // the names come with the orders: no query per station
  expect(api.orders).toHaveBeenCalledTimes(1)
  expect(E.text(page)).toContain('没有更多了')
})

test('a tap opens the order; a running order opens the charging page', async () => {
  const running = E.fakeApi({ orders: jest.fn(async () => ({ orders: [E.order({ id: '9', status: 'CHARGING' })], hasMore: false })) })
  const first = await list({ api: running })
  first.page.querySelector('.order').dispatchEvent('tap')
  await E.waitFor(() => first.wx.navigateTo.mock.calls.length)
  expect(first.wx.navigateTo).toHaveBeenCalledWith({ url: '/pages/charging/index?orderId=9' })
  jest.resetModules()
  E = require('./fixtures/env')
  const { page, wx } = await list()
  page.querySelector('.order').dispatchEvent('tap')
  await E.waitFor(() => wx.navigateTo.mock.calls.length)
  expect(wx.navigateTo).toHaveBeenCalledWith({ url: '/pages/order/index?id=7' })
})

test('more pages load at the bottom with the last id as the cursor', async () => {
  const api = E.fakeApi({
    orders: jest.fn()
      .mockResolvedValueOnce({ orders: [E.order({ id: '20', status: 'SETTLED' }), E.order({ id: '19', status: 'SETTLED' })], hasMore: true })
      .mockResolvedValueOnce({ orders: [E.order({ id: '18', status: 'SETTLED' })], hasMore: false }),
  })
  const { page } = await list({ api })
  expect(E.text(page)).not.toContain('没有更多了')
  page.instance.onReachBottom()
  await E.waitFor(() => page.querySelectorAll('.order').length === 3)
  expect(api.orders).toHaveBeenLastCalledWith({ first: 10, before: '19' })
  expect(E.text(page)).toContain('没有更多了')
})

test('compare mode: pick two charged orders, then 对比曲线', async () => {
  const { page, wx, platform } = await list()
  page.querySelector('.toggle').dispatchEvent('tap')
  await E.waitFor(() => page.querySelector('.compare-bar'))
  page.querySelectorAll('.order')[1].dispatchEvent('tap') // no session: refused
  await E.waitFor(() => platform.toast.mock.calls.length)
  expect(platform.toast).toHaveBeenCalledWith('该订单没有充电记录，不能对比')
  page.querySelectorAll('.order')[0].dispatchEvent('tap')
  page.querySelectorAll('.order')[2].dispatchEvent('tap')
  await E.waitFor(() => E.text(page, '.compare-bar').includes('已选 2/2'))
  expect(page.querySelectorAll('.order-selected')).toHaveLength(2)
  expect(wx.navigateTo).not.toHaveBeenCalled()
  page.querySelector('.compare-bar .btn').dispatchEvent('tap')
  await E.waitFor(() => wx.navigateTo.mock.calls.length)
  expect(wx.navigateTo).toHaveBeenCalledWith({ url: '/pages/compare/index?ids=' + encodeURIComponent('3,2') })
})

test('logged out: a login prompt instead of a list', async () => {
  const api = E.fakeApi({ loggedIn: false })
  const { page, wx } = await list({ api })
  expect(api.orders).not.toHaveBeenCalled()
  expect(E.text(page)).toContain('登录后查看您的充电订单')
  page.querySelector('.state .btn').dispatchEvent('tap')
  await E.waitFor(() => wx.switchTab.mock.calls.length)
  expect(wx.switchTab).toHaveBeenCalledWith({ url: '/pages/me/index' })
})

test('pull-down refresh reloads the list', async () => {
  const { page, api, wx } = await list()
  page.instance.onPullDownRefresh()
  await E.waitFor(() => wx.stopPullDownRefresh.mock.calls.length)
  expect(api.orders).toHaveBeenCalledTimes(2)
})

test('order detail: paid, used, refunded, the breakdown by tariff period, the session', async () => {
  const detail = { total_fen: 345, energy_wh: 2450, energy: [
    { version: 1, tier: 'flat', energy_wh: 2450, energy_price_e4: 6500, service_price_e4: 8000, energy_fee_fen: 159, service_fee_fen: 196 },
  ], time: [], idle: null, anomalies: [] }
  const api = E.fakeApi({
    order: jest.fn(async () => E.order({ status: 'SETTLED', dueFen: 345, refundFen: 4655, costDetail: detail, finishedAt: '2024-05-01T02:30:00Z', settledAt: '2024-05-01T02:31:00Z' })),
    sessionTrend: jest.fn(async () => E.session({ status: 'COMPLETED', durationS: 1805, stopReason: 'Remote' })),
  })
  const { page } = E.render('order', { api, query: { id: '7' } })
  await E.waitFor(() => page.instance.data.session && page.instance.data.order.stationName)
  expect(E.text(page, '.paid')).toBe('¥50.00')
  expect(E.text(page, '.used')).toBe('¥3.45')
  expect(E.text(page, '.refunded')).toBe('¥46.55')
  const lines = E.texts(page, '.line')
  expect(lines).toEqual(['平时段电费2.45 kWh × ¥0.6500/kWh¥1.59', '平时段服务费2.45 kWh × ¥0.8000/kWh¥1.96'])
  expect(E.text(page, '.energy')).toBe('2.45 kWh')
  expect(E.text(page, '.duration')).toBe('00:30:05')
  expect(E.text(page)).toContain('西湖文化广场充电站')
  expect(E.text(page)).toContain('CO20240501000007')
  expect(E.text(page)).toContain('结束原因远程停止')
  expect(E.text(page)).toContain('沙箱支付')
  expect(api.sessionTrend).toHaveBeenCalledWith('3', { measurands: ['POWER_W', 'SOC_PCT'] })
  expect(page.instance.data.chart).toEqual({ powerPoints: 3, socPoints: 3 })
})

test('order detail: a missing order is said so', async () => {
  const api = E.fakeApi({ order: jest.fn(async () => { throw E.graphqlError('NOT_FOUND') }) })
  const { page } = E.render('order', { api, query: { id: '404' } })
  await E.waitFor(() => page.instance.data.error)
  expect(E.text(page, '.state-error')).toContain('未找到相关记录')
})

test('compare: both sessions on one scale, a legend each, and the measurand switch', async () => {
  const series = (measurand, values) => ({ measurand, points: values.map((v, i) => ({ offsetS: i * 60, avg: v, last: v })) })
  const comparison = (measurand, a, b) => ({
    bucketSeconds: 60, measurand,
    sessions: [
      { session: { id: '3', startedAt: '2024-05-01T02:00:00Z', durationS: 1800, energyWh: 20000, maxPowerW: 118000, station: { id: '1', name: '西湖文化广场充电站' } }, series: series(measurand, a) },
      { session: { id: '2', startedAt: '2024-04-30T12:00:00Z', durationS: 3600, energyWh: 7000, maxPowerW: 7000, station: { id: '2', name: '钱江新城市民中心充电站' } }, series: series(measurand, b) },
    ],
  })
  const api = E.fakeApi({
    compare: jest.fn(async (ids, measurand) => (measurand === 'POWER_W'
      ? comparison('POWER_W', [60000, 118000, 90000], [7000, 7000])
      : comparison('SOC_PCT', [20, 50, 80], [30, 40]))),
  })
  const { page } = E.render('compare', { api, query: { ids: encodeURIComponent('3,2') } })
  await E.waitFor(() => page.instance.data.sessions.length === 2)
  expect(api.compare).toHaveBeenCalledWith(['3', '2'], 'POWER_W')
  const legends = E.texts(page, '.session')
  expect(legends[0]).toContain('A西湖文化广场充电站')
  expect(legends[0]).toContain('电量 20.00 kWh')
  expect(legends[1]).toContain('时长 01:00:00')
  expect(page.instance.series.map((s) => [s.min, s.max])).toEqual([[0, 120], [0, 120]])
  expect(page.instance.data.chart).toEqual({ series: 2, points: 5 })
  expect(E.texts(page, '.tab')).toEqual(['功率', 'SoC', '电压', '电流'])
  page.querySelectorAll('.tab')[1].dispatchEvent('tap')
  await E.waitFor(() => api.compare.mock.calls.length === 2 && page.instance.data.unit === '%')
  expect(api.compare).toHaveBeenLastCalledWith(['3', '2'], 'SOC_PCT')
  expect(E.text(page, '.tab-on')).toBe('SoC')
  expect(page.instance.series.map((s) => [s.min, s.max])).toEqual([[0, 100], [0, 100]])
})

test('compare needs two sessions', async () => {
  const { page, api } = E.render('compare', { query: { ids: '3' } })
  await E.waitFor(() => page.instance.data.error)
  expect(E.text(page, '.state-error')).toContain('请在订单列表中选择两笔订单进行对比')
  expect(api.compare).not.toHaveBeenCalled()
})
