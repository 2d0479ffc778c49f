/**
 * The guard's cost inside a busy server, paired request by request: one server per framework and
 * algorithm (MODE=paired) with a route per hook (`/noop`, `/ceiling`, `/latchkey`), and wrk sending
 * the three routes in turn, each with cold tokens of its own (10,000 users' tokens round-robin; the
 * latchkey route gets tokens no other route sees, so its verified-token cache meets each token once
 * per lap, as in the added part). Each hook is timed in the server from its call until it lets the
 * request go on. Added cost = a hook's time − the time of a hook that does nothing (`/bare`: the
 * timer's own cost), as the added part counts cost over the bare route; the no-op hook (read the
 * header, set a user) is shown as the floor of any check.
 *
 * Why beside bench/added.ts: there, each configuration runs in its own server, seconds apart, and
 * the machine's speed changes in between (on this shared 2-core VM, the same RSA verification costs
 * a quarter more in one sample than in the next). Here the three hooks alternate request by request
 * in one process, so a slow moment slows them alike. What this leaves out: work a hook causes after
 * it returns (collecting its garbage, which here lands on whichever request triggers it, so it is
 * shared among the three routes; the added part counts it).
 *
 * `node --import tsx bench/paired.ts` (PAIRED_ROUNDS, PAIRED_SECONDS, PAIRED_FRAMEWORKS, PAIRED_ALGS).
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, rmSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import { benchGroups, runOptionsFromEnv } from './added.js'
import {
  type Framework,
  measure,
  measureClean,
  serverNode,
  startServer,
  stopServer,
  writeRequestMix,
} from './http.js'
import { type Stat, stat } from './lib.js'
import {
  type BenchAlg,
  benchKeys,
  makeAuth,
  PAIRED_KINDS,
  type PairedKind,
  USERS,
  writeBenchKeys,
} from './servers/common.js'

export interface PairedOptions {
  rounds?: number
  seconds?: number
  frameworks?: Framework[]
  /** Algorithms measured on every framework (default HS256). */
  algorithms?: BenchAlg[]
  /** Algorithms measured on Fastify only (default ES256, EdDSA, RS256). */
  fastifyOnlyAlgorithms?: BenchAlg[]
  connections?: number
  /** The Node binary of the servers (default: BENCH_NODE, else this one). */
  node?: string
  log?: (line: string) => void
}

export interface PairedRow {
  framework: Framework
  alg: BenchAlg
  /** µs per request inside each hook, median over rounds. */
  hook: Record<PairedKind, Stat>
  /** Added µs per request over the hook that does nothing (the timer's own cost). */
  added: { noop: Stat; ceiling: Stat; latchkey: Stat }
  /** latchkey ÷ hand-written of the added µs, per round, then the median. */
  ratio: Stat
}

export interface PairedResult {
  settings: Record<string, unknown>
  rows: PairedRow[]
}

/**
 * The requests of a run: the routes in turn, each with a round-robin of its own tokens (the bare and
 * no-op hooks verify nothing: they get the hand-written check's tokens, same size, same header).
 *
 * The latchkey route's user is half a lap away from the hand-written check's (user i + 5,000 beside
 * user i). Side by side with the same user, whichever check came second found that user's Map entry
 * and the interned `sub` string warm in the cache, left there by the first: a profile of the Fastify
 * server showed the hand-written check spending three times as long in `users.get` and in JSON.parse's
 * string interning as latchkey, which always came second (and latchkey's ratio read about 0.05 lower
 * than it was). Half a lap apart, both meet the data as cold as each other. Which of the two comes
 * first also alternates, lap by lap: with users apart, the place in the mix still moved the ratio by
 * a few hundredths.
 */
function pairedRequests(
  ceilingTokens: readonly string[],
  latchkeyTokens: readonly string[],
): { path: string; token: string }[] {
  const offset = latchkeyTokens.length >> 1
  return ceilingTokens.flatMap((token, i) => {
    const ceiling = { path: '/ceiling', token }
    const latchkey = { path: '/latchkey', token: latchkeyTokens[(i + offset) % latchkeyTokens.length]! }
    return [
      { path: '/bare', token },
      { path: '/noop', token },
      ...(i % 2 ? [latchkey, ceiling] : [ceiling, latchkey]),
    ]
  })
}

async function getJson(
  port: number,
  path: string,
  token?: string,
): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  })
  return { status: res.status, body: await res.json() }
}

