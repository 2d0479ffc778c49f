/**
 * A revocation store in the server's own database (SQLite or PostgreSQL, through Kysely), used when
 * there is no Redis. Several instances sharing one PostgreSQL see each other's revocations at once.
 */
import type { Kysely } from 'kysely'
import type { ConsumeResult, RevocationStore, TokenRef } from '../../index.js'
import type { RevocationSchema } from './schema.js'

/** Options of {@link DatabaseRevocationStore}. */
export interface DatabaseRevocationStoreOptions {
  /**
   * How often an idle timer deletes expired rows, in milliseconds; 0 turns it off (writes still
   * clean up every few hundred calls). The timer is unref'ed. Default 60 000.
   */
  cleanupIntervalMs?: number
  /** Clock in epoch milliseconds. Default `Date.now`. */
  now?: () => number
  /** Close the Kysely instance in `close()`. Default false (the server closes its own database). */
  closeDatabase?: boolean
}

const WRITES_PER_CLEANUP = 256

/**
 * RevocationStore over Kysely. Needs the tables of migration `0003_revocations`.
 *
 * `isRevoked` is one query (three indexed EXISTS). Writes are single upserts, so concurrent calls
 * from any number of connections and processes are safe: a revocation keeps the later expiry, a
 * cut-off keeps the later time, and `consumeRefreshToken` is decided by the primary key: the insert
 * of the first caller wins, every other caller conflicts and reads the winner's time. An expired
 * entry counts as absent and is replaced, exactly like the other stores.
 *
 * @example
 * ```ts
 * const store = new DatabaseRevocationStore(database.db)
 * const auth = createAuth({ keys, revocation: store })
 * ```
 */
