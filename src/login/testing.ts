/**
 * `latchkey/login/testing`: the contract suites of the login API's stores. The built-in stores run
 * them, and so should yours: {@link testUserStore} for a user store over your own users table,
 * {@link testLoginStore} for sessions and mailed-link tokens. Written with vitest (a peer dependency
 * of this subpath only).
 */
import { randomUUID } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import {
  EmailTakenError,
  type LoginStore,
  type LoginUser,
  type OneTimeToken,
  type SessionRecord,
  type UserStore,
} from './store.js'

/** Options of the suites. */
export interface StoreSuiteOptions {
  /**
   * How many stores the concurrency tests create with the factory and use at once. Stores made by
   * the factory must then share one backend (one database), so that the test covers separate
   * connections. Set 1 for an in-process store whose instances share nothing. Default 4.
   */
  connections?: number
}

/** A store made by a suite's factory, with how to close it. */
type Made<S> = S | { store: S; close(): Promise<void> | void }

function unwrap<S>(made: Made<S>): { store: S; close?: () => Promise<void> | void } {
  if (
    made &&
    typeof made === 'object' &&
    'store' in made &&
    'close' in made &&
    typeof made.close === 'function'
  )
    return made as { store: S; close(): Promise<void> | void }
  return { store: made as S }
}

function opener<S>(make: () => Promise<Made<S>> | Made<S>) {
  const closers: (() => Promise<void> | void)[] = []
  afterEach(async () => {
    await Promise.all(closers.splice(0).map((close) => close()))
  })
  return async (): Promise<S> => {
    const { store, close } = unwrap(await make())
    if (close) closers.push(close)
    return store
  }
}

const email = (tag = 'user') => `${tag}-${randomUUID()}@example.com`
const HASH =
  '$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g'

/**
 * Registers tests that check a {@link UserStore} against the contract: create and find (by id and
 * by normalised email), a duplicate email refused with {@link EmailTakenError} (exactly one winner
 * under concurrency), compare-and-set of password hashes, the active flag, email verification bound
 * to the address, deletion.
 *
 * `make` is called per test (and `connections` times for the concurrency test); it returns the store,
 * or `{ store, close }`. Emails are random, so stores may share a backend across tests.
 *
 * @example
 * ```ts
 * import { testUserStore } from 'latchkey/login/testing'
 * testUserStore('AccountsTable', () => new AccountsTable(pool))
 * ```
 */