export async function runPaired(options: PairedOptions = {}): Promise<PairedResult> {
  const rounds = options.rounds ?? 7
  const seconds = options.seconds ?? 2
  const connections = options.connections ?? 10
  const frameworks = options.frameworks ?? ['fastify', 'hono', 'express']
  const everywhere = options.algorithms ?? ['HS256']
  const fastifyOnly = options.fastifyOnlyAlgorithms ?? ['ES256', 'EdDSA', 'RS256']
  const log = options.log ?? (() => {})
  const node = options.node ?? serverNode
  const nodeVersion = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim()

  const dir = join(os.tmpdir(), `latchkey-paired-${process.pid}`)
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  const algs = [...new Set([...everywhere, ...fastifyOnly])]
  writeBenchKeys(dir, algs)
  process.env.BENCH_KEY_DIR = dir

  const wrkArgs = new Map<BenchAlg, { args: string[]; token: string }>()
  for (const alg of algs) {
    const auth = makeAuth({ keys: benchKeys(alg) })
    const tokens = () =>
      Array.from({ length: USERS }, (_, i) => auth.createAccessToken(`user-${i}`, { expiresIn: '2h' }))
    const ceilingTokens = tokens()
    const algDir = join(dir, alg)
    mkdirSync(algDir)
    const { requestFile, script } = writeRequestMix(algDir, pairedRequests(ceilingTokens, tokens()))
    wrkArgs.set(alg, { args: ['-s', script, '--', requestFile], token: ceilingTokens[0]! })
  }

  const groups = benchGroups(frameworks, everywhere, fastifyOnly)
  const rows: PairedRow[] = []
  try {
    for (const { framework, alg } of groups) {
      const server = await startServer(
        { framework, name: `${alg} paired`, env: { MODE: 'paired', ALG: alg, BENCH_KEY_DIR: dir } },
        node,
      )
      try {
        const { args, token } = wrkArgs.get(alg)!
        // Before timing: each verifying route lets a valid token through and refuses a forged one.
        const forged = `${token.slice(0, -4)}${token.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`
        for (const kind of ['ceiling', 'latchkey'] as const) {
          if ((await getJson(server.port, `/${kind}`, token)).status !== 200)
            throw new Error(`${framework} ${alg} /${kind}: a valid token was refused`)
          if ((await getJson(server.port, `/${kind}`, forged)).status !== 401)
            throw new Error(`${framework} ${alg} /${kind}: a forged token was let through`)
        }
        await measure(server, 1, connections, args) // warm-up
        const samples: Record<PairedKind, number[]> = { bare: [], noop: [], ceiling: [], latchkey: [] }
        for (let r = 0; r < rounds; r++) {
          // `/stats` resets the hook timers before each measurement.
          await measureClean(server, seconds, connections, args, `${framework} ${alg}`, log, () =>
            getJson(server.port, '/stats'),
          )
          const hooks = (await getJson(server.port, '/stats')).body as Record<PairedKind, { us: number }>
          for (const kind of PAIRED_KINDS) samples[kind].push(hooks[kind].us)
          log(
            `  round ${r + 1}/${rounds} ${framework.padEnd(8)} ${alg.padEnd(6)} hook µs: ${PAIRED_KINDS.map((k) => `${k} ${hooks[k].us.toFixed(2)}`).join(', ')}`,
          )
        }
        const added = (kind: PairedKind) => samples[kind].map((v, i) => v - samples.bare[i]!)
        const ceiling = added('ceiling')
        const latchkey = added('latchkey')
        rows.push({
          framework,
          alg,
          hook: {
            bare: stat(samples.bare),
            noop: stat(samples.noop),
            ceiling: stat(samples.ceiling),
            latchkey: stat(samples.latchkey),
          },
          added: { noop: stat(added('noop')), ceiling: stat(ceiling), latchkey: stat(latchkey) },
          ratio: stat(latchkey.map((v, i) => v / ceiling[i]!)),
        })
      } finally {
        await stopServer(server)
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  return {
    settings: { rounds, seconds, connections, frameworks, everywhere, fastifyOnly, node: nodeVersion },
    rows,
  }
}

export function pairedTable(result: PairedResult): string {
  const us = (s: Stat) => `${s.median.toFixed(2)} (±${Math.round(s.spread * 100)}%)`
  const lines = [
    '| framework | alg | added µs per request: no-op hook | hand-written check | latchkey | latchkey ÷ hand-written (median, range) |',
    '|---|---|---|---|---|---|',
  ]
  for (const r of result.rows) {
    lines.push(
      `| ${r.framework} | ${r.alg} | ${us(r.added.noop)} | ${us(r.added.ceiling)} | ${us(r.added.latchkey)} | **${r.ratio.median.toFixed(2)}×** (${r.ratio.min.toFixed(2)}–${r.ratio.max.toFixed(2)}) |`,
    )
  }
  return lines.join('\n')
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(pairedTable(await runPaired(runOptionsFromEnv('PAIRED', 7))))
}
