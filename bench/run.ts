/**
 * `npm run bench`: micro, guard, HTTP, added, paired (also on Node 22 and 24), login, revocation and
 * identity-provider benchmarks in one run (about 22 minutes), then bench/results/latest.json
 * (machine, versions, settings, every result) and the tables on stdout (also written to
 * bench/results/latest.md). A partial or quick run writes bench/results/partial.* instead.
 *
 * Knobs (environment):
 * - BENCH_QUICK=1: a short run to check that everything works (about 1.5 minutes; rough numbers).
 * - BENCH_ONLY=micro,guard,http,added,paired,nodes,login,revocation,issuers: run only these parts
 *   (`nodes`: the paired part again with the servers on Node 22 and 24, the versions users run, from
 *   `npm ci --prefix test/runtimes/nodes`).
 * - BENCH_ADDED_ROUNDS, BENCH_ADDED_SECONDS: the added-cost part (bench/added.ts).
 * - BENCH_PAIRED_ROUNDS, BENCH_PAIRED_SECONDS: the hooks timed in one server, paired (bench/paired.ts).
 * - BENCH_MICRO_ROUNDS, BENCH_MICRO_MS: micro rounds and milliseconds per round.
 * - BENCH_GUARD_ROUNDS, BENCH_GUARD_MS: the same for the in-process guard comparison.
 * - BENCH_HTTP_ROUNDS, BENCH_HTTP_SECONDS, BENCH_HTTP_WARMUP: HTTP rounds, wrk seconds, warm-up seconds.
 * - BENCH_LOGIN_SECONDS: seconds per login measurement.
 * - BENCH_REVOCATION_ROUNDS, BENCH_REVOCATION_MS, BENCH_REVOCATION_ENTRIES: revocation rounds and size.
 * - BENCH_ISSUERS_ROUNDS, BENCH_ISSUERS_MS, BENCH_ISSUERS_HTTP_ROUNDS, BENCH_ISSUERS_SECONDS: identity-provider tokens.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { type AddedResult, addedTable, runAdded } from './added.js'
import { guardTable, runGuard } from './guard.js'
import { type ConfigResult, type HttpResult, httpSummary, httpTable, runHttp } from './http.js'
import { httpIssuersTable, inProcessTable, runIssuers } from './issuers.js'
import { machine, type Stat, writeJson } from './lib.js'
import { loginTable, runLogin } from './login.js'
import { microTable, runMicro } from './micro.js'
import { type PairedResult, pairedTable, runPaired } from './paired.js'

const quick = process.env.BENCH_QUICK === '1'
const only = process.env.BENCH_ONLY?.split(',').map((s) => s.trim())
const wants = (part: string) => !only || only.includes(part)
// Only a full run replaces the committed results; a partial or quick one (BENCH_ONLY, BENCH_QUICK)
// goes to bench/results/partial.* (ignored by git), so checking one part cannot overwrite them.
const resultsName = only || quick ? 'partial' : 'latest'
const num = (name: string, full: number, short: number) => Number(process.env[name] ?? (quick ? short : full))

const settings = {
  quick,
  micro: { rounds: num('BENCH_MICRO_ROUNDS', 9, 3), roundMs: num('BENCH_MICRO_MS', 80, 50) },
  guard: { rounds: num('BENCH_GUARD_ROUNDS', 31, 5), roundMs: num('BENCH_GUARD_MS', 80, 50) },
  http: {
    rounds: num('BENCH_HTTP_ROUNDS', 5, 1),
    seconds: num('BENCH_HTTP_SECONDS', 1, 1),
    warmupSeconds: num('BENCH_HTTP_WARMUP', 1, 1),
  },
  added: { rounds: num('BENCH_ADDED_ROUNDS', 9, 1), seconds: num('BENCH_ADDED_SECONDS', 2, 1) },
  paired: { rounds: num('BENCH_PAIRED_ROUNDS', 7, 1), seconds: num('BENCH_PAIRED_SECONDS', 2, 1) },
  login: { seconds: num('BENCH_LOGIN_SECONDS', 3, 1) },
  revocation: {
    rounds: num('BENCH_REVOCATION_ROUNDS', 7, 3),
    roundMs: num('BENCH_REVOCATION_MS', 200, 60),
    memoryEntries: num('BENCH_REVOCATION_ENTRIES', 1_000_000, 100_000),
  },
  issuers: {
    rounds: num('BENCH_ISSUERS_ROUNDS', 15, 3),
    roundMs: num('BENCH_ISSUERS_MS', 80, 50),
    httpRounds: num('BENCH_ISSUERS_HTTP_ROUNDS', 5, 1),
    seconds: num('BENCH_ISSUERS_SECONDS', 2, 1),
  },
}

function versions(): Record<string, string> {
  const out: Record<string, string> = { node: process.version }
  for (const name of [
    'fastify',
    'express',
    'hono',
    '@hono/node-server',
    '@fastify/jwt',
    'express-jwt',
    'passport',
    'passport-jwt',
    'express-oauth2-jwt-bearer',
    'jwks-rsa',
    'fast-jwt',
    'jose',
    'jsonwebtoken',
    '@node-rs/argon2',
    'better-sqlite3',
    'ioredis',
  ]) {
    try {
      // Read from node_modules directly: some packages (hono) do not export their package.json.
      const pkg = JSON.parse(readFileSync(join('node_modules', name, 'package.json'), 'utf8')) as {
        version: string
      }
      out[name] = pkg.version
    } catch {
      out[name] = 'not installed'
    }
  }
  out.latchkey = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version
  try {
    execFileSync('wrk', ['-v'], { encoding: 'utf8', stdio: 'pipe' })
  } catch (err) {
    // wrk -v prints its version and exits 1
    const text = `${(err as { stdout?: string }).stdout ?? ''}`
    out.wrk = text.split('\n')[0]?.trim() || 'unknown'
  }
  return out
}

type MicroResults = Record<string, Record<string, Record<string, Stat>>>
interface Target {
  target: string
  measured: string
  pass: boolean
}

/**
 * The issue's targets, checked against this run's numbers. HTTP targets pass or fail on requests/s
 * (how the issue states them); the same ratio by server CPU per request is shown beside it.
 */
