/**
 * The login API's stores over Kysely (SQLite or PostgreSQL): users, sessions, mailed-link tokens and
 * rate-limit counters, in the tables of `migrateLogin`.
 */
import { randomUUID } from 'node:crypto'
import type { Kysely, Selectable } from 'kysely'
import type { AttemptCounter, WindowCount } from '../counters.js'
import {
  EmailTakenError,
  type LoginStore,
  type LoginUser,
  type NewUser,
  type OneTimeToken,
  type SessionRecord,
  type SessionUse,
  type TokenPurpose,
  type UserStore,
} from '../store.js'
import type { LoginSchema, LoginSessionsTable, LoginTokensTable, UsersTable } from './schema.js'

/** A user as the Kysely store returns it: the login API's fields and the row's times. */
export interface KyselyUser extends LoginUser {
  /** Epoch milliseconds. */
  createdAt: number
  updatedAt: number
}

/** Options of {@link KyselyLoginStore}. */
export interface KyselyLoginStoreOptions {
  /** Clock in epoch milliseconds. Default `Date.now`. */
  clock?: () => number
}

/** Whether an error is a unique-constraint violation (PostgreSQL 23505, SQLite CONSTRAINT_UNIQUE). */
export function isUniqueViolation(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false
  const code = (error as { code?: unknown }).code
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
}

function toUser(row: Selectable<UsersTable>): KyselyUser {
  const verified = row.email_verified_at
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    active: Boolean(row.active),
    passwordHash: row.password_hash,
    emailVerifiedAt: verified === null || verified === undefined ? null : Number(verified),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  }
}

function toSession(row: Selectable<LoginSessionsTable>): SessionRecord {
  return {
    id: row.id,
    userId: row.user_id,
    createdAt: Number(row.created_at),
    lastUsedAt: Number(row.last_used_at),
    issuedAt: Number(row.issued_at),
    expiresAt: Number(row.expires_at),
    userAgent: row.user_agent,
    address: row.address,
  }
}

function toToken(row: Selectable<LoginTokensTable>): OneTimeToken {
  return {
    hash: row.hash,
    purpose: row.purpose as TokenPurpose,
    userId: row.user_id,
    email: row.email,
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
  }
}

const WRITES_PER_SWEEP = 256

/**
 * Users, sessions, mailed-link tokens and rate-limit counters in SQL, through your Kysely instance
 * (the tables of {@link migrateLogin}: run it first). Implements {@link UserStore}, {@link LoginStore}
 * and {@link AttemptCounter}, so one object serves `createLoginApi` whole. Emails must already be
 * normalised: they are compared byte for byte, and a unique index decides duplicates.
 *
 * @example
 * ```ts
 * const db = new Kysely<LoginSchema>({ dialect: new SqliteDialect({ database: new Database('app.db') }) })
 * await migrateLogin(db)
 * const store = new KyselyLoginStore(db)
 * const api = createLoginApi({ auth, store })
 * ```
 */
export class KyselyLoginStore implements UserStore<KyselyUser>, LoginStore, AttemptCounter {
  readonly #db: Kysely<LoginSchema>
  readonly #now: () => number
  #writes = 0

  /** `db` may have more tables than the store's (pass your whole schema). */
  // biome-ignore lint/suspicious/noExplicitAny: any Kysely instance whose database has the login tables
  constructor(db: Kysely<any>, options: KyselyLoginStoreOptions = {}) {
    this.#db = db as Kysely<LoginSchema>
    this.#now = options.clock ?? Date.now
  }

  // -- users

  /**
   * Inserts a user. A duplicate email throws {@link EmailTakenError}; the check is the unique index
   * itself, not a prior lookup, so of concurrent sign-ups with one email exactly one succeeds.
   */
  async create(input: NewUser): Promise<KyselyUser> {
    const now = this.#now()
    const row = {
      id: randomUUID(),
      email: input.email,
      name: input.name ?? null,
      password_hash: input.passwordHash,
      active: 1,
      email_verified_at: null,
      created_at: now,
      updated_at: now,
    }
    try {
      await this.#db.insertInto('users').values(row).execute()
    } catch (error) {
      if (isUniqueViolation(error)) throw new EmailTakenError()
      throw error
    }
    return toUser(row)
  }

