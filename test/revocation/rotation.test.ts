/**
 * Refresh rotation, reuse detection, logout everywhere and failing closed, driven through the auth
 * object (`createAuth` + `authenticate` + `refresh`) over real stores: memory, a SQLite file, Redis
 * strict and Redis with its local cache. Concurrency is real: several connections (and, for SQLite
 * and Redis, several processes) race one refresh token.
 */
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  type Auth,
  type AuthOptions,
  createAuth,
  MemoryRevocationStore,
  type RevocationStore,
  RevocationUnavailableError,
  type TokenResponse,
  TokenRevokedError,
} from '../../src/index.js'
import { RedisRevocationStore } from '../../src/stores/redis.js'
import { SqliteRevocationStore } from '../../src/stores/sqlite.js'
import { probeRedis, redisUrl, requireService } from '../helpers/services.js'
import {
  deleteKeys,
  expectAuthError,
  expectRevoked,
  type LineChild,
  rejection,
  SECRET,
  spawnTsx,
  tcpProxy,
  until,
  view,
} from './helpers.js'

const redis = await requireService('redis', probeRedis)
// One random prefix per run: parallel runs never collide, and cleanup deletes only our keys.
const prefix = `latchkey-test:${randomUUID()}:`
const dir = mkdtempSync(join(tmpdir(), 'latchkey-rotation-'))

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true })
  if (redis.available) await deleteKeys(prefix)
})

/** Concurrent refreshes per race, and the connections (auth instances) they are spread over. */
const RACERS = 10
const CONNECTIONS = 5

interface Backend {
  name: string
  needsRedis: boolean
  /**
   * How long an instance other than the revoking one may still answer "not revoked": the pub/sub
   * delay of the Redis cache (asserted to stay under this bound), 0 for the others.
   */
  windowMs: number
  /** A store over the shared backend: a new connection each call where the backend has connections. */
  store(): RevocationStore
}

let memory: MemoryRevocationStore | undefined
const sqliteFile = join(dir, 'rotation.db')

const backends: Backend[] = [
  {
    name: 'memory',
    needsRedis: false,
    windowMs: 0,
    // One process, one store: every auth instance of a test shares it.
    store: () => {
      memory ??= new MemoryRevocationStore()
      return memory
    },
  },
  {
    name: 'sqlite (one file, a connection per auth)',
    needsRedis: false,
    windowMs: 0,
    store: () => new SqliteRevocationStore(sqliteFile),
  },
  {
    name: 'redis (strict)',
    needsRedis: true,
    windowMs: 0,
    store: () => new RedisRevocationStore(redisUrl(), { prefix }),
  },
  {
    name: 'redis (local cache)',
    needsRedis: true,
    windowMs: 1_000,
    // A long cache TTL: only the pub/sub invalidation can make another instance see a revocation in time.
    store: () => new RedisRevocationStore(redisUrl(), { prefix, cache: { ttlMs: 60_000 } }),
  },
]

const opened = new Set<RevocationStore>()

/** Opens a store (waiting for the Redis cache's subscription, so the cache is really in use). */
async function open(backend: Backend): Promise<RevocationStore> {
  const store = backend.store()
  opened.add(store)
  if (store instanceof RedisRevocationStore && store.cacheStats() !== undefined) {
    await until(() => store.cacheStats()!.live, 5_000)
  }
  return store
}

afterEach(async () => {
  await Promise.all([...opened].map((store) => store.close?.()))
  opened.clear()
  memory = undefined
})

function makeAuth(revocation: RevocationStore, options: Partial<AuthOptions<string>> = {}): Auth {
  return createAuth({ keys: { secret: SECRET }, revocation, ...options })
}

/** `auth.refresh` as a client calls it: the refresh guard, then the rotation. */
async function refresh(auth: Auth, refreshToken: string): Promise<TokenResponse> {
  return auth.refresh(await auth.authenticate(view(refreshToken), { refresh: true }))
}

const access = (auth: Auth, token: string) => auth.authenticate(view(token))
const refreshGuard = (auth: Auth, token: string) => auth.authenticate(view(token), { refresh: true })

function events(auth: Auth) {
  const seen = {
    reuse: [] as { sub: string; family: string | undefined; jti: string }[],
    revoked: 0,
    unavailable: [] as unknown[],
  }
  auth.on('refreshReuseDetected', (payload) => seen.reuse.push(payload))
  auth.on('tokenRevoked', () => seen.revoked++)
  auth.on('revocationUnavailable', ({ error }) => seen.unavailable.push(error))
  return seen
}

