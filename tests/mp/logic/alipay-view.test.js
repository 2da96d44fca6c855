'use strict'
// miniprogram_alipay/utils/view.js: what the templates show, from what core/api.js returns.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const view = require('../../../miniprogram_alipay/utils/view.js')

const counts = (available, charging, faulted, unavailable) => ({
  total: available + charging + faulted + unavailable, available, charging, faulted, unavailable,
})

test('marker colour: green with a free connector, red when all are faulted or offline, grey when none is free', () => {
  assert.equal(view.countsTone(counts(1, 3, 0, 0)), 'free')
  assert.equal(view.countsTone(counts(0, 0, 2, 2)), 'fault')
  assert.equal(view.countsTone(counts(0, 3, 1, 0)), 'off')
  assert.equal(view.countsTone(counts(0, 0, 0, 0)), 'off')
  assert.equal(view.marker(view.stationRow({ id: 1, name: 'x', latitude: 1, longitude: 2, connectorCounts: counts(0, 2, 0, 0) }), 1).iconPath, '/images/pin-grey.png')
})

test('a station row becomes an Alipay marker with a numeric id, the pin of its tone and available/total', () => {
  // given
  const row = view.stationRow({
    id: '7', name: '西湖站', kind: 'CHARGING', latitude: 30.1, longitude: 120.2, address: '路 1 号', city: '杭州',
    openingHours: '00:00-24:00', distanceM: 1234.5, connectorCounts: counts(2, 1, 0, 1),
  })

  // when
  const marker = view.marker(row, 3)

  // then
  assert.equal(row.distance, '1.2 km')
  assert.equal(row.countsText, '空闲 2/4')
  assert.equal(marker.id, 3)
  assert.equal(marker.iconPath, '/images/pin-green.png')
  assert.equal(marker.label.content, '2/4')
  assert.equal(marker.latitude, 30.1)
  const red = view.marker(view.withCounts(row, counts(0, 0, 4, 0)), 3)
  assert.equal(red.iconPath, '/images/pin-red.png')
  assert.equal(red.label.content, '0/4')
})

test('onMarkerTap: the marker id is read from the event or from its detail', () => {
  assert.equal(view.markerIdOf({ markerId: 4 }), 4)
  assert.equal(view.markerIdOf({ detail: { markerId: '5' } }), 5)
  assert.equal(view.markerIdOf({ type: 'markerTap' }), null)
  assert.equal(view.markerIdOf(null), null)
})

test('tariff table: yuan per kWh from 0.0001-yuan prices, the period of the tariff\'s moment marked', () => {
  // given: 10:30 in Shanghai
  const tariff = {
    at: '2024-05-01T02:30:00+00:00', nextChangeAt: '2024-05-01T03:00:00+00:00',
    price: { display: '2.0000 元/kWh' }, nextPrice: { display: '1.3000 元/kWh' },
    tariff: {
      kind: 'TIME_OF_USE', note: '', periods: [
        { start: '00:00', end: '09:00', tier: 'VALLEY', electricityPriceE4: 3500, servicePriceE4: 4000, totalPriceE4: 7500 },
        { start: '09:00', end: '11:00', tier: 'SHARP', electricityPriceE4: 12000, servicePriceE4: 8000, totalPriceE4: 20000 },
        { start: '11:00', end: '24:00', tier: 'FLAT', electricityPriceE4: 7000, servicePriceE4: 6000, totalPriceE4: 13000 },
      ],
    },
  }

  // when
  const shown = view.tariffView(tariff)

  // then
  assert.deepEqual(shown.rows.map((r) => r.current), [false, true, false])
  assert.deepEqual(shown.rows[1], {
    key: '09:00-11:00', span: '09:00–11:00', tier: 'SHARP', tierLabel: '尖', energy: '1.2000', service: '0.8000', total: '2.0000', current: true,
  })
  assert.equal(shown.nextChange, '11:00')
  assert.equal(shown.priceNow, '2.0000 元/kWh')
  assert.equal(view.tariffView(null), null)
})