  async findById(id: string): Promise<KyselyUser | undefined> {
    const row = await this.#db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst()
    return row && toUser(row)
  }

  async findByEmail(email: string): Promise<KyselyUser | undefined> {
    const row = await this.#db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst()
    return row && toUser(row)
  }

  /** Users by creation time (oldest first), for administration. */
  async list(options: { limit?: number; offset?: number } = {}): Promise<KyselyUser[]> {
    const rows = await this.#db
      .selectFrom('users')
      .selectAll()
      .orderBy('created_at')
      .orderBy('id')
      .limit(options.limit ?? 1_000)
      .offset(options.offset ?? 0)
      .execute()
    return rows.map(toUser)
  }

  async setActive(id: string, active: boolean): Promise<boolean> {
    const result = await this.#db
      .updateTable('users')
      .set({ active: active ? 1 : 0, updated_at: this.#now() })
      .where('id', '=', id)
      .executeTakeFirst()
    return Number(result.numUpdatedRows) > 0
  }

  async setPasswordHash(
    id: string,
    passwordHash: string,
    options: { expected?: string } = {},
  ): Promise<boolean> {
    let query = this.#db
      .updateTable('users')
      .set({ password_hash: passwordHash, updated_at: this.#now() })
      .where('id', '=', id)
    if (options.expected !== undefined) query = query.where('password_hash', '=', options.expected)
    const result = await query.executeTakeFirst()
    return Number(result.numUpdatedRows) > 0
  }

  async markEmailVerified(id: string, email: string, at: number): Promise<boolean> {
    // The first verification is kept: a second link changes nothing.
    await this.#db
      .updateTable('users')
      .set({ email_verified_at: at, updated_at: this.#now() })
      .where('id', '=', id)
      .where('email', '=', email)
      .where('email_verified_at', 'is', null)
      .execute()
    const row = await this.#db
      .selectFrom('users')
      .select('id')
      .where('id', '=', id)
      .where('email', '=', email)
      .executeTakeFirst()
    return row !== undefined
  }

  async delete(id: string): Promise<boolean> {
    const result = await this.#db.deleteFrom('users').where('id', '=', id).executeTakeFirst()
    return Number(result.numDeletedRows) > 0
  }

  // -- mailed-link tokens

  async saveToken(token: OneTimeToken): Promise<void> {
    await this.#db.transaction().execute(async (trx) => {
      await trx
        .deleteFrom('login_tokens')
        .where('user_id', '=', token.userId)
        .where('purpose', '=', token.purpose)
        .execute()
      await trx
        .insertInto('login_tokens')
        .values({
          hash: token.hash,
          purpose: token.purpose,
          user_id: token.userId,
          email: token.email,
          created_at: token.createdAt,
          expires_at: token.expiresAt,
        })
        .execute()
    })
    this.#afterWrite()
  }

  async takeToken(hash: string, purpose: TokenPurpose, now: number): Promise<OneTimeToken | undefined> {
    // One statement: of concurrent callers, only the one whose delete found the row gets it back.
    const row = await this.#db
      .deleteFrom('login_tokens')
      .where('hash', '=', hash)
      .where('purpose', '=', purpose)
      .returningAll()
      .executeTakeFirst()
    if (!row) return undefined
    const token = toToken(row)
    return token.expiresAt > now ? token : undefined
  }

  async deleteTokens(userId: string, purpose?: TokenPurpose): Promise<void> {
    let query = this.#db.deleteFrom('login_tokens').where('user_id', '=', userId)
    if (purpose !== undefined) query = query.where('purpose', '=', purpose)
    await query.execute()
  }

  // -- sessions

  async saveSession(session: SessionRecord): Promise<void> {
    const row = {
      id: session.id,
      user_id: session.userId,
      created_at: session.createdAt,
      last_used_at: session.lastUsedAt,
      issued_at: session.issuedAt,
      expires_at: session.expiresAt,
      user_agent: session.userAgent,
      address: session.address,
    }
    const { id: _id, ...update } = row
    await this.#db
      .insertInto('login_sessions')
      .values(row)
      .onConflict((oc) => oc.column('id').doUpdateSet(update))
      .execute()
    this.#afterWrite()
  }

  async touchSession(id: string, use: SessionUse): Promise<boolean> {
    const result = await this.#db
      .updateTable('login_sessions')
      .set({
        last_used_at: use.lastUsedAt,
        ...(use.issuedAt === undefined ? {} : { issued_at: use.issuedAt }),
        ...(use.expiresAt === undefined ? {} : { expires_at: use.expiresAt }),
      })
      .where('id', '=', id)
      .executeTakeFirst()
    return Number(result.numUpdatedRows) > 0
  }

  async findSession(id: string): Promise<SessionRecord | undefined> {
    const row = await this.#db
      .selectFrom('login_sessions')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst()
    return row && toSession(row)
  }

  async listSessions(userId: string, now: number): Promise<SessionRecord[]> {
    const rows = await this.#db
      .selectFrom('login_sessions')
      .selectAll()
      .where('user_id', '=', userId)
      .where('expires_at', '>', now)
      .orderBy('last_used_at', 'desc')
      .orderBy('id')
      .execute()
    return rows.map(toSession)
  }

  async deleteSession(id: string): Promise<boolean> {
    const result = await this.#db.deleteFrom('login_sessions').where('id', '=', id).executeTakeFirst()
    return Number(result.numDeletedRows) > 0
  }

  async deleteSessions(userId: string, options: { except?: string } = {}): Promise<void> {
    let query = this.#db.deleteFrom('login_sessions').where('user_id', '=', userId)
    if (options.except !== undefined) query = query.where('id', '!=', options.except)
    await query.execute()
  }

  async purgeExpired(now: number = this.#now()): Promise<number> {
    let deleted = 0
    for (const table of ['login_sessions', 'login_tokens'] as const) {
      const result = await this.#db.deleteFrom(table).where('expires_at', '<=', now).executeTakeFirst()
      deleted += Number(result.numDeletedRows)
    }
    const counters = await this.#db
      .deleteFrom('login_failures')
      .where('window_ends_at', '<=', now)
      .executeTakeFirst()
    return deleted + Number(counters.numDeletedRows)
  }

  // -- rate-limit counters (the `login_failures` table)

  async hit(key: string, windowMs: number): Promise<WindowCount> {
    const now = this.#now()
    // One upsert: a new row, a fresh window over an expired one, or one more in the running window.
    const row = await this.#db
      .insertInto('login_failures')
      .values({ key, count: 1, window_ends_at: now + windowMs })
      .onConflict((oc) =>
        oc.column('key').doUpdateSet((eb) => ({
          count: eb
            .case()
            .when('login_failures.window_ends_at', '<=', now)
            .then(1)
            .else(eb('login_failures.count', '+', 1))
            .end(),
          window_ends_at: eb
            .case()
            .when('login_failures.window_ends_at', '<=', now)
            .then(eb.ref('excluded.window_ends_at'))
            .else(eb.ref('login_failures.window_ends_at'))
            .end(),
        })),
      )
      .returning(['count', 'window_ends_at'])
      .executeTakeFirstOrThrow()
    this.#afterWrite()
    return { count: Number(row.count), resetAt: Number(row.window_ends_at) }
  }

  async peek(key: string): Promise<WindowCount | undefined> {
    const row = await this.#db
      .selectFrom('login_failures')
      .select(['count', 'window_ends_at'])
      .where('key', '=', key)
      .where('window_ends_at', '>', this.#now())
      .executeTakeFirst()
    return row && { count: Number(row.count), resetAt: Number(row.window_ends_at) }
  }

  async reset(key: string): Promise<void> {
    await this.#db.deleteFrom('login_failures').where('key', '=', key).execute()
  }

  /** Expired rows are swept now and then by the writes themselves; a failed sweep waits for the next. */
  #afterWrite(): void {
    if (++this.#writes < WRITES_PER_SWEEP) return
    this.#writes = 0
    this.purgeExpired().catch(() => {})
  }
}