function targets(results: {
  micro?: Record<string, unknown>
  guard?: Awaited<ReturnType<typeof runGuard>>
  http?: HttpResult
  added?: AddedResult
  paired?: PairedResult
  pairedNodes?: Record<string, PairedResult>
  login?: Record<string, unknown>
}): Target[] {
  const rows: Target[] = []
  const r2 = (n: number | undefined) => (n === undefined ? '–' : n.toFixed(2))
  const http = results.http?.results
  const pick = (list: ConfigResult[], variant: string) => list.find((c) => c.variant === variant)
  if (http?.cold) {
    for (const [fw, floor] of [
      ['fastify', 0.45],
      ['express', 0.7],
      ['hono', undefined],
    ] as const) {
      const of = http.cold.filter((c) => c.framework === fw)
      const lk = pick(of, 'latchkey')
      if (!lk?.ratio) continue
      if (floor !== undefined)
        rows.push({
          target: `HTTP cold ${fw}: auth/bare ≥ ${floor}`,
          measured: `${r2(lk.ratio.median)} (by CPU ${r2(lk.cpuRatio?.median)})`,
          pass: lk.ratio.median >= floor,
        })
      for (const peer of of.filter((c) => c.variant === 'peer')) {
        const x = lk.ratio.median / peer.ratio!.median
        rows.push({
          target: `HTTP cold ${fw}: ≥ 1.5× ${peer.name}'s ratio`,
          measured: `${r2(x)}× (${r2(lk.ratio.median)} vs ${r2(peer.ratio!.median)}; by CPU ${r2(lk.cpuRatio!.median / peer.cpuRatio!.median)}×)`,
          pass: x >= 1.5,
        })
      }
      // The guard's server CPU per request over bare, against the ceiling's.
      const bare = pick(of, 'bare')!.cpuUs.median
      const ceiling = pick(of, 'ceiling')
      if (ceiling) {
        const lkCost = lk.cpuUs.median - bare
        const ceilingCost = ceiling.cpuUs.median - bare
        rows.push({
          target: `HTTP cold ${fw}: guard CPU ≤ hand-written check's + 10%`,
          measured: `+${lkCost.toFixed(1)} µs vs +${ceilingCost.toFixed(1)} µs per request (${r2(lkCost / ceilingCost)}×)`,
          pass: lkCost <= ceilingCost * 1.1,
        })
      }
    }
  }
  if (results.guard) {
    for (const [mix, c] of Object.entries(results.guard.results)) {
      const ceiling = c['hand-written check (ceiling)']!.median
      // `check` is the guard the adapters run; `authenticate` (awaited) is shown alongside.
      const lk = c['latchkey check']!.median
      const awaited = c['latchkey authenticate (awaited)']?.median
      rows.push({
        target: `guard in-process, ${mix}: ≤ hand-written check + 10%`,
        measured: `${(1e6 / lk).toFixed(2)} µs vs ${(1e6 / ceiling).toFixed(2)} µs (${r2(ceiling / lk)}×${awaited ? `; authenticate awaited ${r2(ceiling / awaited)}×` : ''})`,
        pass: ceiling / lk <= 1.1,
      })
    }
  }
  if (http?.hot) {
    for (const fw of ['fastify', 'express', 'hono'] as const) {
      const of = http.hot.filter((c) => c.framework === fw)
      const lk = pick(of, 'latchkey')
      const ceiling = pick(of, 'ceiling')
      if (!lk?.ratio || !ceiling?.ratio) continue
      rows.push({
        target: `HTTP hot ${fw}: auth/bare ≥ the ceiling's`,
        measured: `${r2(lk.ratio.median)} vs ${r2(ceiling.ratio.median)} (by CPU ${r2(lk.cpuRatio?.median)} vs ${r2(ceiling.cpuRatio?.median)})`,
        pass: lk.ratio.median >= ceiling.ratio.median,
      })
    }
  }
  const micro = results.micro?.results as MicroResults | undefined
  if (micro) {
    for (const [alg, modes] of Object.entries(micro)) {
      const cold = modes.cold
      if (cold?.latchkey && cold['node:crypto (limit)']) {
        const share = cold.latchkey.median / cold['node:crypto (limit)'].median
        const floor = alg === 'HS256' ? 0.7 : 0.9
        rows.push({
          target: `micro cold ${alg}: ≥ ${floor * 100}% of the limit`,
          measured: `${Math.round(share * 100)}%`,
          pass: share >= floor,
        })
      }
      const hot = modes.hot
      if (hot?.latchkey && hot['fast-jwt (cache)']) {
        const x = hot.latchkey.median / hot['fast-jwt (cache)'].median
        rows.push({
          target: `micro hot ${alg}: ≥ fast-jwt (cache)`,
          measured: `${r2(x)}×`,
          pass: x >= 1,
        })
      }
    }
  }
  // Issue 19: what the guard adds per request over HTTP on cold tokens, against the hand-written check.
  for (const row of results.added?.rows ?? []) {
    const bound = row.alg === 'HS256' ? 0.75 : 1.0
    rows.push({
      target: `HTTP cold ${row.framework} ${row.alg}: added CPU ≤ ${bound.toFixed(2)}× the hand-written check's`,
      measured: `${r2(row.ratio.cpu.median)}× (+${row.cpu.latchkey.median.toFixed(1)} vs +${row.cpu.ceiling.median.toFixed(1)} µs; rounds ${r2(row.ratio.cpu.min)}–${r2(row.ratio.cpu.max)})`,
      pass: row.ratio.cpu.median <= bound,
    })
  }
  const paired: [string, PairedResult | undefined][] = [
    ['', results.paired],
    ...Object.entries(results.pairedNodes ?? {}).map(([major, r]): [string, PairedResult] => [
      ` on Node ${major}`,
      r,
    ]),
  ]
  for (const [where, result] of paired)
    for (const row of result?.rows ?? []) {
      const bound = row.alg === 'HS256' ? 0.75 : 1.0
      rows.push({
        target: `HTTP cold ${row.framework} ${row.alg}, hooks paired in one server${where}: ≤ ${bound.toFixed(2)}× the hand-written check`,
        measured: `${r2(row.ratio.median)}× (+${row.added.latchkey.median.toFixed(1)} vs +${row.added.ceiling.median.toFixed(1)} µs; rounds ${r2(row.ratio.min)}–${r2(row.ratio.max)})`,
        pass: row.ratio.median <= bound,
      })
    }
  const storm = (results.login?.storm as { name: string; eventLoop: { p99Ms: number } }[] | undefined)?.find(
    (p) => p.name.includes('PasswordHasher'),
  )
  if (storm) {
    rows.push({
      target: 'login storm (16 logins): event-loop delay p99 < 20 ms',
      measured: `${storm.eventLoop.p99Ms.toFixed(2)} ms`,
      pass: storm.eventLoop.p99Ms < 20,
    })
  }
  return rows
}

