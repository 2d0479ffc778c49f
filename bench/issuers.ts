/**
 * Identity-provider tokens: what verifying with a key fetched from a JWKS costs next to a configured
 * key, and next to the peers on the same tokens. RFC 9068 access tokens (RS256 and ES256; 10,000
 * users' tokens for the cold mix, one for the hot), signed by a key this process publishes at a local
 * JWKS URL (with a discovery document).
 *
 * 1. In-process, interleaved rounds: latchkey's guard (`auth.check` over a request view, what the
 *    adapters run) and `auth.verifyTokenSync`, each with the issuer's key configured and with the key
 *    fetched from the JWKS (cached: fetched once before timing). Ratio JWKS / configured.
 * 2. HTTP, Express 5, wrk (1 thread, 10 connections, 127.0.0.1), RS256 (the providers' usual
 *    algorithm): a bare route, latchkey with the JWKS key, latchkey with the configured key,
 *    express-oauth2-jwt-bearer, and passport-jwt + jwks-rsa, each in its own process, interleaved
 *    rounds. Ratios to the bare route, per round, then the median.
 *
 * `node --import tsx bench/issuers.ts` (ROUNDS, ROUND_MS, HTTP_ROUNDS, SECONDS, ONLY=inprocess|http).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { generateKeyPairSync, type KeyObject, randomUUID, sign } from 'node:crypto'
import { mkdirSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { nodeRequestView } from '../src/adapters/http.js'
import { type Auth, createAuth } from '../src/index.js'
import { oidcIssuer } from '../src/issuers.js'
import { cpuTimeUs, parseWrk, type Sample, writeColdMix } from './http.js'
import { fmt, interleaved, machine, pct, type Stat, stat, writeJson } from './lib.js'

const AUDIENCE = 'https://api.example.com'
const TOKENS = 10_000
type Alg = 'RS256' | 'ES256'

interface KeyPair {
  alg: Alg
  kid: string
  privateKey: KeyObject
  publicKey: KeyObject
}

function keyPair(alg: Alg): KeyPair {
  const pair =
    alg === 'RS256'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : generateKeyPairSync('ec', { namedCurve: 'P-256' })
  return { alg, kid: `bench-${alg.toLowerCase()}`, ...pair }
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

/** RFC 9068 access tokens of one provider, one per user. */
function tokensFor(key: KeyPair, issuer: string, count: number): string[] {
  const header = b64({ alg: key.alg, typ: 'at+jwt', kid: key.kid })
  const now = Math.floor(Date.now() / 1000)
  return Array.from({ length: count }, (_, i) => {
    const input = `${header}.${b64({
      iss: issuer,
      sub: `user-${i}`,
      aud: AUDIENCE,
      client_id: 'bench-client',
      iat: now,
      exp: now + 7200,
      jti: randomUUID(),
      scope: 'read:orders',
    })}`
    const signature =
      key.alg === 'RS256'
        ? sign('sha256', Buffer.from(input), key.privateKey)
        : sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' })
    return `${input}.${signature.toString('base64url')}`
  })
}

