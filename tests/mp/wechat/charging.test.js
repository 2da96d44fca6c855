// 充电中 page: the order and its session live (history first, then samples over the subscription), the
// elapsed clock, the cost bar, stop, the final summary, recovery from the stored order, cleanup.
let E
beforeEach(() => {
  jest.resetModules()
  E = require('./fixtures/env')
})

async function loaded(options = {}) {
  const r = E.render('charging', Object.assign({ query: { orderId: '7' } }, options))
  await E.waitFor(() => r.page.instance.data.status || r.page.instance.data.error || r.page.instance.data.empty)
  return r
}

const sub = (api, name) => api.subscriptions.find((s) => s.name === name)

test('history first: live fields from the latest sample, the curve from the trend', async () => {
  const { page, api } = await loaded()
  expect(api.order).toHaveBeenCalledWith('7')
  await E.waitFor(() => page.instance.data.chart.powerPoints === 3)
  expect(api.sessionTrend).toHaveBeenCalledWith('3', { measurands: ['POWER_W', 'SOC_PCT', 'ENERGY_WH'] })
  expect(page.instance.data.chart.socPoints).toBe(3)
  expect(E.text(page, '.power')).toBe('117.5 kW')
  expect(E.text(page, '.energy')).toBe('2.45 kWh')
  expect(E.text(page, '.soc')).toBe('31%')
  expect(E.text(page, '.voltage')).toBe('470.0 V')
  expect(E.text(page, '.current')).toBe('250.0 A')
  expect(E.text(page)).toContain('充电中')
  expect(E.text(page)).toContain('已用 ¥1.23')
  expect(E.text(page)).toContain('预付 ¥50.00')
  expect(E.text(page)).toContain('阶段：充电')
  expect(E.text(page, '.elapsed')).toMatch(/^00:02:0\d$/)
  page.unload()
})

test('live updates: samples, phase and cost reach the page', async () => {
  const { page, api } = await loaded()
  await E.waitFor(() => sub(api, 'sessionUpdates') && page.instance.data.chart.powerPoints === 3)
  expect(sub(api, 'orderUpdates').variables).toEqual({ orderId: '7' })
  expect(sub(api, 'sessionUpdates').variables).toEqual({ sessionId: '3' })
  const started = Date.parse(page.instance.startedAt)
  const next = sub(api, 'sessionUpdates').handlers.next
  next({ __typename: 'SessionSampleRecorded', sessionId: '3', sessionEnergyWh: 3100, sample: { at: new Date(started + 150000).toISOString(), energyWh: 103100, powerW: 98000, currentMa: 210000, voltageMv: 466000, socPct: 35 } })
  next({ __typename: 'SessionPhaseEntered', sessionId: '3', phase: 'ENDING', at: new Date().toISOString(), source: 'meter' })
  next({ __typename: 'SessionCostUpdated', sessionId: '3', orderId: '7', costFen: 2500, capFen: 5000, energyWh: 3100 })
  await E.waitFor(() => E.text(page, '.power') === '98.0 kW')
  expect(E.text(page, '.energy')).toBe('3.10 kWh')
  expect(E.text(page, '.soc')).toBe('35%')
  expect(E.text(page)).toContain('阶段：结束中')
  expect(E.text(page)).toContain('已用 ¥25.00')
  expect(page.querySelector('.bar-fill').dom.getAttribute('style')).toContain('width: 50%')
  await E.waitFor(() => page.instance.data.chart.powerPoints === 4)
  expect(page.instance.power[3]).toEqual({ x: 150, y: 98 })
  page.unload()
})

test('the elapsed clock ticks every second until the session closes', async () => {
  const { page, api } = await loaded()
  await E.waitFor(() => page.instance.timer)
  const before = page.instance.data.elapsed
  await E.waitFor(() => page.instance.data.elapsed !== before, 2500)
  sub(api, 'sessionUpdates').handlers.next({ __typename: 'SessionClosed', sessionId: '3', stopReason: 'Remote', energyWh: 3300, at: new Date().toISOString() })
  expect(page.instance.timer).toBeNull()
  const frozen = page.instance.data.elapsed
  await new Promise((resolve) => setTimeout(resolve, 1200))
  expect(page.instance.data.elapsed).toBe(frozen)
  expect(page.instance.data.energy).toBe('3.30 kWh')
  expect(E.text(page)).toContain('阶段：已结束')
  page.unload()
})

test('停止充电 asks first, then stops the order', async () => {
  const { page, api, platform } = await loaded()
  page.querySelector('.btn-danger').dispatchEvent('tap')
  await E.waitFor(() => api.stopCharging.mock.calls.length)
  expect(platform.confirm).toHaveBeenCalledWith('停止充电', '确定要停止本次充电吗？')
  expect(api.stopCharging).toHaveBeenCalledWith('7')
  await E.waitFor(() => E.text(page, '.btn-danger').includes('正在结束充电'))
  expect(platform.toast).toHaveBeenCalledWith('已发送停止指令')
  page.unload()
})

test('a declined confirm does not stop', async () => {
  const platform = E.fakePlatform({ confirm: jest.fn(async () => false) })
  const { page, api } = await loaded({ platform })
  await page.instance.onStop()
  expect(api.stopCharging).not.toHaveBeenCalled()
  page.unload()
})

