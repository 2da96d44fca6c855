'use strict'
// Logic harness: a mini-program's own JS (app.js, pages, core/) run under Node with fake App/Page/Component/
// getApp/getCurrentPages and a `wx` (WeChat) or `my` (Alipay) whose network calls are real: request → fetch,
// connectSocket → a `ws` WebSocket. Results have each platform's shapes (MINIPROGRAMS.md "API facts").
//
//   const h = createHarness({ platform: 'wechat' | 'alipay',
//     root,          // default miniprogram_<platform>/
//     stack,         // from startStack(): apiBase of core/config.js (https and wss forms) → the stack's URLs,
//                    // and wx.login / my.getAuthCode hand out the stack's demo-driver codes
//     rewriteUrl,    // instead: a function url → url, or a { prefix: replacement } map
//     loginCode,     // () => code, instead of the stack's
//     pay: 'ok' | 'cancel' | 'fail',        // requestPayment / tradePay answer (default 'ok')
//     confirm: true | false,                // showModal / my.confirm answer (default true)
//     location: { latitude, longitude } | 'denied',   scanResult: 'text' | null (null = cancelled),
//     quiet })       // do not print errors thrown in page callbacks (they are in h.errors anyway)
//   const page = await h.launchApp({ path, query, scene })  // App onLaunch/onShow, then opens path (default: home)
//   await h.openPage(route, query)   // launches the app if needed, else pushes the page (navigateTo)
//   await h.settle()                 // until no request, navigation, socket opening or page call is in flight
//   await h.waitFor(() => cond, ms)  // polls; on timeout the error shows the current page's data
//   page.data, page.route, page.options; await page.call('method', ...args); await page.tap('onX', dataset, detail)
//   await page.input('onInput', value, dataset); await page.trigger('onMarkerTap', { detail: { markerId: 1 }, markerId: 1 })
//   h.currentPage(), h.pages(), h.app(), h.api() (the wx / my object), h.canvases[id].calls (2d context calls)
//   h.calls.{api, request, socket, pay, login, navigate, toast, modal, location, scan, openLocation}, h.errors
//   h.storage.{get, set, remove, keys, clear}; h.settings.{pay, confirm, location, scanResult} change between steps
//   await h.relaunch({ path, query })   // the app closed and opened again: fresh JS, sockets gone, storage kept
//   await h.close()                      // unload pages, stop timers and sockets (call it: timers keep Node alive)
const fs = require('fs')
const path = require('path')
const vm = require('vm')
const WebSocket = require('ws')

const DEFAULT_LOCATION = { latitude: 30.2741, longitude: 120.1551 }

// --- small pieces ------------------------------------------------------------------------------------------

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

// waits for `promise` at most `ms` (the timer does not outlive the wait)
function within(promise, ms) {
  let timer
  return Promise.race([promise, new Promise((resolve) => { timer = setTimeout(resolve, ms) })]).finally(() => clearTimeout(timer))
}

function clone(value) {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value))
}

// 'a.b[0].c' → ['a', 'b', 0, 'c']
function parsePath(key) {
  const parts = []
  key.replace(/([^.[\]]+)|\[(\d+)\]/g, (_, name, index) => {
    parts.push(index !== undefined ? Number(index) : name)
  })
  return parts
}

function setPath(target, key, value) {
  const parts = parsePath(key)
  let node = target
  for (let i = 0; i < parts.length - 1; i++) {
    const part = parts[i]
    if (node[part] === null || typeof node[part] !== 'object') node[part] = typeof parts[i + 1] === 'number' ? [] : {}
    node = node[part]
  }
  node[parts[parts.length - 1]] = value
}

function getPath(target, key) {
  return parsePath(key).reduce((node, part) => (node == null ? undefined : node[part]), target)
}

