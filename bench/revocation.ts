/**
 * Revocation benchmark: what the revocation check costs per request, for the memory, SQLite and Redis
 * stores (strict, and with the local cache), measured two ways in interleaved rounds:
 *
 * - `isRevoked` alone, one call at a time (µs per call);
 * - a whole `auth.authenticate` of an HS256 Bearer token with that store, against the same auth
 *   without a store (µs per request, and the ratio).
 *
 * And the memory one million revoked token ids take in MemoryRevocationStore (heapUsed delta after
 * `gc()`, measured in a child process started with `--expose-gc`).
 *
 * The stores hold 10 000 unrelated revocations (a realistic table, not an empty one); the checked
 * tokens are not revoked, which is the common case and the full path (every key is looked up).
 * 1 000 users' tokens are checked round-robin. Redis is `REDIS_URL` (default redis://127.0.0.1:6379);
 * when it is unreachable the Redis rows are left out and the reason recorded.
 *
 * Run: `node --import tsx bench/revocation.ts` (writes bench/results/revocation.json). ROUNDS and
 * ROUND_MS tune the rounds (default 7 × 200 ms); about 30 s in all.
 */
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import {
  createAuth,
  MemoryRevocationStore,
  type RequestView,
  type RevocationStore,
  type TokenRef,
} from '../src/index.js'
import { RedisRevocationStore } from '../src/stores/redis.js'
import { SqliteRevocationStore } from '../src/stores/sqlite.js'
import { fmt, interleaved, machine, pct, type Stat, writeJson } from './lib.js'

const SECRET = 'bench-secret-bench-secret-bench-secret-0123456789'
const USERS = 1_000
const PRELOADED = 10_000
const MEMORY_ENTRIES = 1_000_000

interface Contender {
  store: RevocationStore
  close(): Promise<void>
}

/** What the memory child reports. */
export interface MemoryResult {
  entries: number
  heapUsedBefore: number
  heapUsedAfter: number
  bytes: number
  bytesPerEntry: number
  /** Resident set growth, for reference (includes allocator slack the heap figure does not). */
  rssDelta: number
  /** Milliseconds to insert them, one `await revokeToken` at a time. */
  insertMs: number
}

/** Runs in the `--expose-gc` child: one million `revokeToken` calls with UUID ids and distinct expiries. */
async function memoryChild(entries: number): Promise<MemoryResult> {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) throw new Error('run with --expose-gc')
  const store = new MemoryRevocationStore({ sweepIntervalMs: 0 })
  const settle = (): void => {
    for (let i = 0; i < 3; i++) gc()
  }
  settle()
  const before = process.memoryUsage()
  const expiresAt = Date.now() + 3_600_000
  const started = performance.now()
  // Ids as latchkey issues them (UUID v4, 36 characters), as flat strings: a revoked jti comes from a
  // verified token's JSON.parse, while randomUUID() returns a rope of ~20 concatenated pieces that
  // would triple the figure. Expiries spread over an hour, as real ones are, so every entry stores its
  // own number.
  for (let i = 0; i < entries; i++) {
    const jti = Buffer.from(randomUUID(), 'latin1').toString('latin1')
    await store.revokeToken(jti, expiresAt + (i % 3_600_000))
  }
  const insertMs = performance.now() - started
  settle()
  const after = process.memoryUsage()
  if (store.size !== entries) throw new Error(`store holds ${store.size} entries, expected ${entries}`)
  const bytes = after.heapUsed - before.heapUsed
  // Keep the store reachable until after the measurement.
  await store.close()
  return {
    entries,
    heapUsedBefore: before.heapUsed,
    heapUsedAfter: after.heapUsed,
    bytes,
    bytesPerEntry: bytes / entries,
    rssDelta: after.rss - before.rss,
    insertMs,
  }
}

function measureMemory(entries: number): Promise<MemoryResult> {
  const script = fileURLToPath(import.meta.url)
  const child = spawn(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', script, '--memory-child', String(entries)],
    { cwd: dirname(dirname(script)), stdio: ['ignore', 'pipe', 'inherit'] },
  )
  let out = ''
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8')
  })
  return new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`memory child exited with ${code}`))
      resolve(JSON.parse(out.trim().split('\n').pop()!) as MemoryResult)
    })
  })
}

async function redisReachable(url: string): Promise<string | undefined> {
  const store = new RedisRevocationStore(url, { prefix: 'latchkey-bench-probe:' })
  try {
    await store.isRevoked({
      jti: 'probe',
      sub: 'probe',
      family: undefined,
      issuedAt: 0,
      expiresAt: undefined,
    })
    return undefined
  } catch (error) {
    return error instanceof Error ? error.message : String(error)
  } finally {
    await store.close()
  }
}

