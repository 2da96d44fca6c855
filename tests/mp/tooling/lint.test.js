'use strict'
// tools/lint-templates.js on small fixture trees: each class of error is caught, a good tree of each platform passes.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const path = require('path')
const { spawnSync } = require('child_process')

const LINT = path.join(__dirname, '../../../tools/lint-templates.js')

function lint(tree) {
  const run = spawnSync(process.execPath, [LINT, path.join('fixtures', tree)], { cwd: __dirname, encoding: 'utf8' })
  return { status: run.status, lines: run.stdout.trim().split('\n'), stderr: run.stderr }
}

for (const tree of ['lint-good-wechat', 'lint-good-alipay', 'harness-wechat', 'harness-alipay']) {
  test(`${tree} passes`, () => {
    const { status, lines, stderr } = lint(tree)
    assert.equal(stderr, '')
    assert.match(lines[lines.length - 1], / templates checked, 0 errors$/)
    assert.equal(status, 0, lines.join('\n'))
  })
}

test('a broken WeChat tree: every class of error, as file:line:col, exit 1', () => {
  const { status, lines } = lint('lint-bad-wechat')
  assert.equal(status, 1)
  const expected = [
    'fixtures/lint-bad-wechat/app.json:2:47: page pages/missing/index has no pages/missing/index.js',
    'fixtures/lint-bad-wechat/app.json:2:47: page pages/missing/index has no pages/missing/index.wxml',
    'fixtures/lint-bad-wechat/app.json:2:47: page pages/missing/index has no pages/missing/index.wxss',
    'fixtures/lint-bad-wechat/app.json:3:33: usingComponents "ghost": /components/ghost/index has no .js/.json/.wxml files',
    'fixtures/lint-bad-wechat/app.json:4:38: tabBar page pages/nowhere/index is not in pages',
    'fixtures/lint-bad-wechat/pages/a/index.wxml:2:3: unknown tag <vew> (not built-in for wechat, not in usingComponents)',
    'fixtures/lint-bad-wechat/pages/a/index.wxml:3:11: bindtap="onGoo": no such method on page/component',
    'fixtures/lint-bad-wechat/pages/a/index.wxml:4:9: wx:for without wx:key',
    'fixtures/lint-bad-wechat/pages/a/index.wxml:4:28: bad expression {{item.name +}}: Unexpected token',
    'fixtures/lint-bad-wechat/pages/a/index.wxml:5:9: a:if is not a wechat directive (use wx:if)',
    'fixtures/lint-bad-wechat/pages/a/index.wxml:5:25: onTap: WeChat uses bind/catch, onTap is inert',
    'fixtures/lint-bad-wechat/pages/a/index.wxml:6:9: {{format(1)}} calls format(): templates can only call wxs module functions (module.fn())',
    'fixtures/lint-bad-wechat/pages/a/index.wxml:7:9: catchTap: WeChat event names are lower case (catchtap)',
    "fixtures/lint-bad-wechat/pages/b/index.wxml:1:23: Expected closing tag 'text' (opened in line 1, col 7) instead of closing tag 'view'.",
    'fixtures/lint-bad-wechat/pages/b/index.wxml:2:22: unterminated {{',
    'fixtures/lint-bad-wechat/pages/b/index.js:1:1: cannot run with inert globals to find its methods: Unexpected end of input',
  ]
  for (const line of expected) assert.ok(lines.includes(line), `missing: ${line}\n--- got:\n${lines.join('\n')}`)
  assert.match(lines[lines.length - 1], /: 2 templates checked, 17 errors$/)
})

test('a broken Alipay tree: every class of error, as file:line:col, exit 1', () => {
  const { status, lines } = lint('lint-bad-alipay')
  assert.equal(status, 1)
  const expected = [
    'fixtures/lint-bad-alipay/app.json:2:47: page pages/c/index has no pages/c/index.acss',
    'fixtures/lint-bad-alipay/pages/a/index.axml:2:9: wx:if is not an alipay directive (use a:if)',
    'fixtures/lint-bad-alipay/pages/a/index.axml:2:26: bindtap: Alipay uses onXxx/catchXxx handlers',
    'fixtures/lint-bad-alipay/pages/a/index.axml:3:8: onMarkerTap="onMarkr": no such method on page/component',
    'fixtures/lint-bad-alipay/pages/a/index.axml:4:9: a:for without a:key',
    'fixtures/lint-bad-alipay/pages/a/index.axml:4:26: bad expression {{item.a ?}}: Unexpected token',
    'fixtures/lint-bad-alipay/pages/a/index.axml:5:3: unknown tag <vieww> (not built-in for alipay, not in usingComponents)',
    "fixtures/lint-bad-alipay/pages/b/index.axml:3:1: Expected closing tag 'view' (opened in line 1, col 1) instead of end of file.",
    'fixtures/lint-bad-alipay/pages/c/index.json:1:32: usingComponents "card": ../../components/card/index has no .js/.json/.axml files',
  ]
  for (const line of expected) assert.ok(lines.includes(line), `missing: ${line}\n--- got:\n${lines.join('\n')}`)
  assert.match(lines[lines.length - 1], /: 3 templates checked, 9 errors$/)
})

test('the platform is taken from the tree, or forced: a WeChat tree linted as Alipay fails', () => {
  const run = spawnSync(process.execPath, [LINT, 'fixtures/lint-good-wechat', '--platform', 'alipay'], { cwd: __dirname, encoding: 'utf8' })
  assert.equal(run.status, 1)
  assert.match(run.stdout, /page pages\/home\/index has no pages\/home\/index\.axml/)
  assert.match(run.stdout, /pages\/home\/index\.wxml:1:1: \.wxml template in an alipay tree/)
})
