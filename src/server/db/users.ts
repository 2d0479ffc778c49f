/**
 * The users repository: the only code that reads or writes the `users` table.
 */
import { randomUUID } from 'node:crypto'
import type { Kysely, Selectable } from 'kysely'
import { isUniqueViolation } from './connect.js'
import type { ServerSchema, UsersTable } from './schema.js'

/** An account as the server sees it. */
export interface User {
  id: string
  email: string
  name: string | null
  active: boolean
  passwordHash: string
  /** Epoch milliseconds. */
  createdAt: number
  updatedAt: number
}

/** The email is already registered (the unique index refused the insert). */
export class EmailTakenError extends Error {
  readonly code = 'EMAIL_TAKEN' as const
  constructor() {
    super('An account with this email already exists')
    this.name = 'EmailTakenError'
  }
}

function toUser(row: Selectable<UsersTable>): User {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    active: Boolean(row.active),
    passwordHash: row.password_hash,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  }
}

/**
 * Users in the database. Emails must already be normalised (`normalizeEmail`): the repository
 * compares them byte for byte.
 *
 * @example
 * ```ts
 * const users = new UsersRepository(database.db)
 * const user = await users.create({ email: 'ada@example.com', name: 'Ada', passwordHash })
 * ```
 */
export class UsersRepository {
  readonly #db: Kysely<ServerSchema>
  readonly #now: () => number

  constructor(db: Kysely<ServerSchema>, options: { now?: () => number } = {}) {
    this.#db = db
    this.#now = options.now ?? Date.now
  }

  /**
   * Inserts a user. A duplicate email throws {@link EmailTakenError}; the check is the unique index
   * itself, not a prior lookup, so of concurrent signups with one email exactly one succeeds.
   */
  async create(input: { email: string; name?: string | null; passwordHash: string }): Promise<User> {
    const now = this.#now()
    const row = {
      id: randomUUID(),
      email: input.email,
      name: input.name ?? null,
      password_hash: input.passwordHash,
      active: 1,
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

  async findById(id: string): Promise<User | undefined> {
    const row = await this.#db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst()
    return row && toUser(row)
  }

  async findByEmail(email: string): Promise<User | undefined> {
    const row = await this.#db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst()
    return row && toUser(row)
  }

  /** Users by creation time (oldest first). */
  async list(options: { limit?: number; offset?: number } = {}): Promise<User[]> {
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

  /** Enables or disables the account with this email; returns it, or undefined when there is none. */
  async setActive(email: string, active: boolean): Promise<User | undefined> {
    await this.#db
      .updateTable('users')
      .set({ active: active ? 1 : 0, updated_at: this.#now() })
      .where('email', '=', email)
      .execute()
    return this.findByEmail(email)
  }

  /**
   * Replaces a password hash. With `expected`, only if the stored hash is still that one, so a
   * rehash on login never overwrites a password changed meanwhile. Returns whether a row changed.
   */
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
}
