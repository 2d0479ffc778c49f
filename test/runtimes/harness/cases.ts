/**
 * The cases every runtime runs: the core's token tests (test/core/tokens.test.ts) and the
 * conformance suite of the Hono and fetch adapters, each app served by the runtime's own server.
 * Bundled once per runtime by build.ts, with `vitest` resolved to ./vitest.ts.
 */
import { describe, expect, it } from 'vitest'
import { MemoryRevocationStore } from '../../../src/index.js'
import { fetchApp } from '../../conformance/fetch-app.js'
import { honoApp } from '../../conformance/hono-app.js'
import { type ConformanceOptions, type RunningApp, runConformance } from '../../conformance/suite.js'
import { type CaseResult, runAll } from './vitest.js'

// Made at module load, which on workerd is a Worker's global scope, where timers are forbidden: the
// store starts its sweep timer with its first write, inside a request.
const storeOfModuleLoad = new MemoryRevocationStore()

/** A fetch handler, as Bun.serve, Deno.serve and a Worker take it. */
export type Handler = (request: Request) => Response | Promise<Response>

/** Serves a handler on the runtime: its URL (and, for a Worker, how to reach it) and how to stop. */
export type Serve = (handler: Handler) => Promise<RunningApp>

/** The line a runner prints its results on, for test/runtimes/runtime.ts to find among the rest. */
export const RESULTS_MARK = 'LATCHKEY_RUNTIME_RESULTS '

/** Declares and runs every case; `runtime` names the runtime in the results. */
export async function runCases(
  runtime: string,
  serve: Serve,
  options: ConformanceOptions = {},
): Promise<{ runtime: string; results: CaseResult[] }> {
  // Loaded here, not at the top: its declarations make keys, which a Worker forbids in global scope.
  await import('../../core/tokens.test.js')
  describe('MemoryRevocationStore', () => {
    it('made at module load (a Worker global scope), it revokes; its timer starts with the first write', async () => {
      const ref = { jti: 'j1', sub: 'u1', family: undefined, issuedAt: 0, expiresAt: undefined }
      expect(storeOfModuleLoad.isRevoked(ref)).toBe(false)
      await storeOfModuleLoad.revokeToken('j1', Date.now() + 60_000)
      expect(storeOfModuleLoad.isRevoked(ref)).toBe(true)
      await storeOfModuleLoad.close()
    })
  })
  runConformance('hono', (auth) => serve((request) => honoApp(auth).fetch(request)), options)
  runConformance('fetch', (auth) => serve(fetchApp(auth)), options)
  return { runtime, results: await runAll() }
}