test('the final order shows paid, used and refunded, forgets the active order and closes the subscriptions', async () => {
  const api = E.fakeApi({ activeOrder: '7' })
  const { page } = await loaded({ api })
  await E.waitFor(() => sub(api, 'sessionUpdates'))
  sub(api, 'orderUpdates').handlers.next({ orderId: '7', status: 'SETTLED', capFen: 5000, paidFen: 5000, costFen: 345, dueFen: 345, refundFen: 4655, sessionId: '3', failure: '' })
  await E.waitFor(() => page.querySelector('.summary'))
  expect(E.text(page, '.paid')).toBe('¥50.00')
  expect(E.text(page, '.used')).toBe('¥3.45')
  expect(E.text(page, '.refunded')).toBe('¥46.55')
  expect(E.text(page)).toContain('已完成')
  expect(page.querySelector('.btn-danger')).toBeFalsy()
  expect(api.store.clearActiveOrder).toHaveBeenCalled()
  for (const s of api.subscriptions) expect(s.unsubscribe).toHaveBeenCalled()
  expect(page.instance.timer).toBeNull()
  page.unload()
})

test('an order that is final already is summarised without subscribing', async () => {
  const api = E.fakeApi({ order: jest.fn(async () => E.order({ status: 'SETTLED', dueFen: 345, refundFen: 4655 })), sessionTrend: jest.fn(async () => E.session({ status: 'COMPLETED', durationS: 1805, stoppedAt: new Date().toISOString() })) })
  const { page } = await loaded({ api })
  await E.waitFor(() => page.querySelector('.summary') && page.instance.data.chart.powerPoints === 3)
  expect(api.subscriptions).toEqual([])
  expect(E.text(page, '.elapsed')).toBe('00:30:05')
  page.unload()
})

test('recovery: without a query the stored active order is resumed', async () => {
  const api = E.fakeApi({ activeOrder: '7' })
  const { page } = await loaded({ api, query: {} })
  expect(api.order).toHaveBeenCalledWith('7')
  await E.waitFor(() => page.instance.data.chart.powerPoints === 3)
  page.unload()
})

test('nothing stored and no query: an empty state with a way out', async () => {
  const { page, wx, api } = await loaded({ query: {} })
  expect(E.text(page)).toContain('当前没有进行中的充电')
  expect(api.order).not.toHaveBeenCalled()
  page.querySelector('.btn').dispatchEvent('tap')
  await E.waitFor(() => wx.switchTab.mock.calls.length)
  expect(wx.switchTab).toHaveBeenCalledWith({ url: '/pages/map/index' })
})

test('waiting for the pile: no session yet', async () => {
  const api = E.fakeApi({ order: jest.fn(async () => E.order({ status: 'STARTING', sessionId: null, costFen: 0 })) })
  const { page } = await loaded({ api })
  expect(E.text(page)).toContain('已支付，正在启动充电桩，请稍候')
  expect(api.sessionTrend).not.toHaveBeenCalled()
  sub(api, 'orderUpdates').handlers.next({ orderId: '7', status: 'CHARGING', capFen: 5000, paidFen: 5000, costFen: 0, dueFen: null, refundFen: 0, sessionId: '3', failure: '' })
  await E.waitFor(() => api.sessionTrend.mock.calls.length)
  expect(E.text(page)).not.toContain('正在启动充电桩')
  page.unload()
})

test('UNAUTHENTICATED offers the login', async () => {
  const api = E.fakeApi({ order: jest.fn(async () => { throw E.graphqlError('UNAUTHENTICATED', 'log in first') }) })
  const { page, wx } = await loaded({ api })
  expect(E.text(page, '.state-error')).toContain('请先登录')
  page.querySelector('.state-error .btn').dispatchEvent('tap')
  await E.waitFor(() => wx.switchTab.mock.calls.length)
  expect(wx.switchTab).toHaveBeenCalledWith({ url: '/pages/me/index' })
})

test('hide and unload close subscriptions and the clock; show opens them again', async () => {
  const { page, api } = await loaded()
  await E.waitFor(() => sub(api, 'sessionUpdates') && page.instance.timer)
  page.instance.onHide()
  expect(api.subscriptions.every((s) => s.unsubscribe.mock.calls.length === 1)).toBe(true)
  expect(page.instance.timer).toBeNull()
  page.instance.onShow()
  await E.waitFor(() => api.subscriptions.filter((s) => s.name === 'sessionUpdates').length === 2)
  page.unload()
  expect(api.subscriptions.every((s) => s.unsubscribe.mock.calls.length === 1)).toBe(true)
  expect(page.instance.timer).toBeNull()
  expect(page.instance.drawTimer).toBeNull()
})

test('a charge that never started explains why in Chinese and shows the full refund', async () => {
  const api = E.fakeApi({ order: jest.fn(async () => E.order({ status: 'SETTLED', sessionId: null, costFen: 0, dueFen: 0, refundFen: 5000, failure: 'the pile did not start: offline ', failureCode: 'PILE_OFFLINE' })) })
  const { page } = await loaded({ api })
  await E.waitFor(() => page.querySelector('.summary'))
  expect(E.text(page, '.summary')).toContain('充电桩已离线，预付款将原路退回')
  expect(E.text(page)).not.toContain('offline') // the English detail is for operators
  expect(E.text(page, '.refunded')).toBe('¥50.00')
  expect(E.text(page, '.used')).toBe('¥0.00')
  expect(api.sessionTrend).not.toHaveBeenCalled()
})
