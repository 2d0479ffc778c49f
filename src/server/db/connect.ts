/**
 * Opens the server's database from `DATABASE_URL`: a SQLite file through better-sqlite3, or
 * PostgreSQL through a `pg` pool, both behind one Kysely query layer.
 */
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely'
import pg from 'pg'
import { sqlitePath } from '../config.js'
import { migrateToLatest } from './migrations.js'
import type { ServerSchema } from './schema.js'

/** An open database: the query layer, which engine it is, and how to check and close it. */
export interface ServerDatabase {
  db: Kysely<ServerSchema>
  dialect: 'sqlite' | 'postgres'
  /** PostgreSQL's current schema (from the URL's search_path), undefined for SQLite. */
  schema: string | undefined
  /** Resolves when the database answers a trivial query. */
  ping(): Promise<void>
  /** Applies pending migrations; returns the names applied. */
  migrate(): Promise<string[]>
  /** Closes the pool or the file. Idempotent. */
  close(): Promise<void>
}

/** Options of {@link openDatabase}. */
export interface OpenDatabaseOptions {
  /** Base of a relative SQLite path. Default `process.cwd()`. */
  cwd?: string
  /** Pool size for PostgreSQL. Default 10. */
  poolSize?: number
  /** Called with errors of idle pool connections (they are dropped and replaced by the pool). */
  onPoolError?: (error: Error) => void
}

const INT8_OID = 20

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
  const path = sqlitePath(url, options.cwd)
  if (path !== undefined) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
    const file = new BetterSqlite3(path)
    // WAL: readers (every guarded request) never wait for the writer. busy_timeout: another process
    // holding the write lock makes us wait a little rather than fail at once.
    if (path !== ':memory:') file.pragma('journal_mode = WAL')
    file.pragma('busy_timeout = 5000')
    file.pragma('synchronous = NORMAL')
    const db = new Kysely<ServerSchema>({ dialect: new SqliteDialect({ database: file }) })
    let closed = false
    return {
      db,
      dialect: 'sqlite',
      schema: undefined,
      async ping() {
        await sql`select 1`.execute(db)
      },
      migrate: () => migrateToLatest(db as unknown as Kysely<unknown>),
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
    connectionTimeoutMillis: 5_000,
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
  const db = new Kysely<ServerSchema>({ dialect: new PostgresDialect({ pool }) })
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
    migrate: () => migrateToLatest(db as unknown as Kysely<unknown>, { schema }),
    async close() {
      if (closed) return
      closed = true
      await db.destroy()
    },
  }
}

/** Whether an error is a unique-constraint violation (PostgreSQL 23505, SQLite CONSTRAINT_UNIQUE). */
export function isUniqueViolation(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false
  const code = (error as { code?: unknown }).code
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
}
