'use strict'
// core/store.js over a fake storage adapter: token with expiry, cached viewer, active order.
const test = require('node:test')
const assert = require('node:assert/strict')
const { createStore, KEYS } = require('../../../miniprogram_wechat/core/store.js')

function memoryAdapter() {
  const map = new Map()
  return {
    map,
    // like wx.getStorageSync: '' for a missing key
    getStorage: (key) => (map.has(key) ? JSON.parse(map.get(key)) : ''),
    setStorage: (key, value) => map.set(key, JSON.stringify(value)),
    removeStorage: (key) => map.delete(key),
  }
}

test('token: set, read, expire, clear', () => {
  let now = 1_000_000
  const adapter = memoryAdapter()
  const store = createStore(adapter, { now: () => now })
  assert.equal(store.getToken(), null)
  store.setToken('t-1', 60)
  assert.equal(store.getToken(), 't-1')
  now += 59_999
  assert.equal(store.getToken(), 't-1')
  now += 1
  assert.equal(store.getToken(), null)
  assert.equal(adapter.map.has(KEYS.token), false, 'an expired token is removed')
  store.setToken('t-2') // no expiry given: kept until cleared
  now += 10 ** 9
  assert.equal(store.getToken(), 't-2')
  store.setViewer({ id: '7', name: '演示车主', grants: [] })
  assert.deepEqual(store.getViewer(), { id: '7', name: '演示车主' })
  store.clearToken()
  assert.equal(store.getToken(), null)
  assert.equal(store.getViewer(), null)
})

test('active order survives a new store over the same storage (an app relaunch)', () => {
  const adapter = memoryAdapter()
  createStore(adapter).setActiveOrder(42)
  const again = createStore(adapter)
  assert.equal(again.getActiveOrder(), '42')
  again.clearActiveOrder()
  assert.equal(createStore(adapter).getActiveOrder(), null)
})

test('junk in storage reads as nothing', () => {
  const adapter = memoryAdapter()
  adapter.setStorage(KEYS.token, 'just a string')
  adapter.setStorage(KEYS.viewer, 5)
  const store = createStore(adapter)
  assert.equal(store.getToken(), null)
  assert.equal(store.getViewer(), null)
  const throwing = { getStorage() { throw new Error('storage broken') }, setStorage() {}, removeStorage() { throw new Error('x') } }
  assert.equal(createStore(throwing).getToken(), null)
  assert.doesNotThrow(() => createStore(throwing).clearActiveOrder())
})
