#!/usr/bin/env node
'use strict'
// The platform-neutral core lives in miniprogram_wechat/core/; miniprogram_alipay/core/ is its byte-identical copy.
//
//   node tools/sync-core.js            copy it (files written when different, extra files removed)
//   node tools/sync-core.js --check    exit 1 listing every difference, change nothing
//   node tools/sync-core.js [--check] <from> <to>   other folders (tests)
const fs = require('fs')
const path = require('path')

const ROOT = path.resolve(__dirname, '..')

function listFiles(dir, prefix = '') {
  if (!fs.existsSync(dir)) return []
  const files = []
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const rel = path.posix.join(prefix, entry.name)
    if (entry.isDirectory()) files.push(...listFiles(path.join(dir, entry.name), rel))
    else files.push(rel)
  }
  return files.sort()
}

function differences(from, to) {
  const source = listFiles(from)
  const copy = new Set(listFiles(to))
  const found = []
  for (const rel of source) {
    if (!copy.has(rel)) found.push({ rel, kind: 'missing' })
    else if (!fs.readFileSync(path.join(from, rel)).equals(fs.readFileSync(path.join(to, rel)))) found.push({ rel, kind: 'differs' })
    copy.delete(rel)
  }
  for (const rel of copy) found.push({ rel, kind: 'extra' })
  return found
}

function sync(from, to) {
  const found = differences(from, to)
  for (const { rel, kind } of found) {
    const target = path.join(to, rel)
    if (kind === 'extra') {
      fs.rmSync(target)
    } else {
      fs.mkdirSync(path.dirname(target), { recursive: true })
      fs.copyFileSync(path.join(from, rel), target)
    }
  }
  removeEmptyDirs(to)
  return found
}

function removeEmptyDirs(dir) {
  if (!fs.existsSync(dir)) return
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue
    const sub = path.join(dir, entry.name)
    removeEmptyDirs(sub)
    if (fs.readdirSync(sub).length === 0) fs.rmdirSync(sub)
  }
}

function main(argv) {
  const check = argv.includes('--check')
  const dirs = argv.filter((a) => a !== '--check')
  const from = path.resolve(dirs[0] || path.join(ROOT, 'miniprogram_wechat/core'))
  const to = path.resolve(dirs[1] || path.join(ROOT, 'miniprogram_alipay/core'))
  if (!fs.existsSync(from)) {
    console.error(`sync-core: ${path.relative(process.cwd(), from)} does not exist`)
    return 1
  }
  const shown = (p) => path.relative(process.cwd(), p) || '.'
  if (check) {
    const found = differences(from, to)
    const words = { missing: `missing in ${shown(to)}`, differs: 'differs', extra: `not in ${shown(from)} (extra)` }
    for (const { rel, kind } of found) console.error(`${shown(path.join(to, rel))}: ${words[kind]}`)
    if (found.length) {
      console.error(`sync-core: ${found.length} difference(s); run \`node tools/sync-core.js\` to copy ${shown(from)} to ${shown(to)}`)
      return 1
    }
    console.log(`sync-core: ${shown(to)} is identical to ${shown(from)} (${listFiles(from).length} files)`)
    return 0
  }
  const found = sync(from, to)
  console.log(`sync-core: ${found.length} file(s) updated in ${shown(to)}`)
  return 0
}

if (require.main === module) process.exitCode = main(process.argv.slice(2))

module.exports = { differences, sync, main }
