/**
 * The login API's stores in this process's memory: users, sessions and one-time tokens in maps. For
 * tests, examples and a single development process; everything is gone at exit, and two processes
 * never see each other's users. Use `latchkey/login/kysely` for anything that must last.
 */
import { randomUUID } from 'node:crypto'
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
} from './store.js'

/**
 * {@link UserStore} and {@link LoginStore} in memory.
 *
 * @example
 * ```ts
 * const store = new MemoryLoginStore()
 * const api = createLoginApi({ auth, store })
 * ```
 */
export class MemoryLoginStore implements UserStore<LoginUser>, LoginStore {
  readonly #users = new Map<string, LoginUser>()
  readonly #byEmail = new Map<string, string>()
  readonly #tokens = new Map<string, OneTimeToken>()
  readonly #sessions = new Map<string, SessionRecord>()

  async findById(id: string): Promise<LoginUser | undefined> {
    const user = this.#users.get(id)
    return user && { ...user }
  }

  async findByEmail(email: string): Promise<LoginUser | undefined> {
    const id = this.#byEmail.get(email)
    return id === undefined ? undefined : this.findById(id)
  }

  async create(input: NewUser): Promise<LoginUser> {
    if (this.#byEmail.has(input.email)) throw new EmailTakenError()
    const user: LoginUser = {
      id: randomUUID(),
      email: input.email,
      name: input.name ?? null,
      passwordHash: input.passwordHash,
      active: true,
      emailVerifiedAt: null,
    }
    this.#users.set(user.id, user)
    this.#byEmail.set(user.email, user.id)
    return { ...user }
  }

  async setPasswordHash(
    id: string,
    passwordHash: string,
    options: { expected?: string } = {},
  ): Promise<boolean> {
    const user = this.#users.get(id)
    if (!user || (options.expected !== undefined && user.passwordHash !== options.expected)) return false
    user.passwordHash = passwordHash
    return true
  }

  async setActive(id: string, active: boolean): Promise<boolean> {
    const user = this.#users.get(id)
    if (user) user.active = active
    return user !== undefined
  }

  async markEmailVerified(id: string, email: string, at: number): Promise<boolean> {
    const user = this.#users.get(id)
    if (!user || user.email !== email) return false
    user.emailVerifiedAt ??= at
    return true
  }

  async delete(id: string): Promise<boolean> {
    const user = this.#users.get(id)
    if (!user) return false
    this.#users.delete(id)
    this.#byEmail.delete(user.email)
    return true
  }

  async saveToken(token: OneTimeToken): Promise<void> {
    await this.deleteTokens(token.userId, token.purpose)
    this.#tokens.set(token.hash, { ...token })
  }

  async takeToken(hash: string, purpose: TokenPurpose, now: number): Promise<OneTimeToken | undefined> {
    const token = this.#tokens.get(hash)
    if (!token || token.purpose !== purpose) return undefined
    this.#tokens.delete(hash)
    return token.expiresAt > now ? token : undefined
  }

  async deleteTokens(userId: string, purpose?: TokenPurpose): Promise<void> {
    for (const [hash, token] of this.#tokens)
      if (token.userId === userId && (purpose === undefined || token.purpose === purpose))
        this.#tokens.delete(hash)
  }

  async saveSession(session: SessionRecord): Promise<void> {
    this.#sessions.set(session.id, { ...session })
  }

  async touchSession(id: string, use: SessionUse): Promise<boolean> {
    const session = this.#sessions.get(id)
    if (!session) return false
    session.lastUsedAt = use.lastUsedAt
    if (use.issuedAt !== undefined) session.issuedAt = use.issuedAt
    if (use.expiresAt !== undefined) session.expiresAt = use.expiresAt
    return true
  }

  async findSession(id: string): Promise<SessionRecord | undefined> {
    const session = this.#sessions.get(id)
    return session && { ...session }
  }

  async listSessions(userId: string, now: number): Promise<SessionRecord[]> {
    return [...this.#sessions.values()]
      .filter((s) => s.userId === userId && s.expiresAt > now)
      .sort((a, b) => b.lastUsedAt - a.lastUsedAt || (a.id < b.id ? -1 : 1))
      .map((s) => ({ ...s }))
  }

  async deleteSession(id: string): Promise<boolean> {
    return this.#sessions.delete(id)
  }

  async deleteSessions(userId: string, options: { except?: string } = {}): Promise<void> {
    for (const [id, session] of this.#sessions)
      if (session.userId === userId && id !== options.except) this.#sessions.delete(id)
  }

  async purgeExpired(now: number): Promise<number> {
    let n = 0
    for (const [id, session] of this.#sessions) if (session.expiresAt <= now && this.#sessions.delete(id)) n++
    for (const [hash, token] of this.#tokens) if (token.expiresAt <= now && this.#tokens.delete(hash)) n++
    return n
  }
}