function targetsTable(rows: Target[]): string {
  return [
    '| target | measured | met |',
    '|---|---|---|',
    ...rows.map((r) => `| ${r.target} | ${r.measured} | ${r.pass ? 'yes' : '**no**'} |`),
  ].join('\n')
}

const started = Date.now()
/** The Node versions users run besides the machine's (test/runtimes/nodes installs them). */
const OTHER_NODES = ['22', '24'] as const
const log = (line: string) => console.error(line)
const durations: Record<string, number> = {}
const out: {
  machine: Record<string, unknown>
  versions: Record<string, string>
  settings: typeof settings
  durations: typeof durations
  micro?: Record<string, unknown>
  guard?: Awaited<ReturnType<typeof runGuard>>
  http?: HttpResult
  added?: AddedResult
  paired?: PairedResult
  /** The paired part with the servers on other Node versions, by major version. */
  pairedNodes?: Record<string, PairedResult>
  login?: Record<string, unknown>
  revocation?: Record<string, unknown>
  issuers?: Awaited<ReturnType<typeof runIssuers>>
  targets?: Target[]
  missing?: string[]
} = { machine: machine(), versions: versions(), settings, durations }

const timed = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
  log(`${name}…`)
  const t = Date.now()
  const result = await fn()
  durations[name] = (Date.now() - t) / 1000
  log(`${name}: ${durations[name]} s`)
  return result
}