test('cost breakdown: core\'s lines (fee by tariff period, the idle fee) and the server\'s total', () => {
  const cost = view.costLines({
    total_fen: 435, energy_wh: 2500,
    energy: [
      { version: 1, tier: 'valley', energy_wh: 1000, energy_price_e4: 3500, service_price_e4: 4000, energy_fee_fen: 35, service_fee_fen: 40 },
      { version: 1, tier: 'sharp', energy_wh: 1500, energy_price_e4: 12000, service_price_e4: 8000, energy_fee_fen: 180, service_fee_fen: 120 },
    ],
    time: [], idle: { minutes: 12, fee_fen: 60, capped: false }, anomalies: [],
  })
  assert.deepEqual(cost.rows.map((r) => [r.label, r.amount]), [
    ['谷时段电费', '¥0.35'], ['谷时段服务费', '¥0.40'], ['尖时段电费', '¥1.80'], ['尖时段服务费', '¥1.20'], ['占位费', '¥0.60'],
  ])
  assert.equal(cost.total, '¥4.35')
  assert.equal(cost.energy, '2.50 kWh')
  assert.equal(view.costLines(null), null)
  assert.equal(view.costLines({}), null)
})

test('order notes: the failure in zh-CN, or the review of a quarantined order', () => {
  assert.equal(view.orderNote({ status: 'CANCELLED', failure: 'not paid in time', failureCode: 'NOT_PAID_IN_TIME' }), '超时未支付，订单已取消')
  assert.equal(view.orderNote({ status: 'SETTLED', failure: 'no charging began in time (is the vehicle plugged in?)', failureCode: 'NO_SESSION_IN_TIME' }),
    '未能开始充电（请检查充电枪是否插好），预付款将原路退回')
  assert.equal(view.orderNote({ status: 'QUARANTINED', failure: '', failureCode: null }), '订单待人工审核，审核后结算')
  assert.equal(view.orderNote({ status: 'SETTLED', failure: '', failureCode: null }), '')
})

test('orders: yuan from fen, status label and tone', () => {
  const row = view.orderRow({
    id: 9, status: 'SETTLED', method: 'SANDBOX', chargePointId: 'DEMO-0001', connectorNo: 1, stationId: 1, stationName: '西湖站',
    capFen: 5000, paidFen: 5000, costFen: 1234, dueFen: 1234, refundFen: 3766, createdAt: '2024-05-01T04:05:06Z', sessionId: 3,
  })
  assert.equal(row.paid, '¥50.00')
  assert.equal(row.due, '¥12.34')
  assert.equal(row.refund, '¥37.66')
  assert.equal(row.statusLabel, '已完成')
  assert.equal(row.tone, 'free')
  assert.equal(row.time, '2024-05-01 12:05')
  assert.equal(row.station, '西湖站') // the name comes with the order (ChargingOrder.stationName)
  assert.equal(row.sessionId, '3')
  assert.equal(view.orderRow({ id: 8, status: 'CANCELLED', stationId: 2, stationName: '' }).station, '充电站 2')
})

test('vehicles: plates and VINs checked as the server checks them, with zh-CN reasons', () => {
  assert.deepEqual(view.checkVehicle(' 浙a·d12345 ', ''), { error: '', plate: '浙AD12345', vin: null })
  assert.deepEqual(view.checkVehicle('', 'lsvaa4180e2100001'), { error: '', plate: null, vin: 'LSVAA4180E2100001' })
  assert.match(view.checkVehicle('', '').error, /请填写车牌号或车架号/)
  assert.match(view.checkVehicle('AB12345', '').error, /车牌号格式不正确/)
  assert.match(view.checkVehicle('', 'LSVAA4180E21000O1').error, /车架号应为 17 位/)
})

test('event helpers: the dataset of currentTarget, the value of an input', () => {
  assert.deepEqual(view.dataset({ currentTarget: { dataset: { id: '1' } }, target: { dataset: { id: '2' } } }), { id: '1' })
  assert.deepEqual(view.dataset({ target: { dataset: { id: '2' } } }), { id: '2' })
  assert.equal(view.inputValue({ detail: { value: 12 } }), '12')
  assert.equal(view.inputValue({}), '')
})
