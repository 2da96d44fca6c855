#!/usr/bin/env node
'use strict'
// Template lint of a mini-program tree (WeChat .wxml or Alipay .axml), MINIPROGRAMS.md §5.
//
//   node tools/lint-templates.js <miniprogramRoot> [--platform wechat|alipay]
//
// Checks: app.json pages each have their 4 files (js, json, template, style) and tabBar pages are pages;
// usingComponents resolve; per template: unterminated {{, tag nesting (fast-xml-parser), every {{expr}} parses
// (@babel/parser) and calls only wxs/sjs module functions, tags are built-in or used components, event handlers
// name a method of the page/component (its JS is run with inert fake globals), no directive or event syntax of
// the other platform, every for has a key. Output: `file:line:col: message`; exit 1 on any error.
const fs = require('fs')
const path = require('path')
const vm = require('vm')
const { XMLValidator } = require('fast-xml-parser')
const { Parser } = require('htmlparser2')
const babel = require('@babel/parser')

const COMMON_TAGS = [
  'view', 'scroll-view', 'swiper', 'swiper-item', 'movable-area', 'movable-view', 'cover-view', 'cover-image',
  'icon', 'text', 'rich-text', 'progress', 'button', 'checkbox', 'checkbox-group', 'form', 'input', 'label',
  'picker', 'picker-view', 'picker-view-column', 'radio', 'radio-group', 'slider', 'switch', 'textarea',
  'navigator', 'image', 'video', 'camera', 'map', 'canvas', 'web-view', 'ad', 'page-meta', 'page-container',
  'root-portal', 'share-element', 'block', 'template', 'import', 'include', 'slot',
]
const PLATFORMS = {
  wechat: {
    template: '.wxml',
    style: '.wxss',
    directive: 'wx:',
    otherDirective: 'a:',
    tags: new Set([...COMMON_TAGS, 'wxs', 'editor', 'functional-page-navigator', 'audio', 'live-player',
      'live-pusher', 'ad-custom', 'official-account', 'open-data', 'navigation-bar', 'match-media', 'grid-view',
      'list-view', 'sticky-header', 'sticky-section', 'keyboard-accessory', 'channel-live', 'channel-video',
      'voip-room', 'store-home', 'store-product']),
    scriptTag: 'wxs',
  },
  alipay: {
    template: '.axml',
    style: '.acss',
    directive: 'a:',
    otherDirective: 'wx:',
    tags: new Set([...COMMON_TAGS, 'import-sjs', 'lifestyle', 'life-follow', 'contact-button', 'lottie',
      'native-component']),
    scriptTag: 'import-sjs',
  },
}
const WECHAT_EVENT = /^(bind|catch|mut-bind|capture-bind|capture-catch):?([A-Za-z][\w-]*)$/
const ALIPAY_EVENT = /^(on|catch)([A-Z][\w]*)$/

// --- positions ---------------------------------------------------------------------------------------------

function lineIndex(text) {
  const starts = [0]
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') starts.push(i + 1)
  return (index) => {
    let lo = 0
    let hi = starts.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1
      if (starts[mid] <= index) lo = mid
      else hi = mid - 1
    }
    return { line: lo + 1, col: index - starts[lo] + 1 }
  }
}

// --- running page/component JS with inert globals, to learn its methods ------------------------------------

function inert() {
  const target = function () {}
  const proxy = new Proxy(target, {
    get: (_, key) => (key === Symbol.toPrimitive ? () => '' : key === 'then' ? undefined : proxy),
    apply: () => proxy,
    construct: () => proxy,
    set: () => true,
  })
  return proxy
}

