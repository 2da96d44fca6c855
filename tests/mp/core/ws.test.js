'use strict'
// core/ws.js: the graphql-transport-ws client. First over a scripted fake socket and fake timers (the
// protocol steps, backoff schedule, fatal closes); then against the REAL server of the test stack: login,
// connection_init with the token, subscriptions that deliver live data, ping/pong, and a reconnect after the
// socket is dropped that subscribes again. The GraphQL HTTP client is checked against the same server.
const test = require('node:test')
const assert = require('node:assert/strict')
const WebSocket = require('ws')
const { createSubscriptions } = require('../../../miniprogram_wechat/core/ws.js')
const { createClient, GraphQLError } = require('../../../miniprogram_wechat/core/graphql.js')
const Q = require('../../../miniprogram_wechat/core/queries.js')
const { startStack } = require('../helpers/stack.js')

// --- scripted fakes -------------------------------------------------------------------------------------

function fakeTimers() {
  let now = 0
  let nextId = 1
  const pending = new Map()
  return {
    setTimeout(fn, ms) { const id = nextId++; pending.set(id, { at: now + ms, fn, ms }); return id },
    clearTimeout(id) { pending.delete(id) },
    delays: () => [...pending.values()].map((t) => t.ms).sort((a, b) => a - b),
    advance(ms) {
      const end = now + ms
      for (;;) {
        const due = [...pending.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0]
        if (!due) break
        pending.delete(due[0])
        now = due[1].at
        due[1].fn()
      }
      now = end
    },
  }
}

function fakeSockets() {
  const sockets = []
  const adapter = {
    connectSocket(options) {
      const handlers = { open: [], message: [], close: [], error: [] }
      const socket = {
        options, sent: [], closedWith: null,
        send: (text) => socket.sent.push(JSON.parse(text)),
        close: (code, reason) => { socket.closedWith = { code, reason } },
        onOpen: (cb) => handlers.open.push(cb),
        onMessage: (cb) => handlers.message.push(cb),
        onClose: (cb) => handlers.close.push(cb),
        onError: (cb) => handlers.error.push(cb),
        // the server side, driven by the test
        open: () => handlers.open.forEach((cb) => cb()),
        receive: (message) => handlers.message.forEach((cb) => cb(typeof message === 'string' ? message : JSON.stringify(message))),
        drop: (code = 1006, reason = '') => handlers.close.forEach((cb) => cb({ code, reason })),
        fail: () => handlers.error.forEach((cb) => cb({ errMsg: 'boom' })),
        types: () => socket.sent.map((m) => m.type),
      }
      sockets.push(socket)
      return socket
    },
  }
  return { adapter, sockets }
}

function setup(extra = {}) {
  const timers = fakeTimers()
  const { adapter, sockets } = fakeSockets()
  const client = createSubscriptions(Object.assign({ adapter, url: 'wss://x/graphql', getToken: () => 'tok', timers, keepAliveMs: 0 }, extra))
  return { timers, sockets, client }
}

function handlers() {
  const seen = { next: [], error: [], complete: 0 }
  return { seen, h: { next: (d) => seen.next.push(d), error: (e) => seen.error.push(e), complete: () => { seen.complete += 1 } } }
}

test('lazy connect, connection_init with the token, subscribe only after connection_ack', () => {
  const { sockets, client } = setup()
  assert.equal(sockets.length, 0, 'nothing until the first subscribe')
  const { seen, h } = handlers()
  client.subscribe('subscription A { a }', { x: 1 }, h)
  assert.equal(sockets.length, 1)
  assert.deepEqual(sockets[0].options, { url: 'wss://x/graphql', protocols: ['graphql-transport-ws'] })
  sockets[0].open()
  assert.deepEqual(sockets[0].sent, [{ type: 'connection_init', payload: { authorization: 'Bearer tok' } }])
  sockets[0].receive({ type: 'connection_ack' })
  assert.deepEqual(sockets[0].sent[1], { id: '1', type: 'subscribe', payload: { query: 'subscription A { a }', variables: { x: 1 } } })
  sockets[0].receive({ id: '1', type: 'next', payload: { data: { a: 5 } } })
  assert.deepEqual(seen.next, [{ a: 5 }])
})

