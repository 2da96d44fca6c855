'use strict'
// pages/charging (Alipay, via the AXML→WXML bridge): resume from the stored order, history then live events,
// the trend drawn through a fake 2d context, stop, the final summary, and the empty / login states.
const { fakeApi, order, session, alipayTree, openPage, text, texts, waitFor, GraphQLError } = require('./fake-api')

const tree = alipayTree()
afterAll(() => tree.cleanup())
beforeEach(() => jest.resetModules())

// a recording CanvasRenderingContext2D
function fakeContext() {
  const calls = []
  return new Proxy({ calls }, {
    get(target, name) {
      if (name in target) return target[name]
      return (...args) => { calls.push([name, ...args]) }
    },
    set(target, name, value) {
      calls.push([name, value])
      return true
    },
  })
}

async function charging(api, query) {
  const result = openPage(tree, 'pages/charging/index', { api, query: query || {} })
  await waitFor(() => result.page.instance.historyLoaded || result.page.querySelector('.state'))
  return result
}

test('resumes the stored active order: history first, then live values, cost against the cap', async () => {
  // given: the app was closed while charging
  const api = fakeApi({ activeOrder: '41' })

  // when
  const { page } = await charging(api)

  // then
  expect(api.order).toHaveBeenCalledWith('41')
  expect(api.sessionTrend).toHaveBeenCalledWith('7', { measurands: ['POWER_W', 'SOC_PCT'] })
  expect(api.subscriptions.map((s) => [s.name, s.variables])).toEqual([
    ['orderUpdates', { orderId: '41' }], ['sessionUpdates', { sessionId: '7' }],
  ])
  await waitFor(() => text(page, '.power') === '60.5 kW')
  expect(text(page, '.status-label')).toBe('充电中')
  expect(texts(page, '.cell-value')).toEqual(['3.46 kWh', '42%', '402.3 V', '150.2 A'])
  expect(page.dom.textContent).toContain('¥12.34 / ¥50.00')
  expect(page.querySelector('.bar-fill').dom.getAttribute('style')).toContain('width: 24%')
  expect(text(page, '.tag')).toBe('充电')
  expect(text(page, '.elapsed')).toMatch(/^已充 \d{2,}:\d{2}:\d{2}$/)
  expect(text(page, '.btn-danger')).toBe('停止充电')
})

test('the trend is drawn by core/chart.js: power and SoC lines from the history, then each sample', async () => {
  // given
  const api = fakeApi({ activeOrder: '41' })
  const { page } = await charging(api)
  const ctx = fakeContext()

  // when
  page.instance.paint(ctx, 300, 200)

  // then: 3 points per series → one moveTo and two lineTo each (plus the frame)
  const strokes = ctx.calls.filter((c) => c[0] === 'strokeStyle').map((c) => c[1])
  expect(strokes).toEqual(expect.arrayContaining(['#07c160', '#1677ff']))
  const texts2d = ctx.calls.filter((c) => c[0] === 'fillText').map((c) => c[1])
  expect(texts2d).toEqual(expect.arrayContaining(['功率(kW)', 'SoC(%)']))
  const before = ctx.calls.filter((c) => c[0] === 'lineTo').length

  // when: a new sample arrives
  api.live('sessionUpdates').handlers.next({
    __typename: 'SessionSampleRecorded', sessionId: '7', sessionEnergyWh: 3600,
    sample: { at: '2024-05-01T02:03:10Z', energyWh: 100144, powerW: 61200, currentMa: 152000, voltageMv: 403000, socPct: 44 },
  })
  await waitFor(() => text(page, '.power') === '61.2 kW')
  const after = fakeContext()
  page.instance.paint(after, 300, 200)

  // then
  expect(after.calls.filter((c) => c[0] === 'lineTo').length).toBe(before + 2)
  expect(texts(page, '.cell-value')).toEqual(['3.60 kWh', '44%', '403.0 V', '152.0 A'])
})

test('phase and cost events update the page', async () => {
  const api = fakeApi({ activeOrder: '41' })
  const { page } = await charging(api)
  api.live('sessionUpdates').handlers.next({ __typename: 'SessionPhaseEntered', sessionId: '7', phase: 'ENDING', at: '2024-05-01T02:05:00Z', source: 'meter' })
  api.live('sessionUpdates').handlers.next({ __typename: 'SessionCostUpdated', sessionId: '7', orderId: '41', costFen: 2500, capFen: 5000, energyWh: 4000 })
  await waitFor(() => page.dom.textContent.includes('¥25.00 / ¥50.00'))
  expect(text(page, '.tag')).toBe('结束中')
  expect(page.querySelector('.bar-fill').dom.getAttribute('style')).toContain('width: 50%')
  expect(texts(page, '.cell-value')[0]).toBe('4.00 kWh')
})

