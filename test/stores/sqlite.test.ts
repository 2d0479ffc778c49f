import { type ChildProcess, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import { afterAll, describe, expect, it } from 'vitest'
import { SqliteRevocationStore } from '../../src/stores/sqlite.js'
import type { ConsumeResult } from '../../src/stores/store.js'
import { expectOneFirstUse, testRevocationStore } from '../../src/stores/testing.js'

const dir = mkdtempSync(join(tmpdir(), 'latchkey-sqlite-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

// Every store made here is a separate connection to one file, as separate processes would have.
const sharedFile = join(dir, 'shared.db')
testRevocationStore(
  'sqlite (file, separate connections)',
  ({ now }) => new SqliteRevocationStore(sharedFile, { now }),
  { connections: 4, controllableClock: true },
)
testRevocationStore(
  'sqlite (in-memory database)',
  ({ now }) => new SqliteRevocationStore(':memory:', { now }),
  {
    connections: 1,
    controllableClock: true,
  },
)

function token(jti: string, sub = 'user') {
  return { jti, sub, family: undefined, issuedAt: 0, expiresAt: undefined }
}

function rowCount(db: Database.Database, table: string): number {
  return db.prepare<[], number>(`SELECT count(*) FROM "${table}"`).pluck().get()!
}

describe('SqliteRevocationStore', () => {
  it('deletes expired rows, on demand and every few hundred writes', async () => {
    let now = 1_000_000
    const store = new SqliteRevocationStore(':memory:', { clock: () => now, cleanupIntervalMs: 0 })
    const db = store.database
    for (let i = 0; i < 100; i++) {
      await store.revokeToken(`t${i}`, now + 1_000)
      await store.revokeFamily(`f${i}`, now + 1_000)
      await store.revokeIdentity(`s${i}`, now, now + 1_000)
      await store.consumeRefreshToken(`r${i}`, now + 1_000)
    }
    await store.revokeToken('long-lived', now + 60_000)
    expect(rowCount(db, 'latchkey_revoked_tokens')).toBe(101)

    now += 1_000
    expect(await store.purgeExpired()).toBe(400)
    expect(rowCount(db, 'latchkey_revoked_tokens')).toBe(1)
    expect(rowCount(db, 'latchkey_revoked_families')).toBe(0)
    expect(rowCount(db, 'latchkey_identity_cutoffs')).toBe(0)
    expect(rowCount(db, 'latchkey_used_refresh_tokens')).toBe(0)
    expect(await store.isRevoked(token('long-lived'))).toBe(true)

    // Without calling purgeExpired: writes alone keep the table from growing with dead rows.
    for (let i = 0; i < 100; i++) await store.revokeToken(`old${i}`, now + 1_000)
    now += 1_000
    for (let i = 0; i < 300; i++) await store.consumeRefreshToken(`new${i}`, now + 60_000)
    expect(rowCount(db, 'latchkey_revoked_tokens')).toBe(1)
    await store.close()
  })

  it('deletes expired rows on its idle timer', async () => {
    let now = 1_000_000
    const store = new SqliteRevocationStore(':memory:', { now: () => now, cleanupIntervalMs: 20 })
    for (let i = 0; i < 50; i++) await store.revokeToken(`t${i}`, now + 1_000)
    now += 1_000
    await new Promise((resolve) => setTimeout(resolve, 80))
    expect(rowCount(store.database, 'latchkey_revoked_tokens')).toBe(0)
    await store.close()
  })

  it('opens files in WAL mode and closes only the databases it opened', async () => {
    const owned = new SqliteRevocationStore(join(dir, 'wal.db'))
    expect(owned.database.pragma('journal_mode', { simple: true })).toBe('wal')
    await owned.close()
    expect(owned.database.open).toBe(false)

    const db = new Database(':memory:')
    const borrowed = new SqliteRevocationStore(db)
    await borrowed.close()
    expect(db.open).toBe(true)
    db.close()
  })

  it('keeps stores with different table prefixes apart, and refuses unsafe prefixes', async () => {
    const db = new Database(':memory:')
    const a = new SqliteRevocationStore(db, { tablePrefix: 'a_' })
    const b = new SqliteRevocationStore(db, { tablePrefix: 'b_' })
    await a.revokeToken('shared', Date.now() + 60_000)
    expect(await a.isRevoked(token('shared'))).toBe(true)
    expect(await b.isRevoked(token('shared'))).toBe(false)
    expect(
      () => new SqliteRevocationStore(db, { tablePrefix: 'x"; DROP TABLE a_revoked_tokens; --' }),
    ).toThrow(TypeError)
    expect(() => new SqliteRevocationStore(db, { tablePrefix: '' })).toThrow(TypeError)
    db.close()
  })

  it('returns numbers even on a connection that defaults to BigInt', async () => {
    const db = new Database(':memory:')
    db.defaultSafeIntegers(true)
    const store = new SqliteRevocationStore(db)
    await store.consumeRefreshToken('r', Date.now() + 60_000)
    const second = await store.consumeRefreshToken('r', Date.now() + 60_000)
    expect(second.firstUse === false && typeof second.usedAt).toBe('number')
    await store.revokeToken('t', Date.now() + 60_000)
    expect(await store.isRevoked(token('t'))).toBe(true)
    db.close()
  })

  it('gives first use to exactly one consumer across five processes sharing the file', async () => {
    const file = join(dir, 'processes.db')
    // Create the tables once up front so the children only race on consumption.
    await new SqliteRevocationStore(file).close()
    const script = join(dir, 'consumer.mts')
    const storeModule = new URL('../../src/stores/sqlite.ts', import.meta.url).href
    writeFileSync(
      script,
      `import { SqliteRevocationStore } from ${JSON.stringify(storeModule)}
const [file, perJti, ...jtis] = process.argv.slice(2)
// Two connections per process; calls alternate between them.
const stores = [new SqliteRevocationStore(file), new SqliteRevocationStore(file)]
process.stdout.write('ready\\n')
process.stdin.once('data', async () => {
  const results = {}
  for (const jti of jtis) {
    results[jti] = []
    for (let i = 0; i < Number(perJti); i++) {
      results[jti].push(await stores[i % 2].consumeRefreshToken(jti, Date.now() + 60_000))
    }
  }
  process.stdout.write(JSON.stringify(results) + '\\n')
  for (const store of stores) await store.close()
  process.exit(0)
})
`,
    )
    const jtis = Array.from({ length: 5 }, () => `refresh-${randomUUID()}`)
    const cwd = fileURLToPath(new URL('../..', import.meta.url))
    const children = Array.from({ length: 5 }, () =>
      spawn(process.execPath, ['--import', 'tsx', script, file, '10', ...jtis], {
        cwd,
        stdio: ['pipe', 'pipe', 'inherit'],
      }),
    )
    try {
      await Promise.all(children.map((child) => readLine(child)))
      const before = Date.now()
      for (const child of children) child.stdin!.write('go\n')
      const outputs = await Promise.all(children.map((child) => readLine(child)))
      const after = Date.now()
      const perChild = outputs.map((line) => JSON.parse(line) as Record<string, ConsumeResult[]>)
      for (const jti of jtis) {
        const results = perChild.flatMap((results) => results[jti] ?? [])
        expect(results).toHaveLength(50)
        expectOneFirstUse(results, before, after)
      }
    } finally {
      for (const child of children) child.kill()
    }
  })
})

/** The next line a child prints on stdout (rejects if it exits first). */
function readLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = ''
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString('utf8')
      const end = buffered.indexOf('\n')
      if (end === -1) return
      cleanup()
      resolve(buffered.slice(0, end))
    }
    const onExit = (code: number | null): void => {
      cleanup()
      reject(new Error(`child exited (${code}) before printing a line`))
    }
    const cleanup = (): void => {
      child.stdout!.off('data', onData)
      child.off('exit', onExit)
    }
    child.stdout!.on('data', onData)
    child.once('exit', onExit)
  })
}
