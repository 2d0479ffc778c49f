/**
 * The guard's cost on Node, Bun and Deno, each against its own hand-written node:crypto check:
 * `node --import tsx bench/runtimes.ts` (about 4 minutes on a quiet machine), then bench/results/runtimes.json and a
 * table on stdout.
 *
 * bench/guard.ts (the in-process guard comparison: latchkey's `auth.check` and `authenticate`, and
 * the hand-written HMAC check, cold over 10,000 users' tokens and hot on one) is bundled once
 * (esbuild) and run by each runtime in turn. A process runs every contender in interleaved rounds
 * and reports each round; the runtimes then take turns, process after process, so that the load
 * other processes put on this shared machine falls on all three alike. Reported: per runtime, over
 * every round of every turn, the median µs per request of each contender and the median of its
 * ratio to the runtime's own hand-written check in the same round (measured in the same process,
 * one round apart), with the quartiles of that ratio.
 *
 * workerd is not measured: a Worker's clocks stand still while it computes (a defence against
 * timing attacks), so it cannot time itself.
 *
 * Knobs (environment): RUNTIME_TURNS (default 7), BENCH_GUARD_ROUNDS (7 per turn), BENCH_GUARD_MS (80).
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { bundle, command, ROOT, type RuntimeName, runCommand } from '../test/runtimes/runtimes.js'
import { fmt, machine, type Stat, stat, writeJson } from './lib.js'

const MARK = 'LATCHKEY_BENCH '
const RUNTIMES: RuntimeName[] = ['node', 'bun', 'deno']
const turns = Number(process.env.RUNTIME_TURNS ?? 7)
const rounds = Number(process.env.BENCH_GUARD_ROUNDS ?? 7)
const roundMs = Number(process.env.BENCH_GUARD_MS ?? 80)

/** What one process reports: per mix, per contender, the stats of its interleaved rounds. */
type GuardResults = Record<string, Record<string, Stat>>

const ENTRY = `/** Bundled by bench/runtimes.ts: bench/guard.ts's comparison, its results on one line. */
import { runGuard } from './guard.ts'
const runtime = typeof Bun !== 'undefined' ? 'bun ' + Bun.version : typeof Deno !== 'undefined' ? 'deno ' + Deno.version.deno : 'node ' + process.version
const data = await runGuard({ rounds: ${rounds}, roundMs: ${roundMs} })
console.log(${JSON.stringify(MARK)} + JSON.stringify({ runtime, results: data.results }))
`

async function main(): Promise<void> {
  const out = join(ROOT, 'test-output/bench-runtimes')
  // The entry sits beside guard.ts so its imports resolve as bench/guard.ts's do.
  const entry = join(ROOT, 'bench/.runtimes-entry.ts')
  writeFileSync(entry, ENTRY)
  const modules: Partial<Record<RuntimeName, string>> = {}
  try {
    for (const runtime of RUNTIMES) {
      // Started from a second file: bench/guard.ts runs its own main when it is the started script.
      const [bundled] = await bundle(runtime, [entry], join(out, runtime))
      const main = join(out, runtime, 'main.mjs')
      writeFileSync(main, `import './${bundled!.split('/').at(-1)}'\n`)
      modules[runtime] = main
    }
  } finally {
    const { rmSync } = await import('node:fs')
    rmSync(entry, { force: true })
  }

  const names: Partial<Record<RuntimeName, string>> = {}
  type Slot = { us: number[]; ratio: number[] }
  const samples: Record<string, Record<string, Record<string, Slot>>> = {}
  const slotOf = (runtime: string, mix: string, contender: string): Slot => {
    samples[runtime] ??= {}
    const byMix = samples[runtime]
    byMix[mix] ??= {}
    const byContender = byMix[mix]
    byContender[contender] ??= { us: [], ratio: [] }
    return byContender[contender]
  }
  for (let turn = 0; turn < turns; turn++) {
    // Rotate the order too, so no runtime always follows the same one.
    const order = RUNTIMES.map((_, i) => RUNTIMES[(i + turn) % RUNTIMES.length]!)
    for (const runtime of order) {
      const [file, args] = command(runtime, modules[runtime]!)
      const { stdout, stderr, code } = await runCommand(file, args, { timeoutMs: 600_000 })
      const line = stdout.split('\n').find((l) => l.startsWith(MARK))
      if (!line) throw new Error(`${runtime} gave no results (exit ${code}): ${stderr.slice(-2000)}`)
      const { runtime: name, results } = JSON.parse(line.slice(MARK.length)) as {
        runtime: string
        results: GuardResults
      }
      names[runtime] = name
      for (const [mix, contenders] of Object.entries(results)) {
        const ceiling = contenders['hand-written check (ceiling)']!.samples
        for (const [contender, s] of Object.entries(contenders)) {
          const slot = slotOf(runtime, mix, contender)
          // Per round, against the ceiling's round right beside it: load that comes and goes
          // between rounds then falls on both sides of the ratio.
          s.samples.forEach((opsPerSecond, round) => {
            slot.us.push(1e6 / opsPerSecond)
            slot.ratio.push(ceiling[round]! / opsPerSecond)
          })
        }
      }
      process.stderr.write(`turn ${turn + 1}/${turns}: ${name} done\n`)
    }
  }

  const summary: Record<string, Record<string, Record<string, { us: Stat; ratio: Stat }>>> = {}
  const lines = [
    '| runtime | mix | contender | µs per request (median) | cost ÷ own hand-written check (median) | quartiles of the ratio |',
    '|---|---|---|---|---|---|',
  ]
  const quantile = (values: number[], q: number) => {
    const sorted = [...values].sort((a, b) => a - b)
    return sorted[Math.min(sorted.length - 1, Math.round(q * (sorted.length - 1)))]!
  }
  for (const runtime of RUNTIMES) {
    for (const [mix, contenders] of Object.entries(samples[runtime] ?? {})) {
      for (const [contender, { us, ratio }] of Object.entries(contenders)) {
        const u = stat(us)
        const r = stat(ratio)
        summary[names[runtime]!] ??= {}
        const byMix = summary[names[runtime]!]!
        byMix[mix] ??= {}
        byMix[mix][contender] = { us: u, ratio: r }
        lines.push(
          `| ${names[runtime]} | ${mix} | ${contender} | ${fmt(u.median)} | ${r.median.toFixed(2)}× | ${quantile(ratio, 0.25).toFixed(2)}–${quantile(ratio, 0.75).toFixed(2)}× |`,
        )
      }
    }
  }
  writeJson(join(ROOT, 'bench/results/runtimes.json'), {
    machine: machine(),
    settings: { turns, rounds, roundMs },
    summary,
  })
  console.log(lines.join('\n'))
}

await main()
