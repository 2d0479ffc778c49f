/**
 * An app with a users table of its own: `accounts`, with its own column names and integer ids, read
 * through better-sqlite3 without Kysely. Its UserStore passes the contract suite, and the login API
 * runs on it end to end (through the fetch handler): sign-up, login, password reset, sessions.
 */
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, describe, expect, it } from 'vitest'
import { createAuth, MemoryRevocationStore } from '../../src/index.js'
import {
  createLoginApi,
  EmailTakenError,
  fetchHandler,
  type LoginUser,
  loginAuthOptions,
  type Mailer,
  type MailMessage,
  MemoryLoginStore,
  type NewUser,
  PasswordHasher,
  type UserStore,
} from '../../src/login/index.js'
import { testUserStore } from '../../src/login/testing.js'
import { tempDir } from '../server/helpers.js'

const folder = tempDir('latchkey-custom-store-')
afterAll(() => folder.remove())

interface AccountRow {
  account_id: number
  mail: string
  display_name: string | null
  pw_hash: string
  disabled: number
  mail_confirmed_at: number | null
}

/** The app's own users, as the login API needs them. */
class AccountsTable implements UserStore<LoginUser> {
  readonly db: Database.Database
  constructor(file: string) {
    this.db = new Database(file)
    this.db.exec(`create table if not exists accounts (
      account_id integer primary key autoincrement,
      mail text not null unique,
      display_name text,
      pw_hash text not null,
      disabled integer not null default 0,
      mail_confirmed_at integer
    )`)
  }

  static toUser(row: AccountRow | undefined): LoginUser | undefined {
    return (
      row && {
        id: String(row.account_id),
        email: row.mail,
        name: row.display_name,
        passwordHash: row.pw_hash,
        active: row.disabled === 0,
        emailVerifiedAt: row.mail_confirmed_at,
      }
    )
  }

  async findById(id: string) {
    if (!/^\d+$/.test(id)) return undefined
    return AccountsTable.toUser(
      this.db.prepare<[number], AccountRow>('select * from accounts where account_id = ?').get(Number(id)),
    )
  }

  async findByEmail(email: string) {
    return AccountsTable.toUser(
      this.db.prepare<[string], AccountRow>('select * from accounts where mail = ?').get(email),
    )
  }

  async create(input: NewUser) {
    try {
      const { lastInsertRowid } = this.db
        .prepare('insert into accounts (mail, display_name, pw_hash) values (?, ?, ?)')
        .run(input.email, input.name ?? null, input.passwordHash)
      return (await this.findById(String(lastInsertRowid)))!
    } catch (error) {
      if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw new EmailTakenError()
      throw error
    }
  }

  async setPasswordHash(id: string, passwordHash: string, options: { expected?: string } = {}) {
    const result =
      options.expected === undefined
        ? this.db
            .prepare('update accounts set pw_hash = ? where account_id = ?')
            .run(passwordHash, Number(id))
        : this.db
            .prepare('update accounts set pw_hash = ? where account_id = ? and pw_hash = ?')
            .run(passwordHash, Number(id), options.expected)
    return result.changes > 0
  }

  async setActive(id: string, active: boolean) {
    return (
      this.db.prepare('update accounts set disabled = ? where account_id = ?').run(active ? 0 : 1, Number(id))
        .changes > 0
    )
  }

  async markEmailVerified(id: string, email: string, at: number) {
    this.db
      .prepare(
        'update accounts set mail_confirmed_at = ? where account_id = ? and mail = ? and mail_confirmed_at is null',
      )
      .run(at, Number(id), email)
    return (
      this.db.prepare('select 1 from accounts where account_id = ? and mail = ?').get(Number(id), email) !==
      undefined
    )
  }

  async delete(id: string) {
    return this.db.prepare('delete from accounts where account_id = ?').run(Number(id)).changes > 0
  }
}

const sharedFile = join(folder.dir, 'accounts.db')
testUserStore(
  'an app table of its own (better-sqlite3, integer ids)',
  () => {
    const table = new AccountsTable(sharedFile)
    return { store: table, close: () => void table.db.close() }
  },
  { connections: 4 },
)

describe('the login API on an app table of its own', () => {
  it('signs up, logs in, resets a password and lists sessions through the fetch handler', async () => {
    const users = new AccountsTable(join(folder.dir, 'e2e.db'))
    const mails: MailMessage[] = []
    const mailer: Mailer = { send: async (message) => void mails.push(message) }
    const auth = createAuth({
      keys: { secret: 'a-test-secret-of-at-least-thirty-two-bytes!' },
      revocation: new MemoryRevocationStore(),
      ...loginAuthOptions(users),
    })
    const api = createLoginApi({
      auth,
      users,
      store: new MemoryLoginStore(),
      mailer,
      hasher: new PasswordHasher({ memoryCost: 1024, timeCost: 1, parallelism: 1 }),
      publicUrl: 'https://shop.example.test',
    })
    const handle = fetchHandler(api, { basePath: '/api/auth' })
    const call = async (method: string, path: string, body?: unknown, token?: string) => {
      const response = await handle(
        new Request(`http://localhost/api/auth${path}`, {
          method,
          headers: {
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
            ...(token ? { authorization: `Bearer ${token}` } : {}),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        }),
        { clientAddress: '192.0.2.10' },
      )
      return { status: response.status, body: (await response.json()) as Record<string, unknown> }
    }

    expect(
      (await call('POST', '/signup', { email: 'Shopper@Example.com', password: 'a long password' })).status,
    ).toBe(202)
    const row = users.db.prepare<[], AccountRow>('select * from accounts').get()!
    expect(row).toMatchObject({ mail: 'shopper@example.com', disabled: 0, mail_confirmed_at: null })
    const login = await call('POST', '/login', { email: 'shopper@example.com', password: 'a long password' })
    expect(login.status).toBe(200)
    const access = login.body.access_token as string
    expect((await call('GET', '/me', undefined, access)).body).toEqual({
      user: { id: String(row.account_id), email: 'shopper@example.com', name: null, email_verified: false },
    })
    const listed = await call('GET', '/sessions', undefined, access)
    expect(listed.body.sessions).toEqual([
      expect.objectContaining({ address: '192.0.2.0/24', current: true }),
    ])

    expect((await call('POST', '/password/forgot', { email: 'shopper@example.com' })).status).toBe(202)
    await api.idle()
    const reset = mails.find((m) => m.kind === 'reset-password')!
    expect(reset.link).toMatch(/^https:\/\/shop\.example\.test\/#reset-password=/)
    const token = new URLSearchParams(new URL(reset.link!).hash.slice(1)).get('reset-password')!
    expect(
      (await call('POST', '/password/reset', { token, new_password: 'another long password' })).status,
    ).toBe(200)
    expect((await call('GET', '/me', undefined, access)).body.code).toBe('TOKEN_REVOKED')
    expect(users.db.prepare<[], AccountRow>('select * from accounts').get()!.mail_confirmed_at).not.toBeNull()
    expect(
      (await call('POST', '/login', { email: 'shopper@example.com', password: 'another long password' }))
        .status,
    ).toBe(200)
    await api.close()
    users.db.close()
  })
})
