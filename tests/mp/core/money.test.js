'use strict'
// core/money.js: integer fen in, yuan text out, and the strict parse of typed amounts.
const test = require('node:test')
const assert = require('node:assert/strict')
const money = require('../../../miniprogram_wechat/core/money.js')

test('yuan formats integer fen with two decimals', () => {
  assert.equal(money.yuan(0), '0.00')
  assert.equal(money.yuan(1), '0.01')
  assert.equal(money.yuan(10), '0.10')
  assert.equal(money.yuan(1234), '12.34')
  assert.equal(money.yuan(500000), '5000.00')
  assert.equal(money.yuan(Number.MAX_SAFE_INTEGER), '90071992547409.91')
})

test('yuan keeps the sign of negative amounts', () => {
  assert.equal(money.yuan(-5), '-0.05')
  assert.equal(money.yuan(-1234), '-12.34')
  assert.equal(money.yuanLabel(-1234), '-¥12.34')
  assert.equal(money.yuanLabel(-0), '¥0.00')
})

test('yuanLabel puts the yuan sign in front', () => {
  assert.equal(money.yuanLabel(5000), '¥50.00')
  assert.equal(money.yuanLabel(7), '¥0.07')
})

test('yuan refuses anything but a safe integer', () => {
  for (const bad of [1.5, 0.1 + 0.2, NaN, Infinity, '12', null, undefined, 2 ** 53]) {
    assert.throws(() => money.yuan(bad), TypeError, String(bad))
  }
})

test('fenFromYuan parses up to two decimals without floating point', () => {
  assert.equal(money.fenFromYuan('12.3'), 1230)
  assert.equal(money.fenFromYuan('12.34'), 1234)
  assert.equal(money.fenFromYuan('12'), 1200)
  assert.equal(money.fenFromYuan('12.'), 1200)
  assert.equal(money.fenFromYuan('0.05'), 5)
  assert.equal(money.fenFromYuan(' ¥50.00 '), 5000)
  assert.equal(money.fenFromYuan('0.29'), 29) // 0.29 * 100 is 28.999999999999996 in floating point
  assert.equal(money.fenFromYuan('1 000.10'), 100010)
  assert.equal(money.fenFromYuan(12), 1200)
  assert.equal(money.fenFromYuan(19.99), 1999)
})

test('fenFromYuan parses negatives', () => {
  assert.equal(money.fenFromYuan('-1'), -100)
  assert.equal(money.fenFromYuan('-0.01'), -1)
  assert.equal(money.fenFromYuan('-¥12.30'), -1230)
  assert.equal(money.fenFromYuan('-0'), 0)
  assert.ok(Object.is(money.fenFromYuan('-0'), 0))
})

test('fenFromYuan throws a typed error for what is not an amount', () => {
  for (const bad of ['', '  ', 'abc', '12.345', '1e3', '12,5', '.5', '--1', '¥', '1.2.3', null, undefined, {}, NaN, Infinity]) {
    assert.throws(() => money.fenFromYuan(bad), (error) => {
      assert.ok(error instanceof money.MoneyParseError, `${String(bad)}: ${error}`)
      assert.ok(error instanceof Error)
      assert.equal(error.name, 'MoneyParseError')
      assert.equal(error.code, 'MONEY_PARSE')
      assert.match(error.message, /金额/)
      return true
    }, String(bad))
  }
})

test('yuan and fenFromYuan round-trip', () => {
  for (const fen of [0, 1, 99, 100, 101, 12345, -12345, 99999999]) {
    assert.equal(money.fenFromYuan(money.yuan(fen)), fen)
  }
})

test('priceE4 shows tariff prices with four decimals', () => {
  assert.equal(money.priceE4(12345), '1.2345')
  assert.equal(money.priceE4(8000), '0.8000')
  assert.equal(money.priceE4(5), '0.0005')
  assert.throws(() => money.priceE4(1.5), TypeError)
})
