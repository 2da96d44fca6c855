'use strict'
// The AXML → WXML bridge used by the Alipay rendering tests (jest renders the result; here: the conversion).
const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('fs')
const path = require('path')
const { convertAxml, convertTree } = require('../helpers/axml-to-wxml')
const { lintTree } = require('../../../tools/lint-templates')

test('directives and handlers become their WeChat twins; text, values and expressions are kept', () => {
  const axml = '<view a:for="{{list}}" a:for-item="row" a:for-index="i" a:key="id" onTap="onPick" catchTap="stop">' +
    '<map onMarkerTap="onMarker" onRegionChange="onRegion" /><text a:if="{{a > b}}">onTap="x" a:if</text>' +
    '<text a:elif="{{c}}">c</text><text a:else>d</text></view><!-- a:if onTap --><include src="./part.axml" />'
  assert.equal(convertAxml(axml),
    '<view wx:for="{{list}}" wx:for-item="row" wx:for-index="i" wx:key="id" bindtap="onPick" catchtap="stop">' +
    '<map bindmarkertap="onMarker" bindregionchange="onRegion" /><text wx:if="{{a > b}}">onTap="x" a:if</text>' +
    '<text wx:elif="{{c}}">c</text><text wx:else>d</text></view><!-- a:if onTap --><include src="./part.wxml" />')
})

test('a whole Alipay tree converts into a WeChat tree the lint accepts', () => {
  const tree = convertTree(path.join(__dirname, 'fixtures/lint-good-alipay'))
  try {
    assert.ok(fs.existsSync(path.join(tree.root, 'pages/home/index.wxml')))
    assert.ok(fs.existsSync(path.join(tree.root, 'app.wxss')))
    assert.ok(!fs.existsSync(path.join(tree.root, 'pages/home/index.axml')))
    const { errors } = lintTree(tree.root, { platform: 'wechat' })
    // import-sjs has no WeChat twin (the bridge does not reproduce sjs): the only complaint
    assert.deepEqual(errors.map((e) => e.message), ['unknown tag <import-sjs> (not built-in for wechat, not in usingComponents)'])
  } finally {
    tree.cleanup()
  }
})