/** Every token of a login and its rotations: the access and refresh tokens of each pair. */
type Pair = Pick<TokenResponse, 'accessToken' | 'refreshToken'>

function tokensOf(pairs: Pair[]): { access: string[]; refresh: string[] } {
  return { access: pairs.map((p) => p.accessToken), refresh: pairs.map((p) => p.refreshToken) }
}

/** Every token of `pairs` is refused, by every auth (within the backend's window for other instances). */
async function expectFamilyRevoked(auths: Auth[], pairs: Pair[], windowMs: number): Promise<void> {
  const { access: accessTokens, refresh: refreshTokens } = tokensOf(pairs)
  for (const auth of auths) {
    for (const token of accessTokens) await expectRevoked(() => access(auth, token), windowMs)
    for (const token of refreshTokens) await expectRevoked(() => refreshGuard(auth, token), windowMs)
  }
}

describe.each(backends)('rotation over $name', (backend) => {
  const skip = backend.needsRedis && redis.skip

  it.skipIf(skip)(
    'rotates to a new pair; reuse of a retired refresh token revokes the whole family',
    async () => {
      const auth = makeAuth(await open(backend))
      const seen = events(auth)
      const login = await auth.login('alice')
      const family = login.refresh.claims.fam as string
      expect(family).toEqual(expect.any(String))

      const first = await refresh(auth, login.refreshToken)
      expect(first.refreshToken).not.toBe(login.refreshToken)
      expect(first.accessToken).not.toBe(login.accessToken)
      expect(first.refresh.claims.jti).not.toBe(login.refresh.claims.jti)
      expect(first.refresh.claims.fam).toBe(family)
      expect(first.access.claims.fam).toBe(family)
      expect((await access(auth, first.accessToken)).sub).toBe('alice')
      // The chain continues: the rotated refresh token rotates in turn.
      const second = await refresh(auth, first.refreshToken)
      expect((await access(auth, second.accessToken)).sub).toBe('alice')
      // Consuming a refresh token is not revoking it: the guard alone still lets it through...
      const replayed = await refreshGuard(auth, login.refreshToken)
      expect(seen.reuse).toHaveLength(0)

      // ...but rotating it again is reuse.
      const error = await rejection(auth.refresh(replayed))
      expectAuthError(error, TokenRevokedError, 'TOKEN_REVOKED')
      expect(auth.errorResponse(error as TokenRevokedError).status).toBe(401)
      expect(seen.reuse).toEqual([{ sub: 'alice', family, jti: login.refresh.claims.jti }])

      // Every token of the login is refused now, the ones the rotations issued included.
      await expectFamilyRevoked([auth], [login, first, second], 0)
      expect(seen.revoked).toBe(6)
      // Another login of the same user is another family, untouched.
      const other = await auth.login('alice')
      expect((await access(auth, other.accessToken)).sub).toBe('alice')
      expect((await refresh(auth, other.refreshToken)).accessToken).toEqual(expect.any(String))
    },
  )

  it.skipIf(skip)(
    'a refresh token made outside login (no family): its reuse revokes what its rotations issued',
    async () => {
      const auth = makeAuth(await open(backend))
      const seen = events(auth)
      const refreshToken = auth.createRefreshToken('lou')
      expect(auth.decodeToken(refreshToken).claims.fam).toBeUndefined()
      // Whoever refreshes first (perhaps a thief) gets a pair; the next rotation continues the chain.
      const first = await refresh(auth, refreshToken)
      const second = await refresh(auth, first.refreshToken)
      expectAuthError(await rejection(refresh(auth, refreshToken)), TokenRevokedError, 'TOKEN_REVOKED')
      expect(seen.reuse).toHaveLength(1)
      await expectRevoked(() => refreshGuard(auth, refreshToken))
      await expectFamilyRevoked([auth], [first, second], 0)
    },
  )

  it.skipIf(skip)(
    `${RACERS} concurrent refreshes with one token over ${CONNECTIONS} connections: exactly one wins (strict)`,
    async () => {
      const auths = await Promise.all(
        Array.from({ length: CONNECTIONS }, async () => makeAuth(await open(backend))),
      )
      const seen = auths.map(events)
      const login = await auths[0]!.login('bob')
      const contexts = await Promise.all(auths.map((auth) => refreshGuard(auth, login.refreshToken)))

      const settled = await Promise.allSettled(
        Array.from({ length: RACERS }, (_, i) => auths[i % CONNECTIONS]!.refresh(contexts[i % CONNECTIONS]!)),
      )
      const winners = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []))
      const losers = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason as unknown] : []))
      expect(winners, 'exactly one refresh succeeds').toHaveLength(1)
      for (const error of losers) expectAuthError(error, TokenRevokedError, 'TOKEN_REVOKED')
      expect(seen.flatMap((s) => s.reuse)).toHaveLength(RACERS - 1)

      // The losers counted as reuse: the family is revoked, the winner's new pair with it.
      await expectFamilyRevoked(auths, [login, winners[0]!], backend.windowMs)
    },
  )

  it.skipIf(skip)(
    `with a grace window, ${RACERS} concurrent refreshes all succeed and nothing is revoked`,
    async () => {
      const auths = await Promise.all(
        Array.from({ length: CONNECTIONS }, async () =>
          makeAuth(await open(backend), { refreshReuseGrace: '5s' }),
        ),
      )
      const seen = auths.map(events)
      const login = await auths[0]!.login('carol')
      const contexts = await Promise.all(auths.map((auth) => refreshGuard(auth, login.refreshToken)))

      const pairs = await Promise.all(
        Array.from({ length: RACERS }, (_, i) => auths[i % CONNECTIONS]!.refresh(contexts[i % CONNECTIONS]!)),
      )
      expect(new Set(pairs.map((p) => p.refreshToken)).size).toBe(RACERS)
      expect(seen.flatMap((s) => s.reuse)).toHaveLength(0)
      for (const auth of auths) {
        expect((await access(auth, login.accessToken)).sub).toBe('carol')
        for (const pair of pairs) {
          expect((await access(auth, pair.accessToken)).sub).toBe('carol')
          expect((await refreshGuard(auth, pair.refreshToken)).sub).toBe('carol')
        }
      }
    },
  )

  it.skipIf(skip)('strict mode detects reuse on an instance whose clock is behind', async () => {
    // Two hosts whose clocks disagree by a second: the first use is stamped by the store's clock
    // (or the first host's); the second host must still see a second use as reuse.
    // (Hosts with skewed clocks need a leeway, or the one behind refuses fresh tokens as not yet valid.)
    const ahead = makeAuth(await open(backend), { leeway: '2s' })
    const behind = makeAuth(await open(backend), { leeway: '2s', clock: () => Date.now() - 1_000 })
    const seen = events(behind)
    const login = await ahead.login('mia')
    const context = await refreshGuard(behind, login.refreshToken)
    const winner = await refresh(ahead, login.refreshToken)
    expectAuthError(await rejection(behind.refresh(context)), TokenRevokedError, 'TOKEN_REVOKED')
    expect(seen.reuse).toHaveLength(1)
    await expectFamilyRevoked([behind], [login, winner], 0)
  })

  it.skipIf(skip)('past the grace window, a second use is reuse again', async () => {
    let offset = 0
    const auth = makeAuth(await open(backend), { refreshReuseGrace: '5s', clock: () => Date.now() + offset })
    const seen = events(auth)
    const login = await auth.login('dave')
    const context = await refreshGuard(auth, login.refreshToken)
    const first = await auth.refresh(context)
    // Within the window: a second tab's refresh gets its own pair.
    const second = await auth.refresh(context)
    expect(second.refreshToken).not.toBe(first.refreshToken)
    expect(seen.reuse).toHaveLength(0)

    offset = 5_001
    expectAuthError(await rejection(auth.refresh(context)), TokenRevokedError, 'TOKEN_REVOKED')
    expect(seen.reuse).toHaveLength(1)
    await expectFamilyRevoked([auth], [login, first, second], 0)
  })

  it.skipIf(skip)(
    'logout everywhere refuses tokens issued before it and accepts one issued 1 ms after, in the same second',
    async () => {
      // Near the real time (stores expire entries by their own clock), in the middle of a second.
      let now = Math.floor(Date.now() / 1000) * 1000 + 400
      const auth = makeAuth(await open(backend), { clock: () => now })
      const before = await auth.login('erin')
      const bystander = await auth.login('frank')
      now += 1
      await auth.logoutEverywhere('erin')
      now += 1
      const after = await auth.login('erin')

      expect(after.access.claims.iat).toBe(before.access.claims.iat)
      expect(after.access.claims.iat_ms - before.access.claims.iat_ms).toBe(2)
      await expectRevoked(() => access(auth, before.accessToken))
      await expectRevoked(() => refreshGuard(auth, before.refreshToken))
      expect((await access(auth, after.accessToken)).sub).toBe('erin')
      expect((await refreshGuard(auth, after.refreshToken)).sub).toBe('erin')
      expect((await access(auth, bystander.accessToken)).sub).toBe('frank')
      // A token issued in the very millisecond of the cut-off is not before it.
      now -= 1
      const sameMillisecond = await auth.login('erin')
      expect((await access(auth, sameMillisecond.accessToken)).sub).toBe('erin')
      // And the new login's refresh rotates normally.
      now += 5
      const rotated = await refresh(auth, after.refreshToken)
      expect((await access(auth, rotated.accessToken)).sub).toBe('erin')
    },
  )

  it.skipIf(skip)('logout revokes the presented token and its family, on every instance', async () => {
    const auths = [makeAuth(await open(backend)), makeAuth(await open(backend))]
    const login = await auths[0]!.login('gina')
    expect((await access(auths[1]!, login.accessToken)).sub).toBe('gina')
    await auths[0]!.logout(await access(auths[0]!, login.accessToken))
    await expectFamilyRevoked([auths[0]!], [login], 0)
    await expectFamilyRevoked([auths[1]!], [login], backend.windowMs)
  })
})