// '/pages/a/index?x=1&y=2' → { route: 'pages/a/index', query: { x: '1', y: '2' } } (values as written: the
// platforms hand onLoad the query strings undecoded)
function parseUrl(url) {
  const [pathname, search = ''] = String(url).split('?')
  const query = {}
  for (const pair of search.split('&')) {
    if (!pair) continue
    const eq = pair.indexOf('=')
    query[eq < 0 ? pair : pair.slice(0, eq)] = eq < 0 ? '' : pair.slice(eq + 1)
  }
  return { route: pathname.replace(/^\//, '').replace(/\.js$/, ''), query }
}

function formEncode(data) {
  return Object.keys(data).map((k) => `${encodeURIComponent(k)}=${encodeURIComponent(
    typeof data[k] === 'object' && data[k] !== null ? JSON.stringify(data[k]) : data[k])}`).join('&')
}

function headerValue(headers, name) {
  const key = Object.keys(headers || {}).find((k) => k.toLowerCase() === name)
  return key === undefined ? undefined : String(headers[key])
}

// --- a recording canvas (canvas type="2d" through createSelectorQuery) --------------------------------------

function createCanvas(id) {
  const calls = []
  const ctx = new Proxy({ calls }, {
    get(target, name) {
      if (name in target) return target[name]
      if (name === 'measureText') return (text) => ({ width: String(text).length * 6 })
      return (...args) => { calls.push([name, ...args]) }
    },
    set(target, name, value) {
      calls.push([name, value])
      target[name] = value
      return true
    },
  })
  return { id, width: 300, height: 150, calls, getContext: () => ctx, requestAnimationFrame: (cb) => setTimeout(cb, 16) }
}

// --- the harness ------------------------------------------------------------------------------------------

function createHarness(options) {
  const platform = options.platform
  if (platform !== 'wechat' && platform !== 'alipay') throw new Error("platform must be 'wechat' or 'alipay'")
  const root = path.resolve(options.root || path.join(__dirname, '../../..', `miniprogram_${platform}`))
  const appJson = JSON.parse(fs.readFileSync(path.join(root, 'app.json'), 'utf8'))
  const tabPages = ((appJson.tabBar && (appJson.tabBar.list || appJson.tabBar.items)) || []).map((t) => t.pagePath.replace(/^\//, ''))
  const settings = {
    pay: options.pay || 'ok', // 'ok' | 'cancel' | 'fail'
    confirm: options.confirm !== undefined ? options.confirm : true, // answer of showModal / my.confirm
    location: options.location || DEFAULT_LOCATION, // or 'denied'
    scanResult: options.scanResult !== undefined ? options.scanResult : null, // string, or null = cancelled
    loginCode: options.loginCode || null, // () => code
  }
  const stack = options.stack || null
  const storage = new Map()
  const calls = { api: [], request: [], socket: [], pay: [], login: [], navigate: [], toast: [], modal: [], location: [], scan: [], openLocation: [] }
  const errors = []
  const pending = new Map() // in-flight promise → what it is (for settle's error)
  const canvases = {}
  let session = null // what one run of the app holds: modules, App instance, page stack, timers, sockets

  const rewriteUrl = makeRewrite(options.rewriteUrl)

  function makeRewrite(given) {
    if (typeof given === 'function') return given
    const map = Object.assign({}, given || {})
    if (!given && stack) {
      const configFile = path.join(root, 'core/config.js')
      const apiBase = fs.existsSync(configFile) ? loadStandalone(configFile).apiBase : 'https://chargeops.example.cn'
      map[apiBase.replace(/\/$/, '')] = stack.url
      map[apiBase.replace(/\/$/, '').replace(/^http/, 'ws')] = stack.wsUrl
    }
    const prefixes = Object.keys(map).sort((a, b) => b.length - a.length)
    return (url) => {
      const from = prefixes.find((p) => url === p || url.startsWith(p + '/') || url.startsWith(p + '?'))
      return from === undefined ? url : map[from] + url.slice(from.length)
    }
  }

  function loadStandalone(file) {
    const module = { exports: {} }
    vm.runInThisContext(`(function (exports, module) {${fs.readFileSync(file, 'utf8')}\n})`, { filename: file })(module.exports, module)
    return module.exports
  }

  function track(promise, label) {
    pending.set(promise, { label, owner: session })
    const done = () => pending.delete(promise)
    promise.then(done, done)
    return promise
  }

  // user callbacks (success/fail, socket handlers, timers) run guarded: their exceptions are collected
  function guard(fn, label) {
    if (typeof fn !== 'function') return () => {}
    return (...args) => {
      try {
        const result = fn(...args)
        if (result && typeof result.catch === 'function') result.catch((e) => report(e, label))
        return result
      } catch (error) {
        report(error, label)
        return undefined
      }
    }
  }

  function report(error, label) {
    errors.push({ error, where: label })
    if (!options.quiet) console.error(`[mp-harness ${platform}] error in ${label}:`, error)
  }

  // success/fail/complete callbacks, or a Promise when none is given (the platforms' "promisified" APIs)
  function finish(name, opts, work) {
    opts = opts || {}
    const callbacks = opts.success || opts.fail || opts.complete
    const owner = session
    const gone = () => owner && owner.dead // the app was closed meanwhile: nobody hears the answer
    const run = track(Promise.resolve().then(work).then(
      (result) => { if (gone()) return result; guard(opts.success, `${name} success`)(result); guard(opts.complete, `${name} complete`)(result); return result },
      (failure) => {
        if (failure instanceof Error) throw failure // a harness bug, not a platform answer
        if (gone()) return undefined
        guard(opts.fail, `${name} fail`)(failure); guard(opts.complete, `${name} complete`)(failure)
        if (!callbacks) throw failure
        return undefined
      },
    ), `${platform === 'wechat' ? 'wx' : 'my'}.${name}${opts.url ? ` ${opts.url}` : ''}`)
    if (!callbacks) return run
    run.catch((e) => report(e, name))
    return undefined
  }

  const ok = (name, extra) => (platform === 'wechat' ? Object.assign({ errMsg: `${name}:ok` }, extra) : Object.assign({}, extra))

  // --- network ---------------------------------------------------------------------------------------------

  async function doFetch(opts) {
    const method = String(opts.method || 'GET').toUpperCase()
    const headers = Object.assign({}, platform === 'wechat' ? opts.header : (opts.headers || opts.header))
    let url = rewriteUrl(opts.url)
    let body
    const data = opts.data
    if (method === 'GET' || method === 'HEAD') {
      if (data && typeof data === 'object') url += (url.includes('?') ? '&' : '?') + formEncode(data)
    } else if (data !== undefined && data !== null) {
      const defaultType = platform === 'wechat' ? 'application/json' : 'application/x-www-form-urlencoded'
      const type = headerValue(headers, 'content-type') || defaultType
      if (!headerValue(headers, 'content-type')) headers['content-type'] = defaultType
      body = typeof data === 'string' ? data : type.includes('json') ? JSON.stringify(data) : formEncode(data)
    }
    const record = { url: opts.url, finalUrl: url, method, header: headers, data, status: null, response: null }
    calls.request.push(record)
    let response
    let text
    try {
      response = await fetch(url, { method, headers, body })
      text = await response.text()
    } catch (error) {
      record.error = String(error.cause || error.message)
      throw platform === 'wechat'
        ? { errMsg: `request:fail ${record.error}`, errno: 600001 }
        : { error: 12, errorMessage: `网络出错 ${record.error}` }
    }
    const responseHeaders = {}
    response.headers.forEach((value, key) => { responseHeaders[key] = value })
    let parsed = text
    if ((opts.dataType || 'json') === 'json') {
      try {
        parsed = JSON.parse(text)
      } catch (error) {
        if (platform === 'alipay' && response.ok) throw { error: 14, errorMessage: 'JSON parse data error', status: response.status }
      }
    }
    record.status = response.status
    try {
      record.response = JSON.parse(text) // the record keeps the body parsed whatever dataType the page asked for
    } catch (error) {
      record.response = text
    }
    if (platform === 'wechat') {
      return { data: parsed, statusCode: response.status, header: responseHeaders, cookies: [], errMsg: 'request:ok' }
    }
    if (!response.ok) {
      // Alipay: a non-2xx answer goes to fail (error 19); status/data/headers ride along (assumed, see README)
      throw { error: 19, errorMessage: 'http status error', status: response.status, data: parsed, headers: responseHeaders }
    }
    return { data: parsed, status: response.status, headers: responseHeaders, statusCode: response.status, header: responseHeaders }
  }

  function request(opts) {
    let aborted = false
    finish('request', Object.assign({}, opts, {
      success: opts.success || (() => {}), // wx.request / my.request never return a Promise
    }), () => doFetch(opts).then((r) => {
      if (aborted) throw platform === 'wechat' ? { errMsg: 'request:fail abort' } : { error: 9, errorMessage: 'abort' }
      return r
    }))
    return { abort() { aborted = true }, onHeadersReceived() {}, offHeadersReceived() {} }
  }

  function connectSocket(opts) {
    if (platform === 'alipay' && !opts.multiple) {
      // without multiple: true Alipay returns nothing and uses the global my.onSocket* API (not provided here)
      calls.socket.push({ url: opts.url, protocols: opts.protocols, refused: 'multiple: true missing' })
      return undefined
    }
    const url = rewriteUrl(opts.url)
    const record = { url: opts.url, finalUrl: url, protocols: opts.protocols, sent: [], received: [], closed: null }
    calls.socket.push(record)
    const handlers = { open: [], message: [], close: [], error: [] }
    const headers = platform === 'wechat' ? opts.header : (opts.headers || opts.header)
    const ws = new WebSocket(url, opts.protocols || [], { headers: headers || {} })
    const owner = session
    owner.sockets.add(ws)
    let opened
    const opening = track(new Promise((resolve) => { opened = resolve }), `connectSocket ${opts.url}`)
    ws.on('open', () => {
      opened()
      if (owner.dead) return
      const res = platform === 'wechat' ? { header: {}, profile: {} } : { data: {} }
      handlers.open.forEach((cb) => guard(cb, 'socket onOpen')(res))
    })
    ws.on('message', (data, isBinary) => {
      const text = isBinary ? data : data.toString('utf8')
      record.received.push(text)
      if (owner.dead) return
      const res = platform === 'wechat' ? { data: text } : { data: { data: text, isBuffer: Boolean(isBinary) } }
      handlers.message.forEach((cb) => guard(cb, 'socket onMessage')(res))
    })
    ws.on('error', (error) => {
      if (owner.dead) return
      const res = platform === 'wechat' ? { errMsg: String(error.message) } : { error: 1, errorMessage: String(error.message) }
      handlers.error.forEach((cb) => guard(cb, 'socket onError')(res))
    })
    ws.on('close', (code, reason) => {
      opened()
      owner.sockets.delete(ws)
      record.closed = { code, reason: reason.toString() }
      if (owner.dead) return
      handlers.close.forEach((cb) => guard(cb, 'socket onClose')({ code, reason: reason.toString() }))
    })
    void opening
    const on = (kind) => (cb) => { handlers[kind].push(cb) }
    const off = (kind) => (cb) => { handlers[kind] = cb ? handlers[kind].filter((h) => h !== cb) : [] }
    const task = {
      send(sendOpts) {
        const failure = platform === 'wechat' ? { errMsg: 'sendSocketMessage:fail WebSocket is not connected' } : { error: 10, errorMessage: 'socket not open' }
        if (ws.readyState !== WebSocket.OPEN) {
          guard(sendOpts.fail, 'socket send fail')(failure)
          return
        }
        record.sent.push(sendOpts.data)
        ws.send(sendOpts.data)
        guard(sendOpts.success, 'socket send success')(ok('sendSocketMessage'))
      },
      close(closeOpts = {}) {
        try {
          ws.close(closeOpts.code || 1000, closeOpts.reason)
          guard(closeOpts.success, 'socket close success')(ok('closeSocket'))
        } catch (error) {
          guard(closeOpts.fail, 'socket close fail')(platform === 'wechat' ? { errMsg: `closeSocket:fail ${error.message}` } : { error: 1, errorMessage: error.message })
        }
      },
      onOpen: on('open'), onMessage: on('message'), onClose: on('close'), onError: on('error'),
      offOpen: off('open'), offMessage: off('message'), offClose: off('close'), offError: off('error'),
    }
    guard(opts.success, 'connectSocket success')(ok('connectSocket', platform === 'alipay' ? { socketTaskID: calls.socket.length } : {}))
    return task
  }

  // --- storage (kept across relaunch) ---------------------------------------------------------------------

  const store = {
    set: (key, data) => { storage.set(String(key), JSON.stringify(data)) },
    has: (key) => storage.has(String(key)),
    get: (key) => (storage.has(String(key)) ? JSON.parse(storage.get(String(key))) : undefined),
    remove: (key) => { storage.delete(String(key)) },
  }

  // --- pages and navigation -------------------------------------------------------------------------------

  function routeFile(route, ext) {
    return path.join(root, `${route}.${ext}`)
  }

  function resolveRoute(url, from) {
    const { route, query } = parseUrl(url)
    if (url.startsWith('/') || !from) return { route, query }
    return { route: path.posix.normalize(path.posix.join(path.posix.dirname(from), route)), query }
  }

  function makeInstance(kind, def, route, query) {
    const page = { route, __route__: route, is: route, options: query, data: clone(def.data || {}) }
    const methods = kind === 'component' ? Object.assign({}, def.methods) : def
    for (const key of Object.keys(methods)) {
      if (key === 'data' || (kind === 'component' && ['properties', 'methods', 'lifetimes', 'pageLifetimes', 'behaviors', 'observers', 'options'].includes(key))) continue
      page[key] = typeof methods[key] === 'function' ? methods[key].bind(page) : methods[key]
    }
    page.setData = (changes, callback) => {
      for (const key of Object.keys(changes)) setPath(page.data, key, clone(changes[key]))
      page.__renders += 1
      if (callback) setImmediate(guard(callback.bind(page), 'setData callback'))
    }
    if (platform === 'alipay') {
      page.$spliceData = (changes, callback) => {
        for (const key of Object.keys(changes)) {
          const list = getPath(page.data, key)
          list.splice(...clone(changes[key]))
        }
        if (callback) setImmediate(guard(callback.bind(page), '$spliceData callback'))
      }
      page.$batchedUpdates = (fn) => fn()
    }
    page.createSelectorQuery = () => selectorQuery()
    page.selectComponent = () => null
    page.selectAllComponents = () => []
    page.__renders = 0
    page.__kind = kind
    page.__def = def
    // for tests: run a method, or fire an event the way a template would
    page.call = (method, ...args) => invoke(page, method, args)
    page.trigger = (method, event = {}) => invoke(page, method, [makeEvent(event)])
    page.tap = (method, dataset = {}, detail = {}) => invoke(page, method, [makeEvent({ type: 'tap', dataset, detail })])
    page.input = (method, value, dataset = {}) => invoke(page, method, [makeEvent({ type: 'input', dataset, detail: { value } })])
    return page
  }

  function makeEvent({ type = 'tap', dataset = {}, detail = {}, id = '', ...extra }) {
    const target = { id, dataset }
    return Object.assign({ type, timeStamp: Date.now(), target, currentTarget: target, detail }, extra)
  }

  async function invoke(page, method, args) {
    if (typeof page[method] !== 'function') throw new Error(`${page.route} has no method ${method}`)
    const result = await track(Promise.resolve().then(() => page[method](...args)), `${page.route} ${method}()`)
    return result
  }

  function lifecycle(page, name, ...args) {
    const def = page.__def
    if (page.__kind === 'component') {
      const lifetimes = def.lifetimes || {}
      const pageLifetimes = def.pageLifetimes || {}
      const map = { onShow: pageLifetimes.show, onHide: pageLifetimes.hide, onUnload: lifetimes.detached || def.detached }
      if (map[name]) guard(map[name].bind(page), `${page.route} ${name}`)(...args)
      if (name === 'onLoad') {
        for (const hook of [lifetimes.created || def.created, lifetimes.attached || def.attached]) {
          if (hook) guard(hook.bind(page), `${page.route} attached`)()
        }
      }
      if (name === 'onReady' && (lifetimes.ready || def.ready)) guard((lifetimes.ready || def.ready).bind(page), `${page.route} ready`)()
    }
    if (typeof page[name] === 'function') {
      track(Promise.resolve().then(() => page[name](...args)).catch((e) => report(e, `${page.route} ${name}`)), `${page.route} ${name}()`)
    }
  }

  function loadPage(route, query) {
    if (!appJson.pages.includes(route)) throw new Error(`${route} is not a page of app.json`)
    const file = routeFile(route, 'js')
    session.registered = null
    session.require(file)
    const registered = session.registered || session.pageDefs.get(file)
    if (!registered) throw new Error(`${route}.js called neither Page() nor Component()`)
    session.pageDefs.set(file, registered)
    const page = makeInstance(registered.kind, registered.def, route, query)
    return page
  }

  function pushPage(route, query) {
    const top = currentPage()
    if (top) lifecycle(top, 'onHide')
    const page = loadPage(route, query)
    session.pages.push(page)
    lifecycle(page, 'onLoad', query)
    lifecycle(page, 'onShow')
    lifecycle(page, 'onReady')
    return page
  }

  function unloadPages(count) {
    for (let i = 0; i < count && session.pages.length; i++) lifecycle(session.pages.pop(), 'onUnload')
  }

  function currentPage() {
    return session && session.pages.length ? session.pages[session.pages.length - 1] : null
  }

  function navigation(kind) {
    return (opts = {}) => finish(kind, opts, async () => {
      const from = currentPage() && currentPage().route
      calls.navigate.push({ kind, url: opts.url, delta: opts.delta, from })
      await null
      const fail = (why) => { throw platform === 'wechat' ? { errMsg: `${kind}:fail ${why}` } : { error: 1, errorMessage: why } }
      if (kind === 'navigateBack') {
        const delta = Math.max(1, opts.delta || 1)
        if (session.pages.length <= 1) fail('cannot navigate back at first page')
        unloadPages(Math.min(delta, session.pages.length - 1))
        lifecycle(currentPage(), 'onShow')
        return ok(kind)
      }
      const { route, query } = resolveRoute(opts.url, from)
      if (!appJson.pages.includes(route)) fail(`page "${route}" is not found`)
      const isTab = tabPages.includes(route)
      if (kind === 'switchTab') {
        if (!isTab) fail(`can not switchTab to no-tabBar page`)
        if (opts.url.includes('?')) fail('switchTab url can not contain query')
        unloadPages(session.pages.length)
        pushPage(route, {})
      } else if (kind === 'reLaunch') {
        unloadPages(session.pages.length)
        pushPage(route, query)
      } else {
        if (isTab) fail(`can not ${kind} a tabbar page`)
        if (kind === 'redirectTo') unloadPages(1)
        pushPage(route, query)
      }
      return ok(kind)
    })
  }

  function selectorQuery() {
    const wanted = []
    const query = {
      in() { return query },
      select(selector) {
        const entry = { selector, fields: {} }
        wanted.push(entry)
        const node = {
          fields(fields, cb) { Object.assign(entry.fields, fields); entry.cb = cb; return query },
          boundingClientRect(cb) { entry.fields.rect = true; entry.cb = cb; return query },
          node(cb) { entry.fields.node = true; entry.cb = cb; return query },
          context(cb) { entry.fields.context = true; entry.cb = cb; return query },
          exec: (cb) => query.exec(cb),
        }
        return node
      },
      selectAll(selector) { return query.select(selector) },
      selectViewport() { return query.select('viewport') },
      exec(cb) {
        setImmediate(() => {
          const results = wanted.map(({ selector, fields, cb: own }) => {
            const id = selector.replace(/^#/, '')
            canvases[id] = canvases[id] || createCanvas(id)
            const canvas = canvases[id]
            const res = { id, width: canvas.width, height: canvas.height, left: 0, top: 0, right: canvas.width, bottom: canvas.height }
            if (fields.node) res.node = canvas
            if (fields.context) res.context = canvas.getContext('2d')
            if (own) guard(own, 'selectorQuery callback')(res)
            return res
          })
          guard(cb, 'selectorQuery exec')(results)
        })
        return query
      },
    }
    return query
  }

  // --- the platform object ---------------------------------------------------------------------------------

  function platformApi() {
    const answer = (name, result) => (opts) => finish(name, opts, async () => result(opts || {}))
    const common = {
      request,
      connectSocket,
      navigateTo: navigation('navigateTo'),
      redirectTo: navigation('redirectTo'),
      switchTab: navigation('switchTab'),
      reLaunch: navigation('reLaunch'),
      navigateBack: navigation('navigateBack'),
      createSelectorQuery: selectorQuery,
      createCanvasContext: (id) => {
        canvases[id] = canvases[id] || createCanvas(id)
        return canvases[id].getContext('2d')
      },
      canIUse: () => true,
      getSystemInfoSync: () => ({ platform: 'devtools', windowWidth: 375, windowHeight: 667, pixelRatio: 2, screenWidth: 375, screenHeight: 667, SDKVersion: '3.0.0', version: '8.0.0' }),
      getWindowInfo: () => ({ windowWidth: 375, windowHeight: 667, pixelRatio: 2, screenWidth: 375, screenHeight: 667 }),
      showLoading: answer('showLoading', () => ok('showLoading')),
      hideLoading: answer('hideLoading', () => ok('hideLoading')),
      stopPullDownRefresh: answer('stopPullDownRefresh', () => ok('stopPullDownRefresh')),
      setNavigationBarTitle: answer('setNavigationBarTitle', () => ok('setNavigationBarTitle')),
      openLocation: answer('openLocation', (opts) => {
        calls.openLocation.push(opts)
        return ok('openLocation')
      }),
    }
    if (platform === 'wechat') {
      return Object.assign(common, {
        getStorageSync: (key) => (store.has(key) ? store.get(key) : ''),
        setStorageSync: (key, data) => store.set(key, data),
        removeStorageSync: (key) => store.remove(key),
        clearStorageSync: () => storage.clear(),
        getStorage: answer('getStorage', ({ key }) => {
          if (!store.has(key)) throw { errMsg: 'getStorage:fail data not found' }
          return ok('getStorage', { data: store.get(key) })
        }),
        setStorage: answer('setStorage', ({ key, data }) => { store.set(key, data); return ok('setStorage') }),
        removeStorage: answer('removeStorage', ({ key }) => { store.remove(key); return ok('removeStorage') }),
        login: answer('login', () => {
          const code = nextLoginCode()
          calls.login.push({ code })
          return ok('login', { code })
        }),
        requestPayment: answer('requestPayment', (opts) => {
          const params = { timeStamp: opts.timeStamp, nonceStr: opts.nonceStr, package: opts.package, signType: opts.signType, paySign: opts.paySign }
          calls.pay.push(params)
          const missing = ['timeStamp', 'nonceStr', 'package', 'paySign'].filter((k) => typeof opts[k] !== 'string' || !opts[k])
          if (missing.length) throw { errMsg: `requestPayment:fail parameter error: ${missing.join(', ')} should be a non-empty String` }
          if (settings.pay === 'cancel') throw { errMsg: 'requestPayment:fail cancel' }
          if (settings.pay === 'fail') throw { errMsg: 'requestPayment:fail (harness: payment failed)' }
          return ok('requestPayment')
        }),
        getLocation: answer('getLocation', (opts) => {
          calls.location.push(opts)
          if (settings.location === 'denied') throw { errMsg: 'getLocation:fail auth deny' }
          return ok('getLocation', { latitude: settings.location.latitude, longitude: settings.location.longitude, speed: -1, accuracy: 65, altitude: 0, verticalAccuracy: 65, horizontalAccuracy: 65 })
        }),
        scanCode: answer('scanCode', (opts) => {
          calls.scan.push(opts)
          if (settings.scanResult === null) throw { errMsg: 'scanCode:fail cancel' }
          return ok('scanCode', { result: settings.scanResult, scanType: 'QR_CODE', charSet: 'utf-8', rawData: Buffer.from(settings.scanResult).toString('base64') })
        }),
        showToast: answer('showToast', (opts) => { calls.toast.push(opts.title); return ok('showToast') }),
        showModal: answer('showModal', (opts) => {
          calls.modal.push({ title: opts.title, content: opts.content })
          return ok('showModal', { confirm: Boolean(settings.confirm), cancel: !settings.confirm })
        }),
      })
    }
    return Object.assign(common, {
      getStorageSync: ({ key }) => ({ data: store.has(key) ? store.get(key) : null }),
      setStorageSync: ({ key, data }) => { store.set(key, data) },
      removeStorageSync: ({ key }) => { store.remove(key) },
      clearStorageSync: () => storage.clear(),
      getStorage: answer('getStorage', ({ key }) => ({ data: store.has(key) ? store.get(key) : null })),
      setStorage: answer('setStorage', ({ key, data }) => { store.set(key, data); return {} }),
      removeStorage: answer('removeStorage', ({ key }) => { store.remove(key); return {} }),
      getAuthCode: answer('getAuthCode', (opts) => {
        const authCode = nextLoginCode()
        calls.login.push({ code: authCode, scopes: opts.scopes })
        const scopes = [].concat(opts.scopes || 'auth_base')
        return { authCode, authErrorScopes: {}, authSuccessScopes: scopes }
      }),
      tradePay: answer('tradePay', (opts) => {
        calls.pay.push({ tradeNO: opts.tradeNO, orderStr: opts.orderStr })
        if (!opts.tradeNO && !opts.orderStr) throw { error: 2, errorMessage: '参数错误: tradeNO 或 orderStr 必填' }
        return { resultCode: { ok: '9000', cancel: '6001', fail: '4000' }[settings.pay] }
      }),
      getLocation: answer('getLocation', (opts) => {
        calls.location.push(opts)
        if (settings.location === 'denied') throw { error: 2001, errorMessage: '用户拒绝授权获取位置' }
        // Alipay hands the coordinates over as strings
        return { latitude: String(settings.location.latitude), longitude: String(settings.location.longitude), accuracy: '65', horizontalAccuracy: '65' }
      }),
      scan: answer('scan', (opts) => {
        calls.scan.push(opts)
        if (settings.scanResult === null) throw { error: 10, errorMessage: '用户取消' }
        return { code: settings.scanResult, qrCode: settings.scanResult, scanType: 'qrCode' }
      }),
      showToast: answer('showToast', (opts) => { calls.toast.push(opts.content); return {} }),
      alert: answer('alert', (opts) => { calls.modal.push({ title: opts.title, content: opts.content }); return {} }),
      confirm: answer('confirm', (opts) => {
        calls.modal.push({ title: opts.title, content: opts.content })
        return { confirm: Boolean(settings.confirm) }
      }),
      setNavigationBar: answer('setNavigationBar', () => ({})),
    })
  }

  function nextLoginCode() {
    if (settings.loginCode) return settings.loginCode()
    if (stack) return platform === 'wechat' ? stack.wechatLoginCode() : stack.alipayAuthCode()
    throw new Error('mp-harness: no login codes (pass stack or loginCode)')
  }

  function recorded(api, owner) {
    return new Proxy(api, {
      get(target, name) {
        if (typeof name !== 'string') return target[name]
        if (owner.dead) return () => undefined // code of a closed app still running: its calls go nowhere
        const fn = name in target ? target[name]
          : (opts) => finish(name, opts, async () => ok(name)) // any other API: a recorded no-op that succeeds
        if (typeof fn !== 'function') return fn
        return (...args) => {
          calls.api.push({ name, args: args[0] })
          return fn(...args)
        }
      },
    })
  }

  // --- one run of the app ---------------------------------------------------------------------------------

  function startSession() {
    const s = { modules: new Map(), pages: [], pageDefs: new Map(), app: null, appDef: null, registered: null, timers: new Set(), sockets: new Set() }
    const api = recorded(platformApi(), s)
    const timers = {
      setTimeout: (fn, ms, ...args) => {
        if (s.dead) return 0
        const t = setTimeout(() => { s.timers.delete(t); guard(fn, 'setTimeout')(...args) }, ms)
        s.timers.add(t)
        return t
      },
      setInterval: (fn, ms, ...args) => {
        if (s.dead) return 0
        const t = setInterval(guard(fn, 'setInterval'), ms, ...args)
        s.timers.add(t)
        return t
      },
      clearTimeout: (t) => { clearTimeout(t); s.timers.delete(t) },
      clearInterval: (t) => { clearInterval(t); s.timers.delete(t) },
    }
    const globals = Object.assign({
      App: (def) => { s.appDef = def },
      Page: (def) => { s.registered = { kind: 'page', def } },
      Component: (def) => { s.registered = { kind: 'component', def } },
      Behavior: (def) => def,
      getApp: () => s.app,
      getCurrentPages: () => s.pages.slice(),
      [platform === 'wechat' ? 'wx' : 'my']: api,
    }, timers)
    const names = Object.keys(globals)

    function resolve(request, dir) {
      const base = request.startsWith('/') ? path.join(root, request) : path.resolve(dir, request)
      for (const candidate of [base, `${base}.js`, path.join(base, 'index.js')]) {
        if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) {
          if (!candidate.startsWith(root + path.sep)) throw new Error(`require('${request}') leaves the mini-program tree`)
          return candidate
        }
      }
      throw new Error(`require('${request}') from ${path.relative(root, dir) || '.'}: no such file in the mini-program tree`)
    }

    s.require = function load(file) {
      const cached = s.modules.get(file)
      if (cached) return cached.exports
      const module = { exports: {}, filename: file }
      s.modules.set(file, module)
      const dir = path.dirname(file)
      const localRequire = (request) => {
        if (!/^\.{0,2}\//.test(request)) throw new Error(`require('${request}'): mini-programs only load files of their own tree`)
        return load(resolve(request, dir))
      }
      const source = fs.readFileSync(file, 'utf8')
      const fn = vm.runInThisContext(`(function (exports, require, module, __filename, __dirname, ${names.join(', ')}) {${source}\n})`, { filename: file })
      fn.call(module.exports, module.exports, localRequire, module, file, dir, ...names.map((n) => globals[n]))
      return module.exports
    }
    s.api = api
    return s
  }

  function endSession() {
    if (!session) return
    session.dead = true
    for (const [promise, { owner }] of pending) if (owner === session) pending.delete(promise)
    for (const t of session.timers) { clearTimeout(t); clearInterval(t) }
    for (const ws of session.sockets) ws.terminate()
    session = null
  }

  async function launchApp(launch = {}) {
    if (session) throw new Error('the app is running: use relaunch() to close and reopen it')
    session = startSession()
    const route = (launch.path || appJson.pages[0]).replace(/^\//, '')
    const query = launch.query || {}
    const launchOptions = Object.assign({ path: route, query, scene: launch.scene || (query.q || query.qrCode ? 1011 : 1001), referrerInfo: {} }, launch)
    session.require(path.join(root, 'app.js'))
    if (!session.appDef) throw new Error('app.js did not call App()')
    const app = session.appDef // as on the platforms, getApp() is the object given to App() (fresh per launch)
    app.globalData = app.globalData || {}
    session.app = app
    // as on the platforms, a promise returned by onLaunch/onShow is not waited for before the page loads
    for (const hook of ['onLaunch', 'onShow']) {
      if (typeof app[hook] !== 'function') continue
      const result = guard(() => app[hook](clone(launchOptions)), `App ${hook}`)()
      if (result && typeof result.then === 'function') track(Promise.resolve(result).catch(() => {}), `App ${hook}()`)
    }
    if (launch.openPage === false) return null
    return pushPage(route, query)
  }

  async function openPage(route, query = {}) {
    route = route.replace(/^\//, '')
    if (!session) return launchApp({ path: route, query })
    return pushPage(route, query)
  }

  async function relaunch(launch = {}) {
    if (session) {
      const top = currentPage()
      if (top) lifecycle(top, 'onHide')
      if (session.app && session.app.onHide) guard(session.app.onHide, 'App onHide')()
      endSession()
    }
    return launchApp(launch)
  }

  // what the running app still waits for (a closed app's calls never finish: they are not waited for)
  function inFlight() {
    return [...pending].filter(([, { owner }]) => !(owner && owner.dead))
  }

  async function settle(timeoutMs = 10000) {
    const end = Date.now() + timeoutMs
    let quiet = 0
    while (quiet < 3) {
      await new Promise((resolve) => setImmediate(resolve))
      const waiting = inFlight()
      if (waiting.length) {
        quiet = 0
        const left = end - Date.now()
        if (left <= 0) throw new Error(`settle: still pending after ${timeoutMs} ms: ${waiting.map(([, w]) => w.label).join(', ')}`)
        await within(Promise.allSettled(waiting.map(([promise]) => promise)), left)
      } else {
        quiet += 1
        await sleep(5)
      }
    }
  }

  async function waitFor(predicate, timeoutMs = 10000, what) {
    const end = Date.now() + timeoutMs
    let last
    for (;;) {
      try {
        const value = await predicate()
        if (value) return value
      } catch (error) {
        last = error
      }
      if (Date.now() > end) {
        const top = currentPage()
        throw new Error(`waitFor(${what || predicate.toString().slice(0, 120)}) timed out after ${timeoutMs} ms` +
          (last ? `; last error: ${last.message}` : '') + (top ? `\npage ${top.route} data: ${JSON.stringify(top.data).slice(0, 1500)}` : ''))
      }
      await sleep(25)
    }
  }

  async function close() {
    if (session) {
      unloadPages(session.pages.length)
      endSession()
    }
    await within(Promise.allSettled(inFlight().map(([promise]) => promise)), 2000)
  }

  return {
    platform,
    root,
    calls,
    errors,
    canvases,
    settings, // change pay / confirm / location / scanResult between steps
    storage: {
      get: store.get,
      set: store.set,
      remove: store.remove,
      keys: () => [...storage.keys()],
      clear: () => storage.clear(),
    },
    rewriteUrl,
    launchApp,
    openPage,
    relaunch,
    settle,
    waitFor,
    close,
    currentPage,
    pages: () => (session ? session.pages.slice() : []),
    app: () => (session ? session.app : null),
    api: () => (session ? session.api : null), // the wx / my object the code sees
  }
}

module.exports = { createHarness, parseUrl, setPath }
