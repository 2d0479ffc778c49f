/**
 * HTTP benchmark: `GET /me` on Fastify 5, Express 5 and Hono 4 (@hono/node-server), each as one
 * server process per configuration: bare route, latchkey's guard, the framework's peer middleware,
 * and a hand-written node:crypto check (the ceiling). Load comes from wrk (1 thread, 10 connections,
 * 127.0.0.1 only), with two token mixes: hot (one token) and cold (10,000 users' tokens round-robin).
 * Rounds are interleaved: every configuration runs once per round, so drift on this shared machine
 * hits them all alike.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fmt, machine, type Stat, stat, writeJson } from './lib.js'
import { makeAuth, USERS } from './servers/common.js'

export type Framework = 'fastify' | 'express' | 'hono'
export type Variant = 'bare' | 'latchkey' | 'peer' | 'ceiling'
export type Mix = 'hot' | 'cold'

export interface HttpConfig {
  framework: Framework
  variant: Variant
  /** Display name: the framework's peer package for `peer`, else the variant. */
  name: string
  env: Record<string, string>
}

export const CONFIGS: HttpConfig[] = [
  { framework: 'fastify', variant: 'bare', name: 'bare', env: { MODE: 'bare' } },
  { framework: 'fastify', variant: 'latchkey', name: 'latchkey', env: { MODE: 'latchkey' } },
  { framework: 'fastify', variant: 'peer', name: '@fastify/jwt', env: { MODE: 'peer' } },
  { framework: 'fastify', variant: 'ceiling', name: 'node:crypto (ceiling)', env: { MODE: 'ceiling' } },
  { framework: 'express', variant: 'bare', name: 'bare', env: { MODE: 'bare' } },
  { framework: 'express', variant: 'latchkey', name: 'latchkey', env: { MODE: 'latchkey' } },
  { framework: 'express', variant: 'peer', name: 'express-jwt', env: { MODE: 'peer', PEER: 'express-jwt' } },
  {
    framework: 'express',
    variant: 'peer',
    name: 'passport-jwt',
    env: { MODE: 'peer', PEER: 'passport-jwt' },
  },
  { framework: 'express', variant: 'ceiling', name: 'node:crypto (ceiling)', env: { MODE: 'ceiling' } },
  { framework: 'hono', variant: 'bare', name: 'bare', env: { MODE: 'bare' } },
  { framework: 'hono', variant: 'latchkey', name: 'latchkey', env: { MODE: 'latchkey' } },
  { framework: 'hono', variant: 'peer', name: 'hono/jwt', env: { MODE: 'peer' } },
  { framework: 'hono', variant: 'ceiling', name: 'node:crypto (ceiling)', env: { MODE: 'ceiling' } },
]

export interface HttpOptions {
  /** Rounds per configuration and mix. Default 3. */
  rounds?: number
  /** wrk duration of one measurement, in whole seconds. Default 3. */
  seconds?: number
  /** Warm-up per configuration and mix before round 1, in whole seconds (0: none). Default 1. */
  warmupSeconds?: number
  connections?: number
  /** Only these frameworks (default: all). */
  frameworks?: Framework[]
  mixes?: Mix[]
  log?: (line: string) => void
}

export interface Sample {
  rps: number
  p99Ms: number
  requests: number
  /** Non-2xx answers plus socket errors: must be 0 for the sample to count. */
  errors: number
  /** Of those, the answers that were not 2xx (a server at fault, never a stall of the machine). */
  non2xx: number
  /**
   * The server process's CPU time (user + system, from /proc) per request, in µs: what a request
   * costs the server, whatever else the machine was doing. NaN where /proc is unavailable.
   */
  cpuUs: number
  /** The same, user-space time only: the work of the process itself (JS, OpenSSL), without the kernel's share of the sockets. */
  userUs: number
}

export interface ConfigResult {
  framework: Framework
  variant: Variant
  name: string
  rps: Stat
  p99Ms: Stat
  /** Server CPU µs per request. */
  cpuUs: Stat
  errors: number
  /** auth/bare per round (same round, same noise), then the median; undefined for bare. */
  ratio?: Stat
  /** bare/auth of the server CPU per request, per round, then the median; undefined for bare. */
  cpuRatio?: Stat
}

