'use strict'
// core/format.js: units from integer named units, Asia/Shanghai times, zh-CN labels, error texts.
const test = require('node:test')
const assert = require('node:assert/strict')
const format = require('../../../miniprogram_wechat/core/format.js')
const { GraphQLError, NetworkError } = require('../../../miniprogram_wechat/core/graphql.js')
const money = require('../../../miniprogram_wechat/core/money.js')

test('electric units from W, Wh, mV and mA, rounded half up', () => {
  assert.equal(format.kw(7234), '7.2 kW')
  assert.equal(format.kw(7250), '7.3 kW')
  assert.equal(format.kw(120000), '120.0 kW')
  assert.equal(format.kw(0), '0.0 kW')
  assert.equal(format.kwh(12345), '12.35 kWh')
  assert.equal(format.kwh(5), '0.01 kWh')
  assert.equal(format.volts(380123), '380.1 V')
  assert.equal(format.amps(16049), '16.0 A')
  assert.equal(format.amps(-2500), '-2.5 A')
  assert.equal(format.pct(80), '80%')
})

test('missing values show as --', () => {
  for (const fn of [format.kw, format.kwh, format.volts, format.amps, format.pct, format.distance, format.duration, format.dateTime]) {
    assert.equal(fn(null), '--')
    assert.equal(fn(undefined), '--')
  }
})

test('decimal does integer maths with half-up rounding', () => {
  assert.equal(format.decimal(1005, 1000, 2), '1.01')
  assert.equal(format.decimal(1004, 1000, 2), '1.00')
  assert.equal(format.decimal(123, 1, 0), '123')
  assert.equal(format.decimal(-1, 1000, 1), '0.0')
})

test('distance switches to km at 1000 m', () => {
  assert.equal(format.distance(850.4), '850 m')
  assert.equal(format.distance(999), '999 m')
  assert.equal(format.distance(1234.5), '1.2 km')
  assert.equal(format.distance(15000), '15.0 km')
})

test('duration is hh:mm:ss and hours grow past a day', () => {
  assert.equal(format.duration(0), '00:00:00')
  assert.equal(format.duration(59), '00:00:59')
  assert.equal(format.duration(3725), '01:02:05')
  assert.equal(format.duration(90061), '25:01:01')
  assert.equal(format.duration(-5), '00:00:00')
  assert.equal(format.duration(61.9), '00:01:01')
})

test('date and time are Asia/Shanghai (UTC+8) whatever the zone the code runs in', () => {
  assert.equal(format.dateTime('2024-05-01T04:05:06Z'), '2024-05-01 12:05')
  assert.equal(format.dateTimeSeconds('2024-05-01T04:05:06+00:00'), '2024-05-01 12:05:06')
  assert.equal(format.dateTime('2024-12-31T16:30:00Z'), '2025-01-01 00:30')
  assert.equal(format.date('2024-12-31T16:30:00Z'), '2025-01-01')
  assert.equal(format.time('2024-05-01T20:00:00+08:00'), '20:00')
  assert.equal(format.dateTime('not a date'), '--')
})

test('elapsedSeconds counts whole seconds and never goes negative', () => {
  const start = '2024-05-01T00:00:00Z'
  assert.equal(format.elapsedSeconds(start, Date.parse(start) + 61999), 61)
  assert.equal(format.elapsedSeconds(start, Date.parse(start) - 5000), 0)
  assert.equal(format.elapsedSeconds('bad', 0), 0)
})