test('an order still starting waits for its session, then follows it', async () => {
  // given
  const api = fakeApi({ order: jest.fn(async () => order({ status: 'STARTING', sessionId: null, costFen: 0 })) })
  const { page } = openPage(tree, 'pages/charging/index', { api, query: { orderId: '41' } })
  await waitFor(() => page.querySelector('.status-label'))
  expect(text(page, '.status-label')).toBe('启动中')
  expect(page.dom.textContent).toContain('正在启动充电桩，请确认充电枪已插好')
  expect(api.store.setActiveOrder).toHaveBeenCalledWith('41')

  // when
  api.live('orderUpdates').handlers.next({ orderId: '41', status: 'CHARGING', capFen: 5000, paidFen: 5000, costFen: 0, dueFen: null, refundFen: 0, sessionId: '7', failure: '' })

  // then
  await waitFor(() => api.live('sessionUpdates'))
  expect(api.sessionTrend).toHaveBeenCalledWith('7', { measurands: ['POWER_W', 'SOC_PCT'] })
  await waitFor(() => text(page, '.status-label') === '充电中')
})

test('停止充电 asks first, then stops the order', async () => {
  const api = fakeApi({ activeOrder: '41' })
  const { page, my } = await charging(api)
  page.querySelector('.btn-danger').dispatchEvent('tap')
  await waitFor(() => api.stopCharging.mock.calls.length === 1)
  expect(my.confirm.mock.calls[0][0]).toMatchObject({ title: '停止充电', content: '确定要停止本次充电吗？' })
  expect(api.stopCharging).toHaveBeenCalledWith('41')
  await waitFor(() => text(page, '.btn-danger') === '正在停止…')
})

test('the final order: summary of paid, used and refunded; the active order is forgotten, subscriptions closed', async () => {
  // given
  const settled = order({ status: 'SETTLED', costFen: 1234, dueFen: 1234, refundFen: 3766 })
  const api = fakeApi({ activeOrder: '41' })
  const { page } = await charging(api)
  api.order.mockResolvedValue(settled)
  api.sessionTrend.mockResolvedValue(session({ status: 'COMPLETED', stoppedAt: '2024-05-01T02:04:10Z', durationS: 240, energyWh: 5000 }))

  // when
  api.live('orderUpdates').handlers.next({ orderId: '41', status: 'SETTLED', capFen: 5000, paidFen: 5000, costFen: 1234, dueFen: 1234, refundFen: 3766, sessionId: '7', failure: '' })

  // then
  await waitFor(() => page.querySelector('.summary') && text(page, '.summary').includes('5.00 kWh'))
  expect(text(page, '.summary .card-title')).toBe('充电完成')
  expect(texts(page, '.summary .row-value')).toEqual(['¥50.00', '¥12.34', '¥37.66', '5.00 kWh', '00:04:00'])
  expect(api.store.clearActiveOrder).toHaveBeenCalled()
  expect(api.subscriptions.every((s) => s.closed)).toBe(true)
  expect(page.querySelector('.btn-danger')).toBeFalsy()
  expect(page.instance.ticker).toBeNull()
})

test('no active order: says so and offers the map', async () => {
  const api = fakeApi()
  const { page, my } = await charging(api)
  expect(text(page, '.state')).toContain('当前没有进行中的充电')
  page.querySelector('.retry').dispatchEvent('tap')
  await waitFor(() => my.switchTab.mock.calls.length === 1)
  expect(my.switchTab.mock.calls[0][0].url).toBe('/pages/map/index')
})

test('UNAUTHENTICATED: asks to log in and goes to the me page', async () => {
  const api = fakeApi({ activeOrder: '41', order: jest.fn(async () => { throw new GraphQLError('log in', 'UNAUTHENTICATED') }) })
  const { page, my } = await charging(api)
  await waitFor(() => page.querySelector('.state-error'))
  expect(text(page, '.state-error')).toContain('请先登录后查看充电状态')
  page.querySelector('.retry').dispatchEvent('tap')
  await waitFor(() => my.switchTab.mock.calls.length === 1)
  expect(my.switchTab.mock.calls[0][0].url).toBe('/pages/me/index')
})

test('leaving the page closes the subscriptions and stops the clock', async () => {
  const api = fakeApi({ activeOrder: '41' })
  const { page } = await charging(api)
  expect(page.instance.ticker).toBeTruthy()
  page.unload()
  expect(api.subscriptions.every((s) => s.closed)).toBe(true)
  expect(page.instance.ticker).toBeNull()
})
