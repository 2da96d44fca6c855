'use strict'
// The logic harness and the stack, against the real server: a fixture page of each platform requests stations
// over HTTP and follows connectorStatus over graphql-transport-ws while a real pile starts charging.
const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const path = require('path')
const { startStack } = require('../helpers/stack')
const { createHarness } = require('../helpers/mp-harness')

const FIXTURES = path.join(__dirname, 'fixtures')
let stack

before(async () => {
  stack = await startStack({ loginCodes: 4 })
})

after(async () => {
  if (stack) await stack.stop()
})

async function driverToken() {
  const login = await stack.graphql('mutation($c: String!) { loginWithWechat(code: $c) { token } }', { c: stack.wechatLoginCode() })
  return login.loginWithWechat.token
}

test('stack.py starts the demo piles: DEMO-0001 is online and its connectors have QR codes', async () => {
  const data = await stack.graphql('{ chargePoint(id: "DEMO-0001") { online } }')
  assert.equal(data.chargePoint.online, true)
  assert.match(stack.codes['DEMO-0001/1'], /^[0-9A-Z]{10}$/)
  assert.equal(stack.qrUrls['DEMO-0006/2'], `${stack.url}/q/${stack.codes['DEMO-0006/2']}`)
  const scanned = await stack.graphql('query($s: String!) { scannedConnector(scanned: $s) { chargePointId connectorNo } }', { s: stack.qrUrls['DEMO-0002/2'] })
  assert.deepEqual(scanned.scannedConnector, { chargePointId: 'DEMO-0002', connectorNo: 2 })
})

test('login codes are the demo driver\'s and single-use; newDriver codes make new accounts', async () => {
  const LOGIN = 'mutation($c: String!) { loginWithAlipay(authCode: $c) { me { id } } }'
  const code = stack.alipayAuthCode()
  const first = await stack.graphql(LOGIN, { c: code })
  await assert.rejects(stack.graphql(LOGIN, { c: code }), /refused the login code/)
  const wechat = await stack.graphql('mutation($c: String!) { loginWithWechat(code: $c) { me { id } } }', { c: stack.wechatLoginCode() })
  assert.equal(wechat.loginWithWechat.me.id, first.loginWithAlipay.me.id)
  const fresh = await stack.graphql(LOGIN, { c: stack.alipayAuthCode({ newDriver: true }) })
  assert.notEqual(fresh.loginWithAlipay.me.id, first.loginWithAlipay.me.id)
})

for (const [platform, connectorNo] of [['wechat', 1], ['alipay', 2]]) {
  test(`${platform}: a page requests over HTTP and follows connectorStatus over the WebSocket`, async () => {
    const h = createHarness({ platform, root: path.join(FIXTURES, `harness-${platform}`), stack, quiet: true })
    try {
      // given: the page loaded its stations from the real server
      const page = await h.launchApp({ query: { from: 'test' } })
      await h.settle()
      assert.equal(page.data.stations.length, 3)
      assert.equal(page.data.status, 200)
      assert.equal(h.calls.request[0].finalUrl, `${stack.url}/graphql`)
      assert.deepEqual(h.app().globalData.launchQuery, { from: 'test' })

      // when: it subscribes to the station of DEMO-0001 and a driver starts charging there
      const scanned = await stack.graphql('query($s: String!) { scannedConnector(scanned: $s) { stationId } }', { s: stack.codes['DEMO-0001/1'] })
      await page.tap('onSubscribe', { station: scanned.scannedConnector.stationId })
      await h.waitFor(() => page.data.subscribed)
      const token = await driverToken()
      const started = await stack.graphql(`mutation { startCharging(chargePointId: "DEMO-0001", connectorNo: ${connectorNo}, method: WALLET, capFen: 500) { order { id } } }`, {}, token)

      // then: the pile's status changes reach the page through the socket
      await h.waitFor(() => page.data.updates.some((u) => u.connectorNo === connectorNo && u.status === 'CHARGING'), 15000)
      const socket = h.calls.socket[0]
      assert.equal(socket.finalUrl, `${stack.wsUrl}/graphql`)
      assert.deepEqual(socket.protocols, ['graphql-transport-ws'])
      assert.equal(JSON.parse(socket.sent[0]).type, 'connection_init')
      await stack.graphql('mutation($id: ID!) { stopCharging(orderId: $id) { id } }', { id: started.startCharging.order.id }, token)
      await h.waitFor(() => page.data.updates.some((u) => u.connectorNo === connectorNo && u.status === 'AVAILABLE'), 15000)
      assert.deepEqual(h.errors, [])
    } finally {
      await h.close()
    }
  })

  test(`${platform}: relaunch closes the app and opens it again with fresh code and the same storage`, async () => {
    const h = createHarness({ platform, root: path.join(FIXTURES, `harness-${platform}`), stack, quiet: true })
    try {
      const page = await h.launchApp()
      await h.settle()
      assert.equal(page.data.storedToken, platform === 'wechat' ? '' : null) // each platform's "nothing stored"
      await page.call('remember', 'token-1')
      assert.equal(h.storage.get('token'), 'token-1')

      page.call('waitForever') // the closed app's unfinished work is not waited for by the new one
      const again = await h.relaunch({ query: { from: 'relaunch' } })
      await h.settle(3000)
      assert.notEqual(again, page)
      assert.equal(again.data.storedToken, 'token-1')
      assert.deepEqual(h.app().globalData.launchQuery, { from: 'relaunch' })
      assert.equal(h.pages().length, 1)
    } finally {
      await h.close()
    }
  })
}

