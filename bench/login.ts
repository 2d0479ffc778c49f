/**
 * Login benchmark: argon2id at OWASP's parameters (m=19456 KiB, t=2, p=1).
 *
 * - The binding's raw rate: `verifySync` one at a time (one core), and async `verify` with 16 in
 *   flight (libuv's thread pool, no limit of ours).
 * - Logins per second through the reference server's path: `PasswordHasher.verify` (its semaphore,
 *   default concurrency) then `auth.login` (two tokens), 16 in flight.
 * - The login storm: the event-loop delay (perf_hooks.monitorEventLoopDelay) of a Fastify server with
 *   latchkey's guard answering `GET /me` under wrk, without logins, and while 16 logins are in flight
 *   (through PasswordHasher, and, for comparison, straight through the binding). Target p99 < 20 ms.
 */
import { spawn } from 'node:child_process'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { type Algorithm, hash, verify, verifySync } from '@node-rs/argon2'
import Fastify from 'fastify'
import { latchkeyPlugin } from '../src/adapters/fastify.js'
import { PasswordHasher } from '../src/login/index.js'
import { OWASP_ARGON2 } from '../src/server/config.js'
import { parseWrk } from './http.js'
import { fmt, machine, writeJson } from './lib.js'
import { makeAuth, type User, userJson, users } from './servers/common.js'

const ARGON2ID = 2 as Algorithm
const PASSWORD = 'correct horse battery staple'
const IN_FLIGHT = 16
const RESOLUTION_MS = 2

export interface LoginOptions {
  /** Seconds per measurement. Default 3. */
  seconds?: number
  log?: (line: string) => void
}

/** Timer lateness beyond the sampling interval (the histogram's values minus its resolution). */
interface Delay {
  /** The histogram's own p99 (interval between samples, resolution included). */
  rawP99Ms: number
  p50Ms: number
  p99Ms: number
  maxMs: number
  meanMs: number
}

interface StormPhase {
  name: string
  logins: number
  loginsPerSecond: number
  eventLoop: Delay
  meRps: number
  meP99Ms: number
  meErrors: number
}

/** Keeps `inFlight` calls of `task` running for `ms`; returns how many completed. */
async function keepBusy(task: () => Promise<unknown>, inFlight: number, ms: number): Promise<number> {
  const deadline = performance.now() + ms
  let done = 0
  const lane = async () => {
    while (performance.now() < deadline) {
      await task()
      done++
    }
  }
  await Promise.all(Array.from({ length: inFlight }, lane))
  return done
}

function wrkMe(port: number, seconds: number, token: string): Promise<ReturnType<typeof parseWrk>> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'wrk',
      [
        '-t1',
        '-c10',
        `-d${seconds}s`,
        '--latency',
        '-H',
        `Authorization: Bearer ${token}`,
        `http://127.0.0.1:${port}/me`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let out = ''
    child.stdout.on('data', (d) => {
      out += d
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), (seconds + 15) * 1000)
    child.on('error', reject)
    child.on('exit', () => {
      clearTimeout(timer)
      resolve(parseWrk(out))
    })
  })
}