describe('concurrent refreshes across processes', () => {
  const processes = 5
  const perProcess = 2
  const children: LineChild[] = []
  const sharedFile = join(dir, 'processes.db')

  beforeAll(async () => {
    // Tables and WAL mode once, up front, so the children race only on refreshes.
    await new SqliteRevocationStore(sharedFile).close()
    const options = {
      secret: SECRET,
      connections: perProcess,
      sqlite: sharedFile,
      redis: redis.available ? { url: redisUrl(), prefix } : undefined,
    }
    const script = 'test/revocation/fixtures/refresher.ts'
    for (let i = 0; i < processes; i++) children.push(spawnTsx(script, [JSON.stringify(options)]))
    const ready = await Promise.all(children.map((child) => child.next()))
    for (const line of ready) expect(JSON.parse(line)).toEqual({ ready: true })
  })

  afterAll(async () => {
    await Promise.all(children.map((child) => child.stop()))
  })

  type Result = { ok: true; accessToken: string; refreshToken: string } | { ok: false; code: string }

  /** Every child prepares a context for `token`, then all start at once; returns every outcome. */
  async function race(backend: 'sqlite' | 'redis', token: string, grace: string | number): Promise<Result[]> {
    for (const child of children) child.send(JSON.stringify({ op: 'prepare', backend, token, grace }))
    for (const child of children) expect(JSON.parse(await child.next())).toEqual({ prepared: true })
    for (const child of children) child.send(JSON.stringify({ op: 'go', count: perProcess }))
    const replies = await Promise.all(children.map(async (child) => JSON.parse(await child.next())))
    return replies.flatMap((reply: { results?: Result[]; error?: string }) => {
      if (reply.results === undefined) throw new Error(`child failed: ${reply.error}`)
      return reply.results
    })
  }

  const cases = [
    { backend: 'sqlite' as const, skip: false, store: () => new SqliteRevocationStore(sharedFile) },
    {
      backend: 'redis' as const,
      skip: redis.skip,
      store: () => new RedisRevocationStore(redisUrl(), { prefix }),
    },
  ]

  describe.each(cases)('$backend', ({ backend, skip, store }) => {
    it.skipIf(skip)(
      `${processes} processes × ${perProcess} connections race one refresh token: exactly one wins (strict)`,
      async () => {
        const revocation = store()
        opened.add(revocation)
        const auth = makeAuth(revocation)
        const login = await auth.login('hana')
        const results = await race(backend, login.refreshToken, 0)
        expect(results).toHaveLength(processes * perProcess)
        const winners = results.filter((r) => r.ok)
        expect(winners, 'exactly one refresh succeeds').toHaveLength(1)
        for (const loser of results.filter((r) => !r.ok))
          expect(loser).toMatchObject({ code: 'TOKEN_REVOKED' })
        const winner = winners[0] as Extract<Result, { ok: true }>
        await expectFamilyRevoked([auth], [login, winner], 0)
      },
    )

    it.skipIf(skip)(
      `${processes} processes race one refresh token with a grace window: all succeed, nothing is revoked`,
      async () => {
        const revocation = store()
        opened.add(revocation)
        const auth = makeAuth(revocation)
        const login = await auth.login('ivan')
        const results = await race(backend, login.refreshToken, '5s')
        expect(results.every((r) => r.ok)).toBe(true)
        expect((await access(auth, login.accessToken)).sub).toBe('ivan')
        for (const result of results as Extract<Result, { ok: true }>[]) {
          expect((await access(auth, result.accessToken)).sub).toBe('ivan')
          expect((await refreshGuard(auth, result.refreshToken)).sub).toBe('ivan')
        }
      },
    )
  })
})