function createRunner(root) {
  const cache = new Map()
  let registered = null
  const capture = (kind) => (def) => { registered = { kind, def: def || {} } }
  const globals = {
    App: () => {}, Page: capture('page'), Component: capture('component'), Behavior: (def) => def || {},
    getApp: () => inert(), getCurrentPages: () => [], wx: inert(), my: inert(),
    setTimeout: () => 0, setInterval: () => 0, clearTimeout: () => {}, clearInterval: () => {},
  }
  const names = Object.keys(globals)

  function load(file) {
    if (cache.has(file)) return cache.get(file).exports
    const module = { exports: {} }
    cache.set(file, module)
    const dir = path.dirname(file)
    const localRequire = (request) => {
      const base = request.startsWith('/') ? path.join(root, request) : path.resolve(dir, request)
      const found = [base, `${base}.js`, path.join(base, 'index.js')].find((f) => fs.existsSync(f) && fs.statSync(f).isFile())
      if (!found) throw new Error(`require('${request}'): no such file`)
      return load(found)
    }
    const source = fs.readFileSync(file, 'utf8')
    const fn = vm.runInThisContext(`(function (exports, require, module, __filename, __dirname, ${names.join(', ')}) {${source}\n})`, { filename: file })
    fn.call(module.exports, module.exports, localRequire, module, file, dir, ...names.map((n) => globals[n]))
    return module.exports
  }

  // the methods templates may name: a Page's functions, a Component's methods (with behaviors / mixins)
  return function methodsOf(jsFile) {
    registered = null
    cache.delete(jsFile)
    load(jsFile)
    if (!registered) throw new Error('calls neither Page() nor Component()')
    const names = new Set()
    const collect = (def, fromMethods) => {
      const source = fromMethods ? def.methods || {} : def
      for (const key of Object.keys(source)) if (typeof source[key] === 'function') names.add(key)
      for (const mixin of [].concat(def.behaviors || [], def.mixins || [])) if (mixin && typeof mixin === 'object') collect(mixin, true)
    }
    collect(registered.def, registered.kind === 'component')
    return names
  }
}

// --- one template ------------------------------------------------------------------------------------------

function findExpressions(text) {
  const found = []
  let from = 0
  for (;;) {
    const open = text.indexOf('{{', from)
    if (open < 0) return found
    const close = text.indexOf('}}', open + 2)
    if (close < 0) {
      found.push({ start: open, end: -1 })
      return found
    }
    // "}}}" closes an object literal first: {{ {a: 1}}} → the last two braces end the expression
    let end = close
    while (text[end + 2] === '}') end += 1
    found.push({ start: open, end: end + 2, body: text.slice(open + 2, end) })
    from = end + 2
  }
}

