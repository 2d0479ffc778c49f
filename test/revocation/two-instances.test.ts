/**
 * Two app processes (test/revocation/fixtures/instance.ts: node:http + the core + the Redis store)
 * on one Redis behave as one service: a logout through A is refused by B, and a refresh family
 * rotated on A and reused on B is revoked on both. Run strict (every check asks Redis: B refuses at
 * once) and with the local cache on both (B refuses within a bounded wait, through pub/sub).
 */
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { probeRedis, redisUrl, requireService } from '../helpers/services.js'
import { deleteKeys, type LineChild, SECRET, spawnTsx } from './helpers.js'

const redis = await requireService('redis', probeRedis)
const prefix = `latchkey-test:${randomUUID()}:`

/** With the cache, how long B may answer from memory after A revoked (the bound asserted). */
const CACHE_WINDOW_MS = 1_000

interface Reply {
  status: number
  body: Record<string, unknown>
}

interface Instance {
  child: LineChild
  url: string
}

async function start(cache: boolean): Promise<Instance> {
  const child = spawnTsx('test/revocation/fixtures/instance.ts', [], {
    PORT: '0',
    LATCHKEY_SECRET: SECRET,
    REDIS_URL: redisUrl(),
    REDIS_PREFIX: prefix,
    REDIS_CACHE: cache ? '1' : '0',
    // Far longer than the window asserted: only the pub/sub invalidation can make B see A's revocation.
    REDIS_CACHE_TTL_MS: '60000',
  })
  const line = await child.next(25_000)
  const port = Number(line)
  if (!Number.isInteger(port) || port <= 0) throw new Error(`instance printed "${line}", not a port`)
  return { child, url: `http://127.0.0.1:${port}` }
}

