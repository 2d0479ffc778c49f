/**
 * The runtimes latchkey claims besides Node: Bun, Deno and workerd (Cloudflare Workers' runtime,
 * with `nodejs_compat`). Each runs the same cases (harness/cases.ts: the core's token tests and the
 * Hono and fetch adapters' conformance suite, each app on the runtime's own server), bundled with
 * vitest's `expect` and a small runner in place of vitest, which runs on none of them. Node runs
 * the same bundle first: every runtime must pass every case Node runs, and run the same cases, but
 * for the raw-socket cases, which a Worker behind a service binding has no socket for.
 *
 * The binaries come from their npm packages (test/runtimes/runtimes.ts). Locally a missing one
 * skips its tests with a warning; under CI=true it fails them.
 */
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { requireService } from '../helpers/services.js'
import type { CaseResult } from './harness/vitest.js'
import { binary, bundle, command, ROOT, type RuntimeName, runCommand } from './runtimes.js'

const MARK = 'LATCHKEY_RUNTIME_RESULTS '
const OUT = join(ROOT, 'test-output/runtimes')

interface Outcome {
  runtime: string
  results: CaseResult[]
}

async function runOn(runtime: RuntimeName): Promise<Outcome> {
  const [module] = await bundle(
    runtime,
    [join(ROOT, `test/runtimes/harness/${runtime}.ts`)],
    join(OUT, runtime),
  )
  const [file, args] = command(runtime, module!)
  const { code, stdout, stderr } = await runCommand(file, args)
  const line = stdout.split('\n').find((l) => l.startsWith(MARK))
  // The verdict is the results line. The exit code is not: Bun exits 1 after logging the error a
  // handler threw, which one case (the runtime's own 500) makes a handler do on purpose.
  if (!line)
    throw new Error(
      `${runtime} gave no results (exit ${code}):\n${stdout.slice(-2000)}\n${stderr.slice(-4000)}`,
    )
  return JSON.parse(line.slice(MARK.length)) as Outcome
}

/** Cases Node runs that a runtime does not generate, and why. */
const NOT_GENERATED: Partial<Record<RuntimeName, RegExp>> = {
  // A Worker listens on no socket the cases reach; its apps are reached through a service binding.
  workerd: /> repeated Authorization headers \(raw socket/,
}

const node = await runOn('node')

describe('node (the baseline the runtimes are compared with)', () => {
  it('runs the cases and passes them all', () => {
    expect(node.results.length).toBeGreaterThan(250)
    expect(node.results.filter((r) => !r.ok)).toEqual([])
  })
})

for (const runtime of ['bun', 'deno', 'workerd'] as const) {
  const status = await requireService(`${runtime} (from its npm package)`, async () => binary(runtime))
  const outcome = status.available ? await runOn(runtime) : undefined

  describe(outcome?.runtime ?? runtime, () => {
    it('runs the same cases as Node', () => {
      const expected = node.results.map((r) => r.name).filter((name) => !NOT_GENERATED[runtime]?.test(name))
      expect(outcome?.results.map((r) => r.name)).toEqual(expected)
      if (NOT_GENERATED[runtime]) expect(expected.length).toBeLessThan(node.results.length)
    })
    it.each(outcome?.results ?? [])('$name', ({ ok, error }) => {
      expect(error ?? null).toBeNull()
      expect(ok).toBe(true)
    })
  })
}