function maskForXml(text, expressions, scriptTag) {
  const chars = text.split('')
  const blank = (from, to) => { for (let i = from; i < to; i++) if (chars[i] !== '\n') chars[i] = '_' }
  for (const e of expressions) if (e.end > 0) blank(e.start + 2, e.end - 2)
  const script = new RegExp(`<${scriptTag}\\b[^>]*>([\\s\\S]*?)</${scriptTag}>`, 'g')
  for (let m; (m = script.exec(text));) blank(m.index + m[0].indexOf('>') + 1, m.index + m[0].length - scriptTag.length - 3)
  for (let i = 0; i < chars.length; i++) {
    if (chars[i] === '&' && !/^&(#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);/.test(text.slice(i, i + 12))) chars[i] = '_'
  }
  return chars.join('')
}

function parseBinding(body) {
  try {
    return babel.parseExpression(body)
  } catch (error) {
    try {
      return babel.parseExpression(`({${body}})`) // template data: data="{{a: 1, ...b}}"
    } catch (_) {
      throw error
    }
  }
}

function bareCalls(node, found = []) {
  if (!node || typeof node.type !== 'string') return found
  if (node.type === 'CallExpression' && node.callee.type === 'Identifier') found.push(node.callee.name)
  for (const key of Object.keys(node)) {
    if (key === 'loc' || key === 'start' || key === 'end') continue
    const value = node[key]
    if (Array.isArray(value)) value.forEach((v) => bareCalls(v, found))
    else if (value && typeof value === 'object') bareCalls(value, found)
  }
  return found
}

function lintTemplate(ctx, file, components, methods) {
  const spec = PLATFORMS[ctx.platform]
  const text = fs.readFileSync(file, 'utf8')
  const at = lineIndex(text)
  const report = (index, message) => ctx.error(file, at(index), message)

  const expressions = findExpressions(text)
  for (const e of expressions) {
    if (e.end < 0) {
      report(e.start, 'unterminated {{')
      continue
    }
    let ast
    try {
      ast = parseBinding(e.body)
    } catch (error) {
      report(e.start, `bad expression {{${e.body.trim()}}}: ${error.message.replace(/ \(\d+:\d+\)$/, '')}`)
      continue
    }
    for (const name of bareCalls(ast)) {
      report(e.start, `{{${e.body.trim()}}} calls ${name}(): templates can only call ${spec.scriptTag} module functions (module.fn())`)
    }
  }

  const masked = maskForXml(text, expressions, spec.scriptTag)
  const valid = XMLValidator.validate(`<lint-root>\n${masked}\n</lint-root>`, { allowBooleanAttributes: true })
  if (valid !== true) {
    const { line, col, msg } = valid.err
    const inFile = Math.min(Math.max(line - 1, 1), at(text.length).line)
    const message = msg.replace(/line (\d+)/g, (_, n) => `line ${Math.max(Number(n) - 1, 1)}`) // the wrapper's line
      .replace("closing tag 'lint-root'", 'end of file')
    ctx.error(file, { line: inFile, col: line === 1 ? 1 : col }, message)
  }

  const parser = new Parser({
    onopentag(tag, attrs) {
      const start = parser.startIndex
      const tagText = text.slice(start, parser.endIndex + 1)
      const attrAt = (name) => start + Math.max(tagText.indexOf(name), 0)
      if (!spec.tags.has(tag) && !components.has(tag)) {
        report(start, `unknown tag <${tag}> (not built-in for ${ctx.platform}, not in usingComponents)`)
      }
      for (const [name, value] of Object.entries(attrs)) {
        if (name.startsWith(spec.otherDirective)) {
          report(attrAt(name), `${name} is not ${ctx.platform === 'alipay' ? 'an' : 'a'} ${ctx.platform} directive (use ${spec.directive}${name.slice(spec.otherDirective.length)})`)
          continue
        }
        let handler = false
        if (ctx.platform === 'wechat') {
          if (/^on[A-Z]/.test(name)) report(attrAt(name), `${name}: WeChat uses bind/catch, ${name} is inert`)
          else if (/^catch[A-Z]/.test(name)) report(attrAt(name), `${name}: WeChat event names are lower case (${name.toLowerCase()})`)
          else handler = WECHAT_EVENT.test(name)
        } else if (/^(bind|mut-bind|capture-bind|capture-catch)[:a-z]|^catch[:a-z]/.test(name)) {
          report(attrAt(name), `${name}: Alipay uses onXxx/catchXxx handlers`)
        } else {
          handler = ALIPAY_EVENT.test(name)
        }
        if (handler && methods && value !== '' && !value.includes('{{') && !methods.has(value)) {
          report(attrAt(name), `${name}="${value}": no such method on page/component`)
        }
      }
      const loop = `${spec.directive}for`
      if (attrs[loop] !== undefined && attrs[`${spec.directive}key`] === undefined) {
        report(attrAt(loop), `${loop} without ${spec.directive}key`)
      }
    },
  }, { xmlMode: true, lowerCaseTags: false, lowerCaseAttributeNames: false, recognizeSelfClosing: true })
  parser.write(text)
  parser.end()
}

// --- the tree ----------------------------------------------------------------------------------------------

function walk(dir, found = []) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'miniprogram_npm' || entry.name.startsWith('.')) continue
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) walk(full, found)
    else found.push(full)
  }
  return found
}

function readJson(ctx, file) {
  const text = fs.readFileSync(file, 'utf8')
  try {
    return { json: JSON.parse(text), text }
  } catch (error) {
    const index = Number((/position (\d+)/.exec(error.message) || [])[1] || 0)
    ctx.error(file, lineIndex(text)(index), `invalid JSON: ${error.message}`)
    return { json: null, text }
  }
}

function jsonPosition(text, needle) {
  const index = text.indexOf(JSON.stringify(needle))
  return lineIndex(text)(Math.max(index, 0))
}

// the component a usingComponents value names: its js and json must exist, and its template
function componentExists(root, fromDir, value, spec) {
  const base = value.startsWith('/') ? path.join(root, value) : path.resolve(fromDir, value)
  for (const candidate of [base, path.join(base, 'index')]) {
    if (['.js', '.json', spec.template].every((ext) => fs.existsSync(candidate + ext))) return true
  }
  return false
}

function usingComponents(ctx, jsonFile, json, text) {
  const spec = PLATFORMS[ctx.platform]
  const names = new Set()
  for (const [tag, value] of Object.entries((json && json.usingComponents) || {})) {
    names.add(tag)
    if (typeof value !== 'string' || value.startsWith('plugin://') || value.startsWith('plugin-private://')) continue
    if (!componentExists(ctx.root, path.dirname(jsonFile), value, spec)) {
      ctx.error(jsonFile, jsonPosition(text, value), `usingComponents "${tag}": ${value} has no ${['.js', '.json', spec.template].join('/')} files`)
    }
  }
  return names
}

