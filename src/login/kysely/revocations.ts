/**
 * A revocation store in the app's own database (SQLite or PostgreSQL, through Kysely): the reference
 * server's when there is no Redis. Several instances sharing one PostgreSQL see each other's
 * revocations at once. Its SQL is latchkey's (`latchkey/stores/sql`), the same statements the SQLite
 * store runs.
 */
import { CompiledQuery, type Kysely, sql } from 'kysely'
import type { ConsumeResult, RevocationStore, TokenRef } from '../../index.js'
import { type RevocationSql, revocationSql, type SqlStatement } from '../../stores/sql.js'
import type { RevocationSchema } from './schema.js'

/** Options of {@link KyselyRevocationStore}. */
export interface KyselyRevocationStoreOptions {
  /**
   * How often an idle timer deletes expired rows, in milliseconds; 0 turns it off (writes still
   * clean up every few hundred calls). The timer is unref'ed. Default 60 000.
   */
  cleanupIntervalMs?: number
  /** Clock in epoch milliseconds. Default `Date.now`. */
  clock?: () => number
  /** @deprecated Renamed `clock`, as in `createAuth`. */
  now?: () => number
  /** Close the Kysely instance in `close()`. Default false (the app closes its own database). */
  closeDatabase?: boolean
}

const WRITES_PER_CLEANUP = 256

/**
 * RevocationStore over Kysely. Needs the tables of migration `0003_revocations` (`migrateLogin`).
 *
 * `isRevoked` is one query (three indexed EXISTS). Writes are single upserts, so concurrent calls
 * from any number of connections and processes are safe: a revocation keeps the later expiry, a
 * cut-off keeps the later time, and `consumeRefreshToken` is decided by the primary key: the insert
 * of the first caller wins, every other caller conflicts and reads the winner's time. An expired
 * entry counts as absent and is replaced, exactly like the other stores.
 *
 * @example
 * ```ts
 * const store = new KyselyRevocationStore(db)
 * const auth = createAuth({ keys, revocation: store })
 * ```
 */
export class KyselyRevocationStore<DB extends RevocationSchema = RevocationSchema>
  implements RevocationStore
{
  readonly #db: Kysely<RevocationSchema>
  readonly #sql: RevocationSql
  readonly #now: () => number
  readonly #closeDatabase: boolean
  #writes = 0
  #timer: NodeJS.Timeout | undefined

  /** `db` may have more tables than the store's (pass your whole schema). */
  // biome-ignore lint/suspicious/noExplicitAny: any Kysely instance whose database has the revocation tables
  constructor(db: Kysely<DB> | Kysely<any>, options: KyselyRevocationStoreOptions = {}) {
    const { cleanupIntervalMs = 60_000, closeDatabase = false } = options
    if (!(cleanupIntervalMs >= 0) || !Number.isFinite(cleanupIntervalMs))
      throw new RangeError('cleanupIntervalMs must be a finite number >= 0')
    // Kysely's type is invariant in its schema; the store only ever touches its own four tables.
    this.#db = db as unknown as Kysely<RevocationSchema>
    // The dialect's placeholder tells PostgreSQL ($1) from SQLite (?).
    const placeholder = sql`${0}`.compile(db).sql
    this.#sql = revocationSql({ dialect: placeholder === '$1' ? 'postgres' : 'sqlite' })
    this.#now = options.clock ?? options.now ?? Date.now
    this.#closeDatabase = closeDatabase
    if (cleanupIntervalMs > 0) {
      this.#timer = setInterval(() => {
        // A database that is down now is retried at the next tick; never crash the process for it.
        this.purgeExpired().catch(() => {})
      }, cleanupIntervalMs)
      this.#timer.unref()
    }
  }

  async isRevoked(token: TokenRef): Promise<boolean> {
    const row = (
      await this.#run(this.#sql.isRevoked, {
        jti: token.jti,
        family: token.family ?? null,
        sub: token.sub,
        issuedAt: token.issuedAt,
        now: this.#now(),
      })
    )[0]
    // PostgreSQL answers a boolean, SQLite 1 or 0.
    return Boolean(row?.revoked)
  }

  async revokeToken(jti: string, expiresAt: number): Promise<void> {
    if (expiresAt <= this.#now()) return
    await this.#run(this.#sql.revokeToken, { jti, expiresAt })
    this.#afterWrite()
  }

  async revokeFamily(family: string, expiresAt: number): Promise<void> {
    if (expiresAt <= this.#now()) return
    await this.#run(this.#sql.revokeFamily, { family, expiresAt })
    this.#afterWrite()
  }

  async revokeIdentity(sub: string, before: number, expiresAt: number): Promise<void> {
    const now = this.#now()
    if (expiresAt <= now) return
    if (!Number.isSafeInteger(before)) throw new RangeError('before must be an integer (epoch milliseconds)')
    await this.#run(this.#sql.revokeIdentity, { sub, cutoff: before, expiresAt, now })
    this.#afterWrite()
  }

  async consumeRefreshToken(jti: string, expiresAt: number): Promise<ConsumeResult> {
    // The loop only repeats if the row that beat us vanished between our two statements (purged as
    // expired in that instant); a missing row must never be reported as a first use by guesswork.
    for (let attempt = 0; attempt < 3; attempt++) {
      const now = this.#now()
      // A concurrent caller blocks on the primary key until the winner commits, then takes the
      // conflict path and writes nothing: no row comes back.
      const won = await this.#run(this.#sql.claimRefreshToken, {
        jti,
        now,
        expiresAt: Math.max(expiresAt, now + 1),
      })
      this.#afterWrite()
      if (won.length > 0) return { firstUse: true }
      const first = (await this.#run(this.#sql.refreshTokenUsedAt, { jti }))[0]
      if (first !== undefined) return { firstUse: false, usedAt: Number(first.used_at) }
    }
    throw new Error('refresh-token marker kept vanishing; refusing to guess')
  }

  /** Deletes expired rows now; returns how many. Runs on its own; call it from a maintenance job if you like. */
  async purgeExpired(): Promise<number> {
    const now = this.#now()
    this.#writes = 0
    let deleted = 0
    for (const statement of this.#sql.purgeExpired) {
      const result = await this.#db.executeQuery(CompiledQuery.raw(statement.text, statement.params({ now })))
      deleted += Number(result.numAffectedRows ?? 0)
    }
    return deleted
  }

  /** Stops the cleanup timer (and closes the database when `closeDatabase` was set). */
  async close(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer)
    this.#timer = undefined
    if (this.#closeDatabase) await this.#db.destroy()
  }

  /** Runs one of the shared statements; its rows. */
  async #run<V>(statement: SqlStatement<V>, values: V): Promise<Record<string, unknown>[]> {
    const result = await this.#db.executeQuery<Record<string, unknown>>(
      CompiledQuery.raw(statement.text, statement.params(values)),
    )
    return result.rows
  }

  #afterWrite(): void {
    if (++this.#writes < WRITES_PER_CLEANUP) return
    // The write succeeded; a failed cleanup must not turn it into an error.
    this.purgeExpired().catch(() => {})
  }
}
