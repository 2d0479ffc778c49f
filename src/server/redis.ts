/**
 * The server's Redis connection: fail-fast commands, a start that does not need Redis up, and a
 * watch on what Redis keeps on disk.
 *
 * - Commands never wait for a connection (no offline queue) and never replay: while Redis is away
 *   every request that needs it gets 503 at once, and ioredis reconnects by itself.
 * - A server started while Redis is down starts anyway and reports not ready until Redis answers;
 *   only a bad setting stops it.
 * - At every (re)connection the server reads Redis's persistence settings. A Redis with neither AOF
 *   nor RDB snapshots forgets every revocation when it restarts, and a revoked token is accepted again
 *   until it expires: the server warns loudly, or with LATCHKEY_REDIS_REQUIRE_PERSISTENCE refuses to
 *   start (and reports not ready on a reconnection).
 */
import { Redis } from 'ioredis'
import type { Logger } from 'pino'
import { ServerConfigError } from './config.js'
import { withDeadline } from './deadline.js'

/** What Redis keeps on disk, as far as the server could read it. */
export type RedisPersistence = 'aof' | 'rdb' | 'aof+rdb' | 'none' | 'unknown'

/** The Redis connection and what the server knows of it. */
export interface RedisConnection {
  redis: Redis
  /** The URL with its password hidden, for messages. */
  address: string
  /** Persistence as read at the last (re)connection. */
  persistence(): RedisPersistence
  /** Whether the server may serve with this Redis (false: no persistence, and it is required). */
  acceptable(): boolean
}

/** Options of {@link connectRedis}. */
export interface ConnectRedisOptions {
  /** Deadline of one command, and of a connection attempt, in milliseconds. */
  timeoutMs: number
  /** Refuse a Redis without persistence (else warn). */
  requirePersistence: boolean
  logger?: Logger | undefined
}

/** `redis://user:secret@host:6379/0` → `redis://user:***@host:6379/0`. */
export function redactRedisUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = '***'
    return parsed.toString()
  } catch {
    return 'REDIS_URL'
  }
}

const reconnectDelay = (attempt: number): number => Math.min(attempt * 100, 1_000)

/**
 * Opens Redis. Waits for the first connection at most `timeoutMs` (or a little more for its
 * persistence check); when Redis does not answer, resolves anyway with the client still trying, and
 * logs why. Rejects only when Redis answers and has no persistence while it is required.
 */
export async function connectRedis(url: string, options: ConnectRedisOptions): Promise<RedisConnection> {
  const { timeoutMs, requirePersistence, logger } = options
  const address = redactRedisUrl(url)
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 1,
    retryStrategy: reconnectDelay,
    // A command sent while Redis is down fails now (the request gets a 503) and is never replayed
    // later: a late refresh-token consumption would turn the client's retry into "reuse".
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
  })
  let persistence: RedisPersistence = 'unknown'
  let lastErrorLog = 0
  // ioredis rejects a failed connect() with "Connection is closed."; the cause came as an error event.
  let lastError: Error | undefined
  redis.on('error', (error: Error) => {
    lastError = error
    // Reconnection errors come every second while Redis is down; log one in ten seconds.
    if (Date.now() - lastErrorLog > 10_000) {
      lastErrorLog = Date.now()
      logger?.error({ err: { message: error.message }, redis: address }, 'redis connection error')
    }
  })
  const check = async (): Promise<void> => {
    persistence = await readPersistence(redis, timeoutMs)
    report(persistence, { address, requirePersistence, logger })
  }
  // The first connection is checked below, before the server serves; later ones here.
  let started = false
  redis.on('ready', () => {
    lastErrorLog = 0
    if (!started) return
    logger?.info({ redis: address }, 'redis connected again')
    check().catch((error: unknown) =>
      logger?.warn({ err: error, redis: address }, 'could not read the persistence settings of Redis'),
    )
  })

  try {
    await withDeadline(redis.connect(), timeoutMs * 2, 'redis connection')
  } catch (error) {
    const cause = (lastError ?? (error instanceof Error ? error : undefined))?.message ?? String(error)
    logger?.error(
      { redis: address, cause },
      `cannot reach Redis at ${address} (${cause}): starting anyway; /readyz answers 503 until Redis answers, and requests that need Redis get 503`,
    )
    started = true
    return connection(redis, address, () => persistence, requirePersistence)
  }
  // Connected: the persistence verdict comes before the server starts serving.
  persistence = await readPersistence(redis, timeoutMs)
  started = true
  if (requirePersistence && persistence === 'none') {
    redis.disconnect()
    throw new ServerConfigError(
      `Redis at ${address} keeps nothing on disk (no AOF, no RDB snapshots) and LATCHKEY_REDIS_REQUIRE_PERSISTENCE (--redis-require-persistence) is true: turn on appendonly (see docs/deployment.md)`,
    )
  }
  report(persistence, { address, requirePersistence, logger })
  return connection(redis, address, () => persistence, requirePersistence)
}

function connection(
  redis: Redis,
  address: string,
  persistence: () => RedisPersistence,
  requirePersistence: boolean,
): RedisConnection {
  return {
    redis,
    address,
    persistence,
    acceptable: () => !(requirePersistence && persistence() === 'none'),
  }
}

/** Reads AOF and RDB settings (`CONFIG GET`; `INFO persistence` where CONFIG is disabled). */
export async function readPersistence(redis: Redis, timeoutMs: number): Promise<RedisPersistence> {
  try {
    const [aof, save] = await withDeadline(
      Promise.all([redis.config('GET', 'appendonly'), redis.config('GET', 'save')]),
      timeoutMs,
      'redis CONFIG GET',
    )
    const aofOn = (aof as string[])[1] === 'yes'
    const rdbOn = ((save as string[])[1] ?? '').trim() !== ''
    return aofOn && rdbOn ? 'aof+rdb' : aofOn ? 'aof' : rdbOn ? 'rdb' : 'none'
  } catch {
    // Managed services often disable CONFIG; INFO still tells whether AOF is on (not RDB's schedule).
    try {
      const info = await withDeadline(redis.info('persistence'), timeoutMs, 'redis INFO')
      return /^aof_enabled:1\s*$/m.test(info) ? 'aof' : 'unknown'
    } catch {
      return 'unknown'
    }
  }
}

function report(
  persistence: RedisPersistence,
  context: { address: string; requirePersistence: boolean; logger?: Logger | undefined },
): void {
  const { address, requirePersistence, logger } = context
  if (persistence === 'none') {
    const what = `Redis at ${address} keeps nothing on disk (no AOF, no RDB snapshots): when it restarts it forgets every revocation, and logged-out tokens are accepted again until they expire. Turn on appendonly yes (see docs/deployment.md)`
    if (requirePersistence)
      logger?.error(
        { redis: address, persistence },
        `${what}; not ready (LATCHKEY_REDIS_REQUIRE_PERSISTENCE)`,
      )
    else logger?.warn({ redis: address, persistence }, what)
  } else if (persistence === 'unknown') {
    logger?.warn(
      { redis: address, persistence },
      `could not read whether Redis at ${address} persists its data (CONFIG and INFO refused): make sure AOF is on, or revocations are lost when it restarts`,
    )
  } else if (persistence === 'rdb') {
    logger?.info(
      { redis: address, persistence },
      'Redis persists by RDB snapshots only: revocations since the last snapshot are lost if it restarts (AOF is safer)',
    )
  }
}