async function deleteKeys(url: string, prefix: string): Promise<void> {
  const admin = new Redis(url)
  let cursor = '0'
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
    if (keys.length > 0) await admin.del(...keys)
    cursor = next
  } while (cursor !== '0')
  await admin.quit()
}

/** Unrelated revocations of every kind, so lookups run against a populated store. */
async function preload(store: RevocationStore): Promise<void> {
  const until = Date.now() + 3_600_000
  for (let i = 0; i < PRELOADED; i += 100) {
    await Promise.all(
      Array.from({ length: 100 }, (_, k) => {
        const id = `preloaded-${i + k}`
        switch ((i + k) % 3) {
          case 0:
            return store.revokeToken(id, until)
          case 1:
            return store.revokeFamily(id, until)
          default:
            return store.revokeIdentity(id, Date.now(), until)
        }
      }),
    )
  }
}

function headerView(token: string): RequestView {
  const authorization = `Bearer ${token}`
  return {
    method: 'GET',
    header: (name) => (name === 'authorization' ? authorization : undefined),
    cookie: () => undefined,
    query: () => undefined,
  }
}

export async function runRevocation(
  opts: { rounds?: number; roundMs?: number; memoryEntries?: number } = {},
): Promise<Record<string, unknown>> {
  const { rounds = 7, roundMs = 200, memoryEntries = MEMORY_ENTRIES } = opts
  const started = Date.now()
  const notes: string[] = []

  // First, alone: the memory child allocates a lot and should not share the CPU with the rounds.
  const memory = await measureMemory(memoryEntries)

  const dir = mkdtempSync(join(tmpdir(), 'latchkey-bench-'))
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
  const prefix = `latchkey-bench:${randomUUID()}:`
  const contenders: Record<string, Contender> = {}
  const memoryStore = new MemoryRevocationStore()
  contenders.memory = { store: memoryStore, close: () => memoryStore.close() }
  const sqlite = new SqliteRevocationStore(join(dir, 'revocations.db'))
  contenders.sqlite = { store: sqlite, close: () => sqlite.close() }
  const redisDown = await redisReachable(redisUrl)
  let cached: RedisRevocationStore | undefined
  if (redisDown === undefined) {
    const strict = new RedisRevocationStore(redisUrl, { prefix })
    contenders['redis (strict)'] = { store: strict, close: () => strict.close() }
    // A TTL longer than the run, so the rounds measure what a cached answer costs. With the default
    // (1 s), a token checked less than once a second pays the strict cost instead.
    const withCache = new RedisRevocationStore(redisUrl, { prefix, cache: { ttlMs: 600_000 } })
    cached = withCache
    contenders['redis (local cache)'] = { store: withCache, close: () => withCache.close() }
    const deadline = Date.now() + 5_000
    while (withCache.cacheStats()?.live !== true && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  } else {
    notes.push(`Redis unreachable at ${redisUrl} (${redisDown}): Redis rows left out`)
  }

  try {
    // Redis stores share one backend: preload it once.
    await preload(memoryStore)
    await preload(sqlite)
    if (redisDown === undefined) await preload(contenders['redis (strict)']!.store)

    const signer = createAuth({ keys: { secret: SECRET } })
    const logins = await Promise.all(Array.from({ length: USERS }, (_, i) => signer.login(`user-${i}`)))
    const refs: TokenRef[] = logins.map(({ access }) => ({
      jti: access.claims.jti,
      sub: access.claims.sub,
      family: access.claims.fam,
      issuedAt: access.claims.iat_ms,
      expiresAt: access.expiresAt,
    }))
    const views = logins.map(({ accessToken }) => headerView(accessToken))

    // isRevoked alone.
    const checks: Record<string, (i: number) => unknown> = {}
    for (const [name, { store }] of Object.entries(contenders)) {
      checks[name] = (i) => store.isRevoked(refs[i % USERS]!)
    }
    // The whole guard, with each store and with none. Same keys and defaults everywhere.
    const auths = {
      'no store': createAuth({ keys: { secret: SECRET } }),
      ...Object.fromEntries(
        Object.entries(contenders).map(([name, { store }]) => [
          name,
          createAuth({ keys: { secret: SECRET }, revocation: store }),
        ]),
      ),
    }
    const guards: Record<string, (i: number) => unknown> = {}
    for (const [name, auth] of Object.entries(auths))
      guards[name] = (i) => auth.authenticate(views[i % USERS]!)

    // Sanity: nothing preloaded matches the checked tokens, every guard accepts them.
    for (const [name, check] of Object.entries(checks)) {
      if ((await check(0)) !== false) throw new Error(`${name}: a checked token is revoked`)
    }
    for (const guard of Object.values(guards)) await guard(0)
    // Warm the local cache with every checked token (each check reads three keys).
    if (cached !== undefined) for (const ref of refs) await cached.isRevoked(ref)

    // One short discarded round each first: the first round otherwise pays for JIT compilation.
    await interleaved(checks, { rounds: 1, roundMs: 50 })
    const isRevoked = await interleaved(checks, { rounds, roundMs })
    await interleaved(guards, { rounds: 1, roundMs: 50 })
    const cacheBefore = cached?.cacheStats()
    const authenticate = await interleaved(guards, { rounds, roundMs })
    const cacheAfter = cached?.cacheStats()
    if (cacheBefore !== undefined && cacheAfter !== undefined) {
      const hits = cacheAfter.hits - cacheBefore.hits
      const misses = cacheAfter.misses - cacheBefore.misses
      notes.push(
        `Redis local cache (ttlMs 600 000, warmed) hit rate during the authenticate rounds: ${pct(hits / (hits + misses))}`,
      )
    }

    const micros = (s: Stat) => 1e6 / s.median
    const none = authenticate['no store']!
    const rows = Object.keys(auths).map((name) => {
      const check = isRevoked[name]
      const guard = authenticate[name]!
      return {
        store: name,
        isRevokedUs: check ? micros(check) : undefined,
        isRevokedSpread: check?.spread,
        authenticateUs: micros(guard),
        authenticateSpread: guard.spread,
        addedUs: micros(guard) - micros(none),
        ratioToNoStore: guard.median / none.median,
      }
    })

    return {
      machine: machine(),
      config: {
        users: USERS,
        preloadedRevocations: PRELOADED,
        rounds,
        roundMs,
        tokens: 'HS256 access tokens from login (jti, family, identity: three keys per check)',
        auth: 'createAuth defaults (verified-token cache of 1 000 on)',
        redisCache: 'maxEntries 10 000, ttlMs 600 000, warmed before the rounds: the hit path',
      },
      rows,
      isRevoked,
      authenticate,
      memory,
      notes,
      seconds: (Date.now() - started) / 1000,
    }
  } finally {
    await Promise.all(Object.values(contenders).map((contender) => contender.close()))
    if (redisDown === undefined) await deleteKeys(redisUrl, prefix)
    rmSync(dir, { recursive: true, force: true })
  }
}

export function revocationTable(data: Record<string, unknown>): string {
  const rows = data.rows as {
    store: string
    isRevokedUs?: number
    isRevokedSpread?: number
    authenticateUs: number
    authenticateSpread: number
    addedUs: number
    ratioToNoStore: number
  }[]
  const memory = data.memory as MemoryResult
  const us = (n: number | undefined) => (n === undefined ? '–' : n.toFixed(2))
  const lines = [
    '| store | isRevoked µs/call (median) | spread | authenticate µs/request (median) | spread | added by the check µs | requests/s vs no store |',
    '|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.store} | ${us(r.isRevokedUs)} | ${r.isRevokedSpread === undefined ? '–' : pct(r.isRevokedSpread)} | ${us(r.authenticateUs)} | ${pct(r.authenticateSpread)} | ${r.store === 'no store' ? '–' : us(r.addedUs)} | ${pct(r.ratioToNoStore)} |`,
    ),
    '',
    `MemoryRevocationStore, ${fmt(memory.entries)} revoked token ids: ${fmt(memory.bytes / 2 ** 20)} MiB of heap, ${fmt(memory.bytesPerEntry)} bytes per entry (RSS +${fmt(memory.rssDelta / 2 ** 20)} MiB; inserted in ${fmt(memory.insertMs)} ms).`,
  ]
  for (const note of (data.notes as string[]) ?? []) lines.push('', `Note: ${note}`)
  return lines.join('\n')
}

if (process.argv.includes('--memory-child')) {
  const entries = Number(process.argv[process.argv.indexOf('--memory-child') + 1] ?? MEMORY_ENTRIES)
  process.stdout.write(`${JSON.stringify(await memoryChild(entries))}\n`)
} else if (import.meta.url === `file://${process.argv[1]}`) {
  const data = await runRevocation({
    rounds: Number(process.env.ROUNDS ?? 7),
    roundMs: Number(process.env.ROUND_MS ?? 200),
  })
  writeJson('bench/results/revocation.json', data)
  console.log(revocationTable(data))
}