test('results have each platform\'s shapes: WeChat gets HTTP errors in success, Alipay in fail (error 19)', async () => {
  const answers = {}
  for (const platform of ['wechat', 'alipay']) {
    const h = createHarness({ platform, root: path.join(FIXTURES, `harness-${platform}`), stack, quiet: true })
    await h.launchApp()
    await h.settle()
    const api = h.api()
    answers[platform] = await new Promise((resolve) => {
      api.request({ url: 'https://chargeops.example.cn/no-such-path', success: (res) => resolve({ success: res }), fail: (err) => resolve({ fail: err }) })
    })
    await h.close()
  }
  assert.equal(answers.wechat.success.statusCode, 404)
  assert.equal(answers.wechat.success.errMsg, 'request:ok')
  assert.equal(answers.alipay.fail.error, 19)
  assert.equal(answers.alipay.fail.status, 404)
})

test('payments, login, location and navigation are recorded with platform shapes', async () => {
  const wechat = createHarness({ platform: 'wechat', root: path.join(FIXTURES, 'harness-wechat'), stack, pay: 'cancel', location: 'denied', quiet: true })
  await wechat.launchApp()
  const wx = wechat.api()
  await assert.rejects(wx.requestPayment({ timeStamp: '1', nonceStr: 'n', package: 'prepay_id=x', signType: 'RSA', paySign: 's' }), (e) => e.errMsg === 'requestPayment:fail cancel')
  await assert.rejects(wx.requestPayment({ timestamp: '1', nonceStr: 'n', package: 'p', paySign: 's' }), (e) => /parameter error: timeStamp/.test(e.errMsg))
  await assert.rejects(wx.getLocation({ type: 'gcj02' }), (e) => /auth deny/.test(e.errMsg))
  const login = await wx.login()
  assert.match(login.code, /^wx-demo-/)
  await assert.rejects(wx.navigateTo({ url: '/pages/missing/index' }), (e) => /not found/.test(e.errMsg))
  assert.equal(wechat.calls.navigate.length, 1)
  await wechat.close()

  const alipay = createHarness({ platform: 'alipay', root: path.join(FIXTURES, 'harness-alipay'), stack, quiet: true })
  await alipay.launchApp()
  const my = alipay.api()
  assert.equal((await my.tradePay({ tradeNO: '2025x' })).resultCode, '9000')
  alipay.settings.pay = 'cancel'
  assert.equal((await my.tradePay({ tradeNO: '2025x' })).resultCode, '6001')
  const location = await my.getLocation({ type: 1 })
  assert.equal(typeof location.latitude, 'string')
  const auth = await my.getAuthCode({ scopes: 'auth_base' })
  assert.match(auth.authCode, /^ali-demo-/)
  assert.equal(my.connectSocket({ url: 'wss://chargeops.example.cn/graphql' }), undefined) // no multiple: true
  my.setStorageSync({ key: 'k', data: { a: 1 } })
  assert.deepEqual(my.getStorageSync({ key: 'k' }), { data: { a: 1 } })
  assert.deepEqual(my.getStorageSync({ key: 'missing' }), { data: null })
  assert.deepEqual(alipay.calls.pay, [{ tradeNO: '2025x', orderStr: undefined }, { tradeNO: '2025x', orderStr: undefined }])
  await alipay.close()
})
