/**
 * Helpers of the server tests: temporary SQLite folders, throw-away PostgreSQL schemas and Redis
 * prefixes, so test runs never see each other's data.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { Redis } from 'ioredis'
import pg from 'pg'
import { runCli } from '../../src/cli/index.js'
import { DatabaseRevocationStore } from '../../src/server/db/revocations.js'
import type { TestServer } from './harness.js'

/** A temporary folder, removed by the returned function. */
export function tempDir(prefix = 'latchkey-server-'): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

/** A short random suffix for schema names and key prefixes. */
export function uniqueSuffix(): string {
  return `${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`
}

/**
 * Creates a PostgreSQL schema for one test run and returns a URL whose search_path selects it
 * (libpq's `options` parameter, which pg passes to the server), and a function that drops it.
 */
export async function createPgSchema(
  baseUrl: string,
): Promise<{ url: string; schema: string; drop: () => Promise<void> }> {
  const schema = `latchkey_test_${uniqueSuffix()}`
  const client = new pg.Client({ connectionString: baseUrl })
  await client.connect()
  try {
    await client.query(`CREATE SCHEMA "${schema}"`)
  } finally {
    await client.end()
  }
  const url = new URL(baseUrl)
  url.searchParams.set('options', `-c search_path=${schema}`)
  return {
    url: url.toString(),
    schema,
    async drop() {
      const c = new pg.Client({ connectionString: baseUrl })
      await c.connect()
      try {
        await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
      } finally {
        await c.end()
      }
    },
  }
}

/** Calls `each` with every batch of Redis keys under a prefix. */
async function scanPrefix(
  url: string,
  prefix: string,
  each: (redis: Redis, keys: string[]) => Promise<unknown>,
) {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 })
  try {
    await redis.connect()
    let cursor = '0'
    do {
      const [next, keys] = await redis.scan(
        cursor,
        'MATCH',
        `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`,
        'COUNT',
        500,
      )
      cursor = next
      if (keys.length > 0) await each(redis, keys)
    } while (cursor !== '0')
  } finally {
    redis.disconnect()
  }
}

/** Deletes every Redis key under a test prefix. */
export async function deleteRedisPrefix(url: string, prefix: string): Promise<void> {
  await scanPrefix(url, prefix, (redis, keys) => redis.del(...keys))
}

/** Counts the Redis keys under a prefix. */
export async function countRedisKeys(url: string, prefix: string): Promise<number> {
  let n = 0
  await scanPrefix(url, prefix, async (_redis, keys) => {
    n += keys.length
  })
  return n
}

/** Rows in the database revocation tables of a running server (which must use them). */
export async function countDatabaseRevocations(server: TestServer): Promise<number> {
  const { store, database } = server.app.latchkey
  if (!(store instanceof DatabaseRevocationStore))
    throw new Error('the server does not use the database store')
  const { db } = database
  let n = 0
  for (const table of [
    'revoked_tokens',
    'revoked_families',
    'identity_cutoffs',
    'used_refresh_tokens',
  ] as const) {
    const row = await db
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow()
    n += Number(row.n)
  }
  return n
}

/** What one in-process run of the CLI did. */
export interface CliRun {
  code: number
  out: string
  err: string
}

/** Runs one `latchkey` command line in process, with `stdin` as its input and its output captured. */
export async function runCliCaptured(
  args: string[],
  options: { cwd: string; env?: Record<string, string>; stdin?: string },
): Promise<CliRun> {
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  let out = ''
  let err = ''
  stdout.on('data', (d) => {
    out += d
  })
  stderr.on('data', (d) => {
    err += d
  })
  const stdin = new PassThrough()
  stdin.end(options.stdin ?? '')
  const code = await runCli(args, { stdout, stderr, stdin, env: { ...options.env }, cwd: options.cwd })
  return { code, out, err }
}