test('zh-CN labels for the server enums', () => {
  assert.equal(format.connectorStatus('AVAILABLE'), '空闲')
  assert.equal(format.connectorStatus('CHARGING'), '充电中')
  assert.equal(format.connectorStatus('FAULTED'), '故障')
  assert.equal(format.orderStatus('SETTLED'), '已完成')
  assert.equal(format.orderStatus('CHARGING'), '充电中')
  assert.equal(format.orderStatus('QUARANTINED'), '待审核')
  assert.equal(format.chargingPhase('HANDSHAKE'), '握手')
  assert.equal(format.connectorType('GBT_DC'), '国标直流')
  assert.equal(format.connectorType('GBT_AC'), '国标交流')
  assert.equal(format.tariffTier('VALLEY'), '谷')
  assert.equal(format.tariffTier('SHARP'), '尖')
  assert.equal(format.payMethod('WECHATPAY'), '微信支付')
  assert.equal(format.payMethod('WALLET'), '钱包余额')
  assert.equal(format.measurand('SOC_PCT'), 'SoC')
  assert.equal(format.statementKind('top_up'), '充值')
  // unknown values pass through, missing ones are --
  assert.equal(format.orderStatus('SOMETHING_NEW'), 'SOMETHING_NEW')
  assert.equal(format.orderStatus(null), '--')
})

test('every enum value of the SDL has a label', () => {
  const fs = require('fs')
  const path = require('path')
  const sdl = fs.readFileSync(path.join(__dirname, '../../../schema/schema.graphql'), 'utf8')
  const values = (name) => {
    const match = new RegExp(`enum ${name} \\{([^}]*)\\}`).exec(sdl)
    assert.ok(match, `enum ${name} in the SDL`)
    return match[1].split('\n').map((l) => l.trim()).filter((l) => /^[A-Z_0-9]+$/.test(l))
  }
  const checks = {
    ConnectorStatus: format.connectorStatus, OrderStatus: format.orderStatus, ChargingPhase: format.chargingPhase,
    ConnectorType: format.connectorType, TariffTier: format.tariffTier, PayMethod: format.payMethod,
    Measurand: format.measurand, TariffKind: format.tariffKind, StationKind: format.stationKind,
    IdTagStatus: format.idTagStatus, IdTagKind: format.idTagKind,
  }
  for (const [name, label] of Object.entries(checks)) {
    for (const value of values(name)) {
      assert.notEqual(label(value), value, `${name}.${value} has a zh-CN label`)
    }
  }
})

test('station and connector tones', () => {
  assert.equal(format.stationTone({ total: 4, available: 1, charging: 3, faulted: 0, unavailable: 0 }), 'green')
  assert.equal(format.stationTone({ total: 4, available: 0, charging: 3, faulted: 1, unavailable: 0 }), 'grey')
  assert.equal(format.stationTone({ total: 4, available: 0, charging: 0, faulted: 1, unavailable: 3 }), 'red')
  assert.equal(format.stationTone({ total: 0, available: 0, charging: 0, faulted: 0, unavailable: 0 }), 'grey')
  assert.equal(format.countsLabel({ total: 4, available: 1 }), '空闲 1/4')
  assert.equal(format.statusTone('AVAILABLE'), 'free')
  assert.equal(format.statusTone('CHARGING'), 'busy')
  assert.equal(format.statusTone('FAULTED'), 'fault')
  assert.equal(format.statusTone('UNKNOWN'), 'off')
})

test('final orders and DC connectors', () => {
  assert.deepEqual(['SETTLED', 'CANCELLED', 'SETTLEMENT_FAILED'].map(format.isFinalOrder), [true, true, true])
  assert.deepEqual(['PAID', 'CHARGING', 'FINISHED', 'SETTLING', 'QUARANTINED'].map(format.isFinalOrder), [false, false, false, false, false])
  assert.ok(format.isDcConnector('CCS2'))
  assert.ok(!format.isDcConnector('TYPE2'))
})

test('periodIndexAt finds the tariff period of a moment in Shanghai time', () => {
  const periods = [
    { start: '00:00', end: '08:00' }, { start: '08:00', end: '18:00' }, { start: '18:00', end: '24:00' },
  ]
  assert.equal(format.periodIndexAt(periods, Date.parse('2024-05-01T07:59:00+08:00')), 0)
  assert.equal(format.periodIndexAt(periods, Date.parse('2024-05-01T08:00:00+08:00')), 1)
  assert.equal(format.periodIndexAt(periods, Date.parse('2024-05-01T23:59:00+08:00')), 2)
  assert.equal(format.periodIndexAt([], Date.now()), -1)
})