test('anonymous connection_init has an empty payload', () => {
  const { sockets, client } = setup({ getToken: () => null })
  client.subscribe('subscription A { a }', {}, {})
  sockets[0].open()
  assert.deepEqual(sockets[0].sent[0], { type: 'connection_init', payload: {} })
})

test('ping is answered with pong; operations are multiplexed by id', () => {
  const { sockets, client } = setup()
  const a = handlers()
  const b = handlers()
  client.subscribe('subscription A { a }', {}, a.h)
  sockets[0].open()
  sockets[0].receive({ type: 'connection_ack' })
  client.subscribe('subscription B { b }', {}, b.h) // already acked: sent at once, on the same socket
  assert.equal(sockets.length, 1)
  sockets[0].receive({ type: 'ping', payload: { t: 1 } })
  assert.deepEqual(sockets[0].sent.slice(-1)[0], { type: 'pong', payload: { t: 1 } })
  sockets[0].receive({ type: 'ping' })
  assert.deepEqual(sockets[0].sent.slice(-1)[0], { type: 'pong' })
  sockets[0].receive({ id: '2', type: 'next', payload: { data: { b: 1 } } })
  sockets[0].receive({ id: '1', type: 'next', payload: { data: { a: 1 } } })
  sockets[0].receive({ id: '99', type: 'next', payload: { data: { z: 1 } } }) // unknown id: ignored
  assert.deepEqual([a.seen.next, b.seen.next], [[{ a: 1 }], [{ b: 1 }]])
})

test('unsubscribe sends complete; the socket closes when none is left, and reopens lazily', () => {
  const { sockets, client } = setup()
  const off1 = client.subscribe('subscription A { a }', {}, {})
  const off2 = client.subscribe('subscription B { b }', {}, {})
  sockets[0].open()
  sockets[0].receive({ type: 'connection_ack' })
  off1()
  assert.deepEqual(sockets[0].sent.slice(-1)[0], { id: '1', type: 'complete' })
  assert.equal(sockets[0].closedWith, null)
  off1() // twice: nothing more
  off2()
  assert.deepEqual(sockets[0].closedWith, { code: 1000, reason: 'done' })
  assert.equal(client.activeCount(), 0)
  client.subscribe('subscription C { c }', {}, {})
  assert.equal(sockets.length, 2)
})

test('complete and error from the server end one operation; errors are typed', () => {
  const { sockets, client } = setup()
  const a = handlers()
  const b = handlers()
  const c = handlers()
  client.subscribe('subscription A { a }', {}, a.h)
  client.subscribe('subscription B { b }', {}, b.h)
  client.subscribe('subscription C { c }', {}, c.h)
  sockets[0].open()
  sockets[0].receive({ type: 'connection_ack' })
  sockets[0].receive({ id: '1', type: 'complete' })
  sockets[0].receive({ id: '2', type: 'error', payload: [{ message: 'no such order', extensions: { code: 'NOT_FOUND' } }] })
  sockets[0].receive({ id: '3', type: 'next', payload: { data: null, errors: [{ message: 'log in', extensions: { code: 'UNAUTHENTICATED' } }] } })
  assert.equal(a.seen.complete, 1)
  assert.ok(b.seen.error[0] instanceof GraphQLError)
  assert.deepEqual([b.seen.error[0].code, b.seen.error[0].message], ['NOT_FOUND', 'no such order'])
  assert.equal(c.seen.error[0].code, 'UNAUTHENTICATED')
  assert.equal(client.activeCount(), 0)
  assert.ok(sockets[0].closedWith, 'the last operation ended: the socket is closed')
})