export interface HttpResult {
  machine: Record<string, unknown>
  settings: Record<string, unknown>
  results: Record<Mix, ConfigResult[]>
}

const key = (c: Pick<HttpConfig, 'framework' | 'name'>) => `${c.framework}/${c.name}`

export interface Server {
  config: Pick<HttpConfig, 'framework' | 'env' | 'name'>
  child: ChildProcess
  port: number
}

/**
 * The Node that runs the servers: this one, or the binary BENCH_NODE names (users are on Node 22 and
 * 24: `BENCH_NODE=test/runtimes/nodes/node_modules/node24/bin/node`, installed by
 * `npm ci --prefix test/runtimes/nodes`). wrk and the orchestrator stay on this Node.
 */
export const serverNode = process.env.BENCH_NODE || process.execPath

export function startServer(
  config: Pick<HttpConfig, 'framework' | 'env' | 'name'>,
  node: string = serverNode,
): Promise<Server> {
  const child = spawn(node, ['--import', 'tsx', `bench/servers/${config.framework}.ts`], {
    env: { ...process.env, ...config.env, NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill()
      reject(new Error(`${key(config)}: no port within 20 s`))
    }, 20_000)
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`${key(config)}: server exited (${code}) before listening`))
    })
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = /^PORT (\d+)$/.exec(line)
      if (!m) return
      clearTimeout(timer)
      child.removeAllListeners('exit')
      resolve({ config, child, port: Number(m[1]) })
    })
  })
}

export function stopServer(server: Server): Promise<void> {
  if (server.child.exitCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    const timer = setTimeout(() => server.child.kill('SIGKILL'), 3000)
    server.child.once('exit', () => {
      clearTimeout(timer)
      resolve()
    })
    server.child.kill('SIGTERM')
  })
}

/** Parses wrk's text output (with --latency). */
export function parseWrk(text: string): Sample {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1] ?? Number.NaN)
  const p99 = /\s99%\s+([\d.]+)(us|ms|s)\b/.exec(text)
  const unit = p99?.[2] === 'us' ? 0.001 : p99?.[2] === 's' ? 1000 : 1
  const p99Ms = p99 ? Number(p99[1]) * unit : Number.NaN
  const requests = Number(/(\d+) requests in/.exec(text)?.[1] ?? 0)
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(text)?.[1] ?? 0)
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text)
  const socketErrors = socket ? socket.slice(1).reduce((a, b) => a + Number(b), 0) : 0
  return {
    rps,
    p99Ms,
    requests,
    errors: non2xx + socketErrors,
    non2xx,
    cpuUs: Number.NaN,
    userUs: Number.NaN,
  }
}

const TICK_US = 1e6 / 100 // USER_HZ is 100 on Linux

/** CPU time (user + system) a process has used so far, in µs; NaN without /proc. */
export function cpuTimeUs(pid: number | undefined): number {
  const { user, system } = cpuTimes(pid)
  return user + system
}

/** User and system CPU time a process has used so far, in µs; NaN without /proc. */
export function cpuTimes(pid: number | undefined): { user: number; system: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command name (which may contain spaces): utime and stime are 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return { user: Number(fields[11]) * TICK_US, system: Number(fields[12]) * TICK_US }
  } catch {
    return { user: Number.NaN, system: Number.NaN }
  }
}

/**
 * {@link measure}, for parts whose every sample must be clean: a sample with socket errors only
 * (wrk's timeouts when this shared VM stalls for a couple of seconds) is measured once more, with a
 * line in the log; a second unclean sample, or any answer that is not 2xx, throws. `before` runs
 * before each measurement (the paired part resets the server's hook timers there).
 */