function detectPlatform(root) {
  const files = walk(root)
  if (files.some((f) => f.endsWith('.axml'))) return 'alipay'
  return 'wechat'
}

function lintTree(root, options = {}) {
  root = path.resolve(root)
  const errors = []
  const ctx = {
    root,
    platform: options.platform || detectPlatform(root),
    error(file, pos, message) {
      errors.push({ file: path.relative(options.cwd || process.cwd(), file) || file, line: pos.line, col: pos.col, message })
    },
  }
  const spec = PLATFORMS[ctx.platform]
  if (!spec) throw new Error(`unknown platform ${ctx.platform}`)
  const appFile = path.join(root, 'app.json')
  if (!fs.existsSync(appFile)) {
    ctx.error(appFile, { line: 1, col: 1 }, 'no app.json')
    return { errors, templates: 0, platform: ctx.platform }
  }
  const app = readJson(ctx, appFile)
  const appJson = app.json || {}
  const pages = [...(appJson.pages || [])]
  for (const pkg of [].concat(appJson.subpackages || [], appJson.subPackages || [])) {
    for (const page of pkg.pages || []) pages.push(path.posix.join(pkg.root, page))
  }
  for (const page of pages) {
    for (const ext of ['.js', '.json', spec.template, spec.style]) {
      if (!fs.existsSync(path.join(root, page + ext))) {
        ctx.error(appFile, jsonPosition(app.text, page), `page ${page} has no ${page}${ext}`)
      }
    }
  }
  for (const item of (appJson.tabBar && appJson.tabBar.list) || []) {
    if (!pages.includes(String(item.pagePath).replace(/^\//, ''))) {
      ctx.error(appFile, jsonPosition(app.text, item.pagePath), `tabBar page ${item.pagePath} is not in pages`)
    }
  }
  const globalComponents = usingComponents(ctx, appFile, appJson, app.text)

  const methodsOf = createRunner(root)
  const templates = walk(root).filter((f) => f.endsWith(spec.template))
  const other = walk(root).filter((f) => f.endsWith(PLATFORMS[ctx.platform === 'wechat' ? 'alipay' : 'wechat'].template))
  for (const file of other) ctx.error(file, { line: 1, col: 1 }, `${path.extname(file)} template in ${ctx.platform === 'alipay' ? 'an' : 'a'} ${ctx.platform} tree`)
  for (const file of templates) {
    const base = file.slice(0, -spec.template.length)
    let components = globalComponents
    if (fs.existsSync(`${base}.json`)) {
      const own = readJson(ctx, `${base}.json`)
      components = new Set([...globalComponents, ...usingComponents(ctx, `${base}.json`, own.json, own.text)])
    }
    let methods = null // a template without its own JS (an imported fragment): handlers are not checked
    if (fs.existsSync(`${base}.js`)) {
      try {
        methods = methodsOf(`${base}.js`)
      } catch (error) {
        ctx.error(`${base}.js`, { line: 1, col: 1 }, `cannot run with inert globals to find its methods: ${error.message}`)
      }
    }
    lintTemplate(ctx, file, components, methods)
  }
  errors.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col)
  return { errors, templates: templates.length, platform: ctx.platform }
}

function main(argv) {
  const roots = argv.slice()
  let platform
  const at = roots.indexOf('--platform')
  if (at >= 0) platform = roots.splice(at, 2)[1]
  if (roots.length !== 1) {
    console.error('usage: node tools/lint-templates.js <miniprogramRoot> [--platform wechat|alipay]')
    return 2
  }
  if (!fs.existsSync(roots[0])) {
    console.error(`lint-templates: ${roots[0]} does not exist`)
    return 1
  }
  const { errors, templates, platform: used } = lintTree(roots[0], { platform })
  for (const e of errors) console.log(`${e.file}:${e.line}:${e.col}: ${e.message}`)
  console.log(`${roots[0]} (${used}): ${templates} templates checked, ${errors.length} errors`)
  return errors.length ? 1 : 0
}

if (require.main === module) process.exitCode = main(process.argv.slice(2))

module.exports = { lintTree, PLATFORMS }
