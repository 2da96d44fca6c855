'use strict'
// Alipay tree → temporary WeChat tree, so miniprogram-simulate can render Alipay templates (jest).
//
//   const { convertTree, installMy } = require('../helpers/axml-to-wxml')
//   const tree = convertTree(path.join(ROOT, 'miniprogram_alipay'))   // { root, cleanup() }
//   installMy({ request: jest.fn() })                                  // global.my (inert defaults + yours)
//   const page = loadPage(path.join(tree.root, 'pages/map/index'))     // from wx-env
//   afterAll(() => tree.cleanup())
//
// Templates: a:if/elif/else/for/for-item/for-index/key → wx:…, onTap → bindtap, catchTap → catchtap, onXxx →
// bindxxx, catchXxx → catchxxx; .axml → .wxml, .acss → .wxss (also in import/include src). JS and JSON are
// copied as they are. This checks that Alipay templates render page data and that events reach handlers; it does
// not reproduce Alipay's own semantics (event shapes, sjs, directives without a WeChat twin).
const fs = require('fs')
const os = require('os')
const path = require('path')

const EXTENSIONS = { '.axml': '.wxml', '.acss': '.wxss' }

function convertAttribute(name) {
  const directive = /^a:(if|elif|else|for|for-item|for-index|key)$/.exec(name)
  if (directive) return `wx:${directive[1]}`
  const handler = /^(on|catch)([A-Z]\w*)$/.exec(name)
  if (handler) return `${handler[1] === 'on' ? 'bind' : 'catch'}${handler[2].toLowerCase()}`
  return name
}

// rewrites attribute names inside tags only; text, quoted values and {{…}} are left alone
function convertAxml(source) {
  let out = ''
  let i = 0
  while (i < source.length) {
    if (source.startsWith('<!--', i)) {
      const end = source.indexOf('-->', i)
      const stop = end < 0 ? source.length : end + 3
      out += source.slice(i, stop)
      i = stop
    } else if (source[i] === '<' && /[A-Za-z]/.test(source[i + 1] || '')) {
      const tag = /^<([\w-]+)/.exec(source.slice(i))
      out += tag[0]
      i += tag[0].length
      while (i < source.length && source[i] !== '>') {
        const attr = /^(\s+)([^\s=/>]+)/.exec(source.slice(i))
        if (attr) {
          out += attr[1] + convertAttribute(attr[2])
          i += attr[0].length
          continue
        }
        if (source[i] === '"' || source[i] === "'") {
          const end = source.indexOf(source[i], i + 1)
          const stop = end < 0 ? source.length : end + 1
          let value = source.slice(i, stop)
          if (tag[1] === 'import' || tag[1] === 'include') value = value.replace(/\.axml(["'])$/, '.wxml$1')
          out += value
          i = stop
          continue
        }
        out += source[i]
        i += 1
      }
    } else {
      out += source[i]
      i += 1
    }
  }
  return out
}

function copyTree(from, to) {
  fs.mkdirSync(to, { recursive: true })
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    const source = path.join(from, entry.name)
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules') copyTree(source, path.join(to, entry.name))
      continue
    }
    const ext = path.extname(entry.name)
    const target = path.join(to, path.basename(entry.name, ext) + (EXTENSIONS[ext] || ext))
    if (ext === '.axml') fs.writeFileSync(target, convertAxml(fs.readFileSync(source, 'utf8')))
    else fs.copyFileSync(source, target)
  }
}

function convertTree(alipayRoot, outDir) {
  const root = outDir || fs.mkdtempSync(path.join(os.tmpdir(), 'mp-alipay-as-wechat-'))
  copyTree(path.resolve(alipayRoot), root)
  return { root, cleanup: () => fs.rmSync(root, { recursive: true, force: true }) }
}

// global.my with inert defaults (storage in memory, every other call succeeds with nothing), plus overrides
function installMy(overrides = {}) {
  const storage = new Map()
  const inert = {
    getStorageSync: ({ key }) => ({ data: storage.has(key) ? storage.get(key) : null }),
    setStorageSync: ({ key, data }) => { storage.set(key, data) },
    removeStorageSync: ({ key }) => { storage.delete(key) },
    getSystemInfoSync: () => ({ windowWidth: 375, windowHeight: 667, pixelRatio: 2, platform: 'devtools' }),
    canIUse: () => true,
  }
  const target = Object.assign(inert, overrides)
  global.my = new Proxy(target, {
    get(object, name) {
      if (name in object || typeof name !== 'string') return object[name]
      return (options) => {
        if (options && typeof options.success === 'function') options.success({})
        if (options && typeof options.complete === 'function') options.complete({})
      }
    },
  })
  return global.my
}

module.exports = { convertTree, convertAxml, convertAttribute, installMy }