export async function measureClean(
  server: Server,
  seconds: number,
  connections: number,
  extra: string[],
  what: string,
  log: (line: string) => void,
  before: () => Promise<unknown> = async () => {},
): Promise<Sample> {
  await before()
  const sample = await measure(server, seconds, connections, extra)
  if (sample.errors === 0) return sample
  if (sample.non2xx === 0) {
    log(`  ${what}: ${sample.errors} socket errors (a stall?), measured again`)
    await before()
    const again = await measure(server, seconds, connections, extra)
    if (again.errors === 0) return again
    throw new Error(`${what}: ${sample.errors}, then ${again.errors} errors`)
  }
  throw new Error(`${what}: ${sample.non2xx} answers that were not 2xx`)
}

export async function measure(
  server: Server,
  seconds: number,
  connections: number,
  extra: string[],
): Promise<Sample> {
  const before = cpuTimes(server.child.pid)
  const sample = await wrk(server.port, seconds, connections, extra)
  const after = cpuTimes(server.child.pid)
  sample.cpuUs = (after.user + after.system - before.user - before.system) / sample.requests
  sample.userUs = (after.user - before.user) / sample.requests
  return sample
}

/** Runs wrk once; `extra` are options, then optionally `--` and the Lua script's arguments. */
function wrk(port: number, seconds: number, connections: number, extra: string[]): Promise<Sample> {
  const cut = extra.includes('--') ? extra.indexOf('--') : extra.length
  const args = [
    '-t1',
    `-c${connections}`,
    `-d${seconds}s`,
    '--latency',
    '--timeout',
    '5s',
    ...extra.slice(0, cut),
    `http://127.0.0.1:${port}/me`,
    ...extra.slice(cut), // wrk wants the script's arguments after the URL
  ]
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d) => {
      out += d
    })
    child.stderr.on('data', (d) => {
      out += d
    })
    // Bounded: wrk stops itself after -d; this is the backstop.
    const timer = setTimeout(() => child.kill('SIGKILL'), (seconds + 15) * 1000)
    child.on('error', reject)
    child.on('exit', (code) => {
      clearTimeout(timer)
      const sample = parseWrk(out)
      if (code !== 0 || !Number.isFinite(sample.rps)) reject(new Error(`wrk failed (${code}): ${out}`))
      else resolve(sample)
    })
  })
}

/** One token per line for the cold mix, and the wrk script that sends them round-robin. */
export function writeTokenFiles(
  dir: string,
  auth: { createAccessToken: (sub: string, options: { expiresIn: string }) => string } = makeAuth(),
): { hot: string; requestFile: string; script: string } {
  const tokens = Array.from({ length: USERS }, (_, i) =>
    auth.createAccessToken(`user-${i}`, { expiresIn: '2h' }),
  )
  return { hot: tokens[0]!, ...writeColdMix(dir, tokens) }
}

/** `tokens` as requests to `GET /me` (see {@link writeRequestMix}). */
export function writeColdMix(
  dir: string,
  tokens: readonly string[],
): { requestFile: string; script: string } {
  return writeRequestMix(
    dir,
    tokens.map((token) => ({ path: '/me', token })),
  )
}

/**
 * `requests` (a path and a Bearer token each) one per line in `dir`, and a wrk script that sends them
 * in that order, round-robin; the requests are formatted once, in the script's init.
 */
export function writeRequestMix(
  dir: string,
  requests: readonly { path: string; token: string }[],
): { requestFile: string; script: string } {
  const requestFile = join(dir, 'requests.txt')
  writeFileSync(requestFile, `${requests.map((r) => `${r.path} ${r.token}`).join('\n')}\n`)
  const script = join(dir, 'mix.lua')
  writeFileSync(
    script,
    [
      '-- Round-robin over the requests of the file (path and token per line), formatted once, in init.',
      'local reqs, n, i = {}, 0, 0',
      'function init(args)',
      '  for line in io.lines(args[1]) do',
      '    local path, token = line:match("^(%S+) (%S+)$")',
      '    if path then',
      '      n = n + 1',
      '      reqs[n] = wrk.format("GET", path, { ["Host"] = wrk.host, ["Authorization"] = "Bearer " .. token })',
      '    end',
      '  end',
      'end',
      'function request()',
      '  i = i % n + 1',
      '  return reqs[i]',
      'end',
      '',
    ].join('\n'),
  )
  return { requestFile, script }
}

