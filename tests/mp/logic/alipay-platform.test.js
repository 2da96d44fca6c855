'use strict'
// miniprogram_alipay/platform.js against a scripted `my`: the Alipay shapes the adapter hides from core/ and the
// pages (my.request's fail 19 with a status, the nested socket message, tradePay result codes, string
// coordinates, {key, data} storage, the canvas node query).
const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('fs')
const path = require('path')
const vm = require('vm')

const FILE = path.join(__dirname, '../../../miniprogram_alipay/platform.js')

// platform.js loaded with `my` = the given fake (a fresh module each time)
function loadPlatform(my) {
  const module = { exports: {} }
  const source = fs.readFileSync(FILE, 'utf8')
  vm.runInThisContext(`(function (exports, module, my) {${source}\n})`, { filename: FILE })(module.exports, module, my)
  return module.exports
}

function fakeSocketTask() {
  const handlers = { open: [], message: [], close: [], error: [] }
  return {
    sent: [],
    closedWith: null,
    handlers,
    send(opts) { this.sent.push(opts.data) },
    close(opts) { this.closedWith = opts },
    onOpen(cb) { handlers.open.push(cb) },
    onMessage(cb) { handlers.message.push(cb) },
    onClose(cb) { handlers.close.push(cb) },
    onError(cb) { handlers.error.push(cb) },
    emit(kind, res) { handlers[kind].forEach((cb) => cb(res)) },
  }
}

test('request: sends headers (not header) and JSON text, and resolves {status, data} on success', async () => {
  // given
  let asked
  const platform = loadPlatform({ request(opts) { asked = opts; opts.success({ status: 200, data: '{"data":{"ok":true}}', headers: {} }) } })

  // when
  const result = await platform.request({ url: 'https://x/graphql', method: 'POST', header: { authorization: 'Bearer t' }, data: { query: '{ ok }' } })

  // then
  assert.deepEqual(result, { status: 200, data: { data: { ok: true } } })
  assert.equal(asked.headers.authorization, 'Bearer t')
  assert.equal(asked.headers['content-type'], 'application/json')
  assert.equal(asked.header, undefined)
  assert.equal(asked.data, '{"query":"{ ok }"}')
  assert.equal(asked.method, 'POST')
})

test('request: a non-2xx answer arrives in fail (error 19) and still resolves with its status and body', async () => {
  // given
  const platform = loadPlatform({
    request(opts) { opts.fail({ error: 19, errorMessage: 'http status error', status: 400, data: '{"errors":[{"message":"bad"}]}' }) },
  })

  // when
  const result = await platform.request({ url: 'https://x/graphql', method: 'POST', data: '{}' })

  // then
  assert.equal(result.status, 400)
  assert.deepEqual(result.data, { errors: [{ message: 'bad' }] })
})

test('request: a failure without a status rejects (network), error 19 without a status too', async () => {
  const offline = loadPlatform({ request(opts) { opts.fail({ error: 12, errorMessage: '网络出错' }) } })
  await assert.rejects(offline.request({ url: 'https://x', method: 'GET' }), /网络请求失败/)
  const bare19 = loadPlatform({ request(opts) { opts.fail({ error: 19, errorMessage: 'http status error' }) } })
  await assert.rejects(bare19.request({ url: 'https://x', method: 'GET' }), /HTTP 错误/)
})

test('connectSocket: multiple: true, protocols passed, the nested res.data.data is the message text', () => {
  // given
  const task = fakeSocketTask()
  let asked
  const platform = loadPlatform({ connectSocket(opts) { asked = opts; return task } })
  const socket = platform.connectSocket({ url: 'wss://x/graphql', protocols: ['graphql-transport-ws'] })
  const seen = []
  socket.onOpen(() => seen.push('open'))
  socket.onMessage((text) => seen.push(text))
  socket.onClose((info) => seen.push(info))

  // when
  task.emit('open', { data: {} })
  socket.send('{"type":"connection_init"}')
  task.emit('message', { data: { socketTaskID: 1, data: '{"type":"connection_ack"}', isBuffer: false } })
  task.emit('message', { data: '{"type":"ping"}' }) // a flat payload is taken too
  socket.close(1000, 'bye')
  task.emit('close', { code: 1000, reason: 'bye' })

  // then
  assert.equal(asked.multiple, true)
  assert.deepEqual(asked.protocols, ['graphql-transport-ws'])
  assert.deepEqual(task.sent, ['{"type":"connection_init"}'])
  assert.deepEqual(task.closedWith, { code: 1000, reason: 'bye' })
  assert.deepEqual(seen, ['open', '{"type":"connection_ack"}', '{"type":"ping"}', { code: 1000, reason: 'bye' }])
})

