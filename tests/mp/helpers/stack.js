'use strict'
// Starts tests/mp/stack.py (the real ChargeOps node + login fakes + simulated piles) and waits for its JSON line.
//
//   const { startStack } = require('../helpers/stack')
//   const stack = await startStack()          // options: { piles, sampleInterval, pauseScale, loginCodes, timeoutMs }
//   stack.url, stack.wsUrl, stack.graphqlUrl  // http://127.0.0.1:P, ws://127.0.0.1:P, .../graphql
//   stack.codes['DEMO-0001/1']                // the connector's QR code; stack.qrUrls[...] its URL
//   stack.wechatLoginCode() / stack.alipayAuthCode()   // single-use codes of the demo driver
//   stack.wechatLoginCode({ newDriver: true })        // a code that signs up a driver of its own
//   await stack.graphql(query, variables, token)      // a plain POST from the test itself (setup, checks)
//   await stack.stop()
const { spawn } = require('child_process')
const fs = require('fs')
const path = require('path')

const ROOT = path.resolve(__dirname, '../../..')
const STDERR_KEEP = 20000

function pythonPath() {
  const venv = path.join(ROOT, '.venv/bin/python')
  if (fs.existsSync(venv)) return venv
  return process.env.CHARGEOPS_PYTHON || 'python3'
}

function startStack(options = {}) {
  const args = [path.join(ROOT, 'tests/mp/stack.py')]
  if (options.piles) args.push('--piles', String(options.piles))
  if (options.pauseScale) args.push('--pause-scale', String(options.pauseScale))
  if (options.sampleInterval) args.push('--sample-interval', String(options.sampleInterval))
  if (options.loginCodes) args.push('--login-codes', String(options.loginCodes))
  const timeoutMs = options.timeoutMs || 60000
  const child = spawn(pythonPath(), args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.setEncoding('utf8')
  child.stderr.on('data', (chunk) => {
    if (process.env.MP_STACK_VERBOSE) process.stderr.write(chunk)
    stderr = (stderr + chunk).slice(-STDERR_KEEP)
  })
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })))

  return new Promise((resolve, reject) => {
    let out = ''
    let settled = false
    const fail = (why) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      child.kill('SIGTERM')
      reject(new Error(`tests/mp/stack.py ${why}\n--- stderr ---\n${stderr}`))
    }
    const timer = setTimeout(() => fail(`not ready after ${timeoutMs} ms`), timeoutMs)
    child.on('error', (error) => fail(`could not start ${pythonPath()}: ${error.message}`))
    exited.then(({ code, signal }) => fail(`exited (code ${code}, signal ${signal}) before it was ready`))
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', (chunk) => {
      out += chunk
      const newline = out.indexOf('\n')
      if (newline < 0) return
      if (settled) return
      settled = true
      clearTimeout(timer)
      child.stdout.removeAllListeners('data')
      child.stdout.resume() // nothing more is printed; keep the pipe drained anyway
      let ready
      try {
        ready = JSON.parse(out.slice(0, newline))
      } catch (error) {
        settled = false
        fail(`printed no JSON line: ${out.slice(0, 200)}`)
        return
      }
      resolve(makeStack(child, exited, ready, () => stderr))
    })
  })
}

function makeStack(child, exited, ready, stderr) {
  const pools = {
    wechat: ready.wechatCodes.slice(),
    alipay: ready.alipayCodes.slice(),
    newWechat: ready.newWechatCodes.slice(),
    newAlipay: ready.newAlipayCodes.slice(),
  }
  const pop = (name) => {
    const code = pools[name].shift()
    if (!code) throw new Error(`the stack has no ${name} login codes left (startStack({ loginCodes }))`)
    return code
  }
  let stopping = null
  const stack = {
    url: ready.url,
    wsUrl: ready.wsUrl,
    graphqlUrl: ready.graphqlUrl,
    codes: ready.codes,
    qrUrls: ready.qrUrls,
    pid: child.pid,
    stderr,
    wechatLoginCode: (opts = {}) => pop(opts.newDriver ? 'newWechat' : 'wechat'),
    alipayAuthCode: (opts = {}) => pop(opts.newDriver ? 'newAlipay' : 'alipay'),
    async graphql(query, variables, token) {
      const headers = { 'content-type': 'application/json' }
      if (token) headers.authorization = `Bearer ${token}`
      const response = await fetch(ready.graphqlUrl, {
        method: 'POST', headers, body: JSON.stringify({ query, variables: variables || {} }),
      })
      const body = await response.json()
      if (body.errors) {
        const error = new Error(`GraphQL: ${body.errors.map((e) => e.message).join('; ')}`)
        error.errors = body.errors
        throw error
      }
      return body.data
    },
    stop() {
      if (!stopping) {
        stopping = (async () => {
          child.stdin.end() // the stack stops when its stdin closes
          const killer = setTimeout(() => child.kill('SIGTERM'), 20000)
          const hardKiller = setTimeout(() => child.kill('SIGKILL'), 30000)
          const result = await exited
          clearTimeout(killer)
          clearTimeout(hardKiller)
          return result
        })()
      }
      return stopping
    },
  }
  return stack
}

module.exports = { startStack, pythonPath, ROOT }
