'use strict'
// core/graphql.js over a fake adapter: what is sent, and how answers become data, GraphQLError (typed by
// extensions.code) or NetworkError. (ws.test.js checks the same client against the real server.)
const test = require('node:test')
const assert = require('node:assert/strict')
const { createClient, GraphQLError, NetworkError } = require('../../../miniprogram_wechat/core/graphql.js')

function fakeAdapter(answer) {
  const sent = []
  return {
    sent,
    request(options) {
      sent.push(options)
      return typeof answer === 'function' ? answer(options) : Promise.resolve(answer)
    },
  }
}

test('a query is a JSON POST with the token, and resolves with data', async () => {
  const adapter = fakeAdapter({ status: 200, data: { data: { me: { id: '1', name: '演示车主' } } } })
  const client = createClient({ adapter, url: 'https://api.test/graphql', getToken: () => 'tok-1' })
  const data = await client.request('query Me { me { id name } }', { a: 1 })
  assert.deepEqual(data, { me: { id: '1', name: '演示车主' } })
  assert.equal(adapter.sent.length, 1)
  const [sent] = adapter.sent
  assert.equal(sent.url, 'https://api.test/graphql')
  assert.equal(sent.method, 'POST')
  assert.equal(sent.header['content-type'], 'application/json')
  assert.match(sent.header.accept, /application\/graphql-response\+json/)
  assert.equal(sent.header.authorization, 'Bearer tok-1')
  assert.deepEqual(JSON.parse(sent.data), { query: 'query Me { me { id name } }', variables: { a: 1 } })
})

test('no token, no authorization header; variables default to {}', async () => {
  const adapter = fakeAdapter({ status: 200, data: '{"data":{"payMethods":["SANDBOX","WALLET"]}}' })
  const client = createClient({ adapter, url: 'u', getToken: () => null })
  assert.deepEqual(await client.request('{ payMethods }'), { payMethods: ['SANDBOX', 'WALLET'] }) // JSON text is parsed
  assert.equal('authorization' in adapter.sent[0].header, false)
  assert.deepEqual(JSON.parse(adapter.sent[0].data).variables, {})
})

test('errors reject with a GraphQLError typed by extensions.code', async () => {
  const errors = [
    { message: 'log in first', path: ['wallet'], extensions: { code: 'UNAUTHENTICATED' } },
    { message: 'second', extensions: { code: 'FORBIDDEN' } },
  ]
  const client = createClient({ adapter: fakeAdapter({ status: 200, data: { data: null, errors } }), url: 'u' })
  await assert.rejects(client.request('{ wallet { balanceFen } }'), (error) => {
    assert.ok(error instanceof GraphQLError)
    assert.ok(error instanceof Error)
    assert.equal(error.name, 'GraphQLError')
    assert.equal(error.code, 'UNAUTHENTICATED')
    assert.equal(error.message, 'log in first')
    assert.deepEqual(error.errors, errors)
    assert.equal(error.data, null)
    assert.equal(error.status, 200)
    return true
  })
})

test('partial data rides on the error; an error without a code is GRAPHQL', async () => {
  const body = { data: { a: 1, b: null }, errors: [{ message: 'b failed' }] }
  const client = createClient({ adapter: fakeAdapter({ status: 200, data: body }), url: 'u' })
  await assert.rejects(client.request('{ a b }'), (error) => {
    assert.equal(error.code, 'GRAPHQL')
    assert.deepEqual(error.data, { a: 1, b: null })
    return true
  })
})

test('a request error (HTTP 400 with errors, graphql-response+json) is a GraphQLError too', async () => {
  const body = { errors: [{ message: "Cannot query field 'nope' on type 'Query'." }] }
  const client = createClient({ adapter: fakeAdapter({ status: 400, data: body }), url: 'u' })
  await assert.rejects(client.request('{ nope }'), (error) => {
    assert.ok(error instanceof GraphQLError)
    assert.equal(error.status, 400)
    assert.match(error.message, /nope/)
    return true
  })
})

test('an answer that is not GraphQL is a NetworkError with the HTTP status', async () => {
  for (const [status, data] of [[502, '<html>Bad Gateway</html>'], [500, ''], [200, { notData: true }], [404, null]]) {
    const client = createClient({ adapter: fakeAdapter({ status, data }), url: 'u' })
    await assert.rejects(client.request('{ a }'), (error) => {
      assert.ok(error instanceof NetworkError, `${status}: ${error}`)
      assert.equal(error.name, 'NetworkError')
      assert.equal(error.code, 'NETWORK')
      assert.equal(error.status, status)
      return true
    })
  }
})

test('a network failure (the adapter rejects or throws) is a NetworkError with status 0', async () => {
  const failure = { errMsg: 'request:fail timeout' }
  const rejecting = createClient({ adapter: fakeAdapter(() => Promise.reject(failure)), url: 'u' })
  await assert.rejects(rejecting.request('{ a }'), (error) => {
    assert.ok(error instanceof NetworkError)
    assert.equal(error.status, 0)
    assert.equal(error.cause, failure)
    assert.match(error.message, /timeout/)
    return true
  })
  const throwing = createClient({ adapter: fakeAdapter(() => { throw new Error('no network stack') }), url: 'u' })
  await assert.rejects(throwing.request('{ a }'), (error) => error instanceof NetworkError && /no network stack/.test(error.message))
})

test('the error constructors work with and without new', () => {
  const a = new GraphQLError('m', 'C', [{ message: 'm' }], { x: 1 }, 200)
  const b = GraphQLError('m', 'C')
  for (const e of [a, b]) {
    assert.ok(e instanceof GraphQLError)
    assert.equal(e.code, 'C')
    assert.ok(typeof e.stack === 'string')
  }
  assert.equal(String(new NetworkError('down', 0)), 'NetworkError: down')
})
