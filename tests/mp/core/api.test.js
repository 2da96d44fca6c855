'use strict'
// core/api.js over a fake adapter: QR entry, method choice, payment routes, login and token handling, the
// active order. (The pages' end-to-end use of it runs against the real server in tests/mp/logic.)
const test = require('node:test')
const assert = require('node:assert/strict')
const { createApi, qrFromLaunch, wsUrlOf } = require('../../../miniprogram_wechat/core/api.js')
const { KEYS } = require('../../../miniprogram_wechat/core/store.js')

function fakeAdapter(overrides = {}) {
  const map = new Map()
  const adapter = {
    name: 'wechat',
    payMethod: 'WECHATPAY',
    requests: [],
    confirms: [],
    pays: [],
    answers: [], // GraphQL answers by operation name: { Name: body | (variables) => body }
    graphql: {},
    request(options) {
      adapter.requests.push(options)
      if (!options.url.endsWith('/graphql')) return Promise.resolve(adapter.http ? adapter.http(options) : { status: 200, data: 'ok' })
      const { query, variables } = JSON.parse(options.data)
      const name = /(?:query|mutation|subscription)\s+(\w+)/.exec(query)[1]
      const answer = adapter.graphql[name]
      if (!answer) return Promise.resolve({ status: 200, data: { data: null, errors: [{ message: `no fake for ${name}` }] } })
      return Promise.resolve({ status: 200, data: typeof answer === 'function' ? answer(variables, options) : answer })
    },
    connectSocket() { throw new Error('no sockets in this test') },
    getStorage: (key) => (map.has(key) ? map.get(key) : ''),
    setStorage: (key, value) => map.set(key, value),
    removeStorage: (key) => map.delete(key),
    login: () => Promise.resolve('wx-code-1'),
    pay: (params) => { adapter.pays.push(params); return Promise.resolve('paid') },
    confirm: (title, content) => { adapter.confirms.push({ title, content }); return Promise.resolve(true) },
    toast() {},
  }
  return Object.assign(adapter, overrides)
}

const config = { apiBase: 'https://chargeops.example.cn/' }

test('URLs: GraphQL over HTTPS, subscriptions over the wss: form', () => {
  const api = createApi({ adapter: fakeAdapter(), config })
  assert.equal(api.graphqlUrl, 'https://chargeops.example.cn/graphql')
  assert.equal(api.wsUrl, 'wss://chargeops.example.cn/graphql')
  assert.equal(wsUrlOf('http://127.0.0.1:8000/graphql'), 'ws://127.0.0.1:8000/graphql')
})

test('qrFromLaunch: WeChat q is decoded once, Alipay qrCode, our own scanned', () => {
  const url = 'https://chargeops.example.cn/q/AbC123'
  assert.equal(qrFromLaunch({ q: encodeURIComponent(url), scancode_time: '1700000000' }), url)
  // decoded once only: an encoded character inside the URL stays encoded
  assert.equal(qrFromLaunch({ q: encodeURIComponent('https://x.cn/q/a%2Fb') }), 'https://x.cn/q/a%2Fb')
  assert.equal(qrFromLaunch({ qrCode: url }), url)
  assert.equal(qrFromLaunch({ qrCode: encodeURIComponent(url) }), url)
  assert.equal(qrFromLaunch({ scanned: encodeURIComponent(url) }), url)
  assert.equal(qrFromLaunch({ q: '%E0%A4%A' }), '%E0%A4%A') // undecodable: taken as it is
  assert.equal(qrFromLaunch({}), '')
  assert.equal(qrFromLaunch(undefined), '')
})

test('chooseMethod: the wallet when asked, else the platform provider, else the sandbox', () => {
  const api = createApi({ adapter: fakeAdapter(), config })
  assert.equal(api.chooseMethod(['WECHATPAY', 'ALIPAY', 'SANDBOX', 'WALLET'], false), 'WECHATPAY')
  assert.equal(api.chooseMethod(['ALIPAY', 'SANDBOX', 'WALLET'], false), 'SANDBOX')
  assert.equal(api.chooseMethod(['ALIPAY', 'WALLET'], false), null)
  assert.equal(api.chooseMethod(['SANDBOX', 'WALLET'], true), 'WALLET')
  assert.equal(api.chooseMethod(['SANDBOX'], true), null)
  const alipay = createApi({ adapter: fakeAdapter({ name: 'alipay', payMethod: 'ALIPAY' }), config })
  assert.equal(alipay.chooseMethod(['WECHATPAY', 'ALIPAY', 'SANDBOX', 'WALLET'], false), 'ALIPAY')
})