export function testUserStore<User extends LoginUser>(
  name: string,
  make: () => Promise<Made<UserStore<User>>> | Made<UserStore<User>>,
  options: StoreSuiteOptions = {},
): void {
  const { connections = 4 } = options
  describe(`UserStore contract: ${name}`, () => {
    const open = opener(make)

    it('creates an active, unverified user with an id, and finds it by id and by email', async () => {
      const store = await open()
      const address = email()
      const user = await store.create({ email: address, name: 'Ada', passwordHash: HASH })
      expect(user).toMatchObject({
        email: address,
        name: 'Ada',
        passwordHash: HASH,
        active: true,
        emailVerifiedAt: null,
      })
      expect(typeof user.id).toBe('string')
      expect(user.id.length).toBeGreaterThan(0)
      expect(await store.findById(user.id)).toMatchObject({
        id: user.id,
        email: address,
        name: 'Ada',
        active: true,
      })
      expect(await store.findByEmail(address)).toMatchObject({ id: user.id, passwordHash: HASH })
      const nameless = await store.create({ email: email(), name: null, passwordHash: HASH })
      expect((await store.findById(nameless.id))?.name).toBeNull()
      expect(nameless.id).not.toBe(user.id)
    })

    it('finds nothing for an unknown id or email, and compares emails byte for byte', async () => {
      const store = await open()
      const address = email('exact')
      await store.create({ email: address, name: null, passwordHash: HASH })
      expect(await store.findById(randomUUID())).toBeUndefined()
      expect(await store.findByEmail(email('nobody'))).toBeUndefined()
      // Normalising is the API's job; the store must not match another spelling behind its back.
      expect(await store.findByEmail(address.toUpperCase())).toBeUndefined()
      expect(await store.findByEmail(` ${address}`)).toBeUndefined()
    })

    it('refuses a second user with the same email with EmailTakenError, and keeps the first', async () => {
      const store = await open()
      const address = email('taken')
      const first = await store.create({ email: address, name: null, passwordHash: HASH })
      const again = store.create({ email: address, name: 'Other', passwordHash: `${HASH}x` })
      await expect(again).rejects.toBeInstanceOf(EmailTakenError)
      expect(await store.findByEmail(address)).toMatchObject({ id: first.id, passwordHash: HASH })
    })

    it(`of ${8 * connections} concurrent creations with one email over ${connections} connections, exactly one wins`, async () => {
      const stores = await Promise.all(Array.from({ length: connections }, () => open()))
      const address = email('race')
      const outcomes = await Promise.allSettled(
        Array.from({ length: 8 * connections }, (_, i) =>
          stores[i % connections]!.create({ email: address, name: null, passwordHash: `${HASH}${i}` }),
        ),
      )
      const won = outcomes.filter((o) => o.status === 'fulfilled')
      expect(won).toHaveLength(1)
      for (const lost of outcomes.filter((o) => o.status === 'rejected'))
        expect((lost as PromiseRejectedResult).reason).toBeInstanceOf(EmailTakenError)
      const winner = (won[0] as PromiseFulfilledResult<User>).value
      expect((await stores[0]!.findByEmail(address))?.id).toBe(winner.id)
    })

    it('replaces a password hash, and with `expected` only while the stored hash is still that one', async () => {
      const store = await open()
      const user = await store.create({ email: email(), name: null, passwordHash: HASH })
      expect(await store.setPasswordHash(user.id, 'second')).toBe(true)
      expect((await store.findById(user.id))?.passwordHash).toBe('second')
      expect(await store.setPasswordHash(user.id, 'third', { expected: HASH })).toBe(false)
      expect((await store.findById(user.id))?.passwordHash).toBe('second')
      expect(await store.setPasswordHash(user.id, 'third', { expected: 'second' })).toBe(true)
      expect((await store.findByEmail(user.email))?.passwordHash).toBe('third')
      expect(await store.setPasswordHash(randomUUID(), 'x')).toBe(false)
    })

    it('of concurrent compare-and-set changes from one hash, exactly one wins', async () => {
      const stores = await Promise.all(Array.from({ length: connections }, () => open()))
      const user = await stores[0]!.create({ email: email('cas'), name: null, passwordHash: HASH })
      const results = await Promise.all(
        Array.from({ length: 4 * connections }, (_, i) =>
          stores[i % connections]!.setPasswordHash(user.id, `new-${i}`, { expected: HASH }),
        ),
      )
      expect(results.filter(Boolean)).toHaveLength(1)
      expect((await stores[0]!.findById(user.id))?.passwordHash).toBe(`new-${results.indexOf(true)}`)
    })

    it('disables and enables an account', async () => {
      const store = await open()
      const user = await store.create({ email: email(), name: null, passwordHash: HASH })
      expect(await store.setActive(user.id, false)).toBe(true)
      expect((await store.findById(user.id))?.active).toBe(false)
      expect((await store.findByEmail(user.email))?.active).toBe(false)
      expect(await store.setActive(user.id, true)).toBe(true)
      expect((await store.findById(user.id))?.active).toBe(true)
      expect(await store.setActive(randomUUID(), false)).toBe(false)
    })

    it('verifies an email only for the address it was sent to, and keeps the first time', async () => {
      const store = await open()
      const user = await store.create({ email: email('verify'), name: null, passwordHash: HASH })
      expect(await store.markEmailVerified(user.id, email('elsewhere'), 1_000)).toBe(false)
      expect((await store.findById(user.id))?.emailVerifiedAt).toBeNull()
      expect(await store.markEmailVerified(user.id, user.email, 2_000)).toBe(true)
      expect((await store.findById(user.id))?.emailVerifiedAt).toBe(2_000)
      expect(await store.markEmailVerified(user.id, user.email, 3_000)).toBe(true)
      expect((await store.findByEmail(user.email))?.emailVerifiedAt).toBe(2_000)
      expect(await store.markEmailVerified(randomUUID(), user.email, 4_000)).toBe(false)
    })

    it('deletes a user: gone by id and by email, and the email is free again', async () => {
      const store = await open()
      const user = await store.create({ email: email('delete'), name: null, passwordHash: HASH })
      const other = await store.create({ email: email('keep'), name: null, passwordHash: HASH })
      expect(await store.delete(user.id)).toBe(true)
      expect(await store.delete(user.id)).toBe(false)
      expect(await store.findById(user.id)).toBeUndefined()
      expect(await store.findByEmail(user.email)).toBeUndefined()
      expect(await store.findById(other.id)).toBeDefined()
      const again = await store.create({ email: user.email, name: null, passwordHash: HASH })
      expect(again.id).not.toBe(user.id)
    })
  })
}

