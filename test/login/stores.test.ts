/**
 * The login API's built-in stores against the contract suites of `latchkey/login/testing`: the Kysely
 * store on SQLite (separate connections to one file, as separate processes would have) and on
 * PostgreSQL (a plain `pg` pool: the app's own Kysely instance, not the server's), and the memory
 * store. Also `migrateLogin` itself: its own migration table, and a database set up by latchkey 0.1.
 */
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { MemoryLoginStore } from '../../src/login/index.js'
import { KyselyLoginStore, LOGIN_MIGRATIONS, migrateLogin } from '../../src/login/kysely/index.js'
import { testLoginStore, testUserStore } from '../../src/login/testing.js'
import { postgresUrl, probePostgres, requireService } from '../helpers/services.js'
import { createPgSchema, tempDir } from '../server/helpers.js'

const folder = tempDir('latchkey-login-stores-')
afterAll(() => folder.remove())

function sqlite(file: string): Kysely<unknown> {
  return new Kysely({ dialect: new SqliteDialect({ database: new Database(file) }) })
}

const sqliteFile = join(folder.dir, 'login.db')
const setup = sqlite(sqliteFile)
await migrateLogin(setup)
await setup.destroy()

function onSqlite() {
  const db = sqlite(sqliteFile)
  return { store: new KyselyLoginStore(db), close: () => db.destroy() }
}

testUserStore('KyselyLoginStore on SQLite (file, separate connections)', onSqlite, { connections: 4 })
testLoginStore('KyselyLoginStore on SQLite (file, separate connections)', onSqlite, { connections: 4 })
testUserStore('MemoryLoginStore', () => new MemoryLoginStore(), { connections: 1 })
testLoginStore('MemoryLoginStore', () => new MemoryLoginStore(), { connections: 1 })

const postgres = await requireService('PostgreSQL', probePostgres)
const pgSchema = postgres.available ? await createPgSchema(postgresUrl()) : undefined
function postgresDb(): Kysely<unknown> {
  return new Kysely({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: pgSchema!.url, max: 4 }) }),
  })
}
if (pgSchema) {
  const db = postgresDb()
  await migrateLogin(db, { schema: pgSchema.schema })
  await db.destroy()
  afterAll(() => pgSchema.drop())
}

describe.skipIf(postgres.skip)('on PostgreSQL', () => {
  const onPostgres = () => {
    const db = postgresDb()
    return { store: new KyselyLoginStore(db), close: () => db.destroy() }
  }
  testUserStore('KyselyLoginStore on PostgreSQL (plain pg pool)', onPostgres, { connections: 4 })
  testLoginStore('KyselyLoginStore on PostgreSQL (plain pg pool)', onPostgres, { connections: 4 })
})

describe('migrateLogin', () => {
  it("records its migrations in a table of its own, beside an app's own Kysely migrations", async () => {
    const db = sqlite(join(folder.dir, 'app.db'))
    try {
      // The app migrates first, with Kysely's default table.
      await sql`create table kysely_migration (name varchar(255) primary key, timestamp varchar(255) not null)`.execute(
        db,
      )
      await sql`insert into kysely_migration values ('20240101_app_orders', '2024-01-01')`.execute(db)
      expect(await migrateLogin(db)).toEqual(Object.keys(LOGIN_MIGRATIONS))
      expect(await migrateLogin(db)).toEqual([])
      const ours = await sql<{ name: string }>`select name from latchkey_migration order by name`.execute(db)
      expect(ours.rows.map((r) => r.name)).toEqual(Object.keys(LOGIN_MIGRATIONS))
      const theirs = await sql<{ name: string }>`select name from kysely_migration`.execute(db)
      expect(theirs.rows.map((r) => r.name)).toEqual(['20240101_app_orders'])
    } finally {
      await db.destroy()
    }
  })

  it('keeps using kysely_migration on a database set up by latchkey 0.1, and applies what is new', async () => {
    const db = sqlite(join(folder.dir, 'legacy.db'))
    try {
      // What the 0.1 server left: the first three migrations, recorded in Kysely's default table.
      const { Migrator } = await import('kysely')
      const first = Object.fromEntries(Object.entries(LOGIN_MIGRATIONS).slice(0, 3))
      const legacy = new Migrator({ db, provider: { getMigrations: async () => first } })
      expect((await legacy.migrateToLatest()).error).toBeUndefined()
      await sql`insert into users (id, email, name, password_hash, active, created_at, updated_at) values ('u1', 'old@example.com', null, 'h', 1, 1, 1)`.execute(
        db,
      )
      expect(await migrateLogin(db)).toEqual(['0004_account_lifecycle'])
      const recorded = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(
        db,
      )
      expect(recorded.rows.map((r) => r.name)).toEqual(Object.keys(LOGIN_MIGRATIONS))
      // The old account is still there, unverified.
      expect(await new KyselyLoginStore(db).findByEmail('old@example.com')).toMatchObject({
        id: 'u1',
        emailVerifiedAt: null,
        active: true,
      })
    } finally {
      await db.destroy()
    }
  })
})
