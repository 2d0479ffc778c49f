/**
 * What a guard adds to a request, over HTTP, on cold tokens (10,000 users' tokens round-robin): for
 * each framework and algorithm, the µs per request that latchkey's guard adds over the bare route,
 * beside what a hand-written node:crypto check adds (the ceiling: HMAC + timingSafeEqual for HS256,
 * `crypto.verify` with a KeyObject made once for ES256, EdDSA and RS256; both decode and parse the
 * payload and check exp) and what a hook that only reads the header and sets a user adds (the floor).
 *
 * Added cost = cost of the configuration − cost of the bare route in the same round. Cost is measured
 * two ways: the server process's CPU time per request (from /proc: what a request costs the server,
 * much less sensitive to what else the machine does) and 1/throughput (wrk, one connection set).
 * latchkey ÷ ceiling is taken per round, then the median; the goal of issue 19 is ≤ 0.75 for HS256
 * and ≤ 1.0 for the asymmetric algorithms.
 *
 * `node --import tsx bench/added.ts` (ADDED_ROUNDS, ADDED_SECONDS, ADDED_FRAMEWORKS, ADDED_EVERYWHERE: the
 * algorithms on every framework, ADDED_ALGS: those on Fastify only).
 */
import { mkdirSync, rmSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import {
  type Framework,
  measure,
  measureClean,
  type Sample,
  type Server,
  sanityCheck,
  startServer,
  stopServer,
  writeTokenFiles,
} from './http.js'
import { envList, fmt, type Stat, stat } from './lib.js'
import { type BenchAlg, benchKeys, makeAuth, writeBenchKeys } from './servers/common.js'

type Mode = 'bare' | 'noop' | 'ceiling' | 'latchkey'

export interface AddedOptions {
  rounds?: number
  seconds?: number
  frameworks?: Framework[]
  /** Algorithms on every framework (default HS256). */
  algorithms?: BenchAlg[]
  /** Algorithms measured on Fastify only (default ES256, EdDSA, RS256). */
  fastifyOnlyAlgorithms?: BenchAlg[]
  connections?: number
  log?: (line: string) => void
}

export interface AddedRow {
  framework: Framework
  alg: BenchAlg
  /** Added µs per request (server CPU), median over rounds, and the spread of the rounds. */
  cpu: Record<Exclude<Mode, 'bare'>, Stat>
  /** Added µs per request of user-space CPU (the process's own work, without the kernel's socket work). */
  user: Record<Exclude<Mode, 'bare'>, Stat>
  /** Added µs per request from throughput (1e6/rps − bare's). */
  wall: Record<Exclude<Mode, 'bare'>, Stat>
  /** latchkey ÷ ceiling of the added cost, per round, then the median (server CPU, and throughput). */
  ratio: { cpu: Stat; user: Stat; wall: Stat }
  /** The bare route's own cost, µs per request (server CPU, median). */
  bareCpu: number
}

export interface AddedResult {
  settings: Record<string, unknown>
  rows: AddedRow[]
}

/**
 * The (framework, algorithm) pairs a run measures: `everywhere` on every framework, `fastifyOnly` on
 * Fastify only, in that order.
 */
export function benchGroups(
  frameworks: readonly Framework[],
  everywhere: readonly BenchAlg[],
  fastifyOnly: readonly BenchAlg[],
): { framework: Framework; alg: BenchAlg }[] {
  const groups: { framework: Framework; alg: BenchAlg }[] = []
  for (const framework of frameworks) {
    for (const alg of everywhere) groups.push({ framework, alg })
    if (framework === 'fastify') for (const alg of fastifyOnly) groups.push({ framework, alg })
  }
  return groups
}

export async function runAdded(options: AddedOptions = {}): Promise<AddedResult> {
  const rounds = options.rounds ?? 5
  const seconds = options.seconds ?? 2
  const connections = options.connections ?? 10
  const frameworks = options.frameworks ?? ['fastify', 'hono', 'express']
  const everywhere = options.algorithms ?? ['HS256']
  const fastifyOnly = options.fastifyOnlyAlgorithms ?? ['ES256', 'EdDSA', 'RS256']
  const log = options.log ?? (() => {})

  const dir = join(os.tmpdir(), `latchkey-added-${process.pid}`)
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  const algs = [...new Set([...everywhere, ...fastifyOnly])]
  writeBenchKeys(dir, algs)
  process.env.BENCH_KEY_DIR = dir

  // Token files per algorithm, and the wrk arguments of the cold mix.
  const cold = new Map<BenchAlg, { hot: string; args: string[] }>()
  for (const alg of algs) {
    const algDir = join(dir, alg)
    mkdirSync(algDir)
    const files = writeTokenFiles(algDir, makeAuth({ keys: benchKeys(alg) }))
    cold.set(alg, { hot: files.hot, args: ['-s', files.script, '--', files.requestFile] })
  }

  interface Cell {
    framework: Framework
    alg: BenchAlg
    mode: Mode
    server: Server
  }
  const cells: Cell[] = []
  const groups = benchGroups(frameworks, everywhere, fastifyOnly)
  const samples = new Map<Cell, Sample[]>()
  try {
    for (const { framework, alg } of groups) {
      for (const mode of ['bare', 'noop', 'ceiling', 'latchkey'] as Mode[]) {
        const server = await startServer({
          framework,
          name: `${alg} ${mode}`,
          env: { MODE: mode, ALG: alg, BENCH_KEY_DIR: dir },
        })
        const cell = { framework, alg, mode, server }
        cells.push(cell)
        samples.set(cell, [])
        await sanityCheck(server, cold.get(alg)!.hot, mode === 'ceiling' || mode === 'latchkey')
      }
    }
    log(`  ${cells.length} servers started`)
    // Warm-up: every server once, so JIT and caches settle before round 1.
    for (const cell of cells) await measure(cell.server, 1, connections, cold.get(cell.alg)!.args)
    for (let r = 0; r < rounds; r++) {
      // Groups in a rotating order; inside a group, the modes in a rotating order too.
      for (let g = 0; g < groups.length; g++) {
        const group = groups[(g + r) % groups.length]!
        const mine = cells.filter((c) => c.framework === group.framework && c.alg === group.alg)
        for (let m = 0; m < mine.length; m++) {
          const cell = mine[(m + r) % mine.length]!
          const what = `${cell.framework} ${cell.alg} ${cell.mode}`
          const sample = await measureClean(
            cell.server,
            seconds,
            connections,
            cold.get(cell.alg)!.args,
            what,
            log,
          )
          samples.get(cell)!.push(sample)
          log(
            `  round ${r + 1}/${rounds} ${cell.framework.padEnd(8)} ${cell.alg.padEnd(6)} ${cell.mode.padEnd(9)} ${fmt(sample.rps).padStart(7)} req/s  cpu ${sample.cpuUs.toFixed(1)} µs/req  user ${sample.userUs.toFixed(1)}`,
          )
        }
      }
    }
  } finally {
    await Promise.all(cells.map((c) => stopServer(c.server)))
    rmSync(dir, { recursive: true, force: true })
  }

  const rows: AddedRow[] = []
  for (const { framework, alg } of groups) {
    const of = (mode: Mode) =>
      samples.get(cells.find((c) => c.framework === framework && c.alg === alg && c.mode === mode)!)!
    const bare = of('bare')
    const added = (mode: Mode, by: (s: Sample) => number) => of(mode).map((s, i) => by(s) - by(bare[i]!))
    const cpuOf = (s: Sample) => s.cpuUs
    const wallOf = (s: Sample) => 1e6 / s.rps
    const modes = ['noop', 'ceiling', 'latchkey'] as const
    const cpu = Object.fromEntries(modes.map((m) => [m, stat(added(m, cpuOf))])) as AddedRow['cpu']
    const wall = Object.fromEntries(modes.map((m) => [m, stat(added(m, wallOf))])) as AddedRow['wall']
    const userOf = (s: Sample) => s.userUs
    const user = Object.fromEntries(modes.map((m) => [m, stat(added(m, userOf))])) as AddedRow['user']
    const ratioOf = (by: (s: Sample) => number) => {
      const l = added('latchkey', by)
      const c = added('ceiling', by)
      return stat(l.map((v, i) => v / c[i]!))
    }
    rows.push({
      framework,
      alg,
      cpu,
      user,
      wall,
      ratio: { cpu: ratioOf(cpuOf), user: ratioOf(userOf), wall: ratioOf(wallOf) },
      bareCpu: stat(bare.map(cpuOf)).median,
    })
  }
  return { settings: { rounds, seconds, connections, frameworks, everywhere, fastifyOnly }, rows }
}

export function addedTable(result: AddedResult): string {
  const us = (s: Stat) => `${s.median.toFixed(1)} (±${Math.round(s.spread * 100)}%)`
  const lines = [
    '| framework | alg | bare, CPU µs | added µs (CPU): no-op hook | hand-written check | latchkey | latchkey ÷ hand-written (CPU) | (user CPU) | (throughput) |',
    '|---|---|---|---|---|---|---|---|---|',
  ]
  for (const r of result.rows) {
    lines.push(
      `| ${r.framework} | ${r.alg} | ${r.bareCpu.toFixed(1)} | ${us(r.cpu.noop)} | ${us(r.cpu.ceiling)} | ${us(r.cpu.latchkey)} | **${r.ratio.cpu.median.toFixed(2)}×** (${r.ratio.cpu.min.toFixed(2)}–${r.ratio.cpu.max.toFixed(2)}) | ${r.ratio.user.median.toFixed(2)}× (${us(r.user.latchkey)} vs ${us(r.user.ceiling)}) | ${r.ratio.wall.median.toFixed(2)}× (${r.ratio.wall.min.toFixed(2)}–${r.ratio.wall.max.toFixed(2)}) |`,
    )
  }
  return lines.join('\n')
}

/**
 * A run's settings from `<PREFIX>_ROUNDS`, `_SECONDS`, `_FRAMEWORKS`, `_ALGS` (on Fastify only) and
 * `_EVERYWHERE` (on every framework), for running the added or paired part alone.
 */
export function runOptionsFromEnv(
  prefix: string,
  defaultRounds: number,
): Pick<AddedOptions, 'rounds' | 'seconds' | 'frameworks' | 'algorithms' | 'fastifyOnlyAlgorithms' | 'log'> {
  const frameworks = envList<Framework>(`${prefix}_FRAMEWORKS`)
  const fastifyOnly = envList<BenchAlg>(`${prefix}_ALGS`)
  const everywhere = envList<BenchAlg>(`${prefix}_EVERYWHERE`)
  return {
    rounds: Number(process.env[`${prefix}_ROUNDS`] ?? defaultRounds),
    seconds: Number(process.env[`${prefix}_SECONDS`] ?? 2),
    ...(frameworks ? { frameworks } : {}),
    ...(fastifyOnly ? { fastifyOnlyAlgorithms: fastifyOnly } : {}),
    ...(everywhere ? { algorithms: everywhere } : {}),
    log: (line) => console.error(line),
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(addedTable(await runAdded(runOptionsFromEnv('ADDED', 5))))
}
