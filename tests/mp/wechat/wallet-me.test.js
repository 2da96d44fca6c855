// 钱包 (tab) and 我的 (tab): balance and statement, top-up through payment until the balance rises; login,
// vehicles (add, validate, remove), cards, logout.
let E
beforeEach(() => {
  jest.resetModules()
  E = require('./fixtures/env')
})

async function wallet(options = {}) {
  const r = E.render('wallet', options)
  await E.waitFor(() => r.page.instance.data.loading === false)
  return r
}

test('wallet: balance and statement lines', async () => {
  const api = E.fakeApi({ wallet: jest.fn(async () => ({ balanceFen: 4321, heldFen: 5000, statement: [
    { lineId: '2', at: '2024-05-01T03:00:00Z', kind: 'hold', memo: '', reference: 'order:7', amountFen: -5000, balanceAfterFen: 4321 },
    { lineId: '1', at: '2024-05-01T02:00:00Z', kind: 'top_up', memo: 'demo play money', reference: '', amountFen: 9321, balanceAfterFen: 9321 },
  ] })) })
  const { page } = await wallet({ api })
  expect(E.text(page, '.balance')).toBe('¥43.21')
  expect(E.text(page)).toContain('充电预扣 ¥50.00')
  const lines = E.texts(page, '.line')
  expect(lines[0]).toContain('预扣充电费')
  expect(lines[0]).toContain('-50.00')
  expect(lines[0]).toContain('余额 ¥43.21')
  expect(lines[1]).toContain('充值')
  expect(lines[1]).toContain('+93.21')
  expect(lines[1]).toContain('2024-05-01 10:00 · demo play money')
})

test('top-up: preset → topUpWallet → pay → the balance is read until it rose', async () => {
  let balance = 5000
  const api = E.fakeApi({ wallet: jest.fn(async () => ({ balanceFen: balance, heldFen: 0, statement: [] })) })
  api.pay = jest.fn(async () => {
    setTimeout(() => { balance = 25000 }, 300) // the provider's notification arrives a little later
    return 'paid'
  })
  const { page, platform } = await wallet({ api })
  await E.waitFor(() => !page.instance.data.loading)
  page.querySelectorAll('.preset')[2].dispatchEvent('tap') // ¥200
  await E.waitFor(() => page.instance.data.amountFen === 20000)
  page.querySelector('.card .btn').dispatchEvent('tap')
  await E.waitFor(() => platform.toast.mock.calls.some((c) => c[0] === '充值成功'), 5000)
  expect(api.topUp).toHaveBeenCalledWith({ amountFen: 20000 })
  expect(api.pay).toHaveBeenCalledWith({ sandbox: '1', payUrl: '/sandbox/pay/TU1' })
  expect(api.wallet.mock.calls.length).toBeGreaterThanOrEqual(3)
  expect(E.text(page, '.balance')).toBe('¥250.00')
  expect(page.instance.pollTimer).toBeNull()
})

test('top-up: a typed amount is parsed as fen; bad or out-of-range amounts are refused', async () => {
  const { page, api, platform } = await wallet()
  page.instance.onCustom({ detail: { value: '12.345' } })
  await page.instance.onTopUp()
  expect(platform.toast).toHaveBeenLastCalledWith('金额格式不正确，最多两位小数')
  page.instance.onCustom({ detail: { value: '0.5' } })
  await page.instance.onTopUp()
  expect(platform.toast).toHaveBeenLastCalledWith('充值金额需在 ¥1.00 到 ¥5000.00 之间')
  expect(api.topUp).not.toHaveBeenCalled()
  page.instance.onCustom({ detail: { value: '66.6' } })
  await page.instance.onTopUp()
  expect(api.topUp).toHaveBeenCalledWith({ amountFen: 6660 })
  page.unload()
})

