'use strict'
// pages/wallet and pages/me (Alipay, via the AXML→WXML bridge).
const { fakeApi, alipayTree, openPage, text, texts, hasClass, waitFor, GraphQLError } = require('./fake-api')

const tree = alipayTree()
afterAll(() => tree.cleanup())
beforeEach(() => jest.resetModules())

const STATEMENT = [
  { lineId: '3', at: '2024-05-02T02:00:00Z', kind: 'capture', memo: '订单 41', reference: 'order:41', amountFen: -1234, balanceAfterFen: 3766 },
  { lineId: '2', at: '2024-05-01T02:00:00Z', kind: 'top_up', memo: '', reference: 'topup:1', amountFen: 5000, balanceAfterFen: 5000 },
]

test('wallet: balance, what charges hold, and the statement', async () => {
  const api = fakeApi({ wallet: jest.fn(async () => ({ balanceFen: 3766, heldFen: 3000, statement: STATEMENT })) })
  const { page } = openPage(tree, 'pages/wallet/index', { api })
  await waitFor(() => page.querySelector('.balance'))
  expect(text(page, '.balance')).toBe('¥37.66')
  expect(page.dom.textContent).toContain('充电预扣中 ¥30.00')
  expect(texts(page, '.list-item .money')).toEqual(['-¥12.34', '+¥50.00'])
  expect(page.querySelectorAll('.list-item')[0].dom.textContent).toContain('充电扣费')
  expect(page.querySelectorAll('.list-item')[1].dom.textContent).toContain('2024-05-01 10:00')
  expect(page.querySelectorAll('.list-item')[1].dom.textContent).toContain('余额 ¥50.00')
})

test('wallet: top up a preset → topUpWallet → pay → the balance is asked again until it arrived', async () => {
  // given
  const api = fakeApi({
    wallet: jest.fn()
      .mockResolvedValueOnce({ balanceFen: 5000, heldFen: 0, statement: [] })
      .mockResolvedValueOnce({ balanceFen: 5000, heldFen: 0, statement: [] })
      .mockResolvedValue({ balanceFen: 25000, heldFen: 0, statement: [] }),
    topUp: jest.fn(async ({ amountFen }) => ({ topUpId: '1', outTradeNo: 'T1', amountFen, paymentParams: { tradeNO: '2024T1' } })),
  })
  const { page, my } = openPage(tree, 'pages/wallet/index', { api })
  await waitFor(() => page.querySelector('.preset'))
  expect(page.querySelectorAll('.preset').map((p) => hasClass(p, 'chip-on'))).toEqual([false, true, false, false])

  // when
  page.querySelectorAll('.preset')[2].dispatchEvent('tap')
  await waitFor(() => page.instance.data.amountFen === 20000)
  expect(text(page, '.btn-primary')).toBe('充值 ¥200.00')
  page.querySelector('.btn-primary').dispatchEvent('tap')

  // then
  await waitFor(() => text(page, '.balance') === '¥250.00', 5000)
  expect(api.topUp).toHaveBeenCalledWith({ amountFen: 20000 })
  expect(api.pay).toHaveBeenCalledWith({ tradeNO: '2024T1' })
  expect(api.wallet).toHaveBeenCalledTimes(3)
  await waitFor(() => my.showToast.mock.calls.some((c) => c[0].content === '充值成功'))
})

test('wallet: another amount in yuan is checked (two decimals, ¥1 to ¥5000)', async () => {
  const { page } = openPage(tree, 'pages/wallet/index', { api: fakeApi() })
  await waitFor(() => page.querySelector('.input'))
  page.querySelector('.input').dispatchEvent('input', { detail: { value: '12.345' } })
  await waitFor(() => page.querySelector('.field-error'))
  expect(text(page, '.field-error')).toBe('请输入正确的金额，最多两位小数')
  expect(hasClass(page.querySelector('.btn-primary'), 'btn-disabled')).toBe(true)
  page.querySelector('.input').dispatchEvent('input', { detail: { value: '0.5' } })
  await waitFor(() => text(page, '.field-error') === '充值金额为 ¥1.00 至 ¥5000.00')
  page.querySelector('.input').dispatchEvent('input', { detail: { value: '66.6' } })
  await waitFor(() => !page.querySelector('.field-error'))
  expect(page.instance.data.amountFen).toBe(6660)
  expect(text(page, '.btn-primary')).toBe('充值 ¥66.60')
})

test('wallet: a cancelled payment credits nothing and says so', async () => {
  const api = fakeApi({
    topUp: jest.fn(async ({ amountFen }) => ({ topUpId: '1', outTradeNo: 'T1', amountFen, paymentParams: { tradeNO: 'X' } })),
    pay: jest.fn(async () => 'cancelled'),
  })
  const { page, my } = openPage(tree, 'pages/wallet/index', { api })
  await waitFor(() => page.querySelector('.btn-primary'))
  page.querySelector('.btn-primary').dispatchEvent('tap')
  await waitFor(() => my.showToast.mock.calls.length === 1)
  expect(my.showToast.mock.calls[0][0].content).toBe('已取消充值')
  expect(api.wallet).toHaveBeenCalledTimes(1)
})