test('a dropped socket reconnects with backoff 1 s doubling to 30 s, and subscribes again', () => {
  const { timers, sockets, client } = setup({ keepAliveMs: 0 })
  client.subscribe('subscription A { a }', { id: 'a' }, {})
  client.subscribe('subscription B { b }', { id: 'b' }, {})
  sockets[0].open()
  sockets[0].receive({ type: 'connection_ack' })
  const schedule = []
  for (let attempt = 0; attempt < 7; attempt++) {
    sockets[sockets.length - 1].drop(1006)
    schedule.push(timers.delays()[0])
    timers.advance(timers.delays()[0])
  }
  assert.deepEqual(schedule, [1000, 2000, 4000, 8000, 16000, 30000, 30000])
  assert.equal(sockets.length, 8)
  const last = sockets[7]
  last.open()
  assert.equal(last.sent[0].type, 'connection_init')
  last.receive({ type: 'connection_ack' })
  assert.deepEqual(last.sent.slice(1).map((m) => [m.type, m.id, m.payload.variables.id]), [['subscribe', '1', 'a'], ['subscribe', '2', 'b']])
  // a good connection resets the backoff
  last.drop(1001)
  assert.deepEqual(timers.delays(), [1000])
})

test('a socket error counts as a drop; unsubscribing all during the wait cancels the reconnect', () => {
  const { timers, sockets, client } = setup()
  const off = client.subscribe('subscription A { a }', {}, {})
  sockets[0].open()
  sockets[0].fail()
  assert.ok(sockets[0].closedWith)
  assert.deepEqual(timers.delays(), [1000])
  off()
  assert.deepEqual(timers.delays(), [])
  timers.advance(60000)
  assert.equal(sockets.length, 1)
})

test('no connection_ack in time: the socket is dropped and tried again', () => {
  const { timers, sockets, client } = setup({ ackTimeoutMs: 5000 })
  client.subscribe('subscription A { a }', {}, {})
  sockets[0].open()
  timers.advance(5000)
  assert.ok(sockets[0].closedWith)
  timers.advance(1000)
  assert.equal(sockets.length, 2)
})

test('keep-alive: a ping every keepAliveMs; no pong means a dead socket', () => {
  const { timers, sockets, client } = setup({ keepAliveMs: 25000, pongTimeoutMs: 10000 })
  client.subscribe('subscription A { a }', {}, {})
  sockets[0].open()
  sockets[0].receive({ type: 'connection_ack' })
  timers.advance(25000)
  assert.equal(sockets[0].types().slice(-1)[0], 'ping')
  sockets[0].receive({ type: 'pong' })
  timers.advance(25000)
  assert.deepEqual(sockets[0].types().filter((t) => t === 'ping').length, 2)
  timers.advance(10000) // no pong this time
  assert.ok(sockets[0].closedWith)
  timers.advance(1000)
  assert.equal(sockets.length, 2)
})

test('fatal closes (4400, 4403, 4406, 4409) end the operations with an error instead of retrying', () => {
  for (const code of [4400, 4403, 4406, 4409]) {
    const { timers, sockets, client } = setup()
    const a = handlers()
    client.subscribe('subscription A { a }', {}, a.h)
    sockets[0].open()
    sockets[0].drop(code, 'Subprotocol not acceptable')
    assert.equal(a.seen.error.length, 1)
    assert.equal(a.seen.error[0].name, 'NetworkError')
    assert.equal(a.seen.error[0].status, code)
    assert.deepEqual(timers.delays(), [])
    assert.equal(client.activeCount(), 0)
  }
})

test('garbage from the server is a protocol error (4400): not retried', () => {
  const { sockets, client } = setup()
  const a = handlers()
  client.subscribe('subscription A { a }', {}, a.h)
  sockets[0].open()
  sockets[0].receive('not json')
  assert.equal(a.seen.error[0].status, 4400)
})

