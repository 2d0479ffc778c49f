/**
 * The Redis store on a Redis Cluster: three masters of this test's own (redis-server processes on
 * free ports, joined with `redis-cli --cluster create`), an ioredis `Cluster` client, and a prefix
 * with a hash tag. The same contract suite as on one Redis, the local cache's invalidation across
 * nodes, and the refusal of a prefix that would spread one check's keys over several slots.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Cluster } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RedisRevocationStore } from '../../src/stores/redis.js'
import type { TokenRef } from '../../src/stores/store.js'
import { testRevocationStore } from '../../src/stores/testing.js'
import { probeTCP, requireService } from '../helpers/services.js'
import { killLeftovers, track } from '../server/processes.js'

const tools = await requireService('redis-server and redis-cli (for a Redis Cluster)', async () => {
  for (const tool of ['redis-server', 'redis-cli']) {
    const run = spawnSync(tool, ['--version'], { encoding: 'utf8' })
    if (run.error || run.status !== 0)
      throw new Error(`${tool} not runnable: ${run.error?.message ?? run.status}`)
  }
})

/** Whether a port can be listened on right now. */
function isFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const probe = createServer()
    probe.once('error', () => done(false))
    probe.listen(port, '127.0.0.1', () => probe.close(() => done(true)))
  })
}

/** A node needs its port and the cluster bus port (port + 10000) free. */
async function clusterPort(taken: Set<number>): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 25_000)
    if (taken.has(port) || taken.has(port + 10_000)) continue
    if ((await isFree(port)) && (await isFree(port + 10_000))) {
      taken.add(port)
      taken.add(port + 10_000)
      return port
    }
  }
}

async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await Promise.resolve(check()).catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(100)
  }
}

/** A token of a new login, not revoked, living a minute. */
const newToken = (): TokenRef => ({
  jti: randomUUID(),
  sub: `user-${randomUUID()}`,
  family: randomUUID(),
  issuedAt: Date.now(),
  expiresAt: Date.now() + 60_000,
})

const ports: number[] = []
const nodes: ChildProcess[] = []
let dir = ''
const prefix = `{lk-cluster-${randomUUID().slice(0, 8)}}:`
const cluster = () =>
  new Cluster(
    ports.map((port) => ({ host: '127.0.0.1', port })),
    { redisOptions: { connectTimeout: 2_000 }, slotsRefreshTimeout: 2_000 },
  )

describe.skipIf(tools.skip)('RedisRevocationStore on a Redis Cluster (three masters of its own)', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'latchkey-cluster-'))
    const taken = new Set<number>()
    for (let i = 0; i < 3; i++) ports.push(await clusterPort(taken))
    for (const port of ports) {
      const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']
      args.push('--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--dir', dir)
      args.push('--cluster-node-timeout', '2000')
      nodes.push(track(spawn('redis-server', args, { stdio: 'ignore', detached: true })))
    }
    for (const port of ports) {
      await until(`redis-server on ${port}`, async () => {
        await probeTCP(`redis://127.0.0.1:${port}`, { ping: true, timeoutMs: 200 })
        return true
      })
    }
    const create = spawnSync(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...ports.map((p) => `127.0.0.1:${p}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ],
      { encoding: 'utf8', timeout: 30_000 },
    )
    if (create.status !== 0)
      throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`)
    for (const port of ports) {
      await until(`cluster state ok on ${port}`, () => {
        const info = spawnSync('redis-cli', ['-p', String(port), 'cluster', 'info'], { encoding: 'utf8' })
        return info.stdout.includes('cluster_state:ok')
      })
    }
  }, 60_000)

  afterAll(() => {
    for (const node of nodes) if (node.exitCode === null && node.signalCode === null) node.kill('SIGKILL')
    killLeftovers()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  const options = { connections: 4, expiryMs: 800 }
  testRevocationStore(
    'cluster (strict)',
    () => new RedisRevocationStore(cluster(), { prefix, closeClient: true }),
    options,
  )
  testRevocationStore(
    'cluster (local cache)',
    () => new RedisRevocationStore(cluster(), { prefix, closeClient: true, cache: {} }),
    options,
  )

  it('puts every key of one check in one slot (the MGET needs it), whatever the ids', async () => {
    const client = cluster()
    try {
      await until('the cluster client', () => client.status === 'ready')
      const slotOf = (key: string) => client.call('CLUSTER', 'KEYSLOT', key)
      const keys = [`${prefix}t:${randomUUID()}`, `${prefix}i:user-1`, `${prefix}f:${randomUUID()}`]
      expect(new Set(await Promise.all(keys.map(slotOf))).size).toBe(1)
      // Without the tag the same ids spread (the reason the store refuses such a prefix).
      const plain = keys.map((key) => key.replace(prefix, 'plain:'))
      expect(new Set(await Promise.all(plain.map(slotOf))).size).toBeGreaterThan(1)
    } finally {
      client.disconnect()
    }
  })

  it('invalidates a cached "not revoked" on another instance, whichever node each is connected to', async () => {
    const a = new RedisRevocationStore(cluster(), { prefix, closeClient: true, cache: { ttlMs: 60_000 } })
    const b = new RedisRevocationStore(cluster(), { prefix, closeClient: true })
    try {
      await until('the cache to go live', () => a.cacheStats()?.live === true)
      const token = newToken()
      expect(await a.isRevoked(token)).toBe(false)
      expect(a.isRevoked(token)).toBe(false) // now from the cache, synchronously
      await b.revokeFamily(token.family!, Date.now() + 60_000)
      const started = Date.now()
      await until(
        'the revocation to reach the cached instance',
        async () => (await a.isRevoked(token)) === true,
        2_000,
      )
      expect(Date.now() - started).toBeLessThan(2_000)
    } finally {
      await a.close()
      await b.close()
    }
  })

  it('turns its cache off when the subscription drops, so a revocation made meanwhile is never missed', async () => {
    const a = new RedisRevocationStore(cluster(), { prefix, closeClient: true, cache: { ttlMs: 60_000 } })
    const b = new RedisRevocationStore(cluster(), { prefix, closeClient: true })
    try {
      await until('the cache to go live', () => a.cacheStats()?.live === true)
      const token = newToken()
      expect(await a.isRevoked(token)).toBe(false)
      expect(a.isRevoked(token)).toBe(false) // cached
      // Every subscriber connection of every node is killed; the revocation comes right after.
      for (const port of ports) {
        spawnSync('redis-cli', ['-p', String(port), 'client', 'kill', 'type', 'pubsub'], { encoding: 'utf8' })
      }
      await b.revokeFamily(token.family!, Date.now() + 60_000)
      await until('the revocation to be seen', async () => (await a.isRevoked(token)) === true, 1_000)
      // And the cache comes back once subscribed again.
      await until('the cache to go live again', () => a.cacheStats()?.live === true)
    } finally {
      await a.close()
      await b.close()
    }
  })

  it('refuses a prefix without a hash tag, which would spread one check over several slots', () => {
    const client = cluster()
    try {
      for (const bad of ['latchkey:', '{}:latchkey:', 'lk}{:']) {
        expect(() => new RedisRevocationStore(client, { prefix: bad })).toThrow(/hash tag/)
      }
      expect(() => new RedisRevocationStore(client, { prefix: 'app:{auth}:' })).not.toThrow()
    } finally {
      client.disconnect()
    }
  })
})
