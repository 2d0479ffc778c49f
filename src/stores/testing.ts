/**
 * The conformance suite every revocation store must pass: the built-in ones run it, and so should
 * yours. Written with vitest (a peer dependency of this subpath only).
 */
import { randomUUID } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import type { ConsumeResult, RevocationStore, TokenRef } from './store.js'

/** Options of {@link testRevocationStore}. */
export interface RevocationStoreSuiteOptions {
  /**
   * How many stores the concurrency tests create with `makeStore` and use at once. Every store made
   * by `makeStore` must then share one backend (one Redis, one database file), so that the test
   * covers separate connections. Set `1` for an in-process store whose instances share nothing.
   * Default 4.
   */
  connections?: number
  /**
   * Lifetime of the entries in the real-time expiry test, in milliseconds; the test waits this long
   * plus 150 ms. Raise it for a slow backend. Unused with `controllableClock`. Default 500.
   */
  expiryMs?: number
  /**
   * Set when `makeStore` gives the store `context.now` as its clock and the store reads the time
   * through it alone (every built-in store but Redis, whose expiry is Redis's own). The expiry test
   * then moves that clock instead of waiting, and checks every entry to the millisecond: in force at
   * `expiresAt - 1`, gone at `expiresAt`. Default false: the test waits for real time to pass.
   */
  controllableClock?: boolean
}

/** What {@link testRevocationStore} hands to `makeStore`. */
export interface RevocationStoreSuiteContext {
  /**
   * The suite's clock in epoch milliseconds: `Date.now()`, except inside a test that moves it (only
   * with `controllableClock`). Pass it as the store's clock option (`now`).
   */
  now: () => number
}

/**
 * Registers a `describe` block of tests that check a {@link RevocationStore} against the contract:
 * revocation by id, by family and by identity cut-off (to the millisecond), expiry (an entry lasts
 * until the `expiresAt` it was given, whatever the token's own `exp`: latchkey passes `exp` plus the
 * leeway), idempotency, isolation between ids, and refresh-token consumption under real concurrency.
 *
 * `makeStore` is called for each test (and `connections` times for the concurrency tests); stores
 * are closed after each test. Tests use random ids, so stores may share a backend across tests.
 * Stores that take a clock should be given `context.now`, with `controllableClock: true`.
 *
 * @example
 * ```ts
 * // test/my-store.test.ts
 * import { testRevocationStore } from 'latchkey/testing'
 * import { MyStore } from '../src/my-store.js'
 *
 * testRevocationStore('MyStore', () => new MyStore(process.env.DATABASE_URL!))
 * ```
 */