describe.skipIf(redis.skip)('failing closed at the guard (Redis)', () => {
  it('answers 503 REVOCATION_UNAVAILABLE when Redis is unreachable, and emits revocationUnavailable', async () => {
    const store = new RedisRevocationStore('redis://127.0.0.1:1', { prefix })
    opened.add(store)
    const auth = makeAuth(store)
    const seen = events(auth)
    const login = await auth.login('jo')

    const started = Date.now()
    const error = await rejection(access(auth, login.accessToken))
    expect(Date.now() - started).toBeLessThan(1_500)
    expectAuthError(error, RevocationUnavailableError, 'REVOCATION_UNAVAILABLE')
    expect((error as RevocationUnavailableError).status).toBe(503)
    const response = auth.errorResponse(error as RevocationUnavailableError)
    expect(response.status).toBe(503)
    expect(response.body).toMatchObject({ code: 'REVOCATION_UNAVAILABLE' })
    expect(response.headers['retry-after']).toBe('1')
    expect((error as Error).cause).toBeInstanceOf(Error)
    expect(seen.unavailable).toHaveLength(1)

    // Refresh, logout and logout everywhere fail closed too; nothing is silently skipped.
    expectAuthError(
      await rejection(refreshGuard(auth, login.refreshToken)),
      RevocationUnavailableError,
      'REVOCATION_UNAVAILABLE',
    )
    const context = await auth.authenticate(view(login.accessToken), { skipRevocation: true })
    expectAuthError(
      await rejection(auth.logout(context)),
      RevocationUnavailableError,
      'REVOCATION_UNAVAILABLE',
    )
    expectAuthError(
      await rejection(auth.logoutEverywhere('jo')),
      RevocationUnavailableError,
      'REVOCATION_UNAVAILABLE',
    )
    expect(seen.unavailable).toHaveLength(4)
  })

  for (const mode of ['strict', 'local cache'] as const) {
    it(`fails closed while Redis is down and serves again once it is back, without recreating anything (${mode})`, async () => {
      const proxy = await tcpProxy(new URL(redisUrl()))
      const store = new RedisRevocationStore(proxy.url, {
        prefix,
        cache: mode === 'strict' ? false : { ttlMs: 60_000 },
      })
      opened.add(store)
      try {
        if (mode === 'local cache') await until(() => store.cacheStats()!.live, 5_000)
        const auth = makeAuth(store)
        const seen = events(auth)
        const login = await auth.login('kim')
        expect((await access(auth, login.accessToken)).sub).toBe('kim')
        // Twice: with the cache, the second answer comes from memory; it must not survive the outage.
        expect((await access(auth, login.accessToken)).sub).toBe('kim')
        const context = await refreshGuard(auth, login.refreshToken)

        await proxy.stop()
        if (mode === 'local cache') await until(() => store.cacheStats()!.live === false, 5_000)
        const started = Date.now()
        const down = await rejection(access(auth, login.accessToken))
        expectAuthError(down, RevocationUnavailableError, 'REVOCATION_UNAVAILABLE')
        expect((down as RevocationUnavailableError).status).toBe(503)
        // The rotation cannot consume the token: refused, and not counted as a use.
        expectAuthError(
          await rejection(auth.refresh(context)),
          RevocationUnavailableError,
          'REVOCATION_UNAVAILABLE',
        )
        expect(Date.now() - started).toBeLessThan(2_500)
        expect(seen.unavailable.length).toBeGreaterThanOrEqual(2)

        await proxy.start()
        await until(
          () =>
            access(auth, login.accessToken).then(
              () => true,
              (error: unknown) => {
                // While reconnecting, only "unavailable" is acceptable; never another answer.
                expectAuthError(error, RevocationUnavailableError, 'REVOCATION_UNAVAILABLE')
                return false
              },
            ),
          5_000,
        )
        // The refresh attempted during the outage was not recorded: this one is the first use.
        const rotated = await auth.refresh(context)
        expect((await access(auth, rotated.accessToken)).sub).toBe('kim')
        expect(seen.reuse).toHaveLength(0)
        // And revocation works again through the same objects.
        await auth.logout(await access(auth, rotated.accessToken))
        await expectFamilyRevoked([auth], [login, rotated], 0)
      } finally {
        await store.close()
        await proxy.stop()
      }
    })
  }
})