test('pay: wallet needs nothing; sandbox confirms then POSTs the payUrl; providers go to adapter.pay', async () => {
  const adapter = fakeAdapter()
  const api = createApi({ adapter, config })
  assert.equal(await api.pay(null), 'paid')
  assert.equal(adapter.requests.length, 0)

  assert.equal(await api.pay({ sandbox: '1', out_trade_no: 'CO1', payUrl: '/sandbox/pay/CO1' }), 'paid')
  assert.equal(adapter.confirms.length, 1)
  assert.deepEqual([adapter.requests[0].url, adapter.requests[0].method], ['https://chargeops.example.cn/sandbox/pay/CO1', 'POST'])

  adapter.confirm = () => Promise.resolve(false)
  assert.equal(await api.pay({ payUrl: '/sandbox/pay/CO2' }), 'cancelled')
  assert.equal(adapter.requests.length, 1, 'no POST after a cancelled confirm')

  adapter.confirm = () => Promise.resolve(true)
  adapter.http = () => ({ status: 400, data: 'this order is closed' })
  assert.equal(await api.pay({ payUrl: '/sandbox/pay/CO3' }), 'failed')
  adapter.http = () => Promise.reject({ errMsg: 'request:fail' })
  assert.equal(await api.pay({ payUrl: '/sandbox/pay/CO4' }), 'failed')

  const wxParams = { timeStamp: '1', nonceStr: 'n', package: 'prepay_id=p', signType: 'RSA', paySign: 's' }
  assert.equal(await api.pay(wxParams), 'paid')
  assert.deepEqual(adapter.pays, [wxParams])
  adapter.pay = () => Promise.reject(new Error('boom'))
  assert.equal(await api.pay(wxParams), 'failed')
})

test('login: the platform code goes to loginWithWechat, the token is kept and sent afterwards', async () => {
  const adapter = fakeAdapter()
  adapter.graphql.LoginWithWechat = (variables) => {
    assert.deepEqual(variables, { code: 'wx-code-1' })
    return { data: { loginWithWechat: { token: 'T1', expiresInS: 3600, me: { id: '5', name: '演示车主' } } } }
  }
  adapter.graphql.Me = { data: { me: { id: '5', name: '演示车主', vehicles: [] } } }
  let reconnects = 0
  const api = createApi({ adapter, config })
  api.subscriptions.reconnect = () => { reconnects += 1 }
  assert.equal(api.isLoggedIn(), false)
  assert.equal(await api.me(), null, 'no token: me is null without asking')
  assert.equal(adapter.requests.length, 0)
  const me = await api.login()
  assert.deepEqual(me, { id: '5', name: '演示车主' })
  assert.equal(api.isLoggedIn(), true)
  assert.equal(reconnects, 1, 'the socket is restarted so connection_init carries the token')
  await api.me()
  assert.equal(adapter.requests[adapter.requests.length - 1].header.authorization, 'Bearer T1')
  assert.deepEqual(api.store.getViewer(), { id: '5', name: '演示车主' })
})

test('alipay login uses loginWithAlipay with the auth code', async () => {
  const adapter = fakeAdapter({ name: 'alipay', payMethod: 'ALIPAY', login: () => Promise.resolve('ali-code') })
  adapter.graphql.LoginWithAlipay = (variables) => {
    assert.deepEqual(variables, { authCode: 'ali-code' })
    return { data: { loginWithAlipay: { token: 'A1', expiresInS: 60, me: { id: '9', name: '支付宝用户' } } } }
  }
  const api = createApi({ adapter, config })
  api.subscriptions.reconnect = () => {}
  assert.equal((await api.login()).name, '支付宝用户')
  assert.equal(api.store.getToken(), 'A1')
})

test('a token the server calls UNAUTHENTICATED is forgotten; me() then reads as logged out', async () => {
  const adapter = fakeAdapter()
  const unauthenticated = { data: null, errors: [{ message: 'expired', extensions: { code: 'UNAUTHENTICATED' } }] }
  adapter.graphql.Wallet = unauthenticated
  adapter.graphql.Me = unauthenticated
  const api = createApi({ adapter, config })
  api.store.setToken('old')
  await assert.rejects(api.wallet(), (error) => api.needsLogin(error))
  assert.equal(api.isLoggedIn(), false)
  api.store.setToken('old')
  assert.equal(await api.me(), null)
  assert.equal(api.isLoggedIn(), false)
})

