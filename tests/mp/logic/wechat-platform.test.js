'use strict'
// miniprogram_wechat/platform.js against a scripted `wx`: the adapter shapes core/ relies on (request resolves
// for any HTTP status, the socket task's message text and close code, payment outcomes settled once, login code,
// gcj02 location, scan result, modal answer, sync storage).
const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('fs')
const path = require('path')
const vm = require('vm')

const FILE = path.join(__dirname, '../../../miniprogram_wechat/platform.js')

function loadPlatform(wx) {
  const module = { exports: {} }
  vm.runInThisContext(`(function (exports, module, wx) {${fs.readFileSync(FILE, 'utf8')}\n})`, { filename: FILE })(module.exports, module, wx)
  return module.exports
}

test('name and pay method', () => {
  const platform = loadPlatform({})
  assert.equal(platform.name, 'wechat')
  assert.equal(platform.payMethod, 'WECHATPAY')
})

test('request: the options go to wx.request; 4xx/5xx resolve with the status; network failures reject', async () => {
  let asked
  const platform = loadPlatform({
    request(opts) {
      asked = opts
      if (opts.url.endsWith('/down')) opts.fail({ errMsg: 'request:fail timeout' })
      else opts.success({ statusCode: opts.url.endsWith('/bad') ? 400 : 200, data: { data: { ok: true } }, header: {} })
    },
  })
  assert.deepEqual(await platform.request({ url: 'https://x/graphql', method: 'POST', header: { a: '1' }, data: '{}' }), { status: 200, data: { data: { ok: true } } })
  assert.deepEqual([asked.method, asked.header, asked.data, asked.dataType], ['POST', { a: '1' }, '{}', 'json'])
  assert.equal((await platform.request({ url: 'https://x/bad' })).status, 400)
  assert.equal(asked.method, 'GET')
  await assert.rejects(platform.request({ url: 'https://x/down' }), (e) => e.errMsg === 'request:fail timeout')
})

test('connectSocket: protocols offered, text messages, close code and reason', () => {
  const handlers = {}
  const task = {
    sent: [], closed: null,
    send(o) { this.sent.push(o.data) }, close(o) { this.closed = o },
    onOpen(cb) { handlers.open = cb }, onMessage(cb) { handlers.message = cb }, onClose(cb) { handlers.close = cb }, onError(cb) { handlers.error = cb },
  }
  let asked
  const platform = loadPlatform({ connectSocket(opts) { asked = opts; return task } })
  const socket = platform.connectSocket({ url: 'wss://x/graphql', protocols: ['graphql-transport-ws'] })
  assert.deepEqual([asked.url, asked.protocols], ['wss://x/graphql', ['graphql-transport-ws']])
  const seen = []
  socket.onOpen(() => seen.push('open'))
  socket.onMessage((text) => seen.push(text))
  socket.onClose((e) => seen.push(e))
  socket.onError((e) => seen.push(e.errMsg))
  handlers.open({ header: {} })
  handlers.message({ data: '{"type":"connection_ack"}' })
  handlers.error({ errMsg: 'boom' })
  handlers.close({ code: 1006, reason: 'gone' })
  assert.deepEqual(seen, ['open', '{"type":"connection_ack"}', 'boom', { code: 1006, reason: 'gone' }])
  socket.send('{"type":"ping"}')
  socket.close()
  assert.deepEqual(task.sent, ['{"type":"ping"}'])
  assert.deepEqual(task.closed, { code: 1000, reason: '' })
})

test('pay: success, cancel and failure, each settled once, with the exact wx.requestPayment fields', async () => {
  const params = { timeStamp: 1714528800, nonceStr: 'n', package: 'prepay_id=wx1', signType: 'RSA', paySign: 's', appId: 'wxapp' }
  let asked
  const answer = (how) => loadPlatform({
    requestPayment(opts) {
      asked = opts
      if (how === 'ok') { opts.success({ errMsg: 'requestPayment:ok' }); opts.fail({ errMsg: 'late' }) }
      if (how === 'cancel') opts.fail({ errMsg: 'requestPayment:fail cancel' })
      if (how === 'fail') opts.fail({ errMsg: 'requestPayment:fail system error' })
    },
  })
  assert.equal(await answer('ok').pay(params), 'paid')
  assert.deepEqual(Object.keys(asked).filter((k) => typeof asked[k] !== 'function').sort(), ['nonceStr', 'package', 'paySign', 'signType', 'timeStamp'])
  assert.equal(asked.timeStamp, '1714528800', 'timeStamp is a string')
  assert.equal(await answer('cancel').pay(params), 'cancelled')
  assert.equal(await answer('fail').pay(params), 'failed')
})

test('login, location, scan, confirm, toast, storage', async () => {
  const store = new Map()
  const calls = []
  const platform = loadPlatform({
    login: (o) => o.success({ code: 'wx-code' }),
    getLocation: (o) => { calls.push(['getLocation', o.type]); o.success({ latitude: 30.1, longitude: 120.2, speed: -1 }) },
    openLocation: (o) => calls.push(['openLocation', o]),
    scanCode: (o) => { calls.push(['scanCode', o.scanType]); o.success({ result: 'https://x/q/ABC' }) },
    showModal: (o) => o.success({ confirm: o.title === 'yes', cancel: o.title !== 'yes' }),
    showToast: (o) => calls.push(['toast', o.title, o.icon]),
    getStorageSync: (k) => (store.has(k) ? store.get(k) : ''),
    setStorageSync: (k, v) => store.set(k, v),
    removeStorageSync: (k) => store.delete(k),
  })
  assert.equal(await platform.login(), 'wx-code')
  assert.deepEqual(await platform.getLocation(), { latitude: 30.1, longitude: 120.2 })
  assert.equal(await platform.scanCode(), 'https://x/q/ABC')
  assert.equal(await platform.confirm('yes', 'c'), true)
  assert.equal(await platform.confirm('no', 'c'), false)
  platform.toast('已登录')
  platform.openLocation({ latitude: '30.1', longitude: 120.2, name: '站', address: '路' })
  platform.setStorage('k', { a: 1 })
  assert.deepEqual(platform.getStorage('k'), { a: 1 })
  platform.removeStorage('k')
  assert.equal(platform.getStorage('k'), '')
  assert.deepEqual(calls, [
    ['getLocation', 'gcj02'], ['scanCode', ['qrCode']], ['toast', '已登录', 'none'],
    ['openLocation', { latitude: 30.1, longitude: 120.2, name: '站', address: '路', scale: 16 }],
  ])
})

test('login without a code and a denied location reject', async () => {
  const platform = loadPlatform({
    login: (o) => o.success({ errMsg: 'login:ok' }),
    getLocation: (o) => o.fail({ errMsg: 'getLocation:fail auth deny' }),
    scanCode: (o) => o.fail({ errMsg: 'scanCode:fail cancel' }),
  })
  await assert.rejects(platform.login(), /no code/)
  await assert.rejects(platform.getLocation(), (e) => /auth deny/.test(e.errMsg))
  await assert.rejects(platform.scanCode(), (e) => /cancel/.test(e.errMsg))
})