test('top-up: a cancelled payment changes nothing', async () => {
  const api = E.fakeApi({ pay: jest.fn(async () => 'cancelled') })
  const { page, platform } = await wallet({ api })
  await page.instance.onTopUp()
  expect(platform.toast).toHaveBeenCalledWith('已取消充值')
  expect(api.wallet).toHaveBeenCalledTimes(1)
})

test('wallet logged out: a login prompt', async () => {
  const api = E.fakeApi({ loggedIn: false })
  const { page } = await wallet({ api })
  expect(E.text(page)).toContain('登录后使用钱包余额充电')
  expect(api.wallet).not.toHaveBeenCalled()
})

async function me(options = {}) {
  const r = E.render('me', options)
  await E.waitFor(() => !r.page.instance.data.loading)
  return r
}

test('me logged out: 微信一键登录 logs in and shows the driver', async () => {
  const api = E.fakeApi({ loggedIn: false })
  const { page, platform } = await me({ api })
  expect(E.text(page)).toContain('未登录')
  page.querySelector('.btn').dispatchEvent('tap')
  await E.waitFor(() => E.text(page).includes('浙AD00001'))
  expect(api.login).toHaveBeenCalledTimes(1)
  expect(platform.toast).toHaveBeenCalledWith('欢迎，演示车主')
  expect(E.text(page, '.user-name')).toBe('演示车主')
})

test('me: vehicles and cards', async () => {
  const { page } = await me()
  expect(E.texts(page, '.vehicle')[0]).toContain('浙AD00001')
  expect(E.texts(page, '.vehicle')[0]).toContain('VIN LRW3E7EK4NC000001')
  expect(E.texts(page, '.card-row')[0]).toContain('DEMO-TAG-1')
  expect(E.texts(page, '.card-row')[0]).toContain('充电卡')
  expect(E.texts(page, '.card-row')[0]).toContain('有效')
})

test('me: add a vehicle (normalised), invalid VIN refused, remove after confirm', async () => {
  const { page, api, platform } = await me()
  page.instance.onVin({ detail: { value: 'short' } })
  await page.instance.onAddVehicle()
  expect(platform.toast).toHaveBeenLastCalledWith('车架号应为 17 位字母或数字（不含 I、O、Q）')
  page.instance.onPlate({ detail: { value: ' 浙a 12345 ' } })
  page.instance.onVin({ detail: { value: 'lsvag2180n2000001' } })
  await page.instance.onAddVehicle()
  expect(api.addVehicle).toHaveBeenCalledWith({ plate: '浙A12345', vin: 'LSVAG2180N2000001' })
  expect(platform.toast).toHaveBeenLastCalledWith('已添加车辆')
  expect(page.instance.data.plate).toBe('')
  page.querySelector('.remove').dispatchEvent('tap')
  await E.waitFor(() => api.removeVehicle.mock.calls.length)
  expect(platform.confirm).toHaveBeenCalledWith('删除车辆', '确定删除 浙AD00001 吗？')
  expect(api.removeVehicle).toHaveBeenCalledWith('1')
  page.instance.onPlate({ detail: { value: '' } })
  page.instance.onVin({ detail: { value: '' } })
  await page.instance.onAddVehicle()
  expect(platform.toast).toHaveBeenLastCalledWith('请填写车牌号或车架号（VIN）')
})

test('me: a refused vehicle shows the server reason in Chinese', async () => {
  const api = E.fakeApi({ addVehicle: jest.fn(async () => { throw E.graphqlError('INVALID_INPUT', 'at most 10 vehicles') }) })
  const { page, platform } = await me({ api })
  page.instance.onPlate({ detail: { value: '浙A12345' } })
  await page.instance.onAddVehicle()
  expect(platform.toast).toHaveBeenLastCalledWith('输入有误：at most 10 vehicles')
})

test('me: logout after confirm', async () => {
  const { page, api } = await me()
  page.querySelector('.logout').dispatchEvent('tap')
  await E.waitFor(() => E.text(page).includes('未登录'))
  expect(api.logout).toHaveBeenCalledTimes(1)
})