test('wallet: not logged in asks to log in', async () => {
  const { page } = openPage(tree, 'pages/wallet/index', { api: fakeApi({ loggedIn: false }) })
  await waitFor(() => page.querySelector('.action'))
  expect(text(page, '.state')).toContain('登录后使用钱包')
})

test('me: logged out → 支付宝授权登录 → name, vehicles and cards', async () => {
  // given
  const api = fakeApi({
    loggedIn: false,
    me: jest.fn(async () => ({ id: '5', name: '张三', vehicles: [{ id: '1', plate: '浙AD12345', vin: 'LSVAA4180E2100001' }] })),
    cards: jest.fn(async () => [
      { tag: 'CARD-1', kind: 'RFID', status: 'ACCEPTED', expiresAt: '2030-01-01T00:00:00Z', blockedReason: '' },
      { tag: 'CARD-2', kind: 'RFID', status: 'BLOCKED', expiresAt: null, blockedReason: '挂失' },
    ]),
  })
  const { page } = openPage(tree, 'pages/me/index', { api })
  await waitFor(() => page.querySelector('.login-card'))
  expect(text(page, '.login-card .btn')).toBe('支付宝授权登录')

  // when
  page.querySelector('.login-card .btn').dispatchEvent('tap')

  // then
  await waitFor(() => page.querySelector('.plate'))
  expect(api.login).toHaveBeenCalledTimes(1)
  expect(text(page, '.profile .title')).toBe('张三')
  expect(text(page, '.avatar')).toBe('张')
  expect(texts(page, '.plate')).toEqual(['浙AD12345'])
  expect(page.querySelector('.vehicle').dom.textContent).toContain('VIN LSVAA4180E2100001')
  expect(texts(page, '.list-item .tag')).toEqual(['有效', '已停用'])
  expect(page.dom.textContent).toContain('有效期至 2030-01-01')
  expect(page.dom.textContent).toContain('停用原因：挂失')
})

test('me: a vehicle is checked before it is sent, added, and removed after a confirmation', async () => {
  // given
  const api = fakeApi({
    addVehicle: jest.fn(async ({ plate, vin }) => ({ id: '2', plate, vin })),
  })
  const { page, my } = openPage(tree, 'pages/me/index', { api })
  await waitFor(() => page.querySelectorAll('.input').length === 2)

  // when: a wrong plate
  page.querySelectorAll('.input')[0].dispatchEvent('input', { detail: { value: 'AB123' } })
  await waitFor(() => page.instance.data.plate === 'AB123')
  page.querySelectorAll('.btn').find((b) => b.dom.textContent === '添加车辆').dispatchEvent('tap')

  // then
  await waitFor(() => page.querySelector('.field-error'))
  expect(text(page, '.field-error')).toBe('车牌号格式不正确，例如 浙A12345 或 浙AD12345')
  expect(api.addVehicle).not.toHaveBeenCalled()

  // when: a good one
  page.querySelectorAll('.input')[0].dispatchEvent('input', { detail: { value: '浙a·d12345' } })
  await waitFor(() => !page.querySelector('.field-error'))
  page.querySelectorAll('.btn').find((b) => b.dom.textContent === '添加车辆').dispatchEvent('tap')

  // then
  await waitFor(() => texts(page, '.plate').length === 1)
  expect(api.addVehicle).toHaveBeenCalledWith({ plate: '浙AD12345', vin: null })
  expect(texts(page, '.plate')).toEqual(['浙AD12345'])
  expect(page.instance.data.plate).toBe('')

  // when
  page.querySelector('.remove').dispatchEvent('tap')

  // then
  await waitFor(() => texts(page, '.plate').length === 0)
  expect(my.confirm.mock.calls[0][0].title).toBe('删除车辆')
  expect(api.removeVehicle).toHaveBeenCalledWith('2')
  expect(page.dom.textContent).toContain('还没有添加车辆')
})

test('me: the server refusing a vehicle shows its reason', async () => {
  const api = fakeApi({ addVehicle: jest.fn(async () => { throw new GraphQLError('this vehicle is already in your list', 'INVALID_INPUT') }) })
  const { page } = openPage(tree, 'pages/me/index', { api })
  await waitFor(() => page.querySelectorAll('.input').length === 2)
  page.querySelectorAll('.input')[1].dispatchEvent('input', { detail: { value: 'LSVAA4180E2100001' } })
  await waitFor(() => page.instance.data.vin)
  page.querySelectorAll('.btn').find((b) => b.dom.textContent === '添加车辆').dispatchEvent('tap')
  await waitFor(() => page.querySelector('.field-error'))
  expect(text(page, '.field-error')).toBe('输入有误：this vehicle is already in your list')
})

test('me: 退出登录 after a confirmation', async () => {
  const api = fakeApi()
  const { page } = openPage(tree, 'pages/me/index', { api })
  await waitFor(() => page.querySelector('.btn-danger'))
  page.querySelector('.btn-danger').dispatchEvent('tap')
  await waitFor(() => page.querySelector('.login-card'))
  expect(api.logout).toHaveBeenCalledTimes(1)
})
