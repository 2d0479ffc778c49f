/**
 * The NestJS guard answers a refusal itself and never resumes Nest's pipeline for that request (so
 * no exception filter can rewrite the 401). Nothing may keep such a request alive: after garbage
 * collection, the refused requests' objects are gone. Run in a child process with --expose-gc.
 */
import { execFileSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect, it } from 'vitest'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..')

it('requests the guard refused are collected', () => {
  const out = execFileSync(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', join(ROOT, 'test/nestjs/fixtures/refusals.ts')],
    { cwd: ROOT, encoding: 'utf8' },
  )
  const result = JSON.parse(out.trim().split('\n').at(-1)!) as {
    requests: number
    statuses: number[]
    collected: number
  }
  expect(result.statuses).toEqual([401])
  // All but a few (the last requests' objects may still be referenced by the server's sockets).
  expect(result.collected).toBeGreaterThanOrEqual(result.requests - 10)
}, 60_000)
