'use strict'
// tools/sync-core.js: --check finds every kind of difference; a sync makes the copy byte-identical.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('fs')
const os = require('os')
const path = require('path')
const { spawnSync } = require('child_process')

const SYNC = path.join(__dirname, '../../../tools/sync-core.js')

function tempTree() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sync-core-'))
  const write = (rel, text) => {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true })
    fs.writeFileSync(path.join(dir, rel), text)
  }
  write('from/api.js', 'module.exports = 1\n')
  write('from/sub/money.js', 'module.exports = "¥"\n')
  write('to/api.js', 'module.exports = 1\n')
  write('to/sub/money.js', 'module.exports = "¥"\n')
  return { dir, write, from: path.join(dir, 'from'), to: path.join(dir, 'to') }
}

const run = (...args) => spawnSync(process.execPath, [SYNC, ...args], { encoding: 'utf8' })

test('--check passes on identical copies and lists every difference otherwise', () => {
  const tree = tempTree()
  try {
    assert.equal(run('--check', tree.from, tree.to).status, 0)

    tree.write('to/api.js', 'module.exports = 1\r\n') // one byte more
    tree.write('from/new.js', '')
    tree.write('to/sub/stale.js', '')
    const check = run('--check', tree.from, tree.to)
    assert.equal(check.status, 1)
    assert.match(check.stderr, /to\/api\.js: differs/)
    assert.match(check.stderr, /to\/new\.js: missing in /)
    assert.match(check.stderr, /to\/sub\/stale\.js: not in .* \(extra\)/)
    assert.match(check.stderr, /3 difference\(s\)/)
    assert.equal(fs.readFileSync(path.join(tree.to, 'api.js'), 'utf8'), 'module.exports = 1\r\n') // --check changes nothing

    assert.equal(run(tree.from, tree.to).status, 0)
    assert.equal(run('--check', tree.from, tree.to).status, 0)
    assert.ok(!fs.existsSync(path.join(tree.to, 'sub/stale.js')))
    assert.ok(fs.readFileSync(path.join(tree.to, 'api.js')).equals(fs.readFileSync(path.join(tree.from, 'api.js'))))
  } finally {
    fs.rmSync(tree.dir, { recursive: true, force: true })
  }
})