async function call(instance: Instance, method: string, path: string, token?: string, body?: unknown) {
  const headers: Record<string, string> = {}
  if (token !== undefined) headers.authorization = `Bearer ${token}`
  if (body !== undefined) headers['content-type'] = 'application/json'
  const response = await fetch(instance.url + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  return { status: response.status, body: (await response.json()) as Record<string, unknown> } satisfies Reply
}

async function login(
  instance: Instance,
  sub: string,
): Promise<{ accessToken: string; refreshToken: string }> {
  const reply = await call(instance, 'POST', '/login', undefined, { sub })
  expect(reply.status).toBe(200)
  return reply.body as { accessToken: string; refreshToken: string }
}

function expectRevokedReply(reply: Reply): void {
  expect(reply).toMatchObject({ status: 401, body: { code: 'TOKEN_REVOKED' } })
}

/**
 * Asserts that `request` gets 401 TOKEN_REVOKED: at once when `windowMs` is 0, otherwise polling
 * (while it still gets 200) for at most `windowMs`. Returns how long it took.
 */
async function refusedWithin(request: () => Promise<Reply>, windowMs: number): Promise<number> {
  const started = Date.now()
  for (;;) {
    const reply = await request()
    if (reply.status !== 200 || Date.now() - started >= windowMs) {
      expectRevokedReply(reply)
      return Date.now() - started
    }
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

afterAll(async () => {
  if (redis.available) await deleteKeys(prefix)
})

describe.skipIf(redis.skip).each([
  { mode: 'strict', cache: false, windowMs: 0 },
  { mode: 'local cache on both', cache: true, windowMs: CACHE_WINDOW_MS },
])('two processes on one Redis ($mode)', ({ cache, windowMs }) => {
  let a: Instance
  let b: Instance

  beforeAll(async () => {
    // Started together; if one fails, the other is still stopped in afterAll.
    const [first, second] = await Promise.allSettled([start(cache), start(cache)])
    if (first.status === 'fulfilled') a = first.value
    if (second.status === 'fulfilled') b = second.value
    for (const outcome of [first, second]) if (outcome.status === 'rejected') throw outcome.reason
  })

  afterAll(async () => {
    await Promise.all([a?.child.stop(), b?.child.stop()])
  })

  /**
   * With the cache, has B accept the token and checks that the second answer came from B's memory,
   * so that what follows tests the invalidation, not a round trip.
   */
  async function expectCachedOnB(token: string): Promise<void> {
    if (!cache) return
    expect((await call(b, 'GET', '/me', token)).status).toBe(200)
    const hits = (await call(b, 'GET', '/stats')).body.hits as number
    expect((await call(b, 'GET', '/me', token)).status).toBe(200)
    expect((await call(b, 'GET', '/stats')).body.hits, 'B answered from its cache').toBe(hits + 1)
  }

  it('runs two separate processes', async () => {
    const sub = `u-${randomUUID()}`
    const tokens = await login(a, sub)
    const onA = await call(a, 'GET', '/me', tokens.accessToken)
    const onB = await call(b, 'GET', '/me', tokens.accessToken)
    expect(onA.body.sub).toBe(sub)
    expect(onB.body.sub).toBe(sub)
    expect(onA.body.pid).not.toBe(onB.body.pid)
  })

  it('a token logged out through A is refused by B', async () => {
    const sub = `u-${randomUUID()}`
    const tokens = await login(a, sub)
    expect(await call(b, 'GET', '/me', tokens.accessToken)).toMatchObject({ status: 200, body: { sub } })
    await expectCachedOnB(tokens.accessToken)

    expect(await call(a, 'POST', '/logout', tokens.accessToken)).toMatchObject({ status: 200 })
    expectRevokedReply(await call(a, 'GET', '/me', tokens.accessToken))
    await refusedWithin(() => call(b, 'GET', '/me', tokens.accessToken), windowMs)
    // The logout revoked the login's family: its refresh token is refused by B as well.
    expectRevokedReply(await call(b, 'POST', '/refresh', tokens.refreshToken))
    // Another login of the same user is untouched.
    const again = await login(b, sub)
    expect(await call(a, 'GET', '/me', again.accessToken)).toMatchObject({ status: 200, body: { sub } })
  })

  it('a family rotated on A and reused on B is revoked on both', async () => {
    const sub = `u-${randomUUID()}`
    const first = await login(a, sub)
    const rotation = await call(a, 'POST', '/refresh', first.refreshToken)
    expect(rotation.status).toBe(200)
    const rotated = rotation.body as { accessToken: string; refreshToken: string }
    expect(rotated.refreshToken).not.toBe(first.refreshToken)
    // Both instances accept the rotated tokens (and, with the cache, remember that answer).
    for (const instance of [a, b]) {
      expect(await call(instance, 'GET', '/me', rotated.accessToken)).toMatchObject({
        status: 200,
        body: { sub },
      })
    }
    await expectCachedOnB(rotated.accessToken)

    // The retired refresh token comes back on B: reuse.
    expectRevokedReply(await call(b, 'POST', '/refresh', first.refreshToken))

    // B revoked the family itself: it refuses at once. A learns it through Redis.
    expectRevokedReply(await call(b, 'GET', '/me', rotated.accessToken))
    expectRevokedReply(await call(b, 'POST', '/refresh', rotated.refreshToken))
    await refusedWithin(() => call(a, 'GET', '/me', rotated.accessToken), windowMs)
    expectRevokedReply(await call(a, 'POST', '/refresh', rotated.refreshToken))
    expectRevokedReply(await call(a, 'GET', '/me', first.accessToken))
    expectRevokedReply(await call(b, 'GET', '/me', first.accessToken))
  })

  // Defined only for the cached pair (not skipped in the strict one: there is nothing to test there).
  const cacheOnly = cache ? it : () => undefined
  cacheOnly('with the cache, B sees a revocation made on A well within the bound', async () => {
    const delays: number[] = []
    for (let i = 0; i < 5; i++) {
      const tokens = await login(a, `u-${randomUUID()}`)
      await expectCachedOnB(tokens.accessToken)
      expect(await call(a, 'POST', '/logout', tokens.accessToken)).toMatchObject({ status: 200 })
      delays.push(await refusedWithin(() => call(b, 'GET', '/me', tokens.accessToken), CACHE_WINDOW_MS))
    }
    for (const delay of delays) expect(delay).toBeLessThan(CACHE_WINDOW_MS)
  })
})