test('costBreakdown lists energy and service fees by period', () => {
  // ChargingOrder.costDetail as the server sends it
  const cost = {
    total_fen: 270, energy_wh: 2000,
    energy: [
      { version: 1, tier: 'valley', energy_wh: 1500, energy_price_e4: 3000, service_price_e4: 4000, energy_fee_fen: 45, service_fee_fen: 60 },
      { version: 1, tier: 'peak', energy_wh: 500, energy_price_e4: 10000, service_price_e4: 5000, energy_fee_fen: 50, service_fee_fen: 25 },
    ],
    time: [], idle: { minutes: 12, fee_fen: 90, capped: false }, anomalies: [],
  }
  const lines = format.costBreakdown(cost)
  assert.deepEqual(format.costBreakdown({ cost }), lines, 'the stored form (under "cost") reads the same')
  assert.deepEqual(lines.map((l) => [l.label, l.amount]), [
    ['谷时段电费', '¥0.45'], ['谷时段服务费', '¥0.60'], ['峰时段电费', '¥0.50'], ['峰时段服务费', '¥0.25'], ['占位费', '¥0.90'],
  ])
  assert.equal(lines[0].detail, '1.50 kWh × ¥0.3000/kWh')
  assert.deepEqual(lines.map((l) => l.key), [0, 1, 2, 3, 4])
  assert.deepEqual(format.costBreakdown(null), [])
  assert.deepEqual(format.costBreakdown({ stop_requested: '2024-01-01T00:00:00Z' }), [])
  assert.deepEqual(format.costBreakdown({ total_fen: 500, energy_wh: 0, energy: [], time: [{ version: 2, seconds: 3600, hourly_price_e4: 50000, fee_fen: 500 }], idle: null }).map((l) => [l.label, l.detail, l.amount]),
    [['按时计费', '01:00:00 × ¥5.0000/小时', '¥5.00']])
})

test('errorText speaks Chinese for typed errors', () => {
  assert.equal(format.errorText(new GraphQLError('log in first', 'UNAUTHENTICATED')), '请先登录')
  assert.equal(format.errorText(new GraphQLError('busy', 'CONNECTOR_BUSY')), '该充电枪正在使用中，请换一个充电枪')
  assert.equal(format.errorText(new GraphQLError('not enough', 'INSUFFICIENT_FUNDS')), '钱包余额不足，请先充值')
  assert.equal(format.errorText(new GraphQLError('capFen must be ...', 'INVALID_INPUT')), '输入有误：capFen must be ...')
  assert.equal(format.errorText(new NetworkError('down', 0)), '网络不给力，请检查网络后重试')
  assert.equal(format.errorText(new GraphQLError('strange', 'SOMETHING')), '出错了：strange')
  let parse
  try { money.fenFromYuan('x') } catch (error) { parse = error }
  assert.equal(format.errorText(parse), parse.message)
  assert.equal(format.errorText(null), '出错了，请重试')
})

test('order failures (by failureCode) and stop reasons in Chinese', () => {
  assert.equal(format.failureText(null), '')
  assert.equal(format.failureText(''), '')
  assert.equal(format.failureText('NOT_PAID_IN_TIME'), '超时未支付，订单已取消')
  assert.equal(format.failureText('PILE_REFUSED'), '充电桩未能启动，预付款将原路退回')
  assert.equal(format.failureText('PILE_OFFLINE'), '充电桩已离线，预付款将原路退回')
  assert.equal(format.failureText('PAYMENT_NOT_CREATED'), '支付创建失败，订单已取消')
  assert.equal(format.failureText('REFUND_FAILED'), '退款处理遇到问题，我们会尽快处理')
  // a code newer than the app: a general sentence, never English
  assert.equal(format.failureText('SOMETHING_NEW'), '订单未完成，我们会尽快处理')
  // the English detail is not matched any more
  assert.equal(format.failureText('not paid in time'), '订单未完成，我们会尽快处理')
  assert.equal(format.stopReason('Remote'), '远程停止')
  assert.equal(format.stopReason('EVDisconnected'), '车辆断开')
  assert.equal(format.stopReason('CapReached'), 'CapReached')
})
