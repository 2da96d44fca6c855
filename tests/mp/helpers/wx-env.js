'use strict'
// jest + miniprogram-simulate: shims for what simulate lacks (App, getApp, Page, getCurrentPages), a page loader
// that renders a page and runs its page lifecycle, and a polling waitFor.
//
//   const { install, loadPage, waitFor } = require('../helpers/wx-env')
//   install({ globalData: { api: fakeApi } })                 // getApp().globalData.api is fakeApi
//   const page = loadPage(path.join(ROOT, 'miniprogram_wechat/pages/map/index'), { query: { x: '1' } })
//   await page.loaded                                           // the promise of onLoad (if it returned one)
//   await waitFor(() => page.querySelector('.station'))
//   page.querySelector('.btn').dispatchEvent('tap')            // simulate's own event API
//   page.instance.data, page.instance.someMethod()
const fs = require('fs')
const path = require('path')
const simulate = require('miniprogram-simulate')

const PAGE_HOOKS = ['onLoad', 'onShow', 'onReady', 'onHide', 'onUnload']
let app = { globalData: {} }
let pages = []
const loadedFiles = new Set()

function clone(value) {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value))
}

// Page(def) as a Component simulate can render: every function becomes a method (lifecycle hooks included,
// as in a Component-built page), other fields are copied onto the instance
function pageToComponent(def) {
  const methods = {}
  const fields = {}
  for (const key of Object.keys(def)) {
    if (key === 'data') continue
    if (typeof def[key] === 'function') methods[key] = def[key]
    else fields[key] = def[key]
  }
  return {
    data: clone(def.data) || {},
    methods,
    lifetimes: {
      created() {
        Object.assign(this, clone(fields))
      },
    },
  }
}

// install({ globalData, app, wx }): fresh App/getApp/Page/getCurrentPages; `wx` fields are merged into the
// global wx that simulate provides (use jest.fn() for the calls a test checks)
function install(options = {}) {
  app = Object.assign({ globalData: options.globalData || {} }, options.app)
  pages = []
  global.App = (def) => {
    const globalData = Object.assign({}, def.globalData, app.globalData)
    Object.assign(app, def, { globalData })
  }
  global.getApp = () => app
  global.getCurrentPages = () => pages.map((page) => page.instance)
  global.Page = (def) => global.Component(pageToComponent(def))
  if (options.wx) global.wx = Object.assign(global.wx || {}, options.wx)
  return app
}

function findRoot(file) {
  let dir = path.dirname(path.resolve(file))
  while (dir !== path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'app.json'))) return dir
    dir = path.dirname(dir)
  }
  return path.dirname(path.resolve(file))
}

// loadPage(pagePathWithoutExtension, { query, rootPath, compiler, show, ready }) → simulate's component wrapper
// with `loaded` (the result of onLoad as a promise) and `unload()`; onLoad, onShow and onReady run in order
function loadPage(pagePath, options = {}) {
  const file = path.resolve(pagePath)
  let id
  const load = () => {
    id = simulate.load(file, {
      rootPath: options.rootPath || findRoot(file),
      compiler: options.compiler || 'official',
      usingComponents: options.usingComponents,
    })
  }
  // the page's JS must run again for every load (it registers the page) but jest caches modules per test file:
  // a page loaded again runs in an isolated module registry (the modules it requires are fresh instances there)
  if (loadedFiles.has(file) && typeof jest !== 'undefined') jest.isolateModules(load) // eslint-disable-line no-undef
  else load()
  loadedFiles.add(file)
  const page = simulate.render(id)
  page.attach(document.createElement('parent-wrapper'))
  pages.push(page)
  const instance = page.instance
  const hook = (name, ...args) => (typeof instance[name] === 'function' ? instance[name](...args) : undefined)
  page.loaded = Promise.resolve(hook('onLoad', options.query || {}))
  page.loaded.catch(() => {}) // the test sees the rejection through page.loaded
  if (options.show !== false) hook('onShow')
  if (options.ready !== false) hook('onReady')
  page.unload = () => {
    hook('onUnload')
    page.detach()
    pages = pages.filter((p) => p !== page)
  }
  return page
}

async function waitFor(predicate, timeoutMs = 3000, interval = 10) {
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
      throw new Error(`waitFor timed out after ${timeoutMs} ms: ${predicate.toString().slice(0, 160)}${last ? ` (last error: ${last.message})` : ''}`)
    }
    await new Promise((resolve) => setTimeout(resolve, interval))
  }
}

module.exports = { install, loadPage, waitFor, pageToComponent, PAGE_HOOKS, simulate }