/** The provider's metadata and JWKS, served from this process. */
async function startJwksServer(
  keys: KeyPair[],
): Promise<{ issuer: string; jwksUri: string; server: Server }> {
  const jwks = {
    keys: keys.map((k) => ({ ...k.publicKey.export({ format: 'jwk' }), kid: k.kid, alg: k.alg, use: 'sig' })),
  }
  const server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json')
    if (req.url === '/.well-known/openid-configuration')
      res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks` }))
    else res.end(JSON.stringify(jwks))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return { issuer, jwksUri: `${issuer}/jwks`, server }
}

export interface InProcessResult {
  /** By algorithm, mix and contender. */
  results: Record<string, Record<string, Record<string, Stat>>>
}

export async function runInProcess(
  issuer: string,
  jwksUri: string,
  keys: KeyPair[],
  opts: { rounds?: number; roundMs?: number } = {},
): Promise<InProcessResult> {
  const results: InProcessResult['results'] = {}
  for (const key of keys) {
    const configured = createAuth({
      issuers: [
        {
          issuer,
          audience: AUDIENCE,
          algorithms: [key.alg],
          keys: [{ publicKey: key.publicKey, algorithm: key.alg, kid: key.kid }],
        },
      ],
    })
    const remote = oidcIssuer({ issuer, audience: AUDIENCE, jwksUri, algorithms: [key.alg] })
    await remote.keySource.ready()
    const fetched = createAuth({ issuers: [remote] })
    // Header values as Node's HTTP parser makes them: a new string from bytes each call.
    const headers = tokensFor(key, issuer, TOKENS).map((t) => Buffer.from(`Bearer ${t}`, 'latin1'))
    const tokens = headers.map((h) => h.toString('latin1').slice(7))
    const byMix: Record<string, Record<string, Stat>> = {}
    results[key.alg] = byMix
    for (const mix of ['cold', 'hot'] as const) {
      const each = (run: (header: string) => unknown): ((i: number) => unknown) => {
        let n = 0
        return mix === 'cold'
          ? () => run(headers[n++ % TOKENS]!.toString('latin1'))
          : () => run(headers[0]!.toString('latin1'))
      }
      const check = (auth: Auth) => (authorization: string) => {
        const result = auth.check(nodeRequestView({ method: 'GET', url: '/me', headers: { authorization } }))
        if (result instanceof Promise)
          throw new Error('the guard waited: the key is not on the synchronous path')
        return result
      }
      const sync = (auth: Auth) => (authorization: string) => auth.verifyTokenSync(authorization.slice(7))
      const contenders: Record<string, (i: number) => unknown> = {
        'check, configured key': each(check(configured)),
        'check, JWKS key': each(check(fetched)),
        'verifyTokenSync, configured key': each(sync(configured)),
        'verifyTokenSync, JWKS key': each(sync(fetched)),
      }
      for (const fn of Object.values(contenders)) fn(0)
      void tokens
      byMix[mix] = await interleaved(contenders, opts)
    }
  }
  return { results }
}

export function inProcessTable(data: InProcessResult): string {
  const lines = [
    '| alg | mix | contender | µs per call (median) | spread | JWKS ÷ configured (time) |',
    '|---|---|---|---|---|---|',
  ]
  for (const [alg, mixes] of Object.entries(data.results)) {
    for (const [mix, c] of Object.entries(mixes)) {
      for (const [name, s] of Object.entries(c)) {
        const base = name.replace('JWKS key', 'configured key')
        const ratio = name.endsWith('JWKS key') ? `${(c[base]!.median / s.median).toFixed(2)}×` : ''
        lines.push(`| ${alg} | ${mix} | ${name} | ${fmt(1e6 / s.median)} | ${pct(s.spread)} | ${ratio} |`)
      }
    }
  }
  return lines.join('\n')
}

const MODES = ['bare', 'latchkey-jwks', 'latchkey-keys', 'oauth2-jwt-bearer', 'passport-jwks'] as const
type Mode = (typeof MODES)[number]
const NAMES: Record<Mode, string> = {
  bare: 'bare route',
  'latchkey-jwks': 'latchkey, JWKS key',
  'latchkey-keys': 'latchkey, configured key',
  'oauth2-jwt-bearer': 'express-oauth2-jwt-bearer',
  'passport-jwks': 'passport-jwt + jwks-rsa',
}

interface Running {
  mode: Mode
  child: ChildProcess
  port: number
}

function startServer(mode: Mode, env: Record<string, string>): Promise<Running> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/servers/express-issuers.ts'], {
    env: { ...process.env, ...env, MODE: mode, NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill()
      reject(new Error(`${mode}: no port within 20 s`))
    }, 20_000)
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`${mode}: exited (${code}) before listening`))
    })
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = /^PORT (\d+)$/.exec(line)
      if (!m) return
      clearTimeout(timer)
      child.removeAllListeners('exit')
      resolve({ mode, child, port: Number(m[1]) })
    })
  })
}

function wrk(port: number, seconds: number, extra: string[]): Promise<Sample> {
  const cut = extra.includes('--') ? extra.indexOf('--') : extra.length
  const args = [
    '-t1',
    '-c10',
    `-d${seconds}s`,
    '--latency',
    '--timeout',
    '5s',
    ...extra.slice(0, cut),
    `http://127.0.0.1:${port}/me`,
    ...extra.slice(cut),
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

export interface HttpIssuersResult {
  settings: { rounds: number; seconds: number; alg: Alg }
  /** By mix and mode: requests/s, and the ratio to the bare route (per round). */
  results: Record<
    string,
    Record<string, { name: string; rps: Stat; ratio?: Stat; cpuUs: Stat; cpuRatio?: Stat; errors: number }>
  >
}

export async function runHttpIssuers(
  issuer: string,
  jwksUri: string,
  key: KeyPair,
  opts: { rounds?: number; seconds?: number; log?: (line: string) => void } = {},
): Promise<HttpIssuersResult> {
  const rounds = opts.rounds ?? 5
  const seconds = opts.seconds ?? 2
  const log = opts.log ?? (() => {})
  const dir = join(os.tmpdir(), `latchkey-bench-issuers-${process.pid}`)
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  const tokens = tokensFor(key, issuer, TOKENS)
  const { requestFile, script } = writeColdMix(dir, tokens)
  const args = { hot: ['-H', `Authorization: Bearer ${tokens[0]}`], cold: ['-s', script, '--', requestFile] }
  const env = {
    ISSUER: issuer,
    JWKS_URI: jwksUri,
    AUDIENCE,
    KID: key.kid,
    PUBLIC_KEY_PEM: key.publicKey.export({ format: 'pem', type: 'spki' }) as string,
  }
  const servers: Running[] = []
  const samples = new Map<string, Sample[]>()
  try {
    for (const mode of MODES) {
      const server = await startServer(mode, env)
      servers.push(server)
      // Sanity: a valid token passes, a forged one is refused (the bare route takes anything).
      const ok = await fetch(`http://127.0.0.1:${server.port}/me`, {
        headers: { authorization: `Bearer ${tokens[0]}` },
      })
      const body = (await ok.json()) as { sub?: string }
      if (ok.status !== 200 || (mode !== 'bare' && body.sub !== 'user-0'))
        throw new Error(`${mode}: valid token got ${ok.status} ${JSON.stringify(body)}`)
      if (mode !== 'bare') {
        const bad = await fetch(`http://127.0.0.1:${server.port}/me`, {
          headers: { authorization: `Bearer ${tokens[0]!.slice(0, -4)}AAAA` },
        })
        await bad.arrayBuffer()
        if (bad.status !== 401) throw new Error(`${mode}: forged token got ${bad.status}`)
      }
      log(`  started ${NAMES[mode]} on port ${server.port}`)
    }
    for (const server of servers)
      for (const mix of ['hot', 'cold'] as const) await wrk(server.port, 1, args[mix])
    for (let r = 0; r < rounds; r++) {
      const order = servers.map((_, i) => servers[(i + r) % servers.length]!)
      for (const mix of ['cold', 'hot'] as const) {
        for (const server of order) {
          const before = cpuTimeUs(server.child.pid)
          const sample = await wrk(server.port, seconds, args[mix])
          sample.cpuUs = (cpuTimeUs(server.child.pid) - before) / sample.requests
          const id = `${mix} ${server.mode}`
          samples.set(id, [...(samples.get(id) ?? []), sample])
          log(`  round ${r + 1}/${rounds} ${mix} ${NAMES[server.mode].padEnd(28)} ${fmt(sample.rps)} req/s`)
        }
      }
    }
  } finally {
    for (const s of servers) s.child.kill('SIGTERM')
    rmSync(dir, { recursive: true, force: true })
  }
  const results: HttpIssuersResult['results'] = {}
  for (const mix of ['cold', 'hot']) {
    results[mix] = {}
    const bare = samples.get(`${mix} bare`) ?? []
    for (const mode of MODES) {
      const list = samples.get(`${mix} ${mode}`) ?? []
      results[mix][mode] = {
        name: NAMES[mode],
        rps: stat(list.map((s) => s.rps)),
        cpuUs: stat(list.map((s) => s.cpuUs)),
        ...(mode === 'bare'
          ? {}
          : {
              ratio: stat(list.map((s, i) => s.rps / bare[i]!.rps)),
              // By the server's CPU time per request: what other processes on the machine do matters less.
              cpuRatio: stat(list.map((s, i) => bare[i]!.cpuUs / s.cpuUs)),
            }),
        errors: list.reduce((a, s) => a + s.errors, 0),
      }
    }
  }
  return { settings: { rounds, seconds, alg: key.alg }, results }
}

export function httpIssuersTable(data: HttpIssuersResult): string {
  const lines = [
    '| mix | guard | requests/s (median) | spread | ÷ bare route (median, min–max) | server CPU µs/request | ÷ bare by CPU | ratio ÷ latchkey JWKS (by CPU) |',
    '|---|---|---|---|---|---|---|---|',
  ]
  for (const [mix, modes] of Object.entries(data.results)) {
    const ours = modes['latchkey-jwks']
    for (const r of Object.values(modes)) {
      const ratio = r.ratio
        ? `${r.ratio.median.toFixed(2)} (${r.ratio.min.toFixed(2)}–${r.ratio.max.toFixed(2)})`
        : '1'
      const cpu = r.cpuRatio ? r.cpuRatio.median.toFixed(2) : '1'
      const vs =
        r.ratio && ours?.ratio && r.cpuRatio && ours.cpuRatio
          ? `${(r.ratio.median / ours.ratio.median).toFixed(2)}× (${(r.cpuRatio.median / ours.cpuRatio.median).toFixed(2)}×)`
          : ''
      lines.push(
        `| ${mix} | ${r.name} | ${fmt(r.rps.median)} | ${pct(r.rps.spread)} | ${ratio} | ${r.cpuUs.median.toFixed(1)} | ${cpu} | ${vs} |`,
      )
    }
  }
  return lines.join('\n')
}

export async function runIssuers(
  opts: {
    rounds?: number
    roundMs?: number
    httpRounds?: number
    seconds?: number
    only?: string
    log?: (l: string) => void
  } = {},
) {
  const keys = [keyPair('RS256'), keyPair('ES256')]
  const { issuer, jwksUri, server } = await startJwksServer(keys)
  try {
    const inProcess =
      opts.only === 'http'
        ? undefined
        : await runInProcess(issuer, jwksUri, keys, {
            rounds: opts.rounds ?? 15,
            roundMs: opts.roundMs ?? 80,
          })
    const http =
      opts.only === 'inprocess'
        ? undefined
        : await runHttpIssuers(issuer, jwksUri, keys[0]!, {
            rounds: opts.httpRounds ?? 5,
            seconds: opts.seconds ?? 2,
            log: opts.log ?? (() => {}),
          })
    return { machine: machine(), inProcess, http }
  } finally {
    server.close()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const data = await runIssuers({
    rounds: Number(process.env.ROUNDS ?? 15),
    roundMs: Number(process.env.ROUND_MS ?? 80),
    httpRounds: Number(process.env.HTTP_ROUNDS ?? 5),
    seconds: Number(process.env.SECONDS ?? 2),
    ...(process.env.ONLY ? { only: process.env.ONLY } : {}),
    log: (l) => console.error(l),
  })
  writeJson('bench/results/issuers.json', data)
  if (data.inProcess) console.log(`## In-process (interleaved rounds)\n\n${inProcessTable(data.inProcess)}\n`)
  if (data.http)
    console.log(`## HTTP, Express 5, ${data.http.settings.alg}\n\n${httpIssuersTable(data.http)}`)
}