export async function runLogin(options: LoginOptions = {}): Promise<Record<string, unknown>> {
  const seconds = Math.max(1, Math.round(options.seconds ?? 3))
  const ms = seconds * 1000
  const log = options.log ?? (() => {})
  const params = { algorithm: ARGON2ID, ...OWASP_ARGON2 }
  const stored = await hash(PASSWORD, params)

  // 1. The binding alone.
  const syncStart = performance.now()
  let syncCount = 0
  while (performance.now() - syncStart < Math.min(ms, 2000)) {
    if (!verifySync(stored, PASSWORD)) throw new Error('verifySync refused the password')
    syncCount++
  }
  const rawSync = syncCount / ((performance.now() - syncStart) / 1000)
  log(`  raw verifySync, one at a time: ${fmt(rawSync)}/s`)
  let t = performance.now()
  const rawAsyncCount = await keepBusy(() => verify(stored, PASSWORD), IN_FLIGHT, ms)
  const rawAsync = rawAsyncCount / ((performance.now() - t) / 1000)
  log(`  raw async verify, ${IN_FLIGHT} in flight: ${fmt(rawAsync)}/s`)

  // 2. Logins through the reference server's hashing path.
  const hasher = new PasswordHasher(OWASP_ARGON2)
  await hasher.warmUp()
  const auth = makeAuth()
  const user = users.get('user-1')!
  const login = async () => {
    if (!(await hasher.verify(stored, PASSWORD))) throw new Error('PasswordHasher refused the password')
    return auth.login(user)
  }
  t = performance.now()
  const loginCount = await keepBusy(login, IN_FLIGHT, ms)
  const loginsPerSecond = loginCount / ((performance.now() - t) / 1000)
  log(`  logins (PasswordHasher + auth.login), ${IN_FLIGHT} in flight: ${fmt(loginsPerSecond)}/s`)

  // 3. The storm: GET /me under wrk in this process, with and without logins hashing.
  const app = Fastify({ logger: false })
  await app.register(latchkeyPlugin, { auth })
  app.get('/me', { onRequest: app.requireAuth() }, async (request) => userJson(request.auth.user as User))
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  const token = auth.createAccessToken('user-0', { expiresIn: '1h' })
  const phases: StormPhase[] = []
  try {
    await wrkMe(port, 1, token) // warm-up
    const storms: [string, (() => Promise<unknown>) | undefined][] = [
      ['GET /me only (baseline)', undefined],
      [`GET /me + ${IN_FLIGHT} logins (PasswordHasher)`, login],
      [`GET /me + ${IN_FLIGHT} raw verify (no semaphore)`, () => verify(stored, PASSWORD)],
    ]
    for (const [name, task] of storms) {
      const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS })
      histogram.enable()
      const started = performance.now()
      const [me, logins] = await Promise.all([
        wrkMe(port, seconds, token),
        task ? keepBusy(task, IN_FLIGHT, ms) : Promise.resolve(0),
      ])
      const elapsed = (performance.now() - started) / 1000
      histogram.disable()
      // The histogram records the time between two samples; the delay is what exceeds the interval.
      const toMs = (ns: number) => Math.max(0, ns / 1e6 - RESOLUTION_MS)
      const phase: StormPhase = {
        name,
        logins,
        loginsPerSecond: logins / elapsed,
        eventLoop: {
          rawP99Ms: histogram.percentile(99) / 1e6,
          p50Ms: toMs(histogram.percentile(50)),
          p99Ms: toMs(histogram.percentile(99)),
          maxMs: toMs(histogram.max),
          meanMs: toMs(histogram.mean),
        },
        meRps: me.rps,
        meP99Ms: me.p99Ms,
        meErrors: me.errors,
      }
      phases.push(phase)
      log(
        `  ${name}: event-loop delay p99 ${phase.eventLoop.p99Ms.toFixed(2)} ms (max ${phase.eventLoop.maxMs.toFixed(1)}), GET /me ${fmt(me.rps)} req/s p99 ${me.p99Ms.toFixed(2)} ms, ${fmt(phase.loginsPerSecond)} logins/s`,
      )
    }
  } finally {
    await app.close()
  }

  return {
    machine: machine(),
    settings: {
      argon2: OWASP_ARGON2,
      seconds,
      inFlight: IN_FLIGHT,
      uvThreadpoolSize: Number(process.env.UV_THREADPOOL_SIZE) || 4,
      monitorResolutionMs: RESOLUTION_MS,
    },
    raw: { verifySyncPerSecond: rawSync, verifyAsyncPerSecond: rawAsync },
    loginsPerSecond,
    storm: phases,
  }
}

export function loginTable(data: Record<string, unknown>): string {
  const raw = data.raw as { verifySyncPerSecond: number; verifyAsyncPerSecond: number }
  const logins = data.loginsPerSecond as number
  const storm = data.storm as StormPhase[]
  const lines = [
    '| argon2id m=19456 t=2 p=1 | per second | share of the raw async rate |',
    '|---|---|---|',
    `| binding, \`verifySync\` one at a time | ${fmt(raw.verifySyncPerSecond)} | ${Math.round((raw.verifySyncPerSecond / raw.verifyAsyncPerSecond) * 100)}% |`,
    `| binding, async \`verify\`, ${IN_FLIGHT} in flight | ${fmt(raw.verifyAsyncPerSecond)} | 100% |`,
    `| logins: PasswordHasher.verify + auth.login, ${IN_FLIGHT} in flight | ${fmt(logins)} | ${Math.round((logins / raw.verifyAsyncPerSecond) * 100)}% |`,
    '',
    '| storm phase | event-loop delay p50 / p99 / max (ms) | GET /me req/s | GET /me p99 (ms) | logins/s |',
    '|---|---|---|---|---|',
    ...storm.map(
      (p) =>
        `| ${p.name} | ${p.eventLoop.p50Ms.toFixed(2)} / **${p.eventLoop.p99Ms.toFixed(2)}** / ${p.eventLoop.maxMs.toFixed(1)} | ${fmt(p.meRps)}${p.meErrors ? ` (${p.meErrors} errors)` : ''} | ${p.meP99Ms.toFixed(2)} | ${p.logins ? fmt(p.loginsPerSecond) : '–'} |`,
    ),
  ]
  return lines.join('\n')
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const data = await runLogin({ seconds: Number(process.env.SECONDS ?? 3), log: console.log })
  writeJson('bench/results/login.json', data)
  console.log(loginTable(data))
}