/**
 * Before timing anything: a valid token must pass (user-0's answer), a forged one must be refused
 * (unless `verifies` is false: the bare route and the no-op hook verify nothing).
 */
export async function sanityCheck(
  server: Server,
  token: string,
  verifies = (server.config as HttpConfig).variant !== 'bare',
): Promise<void> {
  const url = `http://127.0.0.1:${server.port}/me`
  const ok = await fetch(url, { headers: { authorization: `Bearer ${token}` } })
  const body = (await ok.json()) as { id?: string }
  if (ok.status !== 200 || body.id !== 'user-0') {
    throw new Error(`${key(server.config)}: valid token got ${ok.status} ${JSON.stringify(body)}`)
  }
  if (!verifies) return
  const forged = `${token.slice(0, -4)}AAAA`
  const bad = await fetch(url, { headers: { authorization: `Bearer ${forged}` } })
  await bad.arrayBuffer()
  if (bad.status !== 401) throw new Error(`${key(server.config)}: forged token got ${bad.status}`)
}

export async function runHttp(options: HttpOptions = {}): Promise<HttpResult> {
  const rounds = options.rounds ?? 3
  const seconds = Math.max(1, Math.round(options.seconds ?? 3))
  const warmup = Math.max(0, Math.round(options.warmupSeconds ?? 1))
  const connections = options.connections ?? 10
  const mixes = options.mixes ?? ['hot', 'cold']
  const log = options.log ?? (() => {})
  const configs = CONFIGS.filter((c) => !options.frameworks || options.frameworks.includes(c.framework))
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' })
  } catch (err) {
    // wrk --version exits 1 after printing; only a missing binary is an error
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error('wrk is not installed')
  }

  const dir = join(os.tmpdir(), `latchkey-bench-${process.pid}`)
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  const files = writeTokenFiles(dir)
  const wrkArgs: Record<Mix, string[]> = {
    hot: ['-H', `Authorization: Bearer ${files.hot}`],
    cold: ['-s', files.script, '--', files.requestFile],
  }

  const servers: Server[] = []
  const cleanup = () => {
    for (const s of servers) if (s.child.exitCode === null) s.child.kill('SIGKILL')
  }
  process.once('exit', cleanup)
  const samples = new Map<string, Sample[]>()
  try {
    // One process per configuration, started one after the other and kept for every round.
    for (const config of configs) {
      const server = await startServer(config)
      servers.push(server)
      await sanityCheck(server, files.hot)
      log(`  started ${key(config)} on port ${server.port}`)
    }
    if (warmup > 0) {
      for (const mix of mixes) {
        for (const server of servers) await wrk(server.port, warmup, connections, wrkArgs[mix])
      }
      log(`  warmed up (${warmup} s per configuration and mix)`)
    }
    for (let r = 0; r < rounds; r++) {
      // Rotate the order each round, so no configuration always runs first (or right after a heavy one).
      const order = servers.map((_, i) => servers[(i + r * 3) % servers.length]!)
      for (const mix of mixes) {
        for (const server of order) {
          const sample = await measure(server, seconds, connections, wrkArgs[mix])
          const id = `${mix} ${key(server.config)}`
          if (!samples.has(id)) samples.set(id, [])
          samples.get(id)!.push(sample)
          log(
            `  round ${r + 1}/${rounds} ${mix.padEnd(4)} ${key(server.config).padEnd(32)} ${fmt(sample.rps).padStart(7)} req/s  p99 ${sample.p99Ms.toFixed(2)} ms  cpu ${sample.cpuUs.toFixed(1)} µs/req${sample.errors ? `  ERRORS ${sample.errors}` : ''}`,
          )
        }
      }
    }
  } finally {
    await Promise.all(servers.map(stopServer))
    process.removeListener('exit', cleanup)
    rmSync(dir, { recursive: true, force: true })
  }

  const results = {} as Record<Mix, ConfigResult[]>
  for (const mix of mixes) {
    results[mix] = []
    for (const config of configs) {
      const list = samples.get(`${mix} ${key(config)}`) ?? []
      const bare = samples.get(`${mix} ${config.framework}/bare`) ?? []
      const entry: ConfigResult = {
        framework: config.framework,
        variant: config.variant,
        name: config.name,
        rps: stat(list.map((s) => s.rps)),
        p99Ms: stat(list.map((s) => s.p99Ms)),
        cpuUs: stat(list.map((s) => s.cpuUs)),
        errors: list.reduce((a, s) => a + s.errors, 0),
      }
      if (config.variant !== 'bare') {
        entry.ratio = stat(list.map((s, i) => s.rps / bare[i]!.rps))
        entry.cpuRatio = stat(list.map((s, i) => bare[i]!.cpuUs / s.cpuUs))
      }
      results[mix].push(entry)
    }
  }
  return {
    machine: machine(),
    settings: { rounds, seconds, warmupSeconds: warmup, connections, threads: 1, users: USERS },
    results,
  }
}

