/**
 * Revocation store in a SQLite file (better-sqlite3). Every process on one host that opens the same
 * file sees the same revocations; writes are serialised by SQLite's file lock, which is what makes
 * `consumeRefreshToken` exact across processes. Not for network file systems (SQLite's locking is
 * unreliable there) nor for several hosts: use the Redis store for those.
 *
 * Published under its own subpath so importing the core never loads better-sqlite3.
 */
import Database from 'better-sqlite3'
import { type RevocationSql, revocationSql, tableDefinitions } from './sql.js'
import type { ConsumeResult, RevocationStore, TokenRef } from './store.js'

/** Options of {@link SqliteRevocationStore}. */
export interface SqliteRevocationStoreOptions {
  /**
   * Prepended to every table and index name, so the store can share a database with the app.
   * Letters, digits and `_` only, starting with a letter or `_` (it is written into SQL).
   * Default `'latchkey_'`.
   */
  tablePrefix?: string
  /**
   * How often a timer deletes expired rows, in milliseconds; `0` turns the timer off (writes still
   * clean up, amortised). The timer is `unref()`ed so it never keeps a process alive. Default 60 000.
   */
  cleanupIntervalMs?: number
  /**
   * Clock in epoch milliseconds; tests inject one to expire rows without waiting. Default
   * `Date.now`. The same name as `createAuth`'s option: pass one clock to both.
   */
  clock?: () => number
  /** @deprecated Renamed `clock` (0.2), as in `createAuth`. */
  now?: () => number
}

/** A delete of expired rows runs after this many writes (cheap: each table has an index on expiry). */
const WRITES_PER_CLEANUP = 256

const PREFIX_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/

/**
 * Revocation store backed by SQLite through better-sqlite3.
 *
 * Pass a filename (the store opens the file, switches it to WAL so readers never wait for the
 * writer, and closes it in `close()`), or a `Database` you opened (the store leaves its pragmas and
 * its lifetime to you; set `journal_mode = WAL` yourself when several processes share the file).
 * Tables are created if missing. `isRevoked` is one indexed query; expired rows are deleted every
 * few hundred writes and on an idle timer.
 *
 * Consistency: one host. Processes sharing the file see each other's writes as soon as they commit,
 * and `consumeRefreshToken` runs in a `BEGIN IMMEDIATE` transaction, so of concurrent consumers
 * across every connection and process exactly one gets `firstUse`. A locked database (busy for more
 * than better-sqlite3's `timeout`, 5 s by default) makes calls reject, and latchkey fails closed.
 *
 * better-sqlite3 is synchronous: each call blocks the event loop for the duration of one SQLite
 * statement (microseconds for these indexed lookups, longer only while waiting for a lock).
 *
 * @example
 * ```ts
 * import { SqliteRevocationStore } from 'latchkey/stores/sqlite'
 *
 * const store = new SqliteRevocationStore('./data/revocations.db')
 * // or, sharing the app's database under a prefix:
 * const shared = new SqliteRevocationStore(appDb, { tablePrefix: 'auth_' })
 * ```
 */
export class SqliteRevocationStore implements RevocationStore {
  /** The connection used by this store (opened by it, or the one passed in). */
  readonly database: Database.Database
  readonly #ownsDatabase: boolean
  readonly #now: () => number
  readonly #sql: RevocationSql
  readonly #isRevoked: Database.Statement<unknown[], number>
  readonly #revokeToken: Database.Statement<unknown[]>
  readonly #revokeFamily: Database.Statement<unknown[]>
  readonly #revokeIdentity: Database.Statement<unknown[]>
  readonly #consume: (jti: string, now: number, expiresAt: number) => ConsumeResult
  readonly #cleanup: () => number
  #writesSinceCleanup = 0
  #timer: NodeJS.Timeout | undefined

