'use strict'
// core/chart.js against a recording fake CanvasRenderingContext2D: the polyline's points, the scaling of each
// series to its own axis, and nothing drawn for empty series.
const test = require('node:test')
const assert = require('node:assert/strict')
const chart = require('../../../miniprogram_wechat/core/chart.js')

const ALLOWED_CALLS = ['beginPath', 'moveTo', 'lineTo', 'stroke', 'fillText', 'clearRect']
const ALLOWED_PROPS = ['strokeStyle', 'fillStyle', 'lineWidth', 'font']

// records every call and property write, in order; any other member is an error
function fakeContext() {
  const log = []
  const ctx = {}
  for (const name of ALLOWED_CALLS) ctx[name] = (...args) => log.push({ call: name, args })
  for (const name of ALLOWED_PROPS) {
    let value
    Object.defineProperty(ctx, name, {
      get: () => value,
      set: (v) => { value = v; log.push({ set: name, value: v }) },
    })
  }
  return { ctx: new Proxy(ctx, {
    get(target, name) {
      if (!(name in target)) throw new Error(`chart.js used ctx.${String(name)}, which is not in the allowed set`)
      return target[name]
    },
    set(target, name, value) {
      if (!ALLOWED_PROPS.includes(name)) throw new Error(`chart.js set ctx.${String(name)}`)
      target[name] = value
      return true
    },
  }), log }
}

// the polylines: one per beginPath…stroke run that follows a strokeStyle of the given colour
function polylines(log, color) {
  const lines = []
  let style = null
  let current = null
  for (const entry of log) {
    if (entry.set === 'strokeStyle') style = entry.value
    if (entry.call === 'beginPath') current = { style, points: [] }
    if (entry.call === 'moveTo' || entry.call === 'lineTo') current.points.push({ op: entry.call, x: entry.args[0], y: entry.args[1] })
    if (entry.call === 'stroke' && current) {
      if (current.style === color) lines.push(current.points)
      current = null
    }
  }
  return lines
}

const near = (actual, expected, what) => assert.ok(Math.abs(actual - expected) < 1e-9, `${what}: ${actual} ≠ ${expected}`)

test('one series: a polyline through every point, scaled to the plot box', () => {
  const { ctx, log } = fakeContext()
  const layout = chart.drawTrend(ctx, {
    width: 300, height: 200,
    series: [{ points: [{ x: 0, y: 0 }, { x: 50, y: 25 }, { x: 100, y: 50 }], color: '#07c160', label: '功率', unit: 'kW' }],
    xLabel: '时长',
  })
  // layout: left 40, right margin 12 (one series), top 22, bottom margin 24
  assert.deepEqual(
    { left: layout.left, top: layout.top, plotWidth: layout.plotWidth, plotHeight: layout.plotHeight },
    { left: 40, top: 22, plotWidth: 248, plotHeight: 154 },
  )
  assert.deepEqual(layout.axes, [{ min: 0, max: 50 }])
  assert.deepEqual(log[0], { call: 'clearRect', args: [0, 0, 300, 200] })
  const [line] = polylines(log, '#07c160')
  assert.deepEqual(line.map((p) => p.op), ['moveTo', 'lineTo', 'lineTo'])
  const expected = [[40, 176], [164, 99], [288, 22]]
  line.forEach((p, i) => {
    near(p.x, expected[i][0], `x of point ${i}`)
    near(p.y, expected[i][1], `y of point ${i}`)
  })
  // the axis labels name the range and the unit; the legend and the x label are written
  const texts = log.filter((e) => e.call === 'fillText').map((e) => e.args[0])
  assert.ok(texts.includes('50 kW'), texts.join('|'))
  assert.ok(texts.includes('0'))
  assert.ok(texts.includes('功率(kW)'))
  assert.ok(texts.includes('时长'))
})

test('each series is scaled to its own axis; the largest value is rounded up to a nice step', () => {
  const { ctx, log } = fakeContext()
  const layout = chart.drawTrend(ctx, {
    width: 400, height: 246,
    series: [
      { points: [{ x: 0, y: 0 }, { x: 600, y: 118.5 }], color: 'green', label: '功率', unit: 'kW' },
      { points: [{ x: 0, y: 20 }, { x: 600, y: 80 }], color: 'blue', label: 'SoC', unit: '%', min: 0, max: 100 },
    ],
  })
  assert.deepEqual(layout.axes, [{ min: 0, max: 120 }, { min: 0, max: 100 }])
  assert.equal(layout.plotWidth, 400 - 40 - 40) // a right axis for the second series
  const power = polylines(log, 'green')[0]
  const soc = polylines(log, 'blue')[0]
  // 118.5 of 120 and 80 of 100: both at the right edge, at their own heights
  near(power[1].x, 360, 'power end x')
  near(power[1].y, 22 + 200 - (118.5 / 120) * 200, 'power end y')
  near(soc[0].y, 22 + 200 - 0.2 * 200, 'soc start y')
  near(soc[1].y, 22 + 200 - 0.8 * 200, 'soc end y')
  // project() is what drawTrend used
  const p = chart.project(layout, 1, { x: 300, y: 50 })
  near(p.x, 40 + 160, 'projected x')
  near(p.y, 22 + 100, 'projected y')
  const texts = log.filter((e) => e.call === 'fillText').map((e) => e.args[0])
  assert.ok(texts.includes('120 kW') && texts.includes('100 %'), texts.join('|'))
})