function session(overrides: Partial<SessionRecord> = {}): SessionRecord {
  const now = Date.now()
  return {
    id: randomUUID(),
    userId: randomUUID(),
    createdAt: now,
    lastUsedAt: now,
    issuedAt: now,
    expiresAt: now + 60_000,
    userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Test',
    address: '203.0.113.0/24',
    ...overrides,
  }
}

function token(overrides: Partial<OneTimeToken> = {}): OneTimeToken {
  const now = Date.now()
  return {
    hash: randomUUID().replace(/-/g, '').padEnd(64, '0'),
    purpose: 'reset',
    userId: randomUUID(),
    email: email('token'),
    createdAt: now,
    expiresAt: now + 60_000,
    ...overrides,
  }
}

/**
 * Registers tests that check a {@link LoginStore} against the contract: session records (save,
 * touch, list per user without expired ones, most recent first, delete one or all but one) and
 * mailed-link tokens (single use under concurrency, expiry, a newer token replacing older ones,
 * deletion per user and purpose).
 *
 * @example
 * ```ts
 * import { testLoginStore } from 'latchkey/login/testing'
 * testLoginStore('MyStore', () => new MyStore(pool))
 * ```
 */
export function testLoginStore(
  name: string,
  make: () => Promise<Made<LoginStore>> | Made<LoginStore>,
  options: StoreSuiteOptions = {},
): void {
  const { connections = 4 } = options
  describe(`LoginStore contract: ${name}`, () => {
    const open = opener(make)

    it('saves a session and finds it by id, with every field', async () => {
      const store = await open()
      const record = session({ userAgent: null, address: null })
      await store.saveSession(record)
      expect(await store.findSession(record.id)).toEqual(record)
      const full = session()
      await store.saveSession(full)
      expect(await store.findSession(full.id)).toEqual(full)
      expect(await store.findSession(randomUUID())).toBeUndefined()
    })

    it('saving a session with an existing id replaces it', async () => {
      const store = await open()
      const record = session()
      await store.saveSession(record)
      const replaced = { ...record, lastUsedAt: record.lastUsedAt + 5, userAgent: 'other' }
      await store.saveSession(replaced)
      expect(await store.findSession(record.id)).toEqual(replaced)
    })

    it("touches a session's last use (and after a refresh its issue time and expiry)", async () => {
      const store = await open()
      const record = session()
      await store.saveSession(record)
      expect(await store.touchSession(record.id, { lastUsedAt: record.lastUsedAt + 10 })).toBe(true)
      expect(await store.findSession(record.id)).toEqual({ ...record, lastUsedAt: record.lastUsedAt + 10 })
      const refreshed = {
        lastUsedAt: record.lastUsedAt + 20,
        issuedAt: record.issuedAt + 20,
        expiresAt: record.expiresAt + 20,
      }
      expect(await store.touchSession(record.id, refreshed)).toBe(true)
      expect(await store.findSession(record.id)).toEqual({ ...record, ...refreshed })
      expect(await store.touchSession(randomUUID(), { lastUsedAt: 1 })).toBe(false)
    })

    it("lists a user's unexpired sessions only, most recently used first", async () => {
      const store = await open()
      const userId = randomUUID()
      const now = Date.now()
      const older = session({ userId, lastUsedAt: now - 2_000 })
      const newer = session({ userId, lastUsedAt: now - 1_000 })
      const expired = session({ userId, expiresAt: now - 1 })
      const someoneElse = session()
      for (const record of [older, expired, newer, someoneElse]) await store.saveSession(record)
      expect(await store.listSessions(userId, now)).toEqual([newer, older])
      expect(await store.listSessions(randomUUID(), now)).toEqual([])
      // Expiry is decided by the time given, not the store's clock.
      expect((await store.listSessions(userId, now - 10)).map((s) => s.id)).toContain(expired.id)
    })

    it('deletes one session, or all of a user but one, or all', async () => {
      const store = await open()
      const userId = randomUUID()
      const [a, b, c] = [session({ userId }), session({ userId }), session({ userId })]
      const other = session()
      for (const record of [a, b, c, other]) await store.saveSession(record)
      expect(await store.deleteSession(a.id)).toBe(true)
      expect(await store.deleteSession(a.id)).toBe(false)
      expect(await store.findSession(a.id)).toBeUndefined()
      await store.deleteSessions(userId, { except: c.id })
      expect((await store.listSessions(userId, Date.now())).map((s) => s.id)).toEqual([c.id])
      await store.deleteSessions(userId)
      expect(await store.listSessions(userId, Date.now())).toEqual([])
      expect(await store.findSession(other.id)).toEqual(other)
    })

    it('hands a token out once: the second take finds nothing', async () => {
      const store = await open()
      const saved = token()
      await store.saveToken(saved)
      expect(await store.takeToken(saved.hash, 'reset', Date.now())).toEqual(saved)
      expect(await store.takeToken(saved.hash, 'reset', Date.now())).toBeUndefined()
    })

    it('a token is taken only for its own purpose', async () => {
      const store = await open()
      const saved = token({ purpose: 'verify' })
      await store.saveToken(saved)
      expect(await store.takeToken(saved.hash, 'reset', Date.now())).toBeUndefined()
      expect(await store.takeToken(saved.hash, 'verify', Date.now())).toEqual(saved)
    })

    it('an expired token is refused (and gone)', async () => {
      const store = await open()
      const saved = token()
      await store.saveToken(saved)
      expect(await store.takeToken(saved.hash, 'reset', saved.expiresAt)).toBeUndefined()
      expect(await store.takeToken(saved.hash, 'reset', saved.createdAt)).toBeUndefined()
    })

    it('a newer token of the same user and purpose replaces the older; other purposes and users stay', async () => {
      const store = await open()
      const userId = randomUUID()
      const first = token({ userId })
      const verify = token({ userId, purpose: 'verify' })
      const otherUser = token()
      for (const t of [first, verify, otherUser]) await store.saveToken(t)
      const second = token({ userId })
      await store.saveToken(second)
      const now = Date.now()
      expect(await store.takeToken(first.hash, 'reset', now)).toBeUndefined()
      expect(await store.takeToken(second.hash, 'reset', now)).toEqual(second)
      expect(await store.takeToken(verify.hash, 'verify', now)).toEqual(verify)
      expect(await store.takeToken(otherUser.hash, 'reset', now)).toEqual(otherUser)
    })

    it("deletes a user's tokens, of one purpose or all", async () => {
      const store = await open()
      const userId = randomUUID()
      const reset = token({ userId })
      const verify = token({ userId, purpose: 'verify' })
      await store.saveToken(reset)
      await store.saveToken(verify)
      await store.deleteTokens(userId, 'reset')
      expect(await store.takeToken(reset.hash, 'reset', Date.now())).toBeUndefined()
      const verify2 = token({ userId, purpose: 'verify' })
      await store.saveToken(verify2)
      await store.deleteTokens(userId)
      expect(await store.takeToken(verify2.hash, 'verify', Date.now())).toBeUndefined()
    })

    it(`of ${8 * connections} concurrent takes of one token over ${connections} connections, exactly one gets it`, async () => {
      const stores = await Promise.all(Array.from({ length: connections }, () => open()))
      const saved = token()
      await stores[0]!.saveToken(saved)
      const now = Date.now()
      const taken = await Promise.all(
        Array.from({ length: 8 * connections }, (_, i) =>
          stores[i % connections]!.takeToken(saved.hash, 'reset', now),
        ),
      )
      expect(taken.filter((t) => t !== undefined)).toEqual([saved])
    })
  })
}
