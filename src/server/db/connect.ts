/**
 * Opens the server's database from `DATABASE_URL`: a SQLite file through better-sqlite3, or
 * PostgreSQL through a `pg` pool, both behind one Kysely query layer.
 */
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely'
import pg from 'pg'
import { type LoginSchema, migrateLogin } from '../../login/kysely/index.js'
import { sqlitePath } from '../config.js'
import { withDeadline } from '../deadline.js'
import { deadlinePool } from './deadline-pool.js'

export { isUniqueViolation } from '../../login/kysely/index.js'

/** An open database: the query layer, which engine it is, and how to check and close it. */
export interface ServerDatabase {
  db: Kysely<LoginSchema>
  dialect: 'sqlite' | 'postgres'
  /** PostgreSQL's current schema (from the URL's search_path), undefined for SQLite. */
  schema: string | undefined
  /** Resolves when the database answers a trivial query within the read deadline. */
  ping(): Promise<void>
  /** Applies pending migrations; returns the names applied. */
  migrate(): Promise<string[]>
  /** Closes the pool or the file, waiting at most a write deadline for PostgreSQL. Idempotent. */
  close(): Promise<void>
}

/** Options of {@link openDatabase}. */
export interface OpenDatabaseOptions {
  /** Base of a relative SQLite path. Default `process.cwd()`. */
  cwd?: string
  /** Pool size for PostgreSQL. Default 10. */
  poolSize?: number
  /** Deadline of one read query, in milliseconds. Default 1 000. */
  readTimeoutMs?: number
  /** Deadline of one write query (and SQLite's wait for a lock held by another process). Default 3 000. */
  writeTimeoutMs?: number
  /** Longest wait for a PostgreSQL pool connection. Default 1 000. */
  acquireTimeoutMs?: number
  /** Called with errors of idle pool connections (they are dropped and replaced by the pool). */
  onPoolError?: (error: Error) => void
}

const INT8_OID = 20
/** Migrations may rewrite tables: they get minutes, not the deadlines of a request. */
const MIGRATION_MS = 10 * 60_000

/**
 * Opens (and for SQLite creates, with its folder) the database. Does not migrate; call `migrate()`.
 *
 * @example
 * ```ts
 * const database = await openDatabase('file:./data/latchkey.db')
 * await database.migrate()
 * ```
 */
export async function openDatabase(url: string, options: OpenDatabaseOptions = {}): Promise<ServerDatabase> {
  const { readTimeoutMs = 1_000, writeTimeoutMs = 3_000, acquireTimeoutMs = 1_000 } = options
  const path = sqlitePath(url, options.cwd)
  if (path !== undefined) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
    const file = new BetterSqlite3(path)
    // WAL: readers (every guarded request) never wait for the writer. busy_timeout: another process
    // holding the write lock makes us wait a little (at most a write deadline) rather than fail at once.
    if (path !== ':memory:') file.pragma('journal_mode = WAL')
    file.pragma(`busy_timeout = ${Math.round(writeTimeoutMs)}`)
    file.pragma('synchronous = NORMAL')
    const db = new Kysely<LoginSchema>({ dialect: new SqliteDialect({ database: file }) })
    let closed = false
    return {
      db,
      dialect: 'sqlite',
      schema: undefined,
      async ping() {
        await sql`select 1`.execute(db)
      },
      migrate: () => migrateLogin(db),
      async close() {
        if (closed) return
        closed = true
        await db.destroy()
      },
    }
  }

  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    // Both a new connection and the wait for a free one.
    connectionTimeoutMillis: acquireTimeoutMs,
    // bigint columns hold epoch milliseconds, well inside the exact range of a JS number; read them
    // as numbers on this pool only (pg's global type parsers stay untouched).
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID && format !== 'binary'
          ? (value: string) => Number(value)
          : pg.types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser,
    },
  })
  pool.on('error', (error) => options.onPoolError?.(error))
  const deadlines = { readMs: readTimeoutMs, writeMs: writeTimeoutMs }
  const timed = deadlinePool(pool, deadlines, acquireTimeoutMs)
  const db = new Kysely<LoginSchema>({ dialect: new PostgresDialect({ pool: timed }) })
  let schema: string
  try {
    const { rows } = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(db)
    const current = rows[0]?.schema
    if (!current) throw new Error('no current schema: the search_path names no existing schema')
    schema = current
  } catch (error) {
    await db.destroy().catch(() => {})
    throw error
  }
  let closed = false
  return {
    db,
    dialect: 'postgres',
    schema,
    async ping() {
      await sql`select 1`.execute(db)
    },
    async migrate() {
      timed.deadlines = { readMs: MIGRATION_MS, writeMs: MIGRATION_MS }
      try {
        return await migrateLogin(db, { schema })
      } finally {
        timed.deadlines = deadlines
      }
    },
    async close() {
      if (closed) return
      closed = true
      // A stalled server never acknowledges the goodbye: stop waiting (the sockets die with the process).
      await withDeadline(db.destroy(), writeTimeoutMs, 'database close').catch(() => {})
    },
  }
}
