import { randomUUID } from 'node:crypto'
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { RedisRevocationStore } from '../../src/stores/redis.js'
import type { TokenRef } from '../../src/stores/store.js'
import { testRevocationStore } from '../../src/stores/testing.js'
import { probeRedis, redisUrl, requireService } from '../helpers/services.js'
import { tcpProxy } from '../helpers/tcp-proxy.js'

const redis = await requireService('redis', probeRedis)
// One random prefix per run: parallel runs and other suites sharing this Redis never collide, and
// the cleanup below deletes only our keys.
const prefix = `latchkey-test:${randomUUID()}:`

describe.skipIf(redis.skip)('RedisRevocationStore', () => {
  afterAll(async () => {
    const admin = new Redis(redisUrl())
    let cursor = '0'
    do {
      const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
      if (keys.length > 0) await admin.del(...keys)
      cursor = next
    } while (cursor !== '0')
    await admin.quit()
  })

  // Every store is a separate ioredis client: the concurrency tests use five connections at once.
  testRevocationStore('redis (strict)', () => new RedisRevocationStore(redisUrl(), { prefix }), {
    connections: 5,
  })
  testRevocationStore(
    'redis (local cache)',
    () => new RedisRevocationStore(redisUrl(), { prefix, cache: {} }),
    {
      connections: 5,
    },
  )

  it('gives every key the remaining lifetime as its TTL', async () => {
    const store = new RedisRevocationStore(redisUrl(), { prefix })
    const admin = new Redis(redisUrl())
    try {
      const jti = randomUUID()
      const expiresAt = Date.now() + 30_000
      await store.revokeToken(jti, expiresAt)
      await store.revokeFamily(jti, expiresAt)
      await store.revokeIdentity(jti, Date.now(), expiresAt)
      await store.consumeRefreshToken(jti, expiresAt)
      for (const kind of ['t', 'f', 'i', 'u']) {
        const ttl = await admin.pttl(`${prefix}${kind}:${jti}`)
        expect(ttl, `PTTL of ${kind}:`).toBeGreaterThan(29_000)
        expect(ttl, `PTTL of ${kind}:`).toBeLessThanOrEqual(30_000)
      }
      // A second revocation with a shorter life must not shorten the first.
      await store.revokeToken(jti, Date.now() + 1_000)
      expect(await admin.pttl(`${prefix}t:${jti}`)).toBeGreaterThan(28_000)
    } finally {
      await store.close()
      await admin.quit()
    }
  })

  it('invalidates a cached "not revoked" on another instance through pub/sub', async () => {
    // A long cache TTL: only the invalidation message can make A see the revocation in time.
    const a = new RedisRevocationStore(redisUrl(), { prefix, cache: { ttlMs: 60_000 } })
    const b = new RedisRevocationStore(redisUrl(), { prefix })
    try {
      await until(() => a.cacheStats()?.live === true)
      for (const revoke of [
        (t: TokenRef) => b.revokeToken(t.jti, Date.now() + 60_000),
        (t: TokenRef) => b.revokeFamily(t.family!, Date.now() + 60_000),
        (t: TokenRef) => b.revokeIdentity(t.sub, t.issuedAt + 1, Date.now() + 60_000),
      ]) {
        const token = ref({ family: randomUUID() })
        expect(await a.isRevoked(token)).toBe(false)
        const hits = a.cacheStats()!.hits
        // From the cache the answer is a plain boolean: the guard goes on without a promise.
        expect(a.isRevoked(token)).toBe(false)
        expect(a.cacheStats()!.hits, 'second answer came from the cache').toBe(hits + 1)

        await revoke(token)
        const started = Date.now()
        await until(() => a.isRevoked(token), 1_000)
        expect(Date.now() - started).toBeLessThan(1_000)
      }
    } finally {
      await a.close()
      await b.close()
    }
  })

  it('rejects quickly when Redis is unreachable instead of hanging', async () => {
    const store = new RedisRevocationStore('redis://127.0.0.1:1', { prefix })
    try {
      for (const call of [
        () => store.isRevoked(ref()),
        () => store.revokeToken('x', Date.now() + 60_000),
        () => store.consumeRefreshToken('x', Date.now() + 60_000),
      ]) {
        const started = Date.now()
        await expect(call()).rejects.toThrow()
        expect(Date.now() - started).toBeLessThan(1_500)
      }
    } finally {
      await store.close()
    }
  })

  it('rejects within the command timeout when Redis accepts connections but never answers', async () => {
    const sockets = new Set<Socket>()
    const blackHole = createServer((socket) => {
      sockets.add(socket)
      socket.on('error', () => {})
    })
    await listen(blackHole, 0)
    const store = new RedisRevocationStore(`redis://127.0.0.1:${port(blackHole)}`, { prefix })
    try {
      const started = Date.now()
      await expect(store.isRevoked(ref())).rejects.toThrow()
      expect(Date.now() - started).toBeLessThan(2_000)
    } finally {
      await store.close()
      for (const socket of sockets) socket.destroy()
      await close(blackHole)
    }
  })

  it('fails closed while Redis is down and recovers by itself when it is back', async () => {
    const proxy = await tcpProxy(new URL(redisUrl()))
    const store = new RedisRevocationStore(proxy.url, { prefix })
    try {
      const token = ref()
      expect(await store.isRevoked(token)).toBe(false)

      await proxy.stop()
      const started = Date.now()
      await expect(store.isRevoked(token)).rejects.toThrow()
      await expect(store.consumeRefreshToken(token.jti, Date.now() + 60_000)).rejects.toThrow()
      expect(Date.now() - started).toBeLessThan(1_500)

      await proxy.start()
      await until(
        () =>
          Promise.resolve(store.isRevoked(token)).then(
            () => true,
            () => false,
          ),
        5_000,
      )
      // The consumption attempted while down must not have been queued and replayed on reconnect.
      expect(await store.consumeRefreshToken(token.jti, Date.now() + 60_000)).toEqual({ firstUse: true })
    } finally {
      await store.close()
      await proxy.stop()
    }
  })

  it('empties and bypasses its cache while the subscriber is disconnected', async () => {
    const proxy = await tcpProxy(new URL(redisUrl()))
    const a = new RedisRevocationStore(proxy.url, { prefix, cache: { ttlMs: 60_000 } })
    const b = new RedisRevocationStore(redisUrl(), { prefix })
    try {
      await until(() => a.cacheStats()?.live === true)
      const token = ref()
      expect(await a.isRevoked(token)).toBe(false)
      expect(await a.isRevoked(token)).toBe(false)
      expect(a.cacheStats()!.hits).toBeGreaterThan(0)

      // A misses the invalidation: it is disconnected when B revokes.
      await proxy.stop()
      await until(() => a.cacheStats()?.live === false)
      expect(a.cacheStats()!.size).toBe(0)
      await b.revokeToken(token.jti, Date.now() + 60_000)
      await expect(a.isRevoked(token)).rejects.toThrow()

      await proxy.start()
      // Never the stale "not revoked": either an error (still reconnecting) or the truth.
      await until(async () => {
        const answer = await Promise.resolve(a.isRevoked(token)).catch(() => undefined)
        expect(answer).not.toBe(false)
        return answer === true
      }, 5_000)
      await until(() => a.cacheStats()?.live === true, 5_000)
      expect(await a.isRevoked(token)).toBe(true)
    } finally {
      await a.close()
      await b.close()
      await proxy.stop()
    }
  })

  it('leaves a client it was given open, unless asked to close it', async () => {
    const client = new Redis(redisUrl())
    const store = new RedisRevocationStore(client, { prefix, cache: {} })
    await store.revokeToken('given', Date.now() + 60_000)
    expect(await store.isRevoked(ref({ jti: 'given' }))).toBe(true)
    await store.close()
    expect(await client.ping()).toBe('PONG')

    const closing = new RedisRevocationStore(client, { prefix, closeClient: true })
    await closing.close()
    expect(client.status).toBe('end')
  })
})

function ref(overrides: Partial<TokenRef> = {}): TokenRef {
  return {
    jti: randomUUID(),
    sub: randomUUID(),
    family: undefined,
    issuedAt: Date.now(),
    expiresAt: undefined,
    ...overrides,
  }
}

/** Polls `check` until it returns true, failing after `timeoutMs`. */
async function until(check: () => boolean | Promise<boolean>, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

function listen(server: Server, onPort: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(onPort, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()))
}

function port(server: Server): number {
  return (server.address() as AddressInfo).port
}