  constructor(database: string | Database.Database, options: SqliteRevocationStoreOptions = {}) {
    const { tablePrefix = 'latchkey_', cleanupIntervalMs = 60_000 } = options
    if (!PREFIX_PATTERN.test(tablePrefix)) {
      throw new TypeError('tablePrefix must match /^[A-Za-z_][A-Za-z0-9_]*$/ (it is written into SQL)')
    }
    if (!(cleanupIntervalMs >= 0) || !Number.isFinite(cleanupIntervalMs)) {
      throw new RangeError('cleanupIntervalMs must be a finite number >= 0')
    }
    this.#now = options.clock ?? options.now ?? Date.now
    if (typeof database === 'string') {
      this.database = new Database(database)
      this.#ownsDatabase = true
      // WAL lets readers (every guarded request) proceed while another process writes.
      this.database.pragma('journal_mode = WAL')
    } else {
      this.database = database
      this.#ownsDatabase = false
    }
    const db = this.database
    // The statements every SQL store shares (latchkey/stores/sql); only the tables are created here.
    const sql = revocationSql({ dialect: 'sqlite', tablePrefix })
    this.#sql = sql
    const definitions = tableDefinitions(sql.tables)
    for (const key of ['tokens', 'families', 'identities', 'used'] as const) {
      const table = sql.tables[key]
      db.exec(`CREATE TABLE IF NOT EXISTS ${definitions[key]} WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS "${table}_expires_at" ON "${table}" (expires_at);`)
    }

    // safeIntegers(false): the app's connection may default to BigInt results.
    this.#isRevoked = db.prepare<unknown[], number>(sql.isRevoked.text).pluck().safeIntegers(false)
    this.#revokeToken = db.prepare(sql.revokeToken.text)
    this.#revokeFamily = db.prepare(sql.revokeFamily.text)
    this.#revokeIdentity = db.prepare(sql.revokeIdentity.text)
    const claim = db.prepare<unknown[], number>(sql.claimRefreshToken.text).pluck().safeIntegers(false)
    const usedAt = db.prepare<unknown[], number>(sql.refreshTokenUsedAt.text).pluck().safeIntegers(false)
    const consume = db.transaction((jti: string, now: number, expiresAt: number): ConsumeResult => {
      if (claim.get(sql.claimRefreshToken.params({ jti, now, expiresAt })) !== undefined)
        return { firstUse: true }
      const first = usedAt.get(sql.refreshTokenUsedAt.params({ jti }))
      // Unreachable inside the transaction (the row that blocked the insert is still there), but a
      // missing row must never turn into a success.
      if (first === undefined) throw new Error('refresh-token marker vanished inside a transaction')
      return { firstUse: false, usedAt: first }
    })
    // IMMEDIATE takes the write lock up front, so another process cannot slip in between the insert
    // and the read back; it waits (busy timeout) instead.
    this.#consume = (jti, now, expiresAt) => consume.immediate(jti, now, expiresAt)

    const deletes = sql.purgeExpired.map((statement) => ({ statement, prepared: db.prepare(statement.text) }))
    this.#cleanup = () => {
      const now = this.#now()
      let deleted = 0
      for (const { statement, prepared } of deletes)
        deleted += prepared.run(statement.params({ now })).changes
      this.#writesSinceCleanup = 0
      return deleted
    }

    this.#cleanup()
    if (cleanupIntervalMs > 0) {
      this.#timer = setInterval(() => {
        // A busy or closed database here is not worth crashing the process: the next run retries.
        try {
          this.#cleanup()
        } catch {}
      }, cleanupIntervalMs)
      this.#timer.unref()
    }
  }

  /** Answers synchronously (better-sqlite3 is synchronous): the guard needs no promise for it. */
  isRevoked(token: TokenRef): boolean {
    const revoked = this.#isRevoked.get(
      this.#sql.isRevoked.params({
        jti: token.jti,
        family: token.family ?? null,
        sub: token.sub,
        issuedAt: token.issuedAt,
        now: this.#now(),
      }),
    )
    return revoked === 1
  }

  async revokeToken(jti: string, expiresAt: number): Promise<void> {
    if (expiresAt <= this.#now()) return
    this.#revokeToken.run(this.#sql.revokeToken.params({ jti, expiresAt }))
    this.#afterWrite()
  }

  async revokeFamily(family: string, expiresAt: number): Promise<void> {
    if (expiresAt <= this.#now()) return
    this.#revokeFamily.run(this.#sql.revokeFamily.params({ family, expiresAt }))
    this.#afterWrite()
  }

  async revokeIdentity(sub: string, before: number, expiresAt: number): Promise<void> {
    const now = this.#now()
    if (expiresAt <= now) return
    this.#revokeIdentity.run(this.#sql.revokeIdentity.params({ sub, cutoff: before, expiresAt, now }))
    this.#afterWrite()
  }

  async consumeRefreshToken(jti: string, expiresAt: number): Promise<ConsumeResult> {
    const result = this.#consume(jti, this.#now(), expiresAt)
    this.#afterWrite()
    return result
  }

  /**
   * Deletes expired rows now and returns how many were deleted. Runs on its own (every few hundred
   * writes and on the idle timer); call it directly in tests or from a maintenance job.
   */
  async purgeExpired(): Promise<number> {
    return this.#cleanup()
  }

  /** Stops the cleanup timer and closes the database if this store opened it. */
  async close(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer)
    this.#timer = undefined
    if (this.#ownsDatabase && this.database.open) this.database.close()
  }

  #afterWrite(): void {
    if (++this.#writesSinceCleanup < WRITES_PER_CLEANUP) return
    // The write itself succeeded; a failed cleanup (database busy) must not turn it into an error.
    try {
      this.#cleanup()
    } catch {}
  }
}