if (wants('micro')) out.micro = await timed('micro', () => runMicro(settings.micro))
if (wants('guard')) out.guard = await timed('guard', () => runGuard(settings.guard))
if (wants('http')) out.http = await timed('http', () => runHttp({ ...settings.http, log }))
if (wants('added')) out.added = await timed('added', () => runAdded({ ...settings.added, log }))
if (wants('paired')) out.paired = await timed('paired', () => runPaired({ ...settings.paired, log }))
if (wants('nodes')) {
  const results: Record<string, PairedResult> = {}
  const missing: string[] = []
  for (const major of OTHER_NODES) {
    const node = join('test/runtimes/nodes/node_modules', `node${major}`, 'bin', 'node')
    if (existsSync(node))
      results[major] = await timed(`paired on Node ${major}`, () =>
        runPaired({ ...settings.paired, node, log }),
      )
    else missing.push(`paired on Node ${major} (npm ci --prefix test/runtimes/nodes)`)
  }
  out.pairedNodes = results
  if (missing.length > 0) out.missing = [...(out.missing ?? []), ...missing]
}
if (wants('login')) out.login = await timed('login', () => runLogin({ ...settings.login, log }))
if (wants('revocation')) {
  if (existsSync(new URL('./revocation.ts', import.meta.url))) {
    const { runRevocation } = await import('./revocation.js')
    out.revocation = await timed('revocation', () => runRevocation(settings.revocation))
  } else {
    out.missing = [...(out.missing ?? []), 'revocation (bench/revocation.ts not present)']
  }
}
if (wants('issuers')) out.issuers = await timed('issuers', () => runIssuers({ ...settings.issuers, log }))
out.targets = targets(out)
durations.total = (Date.now() - started) / 1000
writeJson(`bench/results/${resultsName}.json`, out)

const sections: string[] = [
  `Node ${process.version}, ${out.machine.cpus} × ${out.machine.cpu}, ${out.machine.platform}; total ${durations.total} s${quick ? ' (BENCH_QUICK: rough numbers)' : ''}`,
]
if (out.micro) sections.push('## Micro: verifications per second, one at a time', microTable(out.micro))
if (out.guard) sections.push('## The whole guard in-process vs the hand-written check', guardTable(out.guard))
if (out.http) {
  sections.push(
    `## HTTP: GET /me, wrk -t1 -c10 -d${settings.http.seconds}s --latency, ${settings.http.rounds} interleaved rounds`,
    httpTable(out.http),
    '### Ratios',
    httpSummary(out.http),
  )
}
if (out.added)
  sections.push(
    `## What the guard adds per request over HTTP, cold tokens (wrk -t1 -c10 -d${settings.added.seconds}s, ${settings.added.rounds} interleaved rounds)`,
    addedTable(out.added),
  )
if (out.paired)
  sections.push(
    `## The same, with the hooks paired request by request in one server (wrk -t1 -c10 -d${settings.paired.seconds}s, ${settings.paired.rounds} rounds)`,
    pairedTable(out.paired),
  )
for (const [major, result] of Object.entries(out.pairedNodes ?? {}))
  sections.push(
    `## The same paired part with the servers on Node ${result.settings.node ?? major}`,
    pairedTable(result),
  )
if (out.login) sections.push('## Login', loginTable(out.login))
if (out.revocation) {
  const { revocationTable } = await import('./revocation.js')
  sections.push('## Revocation', revocationTable(out.revocation))
}
if (out.issuers?.inProcess)
  sections.push(
    '## Identity-provider tokens in-process: JWKS key vs configured key',
    inProcessTable(out.issuers.inProcess),
  )
if (out.issuers?.http)
  sections.push(
    `## Identity-provider tokens over HTTP (Express 5, ${out.issuers.http.settings.alg})`,
    httpIssuersTable(out.issuers.http),
  )
sections.push('## Targets', targetsTable(out.targets))
const text = sections.join('\n\n')
writeFileSync(`bench/results/${resultsName}.md`, `${text}\n`)
console.log(text)