export function testRevocationStore(
  name: string,
  makeStore: (context: RevocationStoreSuiteContext) => Promise<RevocationStore> | RevocationStore,
  options: RevocationStoreSuiteOptions = {},
): void {
  const { connections = 4, expiryMs = 500, controllableClock = false } = options
  if (!Number.isInteger(connections) || connections < 1) throw new RangeError('connections must be >= 1')

  describe(`RevocationStore conformance: ${name}`, () => {
    const opened: RevocationStore[] = []
    /** The time a test set, or undefined: real time. */
    let frozenAt: number | undefined
    const context: RevocationStoreSuiteContext = { now: () => frozenAt ?? Date.now() }
    async function open(): Promise<RevocationStore> {
      const store = await makeStore(context)
      opened.push(store)
      return store
    }
    afterEach(async () => {
      frozenAt = undefined
      await Promise.all(opened.splice(0).map((store) => store.close?.()))
    })

    it('revokes a token by jti, and only that token', async () => {
      const store = await open()
      const token = ref()
      const sibling = ref({ sub: token.sub })
      expect(await store.isRevoked(token)).toBe(false)
      await store.revokeToken(token.jti, inAMinute())
      expect(await store.isRevoked(token)).toBe(true)
      expect(await store.isRevoked(sibling)).toBe(false)
    })

    it('revoking twice is harmless and keeps the token revoked', async () => {
      const store = await open()
      const token = ref()
      await store.revokeToken(token.jti, inAMinute())
      await store.revokeToken(token.jti, inAMinute())
      expect(await store.isRevoked(token)).toBe(true)
    })

    it('ignores a revocation whose expiry has already passed', async () => {
      const store = await open()
      const token = ref({ family: id('family') })
      await store.revokeToken(token.jti, Date.now() - 1)
      await store.revokeFamily(token.family!, Date.now() - 1)
      await store.revokeIdentity(token.sub, token.issuedAt + 1, Date.now() - 1)
      expect(await store.isRevoked(token)).toBe(false)
    })

    it('revokes every token of a family, and no other', async () => {
      const store = await open()
      const family = id('family')
      const first = ref({ family })
      const second = ref({ family, sub: first.sub })
      const otherFamily = ref({ family: id('family'), sub: first.sub })
      const noFamily = ref({ sub: first.sub })
      expect(await store.isRevoked(first)).toBe(false)
      await store.revokeFamily(family, inAMinute())
      await store.revokeFamily(family, inAMinute())
      expect(await store.isRevoked(first)).toBe(true)
      expect(await store.isRevoked(second)).toBe(true)
      expect(await store.isRevoked(otherFamily)).toBe(false)
      expect(await store.isRevoked(noFamily)).toBe(false)
    })

    it('never matches a token without a family against a family named "undefined" or ""', async () => {
      const store = await open()
      await store.revokeFamily('undefined', inAMinute())
      await store.revokeFamily('null', inAMinute())
      await store.revokeFamily('', inAMinute())
      expect(await store.isRevoked(ref())).toBe(false)
      expect(await store.isRevoked(ref({ family: '' }))).toBe(true)
    })

    it('keeps token ids, families and subjects in separate namespaces', async () => {
      const store = await open()
      const shared = id('shared')
      await store.revokeToken(shared, inAMinute())
      expect(await store.isRevoked(ref({ family: shared, sub: shared }))).toBe(false)
      const other = id('other')
      await store.revokeFamily(other, inAMinute())
      expect(await store.isRevoked(ref({ jti: other, sub: other }))).toBe(false)
      const subject = id('subject')
      await store.revokeIdentity(subject, Date.now() + 60_000, inAMinute())
      expect(await store.isRevoked(ref({ jti: subject, family: subject }))).toBe(false)
      expect(await store.isRevoked(ref({ sub: subject }))).toBe(true)
    })

    it('cuts off an identity to the millisecond (logout everywhere)', async () => {
      const store = await open()
      const sub = id('sub')
      const cutoff = Date.now()
      await store.revokeIdentity(sub, cutoff, inAMinute())
      expect(await store.isRevoked(ref({ sub, issuedAt: cutoff - 1 }))).toBe(true)
      expect(await store.isRevoked(ref({ sub, issuedAt: cutoff - 60_000, family: id('f') }))).toBe(true)
      // "Issued before the cut-off": a login in the same millisecond as the logout survives.
      expect(await store.isRevoked(ref({ sub, issuedAt: cutoff }))).toBe(false)
      expect(await store.isRevoked(ref({ sub, issuedAt: cutoff + 1 }))).toBe(false)
      expect(await store.isRevoked(ref({ issuedAt: cutoff - 1 }))).toBe(false)
    })

    it('keeps the later of two cut-offs, whatever the order of the calls', async () => {
      const store = await open()
      const base = Date.now()
      const laterFirst = id('sub')
      await store.revokeIdentity(laterFirst, base + 1_000, inAMinute())
      await store.revokeIdentity(laterFirst, base, inAMinute())
      expect(await store.isRevoked(ref({ sub: laterFirst, issuedAt: base + 999 }))).toBe(true)
      expect(await store.isRevoked(ref({ sub: laterFirst, issuedAt: base + 1_000 }))).toBe(false)

      const laterSecond = id('sub')
      await store.revokeIdentity(laterSecond, base, inAMinute())
      await store.revokeIdentity(laterSecond, base + 1_000, inAMinute())
      expect(await store.isRevoked(ref({ sub: laterSecond, issuedAt: base + 999 }))).toBe(true)
    })

    it('sees its own revocation right after an earlier "not revoked" answer', async () => {
      // Catches a local cache that the instance's own writes do not invalidate.
      const store = await open()
      const byJti = ref()
      expect(await store.isRevoked(byJti)).toBe(false)
      await store.revokeToken(byJti.jti, inAMinute())
      expect(await store.isRevoked(byJti)).toBe(true)

      const byFamily = ref({ family: id('family') })
      expect(await store.isRevoked(byFamily)).toBe(false)
      await store.revokeFamily(byFamily.family!, inAMinute())
      expect(await store.isRevoked(byFamily)).toBe(true)

      const bySub = ref()
      expect(await store.isRevoked(bySub)).toBe(false)
      await store.revokeIdentity(bySub.sub, bySub.issuedAt + 1, inAMinute())
      expect(await store.isRevoked(bySub)).toBe(true)
    })

    it('keeps a token past its own exp revoked while the revocation lasts (the leeway)', async () => {
      // latchkey accepts a token until exp + leeway, and asks the store to keep its revocation as long.
      // A store must go by the expiry it was given, never by the token's exp (`expiresAt` of the ref).
      const store = await open()
      const now = context.now()
      const exp = now - 30_000
      const until = now + 30_000
      const byJti = ref({ issuedAt: exp - 900_000, expiresAt: exp })
      const byFamily = ref({ family: id('family'), issuedAt: exp - 900_000, expiresAt: exp })
      const bySub = ref({ issuedAt: exp - 900_000, expiresAt: exp })
      const refresh = id('refresh')
      await store.revokeToken(byJti.jti, until)
      await store.revokeFamily(byFamily.family!, until)
      await store.revokeIdentity(bySub.sub, now, until)
      expect(await store.consumeRefreshToken(refresh, until)).toEqual({ firstUse: true })
      expect(await store.isRevoked(byJti)).toBe(true)
      expect(await store.isRevoked(byFamily)).toBe(true)
      expect(await store.isRevoked(bySub)).toBe(true)
      expect((await store.consumeRefreshToken(refresh, until)).firstUse).toBe(false)
    })

    if (controllableClock) {
      it('keeps every entry until the expiry it was given, to the millisecond, then forgets it (moving the clock)', async () => {
        const store = await open()
        const start = Date.now()
        frozenAt = start
        // A token that expires in 10 s, under a 60 s leeway: its entries must last until exp + 60 s.
        const exp = start + 10_000
        const until = exp + 60_000
        const at = (time: number) => {
          frozenAt = time
        }
        const expiring = ref({ issuedAt: start - 1, expiresAt: exp })
        const extended = ref({ issuedAt: start - 1, expiresAt: exp })
        const family = ref({ family: id('family'), issuedAt: start - 1, expiresAt: exp })
        const identity = ref({ issuedAt: start - 1, expiresAt: exp })
        const refresh = id('refresh')

        await store.revokeToken(expiring.jti, until)
        await store.revokeToken(extended.jti, until + 60_000)
        await store.revokeToken(extended.jti, until)
        await store.revokeFamily(family.family!, until)
        await store.revokeIdentity(identity.sub, start, until)
        expect(await store.consumeRefreshToken(refresh, until)).toEqual({ firstUse: true })

        // Asked through this store and, when stores share a backend, through a fresh one (no cache).
        const views = connections > 1 ? [store, await open()] : [store]
        for (const time of [exp, exp + 30_000, until - 1]) {
          at(time)
          for (const [i, view] of views.entries()) {
            const when = `${time - exp} ms after exp, store ${i + 1}`
            expect(await view.isRevoked(expiring), when).toBe(true)
            expect(await view.isRevoked(extended), when).toBe(true)
            expect(await view.isRevoked(family), when).toBe(true)
            expect(await view.isRevoked(identity), when).toBe(true)
            expect(await view.consumeRefreshToken(refresh, until), when).toEqual({
              firstUse: false,
              usedAt: start,
            })
          }
        }

        // At `expiresAt` the token is refused as expired anyway: the entries have nothing left to do.
        at(until)
        expect(await store.isRevoked(expiring)).toBe(false)
        expect(await store.isRevoked(extended)).toBe(true)
        expect(await store.isRevoked(family)).toBe(false)
        expect(await store.isRevoked(identity)).toBe(false)
        expect(await store.consumeRefreshToken(refresh, until + 60_000)).toEqual({ firstUse: true })
        at(until + 60_000)
        expect(await store.isRevoked(extended)).toBe(false)
      })
    } else {
      it('forgets entries once their expiry has passed, keeping the later expiry of repeated calls (real time)', async () => {
        const store = await open()
        const start = Date.now()
        const until = start + expiryMs
        const expiring = ref({ issuedAt: start - 1, expiresAt: start })
        const extended = ref({ expiresAt: start })
        const family = ref({ family: id('family'), expiresAt: start })
        const identity = ref({ issuedAt: start - 1, expiresAt: start })
        const refresh = id('refresh')

        await store.revokeToken(expiring.jti, until)
        await store.revokeToken(extended.jti, start + 60_000)
        await store.revokeToken(extended.jti, until)
        await store.revokeFamily(family.family!, until)
        await store.revokeIdentity(identity.sub, start, until)
        expect(await store.consumeRefreshToken(refresh, until)).toEqual({ firstUse: true })

        expect(await store.isRevoked(expiring)).toBe(true)
        expect(await store.isRevoked(extended)).toBe(true)
        expect(await store.isRevoked(family)).toBe(true)
        expect(await store.isRevoked(identity)).toBe(true)
        expect((await store.consumeRefreshToken(refresh, until)).firstUse).toBe(false)
        // If this fails the machine was too slow for `expiryMs`, not necessarily the store wrong.
        expect(Date.now(), 'checks before expiry took longer than expiryMs').toBeLessThan(until)

        // Shortly before the expiry: still in force, through this store and, when stores share a
        // backend, through a fresh one (whose cache, if any, cannot hide what the backend forgot).
        // An answer that arrives after `until` proves nothing either way (a loaded machine), so only
        // an early "forgotten" fails.
        const views = connections > 1 ? [store, await open()] : [store]
        await sleep(until - Math.min(150, expiryMs / 3) - Date.now())
        const inForce = async (what: string, answer: Promise<boolean>) => {
          if (!(await answer))
            expect(Date.now(), `${what} forgotten before its expiry`).toBeGreaterThanOrEqual(until)
        }
        for (const [i, view] of views.entries()) {
          await inForce(`token (store ${i + 1})`, Promise.resolve(view.isRevoked(expiring)))
          await inForce(`family (store ${i + 1})`, Promise.resolve(view.isRevoked(family)))
          await inForce(`identity (store ${i + 1})`, Promise.resolve(view.isRevoked(identity)))
          await inForce(
            `used refresh token (store ${i + 1})`,
            view.consumeRefreshToken(refresh, until).then((result) => !result.firstUse),
          )
        }

        await sleep(until - Date.now() + 150)
        expect(await store.isRevoked(expiring)).toBe(false)
        expect(await store.isRevoked(extended)).toBe(true)
        expect(await store.isRevoked(family)).toBe(false)
        expect(await store.isRevoked(identity)).toBe(false)
        expect(await store.consumeRefreshToken(refresh, Date.now() + 60_000)).toEqual({ firstUse: true })
      })
    }

    it('keeps entries for non-expiring tokens (expiresAt = Number.MAX_SAFE_INTEGER)', async () => {
      // latchkey passes MAX_SAFE_INTEGER for tokens without `exp`; a store must neither overflow its
      // TTL arithmetic nor round the value into something already past.
      const store = await open()
      const forever = Number.MAX_SAFE_INTEGER
      const token = ref({ family: id('family') })
      await store.revokeToken(token.jti, forever)
      await store.revokeFamily(token.family!, forever)
      const cutoff = Date.now()
      await store.revokeIdentity(token.sub, cutoff, forever)
      await store.revokeIdentity(token.sub, cutoff - 10, forever)
      expect(await store.isRevoked(token)).toBe(true)
      expect(await store.isRevoked(ref({ family: token.family }))).toBe(true)
      expect(await store.isRevoked(ref({ sub: token.sub, issuedAt: cutoff - 1 }))).toBe(true)
      expect(await store.isRevoked(ref({ sub: token.sub, issuedAt: cutoff }))).toBe(false)
      const jti = id('refresh')
      expect(await store.consumeRefreshToken(jti, forever)).toEqual({ firstUse: true })
      expect((await store.consumeRefreshToken(jti, forever)).firstUse).toBe(false)
    })

    it('consumes a refresh token once; later uses report the time of the first', async () => {
      const store = await open()
      const jti = id('refresh')
      const before = Date.now()
      expect(await store.consumeRefreshToken(jti, inAMinute())).toEqual({ firstUse: true })
      const after = Date.now()
      const second = await store.consumeRefreshToken(jti, inAMinute())
      const third = await store.consumeRefreshToken(jti, inAMinute())
      if (second.firstUse) throw new Error('second use reported as first')
      expect(second.usedAt).toBeGreaterThanOrEqual(before)
      expect(second.usedAt).toBeLessThanOrEqual(after)
      expect(third).toEqual(second)
      // Consuming is not revoking: the access side is untouched.
      expect(await store.isRevoked(ref({ jti }))).toBe(false)
      expect(await store.consumeRefreshToken(id('refresh'), inAMinute())).toEqual({ firstUse: true })
    })

    it(`gives first use to exactly one of 50 concurrent consumers (${connections} connection(s))`, async () => {
      const stores = await Promise.all(Array.from({ length: connections }, open))
      const jti = id('refresh')
      const before = Date.now()
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          stores[i % stores.length]!.consumeRefreshToken(jti, inAMinute()),
        ),
      )
      const after = Date.now()
      expectOneFirstUse(results, before, after)
      const again = await stores[0]!.consumeRefreshToken(jti, inAMinute())
      expect(again.firstUse).toBe(false)
    })

    it('gives first use to every one of many different refresh tokens consumed at once', async () => {
      const stores = await Promise.all(Array.from({ length: connections }, open))
      const jtis = Array.from({ length: 40 }, () => id('refresh'))
      const results = await Promise.all(
        jtis.map((jti, i) => stores[i % stores.length]!.consumeRefreshToken(jti, inAMinute())),
      )
      expect(results.every((result) => result.firstUse)).toBe(true)
    })

    it('answers concurrent checks and revocations consistently', async () => {
      const stores = await Promise.all(Array.from({ length: connections }, open))
      const tokens = Array.from({ length: 30 }, () => ref())
      await Promise.all(
        tokens.map((token, i) =>
          i % 2 === 0 ? stores[i % stores.length]!.revokeToken(token.jti, inAMinute()) : Promise.resolve(),
        ),
      )
      const answers = await Promise.all(
        tokens.map((token, i) => stores[(i + 1) % stores.length]!.isRevoked(token)),
      )
      expect(answers).toEqual(tokens.map((_, i) => i % 2 === 0))
    })
  })
}

/**
 * Asserts that exactly one result is a first use and that every other one reports the same first-use
 * time, between `before` and `after`. Exported for store-specific concurrency tests.
 */
export function expectOneFirstUse(results: readonly ConsumeResult[], before: number, after: number): void {
  const winners = results.filter((result) => result.firstUse)
  expect(winners, 'exactly one first use').toHaveLength(1)
  const usedAt = new Set(results.flatMap((result) => (result.firstUse ? [] : [result.usedAt])))
  expect(usedAt.size, 'every later use reports the same first-use time').toBe(1)
  const [time] = usedAt
  expect(time).toBeGreaterThanOrEqual(before)
  expect(time).toBeLessThanOrEqual(after)
}

function id(kind: string): string {
  return `${kind}-${randomUUID()}`
}

function ref(overrides: Partial<TokenRef> = {}): TokenRef {
  return {
    jti: id('jti'),
    sub: id('sub'),
    family: undefined,
    issuedAt: Date.now(),
    expiresAt: undefined,
    ...overrides,
  }
}

function inAMinute(): number {
  return Date.now() + 60_000
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)))
}