test('charge: picks the method, starts, pays, and stores the active order only when paid', async () => {
  const adapter = fakeAdapter()
  const started = []
  adapter.graphql.PayMethods = { data: { payMethods: ['SANDBOX', 'WALLET'] } }
  adapter.graphql.StartCharging = (variables) => {
    started.push(variables)
    const id = String(started.length)
    return { data: { startCharging: {
      order: { id, status: 'CREATED' },
      paymentParams: variables.method === 'WALLET' ? null : { payUrl: `/sandbox/pay/CO${id}` },
    } } }
  }
  const api = createApi({ adapter, config })
  const first = await api.charge({ chargePointId: 'DEMO-0001', connectorNo: 1, capFen: 5000 })
  assert.deepEqual(started[0], { chargePointId: 'DEMO-0001', connectorNo: 1, method: 'SANDBOX', capFen: 5000 })
  assert.equal(first.payResult, 'paid')
  assert.equal(api.store.getActiveOrder(), '1')

  api.store.clearActiveOrder()
  adapter.confirm = () => Promise.resolve(false)
  const second = await api.charge({ chargePointId: 'DEMO-0001', connectorNo: 2, capFen: 3000 })
  assert.equal(second.payResult, 'cancelled')
  assert.equal(api.store.getActiveOrder(), null)

  const wallet = await api.charge({ chargePointId: 'DEMO-0001', connectorNo: 2, capFen: 3000, useWallet: true })
  assert.equal(started[2].method, 'WALLET')
  assert.equal(wallet.payResult, 'paid')
  assert.equal(api.store.getActiveOrder(), '3')
  assert.equal(adapter.requests.filter((r) => /PayMethods/.test(r.data || '')).length, 1, 'payMethods is cached')
})

test('charge without any usable method is a typed error', async () => {
  const adapter = fakeAdapter()
  adapter.graphql.PayMethods = { data: { payMethods: ['ALIPAY'] } }
  const api = createApi({ adapter, config })
  await assert.rejects(api.charge({ chargePointId: 'X', connectorNo: 1, capFen: 100 }), (e) => e.code === 'PAYMENT_NOT_POSSIBLE')
})

test('resumeActiveOrder: a running order comes back, a final or foreign one is forgotten', async () => {
  const adapter = fakeAdapter()
  const api = createApi({ adapter, config })
  assert.equal(await api.resumeActiveOrder(), null)
  adapter.graphql.Order = { data: { order: { id: '8', status: 'CHARGING' } } }
  api.store.setActiveOrder('8')
  assert.equal((await api.resumeActiveOrder()).status, 'CHARGING')
  assert.equal(api.store.getActiveOrder(), '8')
  adapter.graphql.Order = { data: { order: { id: '8', status: 'SETTLED' } } }
  assert.equal(await api.resumeActiveOrder(), null)
  assert.equal(adapter.getStorage(KEYS.activeOrder), '')
  api.store.setActiveOrder('9')
  adapter.graphql.Order = { data: null, errors: [{ message: 'no', extensions: { code: 'NOT_FOUND' } }] }
  assert.equal(await api.resumeActiveOrder(), null)
  assert.equal(api.store.getActiveOrder(), null)
  api.store.setActiveOrder('10')
  adapter.graphql.Order = { data: null, errors: [{ message: 'down', extensions: { code: 'INTERNAL' } }] }
  await assert.rejects(api.resumeActiveOrder())
  assert.equal(api.store.getActiveOrder(), '10', 'kept when the server could not say')
})

test('logout forgets the token, the viewer and the active order', async () => {
  const api = createApi({ adapter: fakeAdapter(), config })
  api.subscriptions.reconnect = () => {}
  api.store.setToken('t')
  api.store.setViewer({ id: '1', name: 'n' })
  api.store.setActiveOrder('3')
  await api.logout()
  assert.deepEqual([api.store.getToken(), api.store.getViewer(), api.store.getActiveOrder()], [null, null, null])
})

test('subscribe hands the field value to next and refuses unknown names', () => {
  const api = createApi({ adapter: fakeAdapter(), config })
  let handlers
  api.subscriptions.subscribe = (query, variables, h) => {
    handlers = h
    assert.match(query, /orderUpdates\(orderId: \$orderId\)/)
    assert.deepEqual(variables, { orderId: '5' })
    return () => {}
  }
  const seen = []
  api.subscribe('orderUpdates', { orderId: '5' }, { next: (v) => seen.push(v) })
  handlers.next({ orderUpdates: { status: 'PAID' } })
  assert.deepEqual(seen, [{ status: 'PAID' }])
  assert.throws(() => api.subscribe('nope', {}, {}), /unknown subscription/)
})