test('all x share one axis from the smallest to the largest x of any series', () => {
  const { ctx } = fakeContext()
  const layout = chart.drawTrend(ctx, {
    width: 300, height: 200,
    series: [
      { points: [{ x: 60, y: 1 }, { x: 120, y: 2 }], color: 'a' },
      { points: [{ x: 0, y: 5 }, { x: 90, y: 6 }], color: 'b' },
    ],
  })
  assert.equal(layout.xMin, 0)
  assert.equal(layout.xMax, 120)
})

test('a gap (null y) lifts the pen; a lone point is still visible', () => {
  const { ctx, log } = fakeContext()
  chart.drawTrend(ctx, {
    width: 300, height: 200,
    series: [
      { points: [{ x: 0, y: 1 }, { x: 1, y: 2 }, { x: 2, y: null }, { x: 3, y: 1 }, { x: 4, y: 3 }], color: 'gap' },
      { points: [{ x: 2, y: 7 }], color: 'lone' },
    ],
  })
  assert.deepEqual(polylines(log, 'gap')[0].map((p) => p.op), ['moveTo', 'lineTo', 'moveTo', 'lineTo'])
  const lone = polylines(log, 'lone')[0]
  assert.deepEqual(lone.map((p) => p.op), ['moveTo', 'lineTo'])
  near(lone[1].x - lone[0].x, 1, 'tick length')
})

test('a flat series gets a non-empty range and no division by zero', () => {
  const { ctx, log } = fakeContext()
  const layout = chart.drawTrend(ctx, {
    width: 300, height: 200,
    series: [{ points: [{ x: 0, y: 0 }, { x: 10, y: 0 }], color: 'flat' }],
  })
  assert.deepEqual(layout.axes, [{ min: 0, max: 1 }])
  for (const p of polylines(log, 'flat')[0]) assert.ok(Number.isFinite(p.x) && Number.isFinite(p.y))
})

test('empty series: the canvas is cleared and nothing is drawn', () => {
  for (const series of [[], [{ points: [], color: 'x' }], [{ points: [{ x: 1, y: null }], color: 'x' }], undefined]) {
    const { ctx, log } = fakeContext()
    assert.equal(chart.drawTrend(ctx, { width: 300, height: 200, series }), null)
    assert.deepEqual(log, [{ call: 'clearRect', args: [0, 0, 300, 200] }])
  }
})

test('niceCeil rounds up to 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10^n', () => {
  assert.deepEqual([0.7, 1, 7.2, 11, 118.5, 121, 260, 999].map(chart.niceCeil), [0.8, 1, 8, 12, 120, 150, 300, 1000])
})

test('seriesFromTrend turns a server trend into chart units', () => {
  const trend = {
    series: [
      { measurand: 'POWER_W', points: [{ offsetS: 0, avg: 60000.5, last: 61000 }, { offsetS: 30, avg: 118000, last: 118000 }] },
      { measurand: 'SOC_PCT', points: [{ offsetS: 0, avg: 20, last: 21 }] },
    ],
  }
  const power = chart.seriesFromTrend(trend, 'POWER_W')
  assert.deepEqual(power.points, [{ x: 0, y: 60.0005 }, { x: 30, y: 118 }])
  assert.equal(power.unit, 'kW')
  assert.equal(power.label, '功率')
  const soc = chart.seriesFromTrend(trend, 'SOC_PCT', { color: 'red' })
  assert.deepEqual([soc.min, soc.max, soc.color], [0, 100, 'red'])
  assert.deepEqual(chart.seriesFromTrend(trend, 'VOLTAGE_MV').points, [])
  assert.deepEqual(chart.seriesFromTrend(null, 'POWER_W').points, [])
})

test('live samples become points measured from the session start', () => {
  const sample = { at: '2024-05-01T00:01:30Z', powerW: 7200, socPct: 55, voltageMv: 380000, currentMa: null }
  assert.deepEqual(chart.pointFromSample(sample, '2024-05-01T00:00:00Z', 'POWER_W'), { x: 90, y: 7.2 })
  assert.deepEqual(chart.pointFromSample(sample, '2024-05-01T00:00:00Z', 'SOC_PCT'), { x: 90, y: 55 })
  assert.equal(chart.pointFromSample(sample, '2024-05-01T00:00:00Z', 'CURRENT_MA'), null)
  assert.equal(chart.sampleValue(sample, 'VOLTAGE_MV'), 380)
})

test('appendPoint keeps x ascending and thins old points to stay under the limit', () => {
  let points = []
  for (let i = 0; i < 10; i++) points = chart.appendPoint(points, { x: i, y: i }, 8)
  assert.ok(points.length <= 8, `${points.length} points`)
  assert.deepEqual(points[points.length - 1], { x: 9, y: 9 })
  assert.deepEqual(points.map((p) => p.x), points.map((p) => p.x).slice().sort((a, b) => a - b))
  const before = points
  assert.equal(chart.appendPoint(before, { x: 3, y: 0 }).length, before.length) // late sample dropped
  assert.equal(chart.appendPoint(before, null).length, before.length)
})

test('shareAxis puts compared series on one scale', () => {
  const shared = chart.shareAxis([
    { points: [{ x: 0, y: 10 }, { x: 1, y: 55 }] },
    { points: [{ x: 0, y: 5 }, { x: 1, y: 110 }] },
  ])
  assert.deepEqual(shared.map((s) => [s.min, s.max]), [[0, 120], [0, 120]])
  const { ctx } = fakeContext()
  const layout = chart.drawTrend(ctx, { width: 300, height: 200, series: shared })
  assert.deepEqual(layout.axes, [{ min: 0, max: 120 }, { min: 0, max: 120 }])
})

test('minutesLabel', () => {
  assert.equal(chart.minutesLabel(0), '0分')
  assert.equal(chart.minutesLabel(59 * 60), '59分')
  assert.equal(chart.minutesLabel(65 * 60), '1时05分')
})
