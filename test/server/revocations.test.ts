/**
 * The database revocation store against the shared RevocationStore conformance suite, on SQLite
 * (separate connections to one file, as separate processes would have) and on PostgreSQL.
 */
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { openDatabase, type ServerDatabase } from '../../src/server/db/connect.js'
import { DatabaseRevocationStore } from '../../src/server/db/revocations.js'
import { testRevocationStore } from '../../src/stores/testing.js'
import { postgresUrl, probePostgres, requireService } from '../helpers/services.js'
import { createPgSchema, tempDir } from './helpers.js'

const folder = tempDir()
const sqliteUrl = `file:${join(folder.dir, 'revocations.db')}`
const setup = await openDatabase(sqliteUrl)
await setup.migrate()
await setup.close()
afterAll(() => folder.remove())

async function storeOn(url: string, now: () => number): Promise<DatabaseRevocationStore> {
  const database = await openDatabase(url, { poolSize: 4 })
  return new DatabaseRevocationStore(database.db, { closeDatabase: true, now })
}

testRevocationStore(
  'database store on SQLite (file, separate connections)',
  ({ now }) => storeOn(sqliteUrl, now),
  { connections: 4, controllableClock: true },
)

const postgres = await requireService('PostgreSQL', probePostgres)
const pgSchema = postgres.available ? await createPgSchema(postgresUrl()) : undefined
if (pgSchema) {
  const database = await openDatabase(pgSchema.url)
  await database.migrate()
  await database.close()
  afterAll(() => pgSchema.drop())
}

describe.skipIf(postgres.skip)('database store on PostgreSQL', () => {
  testRevocationStore('database store on PostgreSQL', ({ now }) => storeOn(pgSchema!.url, now), {
    connections: 4,
    controllableClock: true,
  })
})

describe('DatabaseRevocationStore', () => {
  let database: ServerDatabase | undefined
  afterAll(() => database?.close())

  it('deletes expired rows on demand', async () => {
    let now = 1_000_000
    database = await openDatabase('file::memory:')
    await database.migrate()
    const store = new DatabaseRevocationStore(database.db, { now: () => now, cleanupIntervalMs: 0 })
    await store.revokeToken('a', now + 1_000)
    await store.revokeFamily('f', now + 1_000)
    await store.revokeIdentity('s', now, now + 1_000)
    expect(await store.consumeRefreshToken('r', now + 1_000)).toEqual({ firstUse: true })
    expect(await store.purgeExpired()).toBe(0)
    now += 1_000
    expect(await store.purgeExpired()).toBe(4)
    await store.close()
  })
})