test('connectSocket: no task (an old base library) ends in onError and onClose, never throws', async () => {
  const platform = loadPlatform({ connectSocket() { return undefined } })
  const socket = platform.connectSocket({ url: 'wss://x/graphql', protocols: [] })
  const seen = []
  socket.onError(() => seen.push('error'))
  socket.onClose((info) => seen.push(info.code))
  socket.send('ignored')
  await new Promise((resolve) => setTimeout(resolve, 5))
  assert.deepEqual(seen, ['error', 1006])
})

test('pay: my.tradePay with tradeNO; only 9000 is paid, 6001 cancelled, the rest failed', async () => {
  const asked = []
  const answers = { A: '9000', B: '6001', C: '8000', D: 4000 }
  const platform = loadPlatform({
    tradePay(opts) { asked.push(opts.tradeNO); opts.success({ resultCode: answers[opts.tradeNO] }) },
  })
  assert.equal(await platform.pay({ tradeNO: 'A' }), 'paid')
  assert.equal(await platform.pay({ tradeNO: 'B' }), 'cancelled')
  assert.equal(await platform.pay({ tradeNO: 'C' }), 'failed')
  assert.equal(await platform.pay({ tradeNO: 'D' }), 'failed')
  assert.equal(await platform.pay({}), 'failed')
  assert.deepEqual(asked, ['A', 'B', 'C', 'D'])
  const failing = loadPlatform({ tradePay(opts) { opts.fail({ error: 4, errorMessage: 'no' }) } })
  assert.equal(await failing.pay({ tradeNO: 'X' }), 'failed')
})

test('login: my.getAuthCode with auth_base gives the authCode', async () => {
  let scopes
  const platform = loadPlatform({ getAuthCode(opts) { scopes = opts.scopes; opts.success({ authCode: 'AC-1' }) } })
  assert.equal(await platform.login(), 'AC-1')
  assert.equal(scopes, 'auth_base')
  const refused = loadPlatform({ getAuthCode(opts) { opts.fail({ error: 11, errorMessage: '用户取消' }) } })
  await assert.rejects(refused.login(), /支付宝授权失败/)
})

test('getLocation: Alipay\'s string coordinates become numbers; a refusal rejects', async () => {
  const platform = loadPlatform({ getLocation(opts) { opts.success({ latitude: '30.2741', longitude: '120.1551' }) } })
  assert.deepEqual(await platform.getLocation(), { latitude: 30.2741, longitude: 120.1551 })
  const denied = loadPlatform({ getLocation(opts) { opts.fail({ error: 2001 }) } })
  await assert.rejects(denied.getLocation(), /定位失败/)
})

test('storage: {key, data} objects; a missing key reads as null', () => {
  const saved = new Map()
  const platform = loadPlatform({
    setStorageSync: ({ key, data }) => saved.set(key, data),
    getStorageSync: ({ key }) => ({ data: saved.has(key) ? saved.get(key) : null }),
    removeStorageSync: ({ key }) => saved.delete(key),
  })
  platform.setStorage('k', { token: 't' })
  assert.deepEqual(platform.getStorage('k'), { token: 't' })
  platform.removeStorage('k')
  assert.equal(platform.getStorage('k'), null)
})

test('scan, openLocation, confirm and toast map onto my.scan, my.openLocation, my.confirm, my.showToast', async () => {
  const log = []
  const platform = loadPlatform({
    scan(opts) { log.push(['scan', opts.scanType]); opts.success({ code: 'https://x/q/ABC' }) },
    openLocation(opts) { log.push(['open', opts.latitude, opts.longitude, opts.name]); opts.success() },
    confirm(opts) { log.push(['confirm', opts.title]); opts.success({ confirm: true }) },
    showToast(opts) { log.push(['toast', opts.content]) },
  })
  assert.equal(await platform.scanCode(), 'https://x/q/ABC')
  await platform.openLocation({ latitude: 30.1, longitude: 120.2, name: '站', address: '路' })
  assert.equal(await platform.confirm('停止充电', '确定？'), true)
  platform.toast('好')
  assert.deepEqual(log, [['scan', ['qrCode']], ['open', '30.1', '120.2', '站'], ['confirm', '停止充电'], ['toast', '好']])
})

test('canvas2d: the 2d context of the node, scaled to the pixel ratio; null without a selector query', async () => {
  const calls = []
  const node = { width: 0, height: 0, getContext: () => ({ scale: (x, y) => calls.push(['scale', x, y]) }) }
  const query = {
    select() { return this },
    node() { return this },
    boundingClientRect() { return this },
    exec(cb) { cb([{ node }, { width: 320, height: 200 }]) },
  }
  const platform = loadPlatform({ createSelectorQuery: () => query, getSystemInfoSync: () => ({ pixelRatio: 3 }) })
  const canvas = await platform.canvas2d(null, 'trend')
  assert.equal(canvas.width, 320)
  assert.equal(canvas.height, 200)
  assert.equal(node.width, 960)
  assert.deepEqual(calls, [['scale', 3, 3]])
  assert.equal(await loadPlatform({}).canvas2d(null, 'trend'), null)
})