test('a throwing handler does not break the other operations', () => {
  const { sockets, client } = setup()
  const b = handlers()
  client.subscribe('subscription A { a }', {}, { next: () => { throw new Error('page bug') } })
  client.subscribe('subscription B { b }', {}, b.h)
  sockets[0].open()
  sockets[0].receive({ type: 'connection_ack' })
  const original = console.error
  console.error = () => {}
  try {
    sockets[0].receive({ id: '1', type: 'next', payload: { data: { a: 1 } } })
  } finally {
    console.error = original
  }
  sockets[0].receive({ id: '2', type: 'next', payload: { data: { b: 1 } } })
  assert.deepEqual(b.seen.next, [{ b: 1 }])
})

test('reconnect() and close()', () => {
  const { sockets, client, timers } = setup()
  const a = handlers()
  client.subscribe('subscription A { a }', {}, a.h)
  sockets[0].open()
  sockets[0].receive({ type: 'connection_ack' })
  client.reconnect() // e.g. after login: a new connection_init
  assert.deepEqual(sockets[0].closedWith, { code: 1000, reason: 'reconnect' })
  assert.equal(sockets.length, 2)
  sockets[0].drop(1000) // the old socket's late close event changes nothing
  assert.deepEqual(timers.delays(), [])
  client.close()
  assert.ok(sockets[1].closedWith)
  assert.equal(client.activeCount(), 0)
  assert.equal(a.seen.error.length + a.seen.complete, 0, 'close() calls no handlers')
})

// --- against the real server --------------------------------------------------------------------------

// the adapter the core expects, over the `ws` package and fetch (what platform.js does over wx.*)
function nodeAdapter() {
  const raw = []
  return {
    raw,
    request({ url, method, header, data }) {
      return fetch(url, { method, headers: header, body: data }).then(async (response) => {
        const text = await response.text()
        let body = text
        try { body = JSON.parse(text) } catch (e) { /* text */ }
        return { status: response.status, data: body }
      })
    },
    connectSocket({ url, protocols }) {
      const ws = new WebSocket(url, protocols)
      const record = { ws, sent: [], received: [], closed: null }
      raw.push(record)
      ws.on('close', (code) => { record.closed = code })
      return {
        send: (text) => { record.sent.push(JSON.parse(text)); ws.send(text) },
        close: (code, reason) => ws.close(code, reason),
        onOpen: (cb) => ws.on('open', () => cb()),
        onMessage: (cb) => ws.on('message', (data) => {
          const text = data.toString('utf8')
          record.received.push(JSON.parse(text))
          cb(text)
        }),
        onClose: (cb) => ws.on('close', (code, reason) => cb({ code, reason: reason.toString() })),
        onError: (cb) => ws.on('error', (error) => cb(error)),
      }
    },
  }
}