const r2 = (n: number | undefined) => (n === undefined ? '–' : n.toFixed(2))

/** Every configuration: requests/s, spread, p99, server CPU per request, and the auth/bare ratios. */
export function httpTable(data: HttpResult): string {
  const lines = [
    '| framework | mix | configuration | req/s (median) | spread | p99 ms | server CPU µs/req | auth/bare (req/s) | auth/bare (CPU) |',
    '|---|---|---|---|---|---|---|---|---|',
  ]
  for (const [mix, list] of Object.entries(data.results)) {
    for (const c of list) {
      lines.push(
        `| ${c.framework} | ${mix} | ${c.name}${c.errors ? ` (${c.errors} errors)` : ''} | ${fmt(c.rps.median)} | ${Math.round(c.rps.spread * 100)}% | ${c.p99Ms.median.toFixed(2)} | ${c.cpuUs.median.toFixed(1)} | ${r2(c.ratio?.median)} | ${r2(c.cpuRatio?.median)} |`,
      )
    }
  }
  return lines.join('\n')
}

/**
 * Per framework and mix: latchkey's auth/bare against the peers' and the ceiling's, by requests/s
 * (what the issue's targets are written in) and by server CPU per request (steadier on a busy machine).
 */
export function httpSummary(data: HttpResult): string {
  const lines = [
    '| framework | mix | by | latchkey auth/bare | peer auth/bare | latchkey ÷ peer | ceiling auth/bare | latchkey ÷ ceiling |',
    '|---|---|---|---|---|---|---|---|',
  ]
  for (const [mix, list] of Object.entries(data.results)) {
    for (const fw of ['fastify', 'express', 'hono'] as const) {
      const of = list.filter((c) => c.framework === fw)
      for (const by of ['req/s', 'CPU'] as const) {
        const ratio = (c: ConfigResult | undefined) => (by === 'req/s' ? c?.ratio : c?.cpuRatio)?.median
        const lk = ratio(of.find((c) => c.variant === 'latchkey'))
        const ceiling = ratio(of.find((c) => c.variant === 'ceiling'))
        const peers = of.filter((c) => c.variant === 'peer')
        if (lk === undefined) continue
        lines.push(
          `| ${fw} | ${mix} | ${by} | ${r2(lk)} | ${peers.map((p) => `${r2(ratio(p))} (${p.name})`).join(', ')} | ${peers.map((p) => `${r2(lk / ratio(p)!)}×`).join(', ')} | ${r2(ceiling)} | ${ceiling ? r2(lk / ceiling) : '–'} |`,
        )
      }
    }
  }
  return lines.join('\n')
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const data = await runHttp({
    rounds: Number(process.env.ROUNDS ?? 3),
    seconds: Number(process.env.SECONDS ?? 3),
    warmupSeconds: Number(process.env.WARMUP ?? 1),
    frameworks: process.env.FRAMEWORKS?.split(',') as Framework[] | undefined,
    mixes: process.env.MIXES?.split(',') as Mix[] | undefined,
    log: console.log,
  })
  writeJson('bench/results/http.json', data)
  console.log(httpTable(data))
  console.log()
  console.log(httpSummary(data))
}