export class DatabaseRevocationStore<DB extends RevocationSchema = RevocationSchema>
  implements RevocationStore
{
  readonly #db: Kysely<RevocationSchema>
  readonly #now: () => number
  readonly #closeDatabase: boolean
  #writes = 0
  #timer: NodeJS.Timeout | undefined

  /** `db` may have more tables than the store's (the server passes its whole schema). */
  constructor(db: Kysely<DB>, options: DatabaseRevocationStoreOptions = {}) {
    const { cleanupIntervalMs = 60_000, now = Date.now, closeDatabase = false } = options
    if (!(cleanupIntervalMs >= 0) || !Number.isFinite(cleanupIntervalMs))
      throw new RangeError('cleanupIntervalMs must be a finite number >= 0')
    // Kysely's type is invariant in its schema; the store only ever touches its own four tables.
    this.#db = db as unknown as Kysely<RevocationSchema>
    this.#now = now
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
    const now = this.#now()
    const row = await this.#db
      .selectNoFrom((eb) =>
        eb
          .or([
            eb.exists(
              eb
                .selectFrom('revoked_tokens')
                .select('jti')
                .where('jti', '=', token.jti)
                .where('expires_at', '>', now),
            ),
            // A token without a family must not match any family row, "" or "undefined" included.
            ...(token.family === undefined
              ? []
              : [
                  eb.exists(
                    eb
                      .selectFrom('revoked_families')
                      .select('family')
                      .where('family', '=', token.family)
                      .where('expires_at', '>', now),
                  ),
                ]),
            eb.exists(
              eb
                .selectFrom('identity_cutoffs')
                .select('sub')
                .where('sub', '=', token.sub)
                .where('cutoff', '>', token.issuedAt)
                .where('expires_at', '>', now),
            ),
          ])
          .as('revoked'),
      )
      .executeTakeFirstOrThrow()
    // PostgreSQL answers a boolean, SQLite 1 or 0.
    return Boolean(row.revoked)
  }

  async revokeToken(jti: string, expiresAt: number): Promise<void> {
    if (expiresAt <= this.#now()) return
    await this.#db
      .insertInto('revoked_tokens')
      .values({ jti, expires_at: expiresAt })
      .onConflict((oc) =>
        oc.column('jti').doUpdateSet((eb) => ({
          expires_at: eb
            .case()
            .when('revoked_tokens.expires_at', '>', eb.ref('excluded.expires_at'))
            .then(eb.ref('revoked_tokens.expires_at'))
            .else(eb.ref('excluded.expires_at'))
            .end(),
        })),
      )
      .execute()
    this.#afterWrite()
  }

  async revokeFamily(family: string, expiresAt: number): Promise<void> {
    if (expiresAt <= this.#now()) return
    await this.#db
      .insertInto('revoked_families')
      .values({ family, expires_at: expiresAt })
      .onConflict((oc) =>
        oc.column('family').doUpdateSet((eb) => ({
          expires_at: eb
            .case()
            .when('revoked_families.expires_at', '>', eb.ref('excluded.expires_at'))
            .then(eb.ref('revoked_families.expires_at'))
            .else(eb.ref('excluded.expires_at'))
            .end(),
        })),
      )
      .execute()
    this.#afterWrite()
  }

  async revokeIdentity(sub: string, before: number, expiresAt: number): Promise<void> {
    const now = this.#now()
    if (expiresAt <= now) return
    if (!Number.isSafeInteger(before)) throw new RangeError('before must be an integer (epoch milliseconds)')
    // Keeps the later cut-off and the later expiry, unless the stored row has expired (then it no
    // longer means anything and the new one replaces it).
    await this.#db
      .insertInto('identity_cutoffs')
      .values({ sub, cutoff: before, expires_at: expiresAt })
      .onConflict((oc) =>
        oc.column('sub').doUpdateSet((eb) => ({
          cutoff: eb
            .case()
            .when('identity_cutoffs.expires_at', '<=', now)
            .then(eb.ref('excluded.cutoff'))
            .when('identity_cutoffs.cutoff', '>', eb.ref('excluded.cutoff'))
            .then(eb.ref('identity_cutoffs.cutoff'))
            .else(eb.ref('excluded.cutoff'))
            .end(),
          expires_at: eb
            .case()
            .when('identity_cutoffs.expires_at', '<=', now)
            .then(eb.ref('excluded.expires_at'))
            .when('identity_cutoffs.expires_at', '>', eb.ref('excluded.expires_at'))
            .then(eb.ref('identity_cutoffs.expires_at'))
            .else(eb.ref('excluded.expires_at'))
            .end(),
        })),
      )
      .execute()
    this.#afterWrite()
  }

  async consumeRefreshToken(jti: string, expiresAt: number): Promise<ConsumeResult> {
    // The loop only repeats if the row that beat us vanished between our two statements (purged as
    // expired in that instant); a missing row must never be reported as a first use by guesswork.
    for (let attempt = 0; attempt < 3; attempt++) {
      const now = this.#now()
      // Inserts the marker, or replaces an expired one. RETURNING yields a row only when this
      // statement wrote, so "a row came back" is exactly "first use"; a concurrent caller blocks on
      // the primary key until the winner commits, then takes the conflict path and writes nothing.
      const won = await this.#db
        .insertInto('used_refresh_tokens')
        .values({ jti, used_at: now, expires_at: Math.max(expiresAt, now + 1) })
        .onConflict((oc) =>
          oc
            .column('jti')
            .doUpdateSet((eb) => ({
              used_at: eb.ref('excluded.used_at'),
              expires_at: eb.ref('excluded.expires_at'),
            }))
            .where('used_refresh_tokens.expires_at', '<=', now),
        )
        .returning('used_at')
        .executeTakeFirst()
      this.#afterWrite()
      if (won !== undefined) return { firstUse: true }
      const first = await this.#db
        .selectFrom('used_refresh_tokens')
        .select('used_at')
        .where('jti', '=', jti)
        .executeTakeFirst()
      if (first !== undefined) return { firstUse: false, usedAt: Number(first.used_at) }
    }
    throw new Error('refresh-token marker kept vanishing; refusing to guess')
  }

  /** Deletes expired rows now; returns how many. Runs on its own; call it from a maintenance job if you like. */
  async purgeExpired(): Promise<number> {
    const now = this.#now()
    this.#writes = 0
    let deleted = 0
    for (const table of [
      'revoked_tokens',
      'revoked_families',
      'identity_cutoffs',
      'used_refresh_tokens',
    ] as const) {
      const result = await this.#db.deleteFrom(table).where('expires_at', '<=', now).executeTakeFirst()
      deleted += Number(result.numDeletedRows)
    }
    return deleted
  }

  /** Stops the cleanup timer (and closes the database when `closeDatabase` was set). */
  async close(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer)
    this.#timer = undefined
    if (this.#closeDatabase) await this.#db.destroy()
  }

  #afterWrite(): void {
    if (++this.#writes < WRITES_PER_CLEANUP) return
    // The write succeeded; a failed cleanup must not turn it into an error.
    this.purgeExpired().catch(() => {})
  }
}