async function waitFor(predicate, ms, what) {
  const end = Date.now() + ms
  for (;;) {
    const value = predicate()
    if (value) return value
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

test('against the real server', { timeout: 120000 }, async (t) => {
  const stack = await startStack()
  t.after(() => stack.stop())
  const adapter = nodeAdapter()
  let token = null
  const http = createClient({ adapter, url: stack.graphqlUrl, getToken: () => token })

  await t.test('the HTTP client gets data, and typed errors from the real server', async () => {
    assert.ok((await http.request(Q.PAY_METHODS)).payMethods.includes('SANDBOX'))
    await assert.rejects(http.request(Q.WALLET, { first: 5 }), (error) => error instanceof GraphQLError && error.code === 'UNAUTHENTICATED')
    token = 'not-a-token'
    await assert.rejects(http.request(Q.WALLET, { first: 5 }), (error) => error.code === 'UNAUTHENTICATED')
    token = null
    await assert.rejects(http.request('{ nope }'), (error) => error instanceof GraphQLError && error.status === 400)
    await assert.rejects(http.request(Q.SCANNED_CONNECTOR, { scanned: 'https://x/q/NOPE' }), (error) => error.code === 'UNKNOWN_QR_CODE')
    const login = await http.request(Q.LOGIN_WECHAT, { code: stack.wechatLoginCode() })
    token = login.loginWithWechat.token
    assert.equal(typeof (await http.request(Q.WALLET, { first: 5 })).wallet.balanceFen, 'number')
  })

  await t.test('subscriptions: token in connection_init, live data, ping/pong, reconnect and re-subscribe', async () => {
    // an order of the logged-in driver, paid in the sandbox: the pile starts and sends samples
    const started = (await http.request(Q.START_CHARGING, { chargePointId: 'DEMO-0001', connectorNo: 1, method: 'SANDBOX', capFen: 5000 })).startCharging
    const paid = await fetch(stack.url + started.paymentParams.payUrl, { method: 'POST' })
    assert.equal(paid.status, 200)
    const orderId = started.order.id

    const client = createSubscriptions({ adapter, url: stack.wsUrl + '/graphql', getToken: () => token, minDelayMs: 100, keepAliveMs: 300 })
    const orderUpdates = []
    const offOrder = client.subscribe(Q.ORDER_UPDATES, { orderId }, { next: (data) => orderUpdates.push(data.orderUpdates), error: (e) => orderUpdates.push(e) })
    const sessionId = await waitFor(() => { const u = orderUpdates.find((x) => x && x.sessionId); return u && u.sessionId }, 30000, 'the session id')
    const first = adapter.raw[0]
    assert.deepEqual(first.sent[0], { type: 'connection_init', payload: { authorization: `Bearer ${token}` } })
    assert.ok(first.received.some((m) => m.type === 'connection_ack'))

    const samples = []
    const offSession = client.subscribe(Q.SESSION_UPDATES, { sessionId }, {
      next: (data) => { if (data.sessionUpdates.__typename === 'SessionSampleRecorded') samples.push(data.sessionUpdates) },
    })
    await waitFor(() => samples.length >= 2, 20000, 'two samples')
    assert.equal(samples[0].sessionId, sessionId)
    assert.equal(typeof samples[samples.length - 1].sample.powerW, 'number')
    assert.equal(adapter.raw.length, 1, 'both operations share one socket')

    // the client pings (keepAliveMs 300) and the server answers pong
    await waitFor(() => first.received.some((m) => m.type === 'pong'), 5000, 'a pong')
    assert.ok(first.sent.some((m) => m.type === 'ping'))

    // the network drops the socket: a new one, connection_init again, both operations subscribed again
    first.ws.terminate()
    await waitFor(() => adapter.raw.length === 2 && adapter.raw[1].sent.filter((m) => m.type === 'subscribe').length === 2, 10000, 're-subscription')
    const second = adapter.raw[1]
    assert.equal(second.sent[0].type, 'connection_init')
    assert.deepEqual(second.sent.filter((m) => m.type === 'subscribe').map((m) => m.id).sort(), ['1', '2'])
    const before = samples.length
    await waitFor(() => samples.length >= before + 2, 20000, 'samples after the reconnect')

    // anonymous subscriptions to someone's order are refused with a typed error
    const anonymous = createSubscriptions({ adapter, url: stack.wsUrl + '/graphql', getToken: () => null, keepAliveMs: 0 })
    const refused = []
    anonymous.subscribe(Q.ORDER_UPDATES, { orderId }, { error: (e) => refused.push(e), next: (d) => refused.push(d) })
    await waitFor(() => refused.length, 10000, 'the refusal')
    assert.equal(refused[0].name, 'GraphQLError')
    assert.equal(refused[0].code, 'UNAUTHENTICATED')
    anonymous.close()

    // the driver stops; the order updates run until the order is final and the server completes them
    await http.request(Q.STOP_CHARGING, { orderId })
    offSession()
    await waitFor(() => orderUpdates.some((u) => u && ['SETTLED', 'CANCELLED', 'SETTLEMENT_FAILED'].includes(u.status)), 30000, 'a final order')
    offOrder()
    await waitFor(() => second.closed !== null, 5000, 'the socket to close when nothing is subscribed')
    assert.equal(client.activeCount(), 0)
  })
})
