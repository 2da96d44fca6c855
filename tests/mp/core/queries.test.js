'use strict'
// core/queries.js: every document the mini-program sends validates against schema/schema.graphql (checked
// with graphql-core, the validator the server itself uses, through the repo's Python).
const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('path')
const { spawnSync } = require('child_process')
const Q = require('../../../miniprogram_wechat/core/queries.js')
const { pythonPath, ROOT } = require('../helpers/stack.js')

const VALIDATE = `
import json, sys
from graphql import build_schema, parse, validate
schema = build_schema(open(sys.argv[1], encoding="utf-8").read())
docs = json.load(sys.stdin)
print(json.dumps({name: [e.message for e in validate(schema, parse(doc))] for name, doc in docs.items()}))
`

test('every document validates against the SDL', () => {
  const docs = {}
  for (const [name, doc] of Object.entries(Q)) if (typeof doc === 'string') docs[name] = doc
  const run = spawnSync(pythonPath(), ['-c', VALIDATE, path.join(ROOT, 'schema/schema.graphql')], { input: JSON.stringify(docs), encoding: 'utf8' })
  assert.equal(run.status, 0, run.stderr)
  const problems = JSON.parse(run.stdout)
  assert.deepEqual(Object.keys(problems).sort(), Object.keys(docs).sort())
  for (const [name, errors] of Object.entries(problems)) assert.deepEqual(errors, [], name)
})

test('each document is one named operation; subscriptions are listed by their field', () => {
  for (const [name, doc] of Object.entries(Q)) {
    if (typeof doc !== 'string') continue
    assert.equal((doc.match(/\b(query|mutation|subscription)\s+\w+/g) || []).length, 1, name)
  }
  assert.deepEqual(Object.keys(Q.SUBSCRIPTIONS).sort(), ['connectorStatus', 'orderUpdates', 'sessionUpdates'])
  for (const [field, doc] of Object.entries(Q.SUBSCRIPTIONS)) assert.match(doc, new RegExp(`^subscription \\w+[^{]*\\{\\s*${field}\\(`))
})
