/**
 * What the server and the CLI share: the database, Redis, the revocation store, the users and the
 * auth object, opened and closed in one place.
 */
import { Redis } from 'ioredis'
import type { Logger } from 'pino'
import { type Auth, createAuth, type KeyConfig, type RevocationStore, type TokenLocation } from '../index.js'
import { RedisRevocationStore } from '../stores/redis.js'
import type { ServerConfig } from './config.js'
import { openDatabase, type ServerDatabase } from './db/connect.js'
import { DatabaseRevocationStore } from './db/revocations.js'
import { type User, UsersRepository } from './db/users.js'
import { serviceUnavailable } from './errors.js'
import { type AttemptCounter, DatabaseAttemptCounter, RedisAttemptCounter } from './ratelimit.js'

/** The server's connections and the objects over them. */
export interface Backends {
  database: ServerDatabase
  redis: Redis | undefined
  /** Redis when configured, else the database. */
  store: RevocationStore
  /** Login rate-limit counters: Redis when configured, else the database. */
  counter: AttemptCounter
  users: UsersRepository
  /** Closes the store, Redis and the database; never throws. */
  close(): Promise<void>
}

/** Options of {@link openBackends}. */
export interface OpenBackendsOptions {
  /** Base of a relative SQLite path. */
  cwd?: string
  /** Apply pending migrations first (the server does; CLI reads do not). */
  migrate?: boolean
  logger?: Logger
}

/** Opens Redis with the revocation store's fail-fast settings and waits for the first connection. */
export async function connectRedis(url: string, logger?: Logger): Promise<Redis> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 2_000,
    commandTimeout: 1_000,
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt: number) => Math.min(attempt * 100, 1_000),
    // A command sent while Redis is down fails now (the request gets a 503) and is never replayed
    // later: a late refresh-token consumption would turn the client's retry into "reuse".
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
  })
  let lastLog = 0
  redis.on('error', (error: Error) => {
    // Reconnection errors come every second while Redis is down; log one in ten seconds.
    if (Date.now() - lastLog > 10_000) {
      lastLog = Date.now()
      logger?.error({ err: { message: error.message } }, 'redis connection error')
    }
  })
  try {
    await redis.connect()
  } catch (error) {
    redis.disconnect()
    throw new Error(`cannot reach Redis at REDIS_URL (${(error as Error).message})`, { cause: error })
  }
  return redis
}

async function quietly(
  what: string,
  logger: Logger | undefined,
  close: () => Promise<unknown>,
): Promise<void> {
  try {
    await close()
  } catch (error) {
    logger?.warn({ err: error }, `closing ${what} failed`)
  }
}

/**
 * Opens the database (migrating it if asked), Redis when configured, and the store and counters
 * over them. On failure, whatever was opened is closed again.
 */
export async function openBackends(
  config: ServerConfig,
  options: OpenBackendsOptions = {},
): Promise<Backends> {
  const { logger } = options
  let database: ServerDatabase
  try {
    database = await openDatabase(config.databaseUrl, {
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      onPoolError: (error) =>
        logger?.error({ err: { message: error.message } }, 'idle database connection failed'),
    })
  } catch (error) {
    throw new Error(`cannot open DATABASE_URL (${(error as Error).message})`, { cause: error })
  }
  let redis: Redis | undefined
  try {
    if (options.migrate) {
      const applied = await database.migrate()
      if (applied.length > 0) logger?.info({ migrations: applied }, 'database migrated')
    }
    if (config.redisUrl) redis = await connectRedis(config.redisUrl, logger)
  } catch (error) {
    redis?.disconnect()
    await quietly('database', logger, () => database.close())
    throw error
  }
  const store: RevocationStore = redis
    ? new RedisRevocationStore(redis, { prefix: config.redisPrefix })
    : new DatabaseRevocationStore(database.db)
  const counter: AttemptCounter = redis
    ? new RedisAttemptCounter(redis, { prefix: config.redisPrefix })
    : new DatabaseAttemptCounter(database.db)
  let closed = false
  return {
    database,
    redis,
    store,
    counter,
    users: new UsersRepository(database.db),
    async close() {
      if (closed) return
      closed = true
      await quietly('revocation store', logger, async () => store.close?.())
      if (redis) {
        const r = redis
        await quietly('redis', logger, () => r.quit())
      }
      await quietly('database', logger, () => database.close())
    },
  }
}

/** Longest lifetime of any token the server issues, in milliseconds. */
export function longestTokenMs(config: ServerConfig): number {
  return Math.max(config.accessTtl, config.refreshTtl) * 1000
}

/**
 * The auth object of the server: the configured keys, locations and lifetimes, users from the
 * database, the revocation store.
 */
export function createServerAuth(
  config: ServerConfig,
  keys: KeyConfig[],
  backends: { users: Pick<UsersRepository, 'findById'>; store: RevocationStore },
  logger?: Logger,
  clock?: () => number,
): Auth<User> {
  // The refresh endpoint also reads `refresh_token` from a JSON body: JSON bodies cannot be sent
  // cross-site without a CORS preflight, so this adds no CSRF exposure.
  const refreshLocations: TokenLocation[] = config.tokenLocations.includes('json')
    ? config.tokenLocations
    : [...config.tokenLocations, 'json']
  const { users, store } = backends
  return createAuth<User>({
    keys,
    tokenLocations: config.tokenLocations,
    refreshTokenLocations: refreshLocations,
    accessTokenTtl: config.accessTtl,
    refreshTokenTtl: config.refreshTtl,
    // Browser-session logins (remember: false) get at most a day, never more than remembered ones.
    sessionRefreshTokenTtl: Math.min(config.refreshTtl, 86_400),
    leeway: config.leeway,
    ...(config.issuer.length > 0 ? { issuer: config.issuer } : {}),
    ...(config.audience.length > 0 ? { audience: config.audience } : {}),
    // The refresh cookie only travels to /auth/refresh; its CSRF cookie stays readable by every page.
    cookies: { secure: config.cookieSecure, refreshPath: '/auth/refresh', csrfRefreshPath: '/' },
    implicitRefresh: config.implicitRefresh === false ? false : { window: config.implicitRefresh },
    identify: (user) => user.id,
    // A database that cannot answer is a 503 the client may retry, not a 500 (the core passes a
    // loader's own errors through untouched).
    loadUser: async (id) => {
      try {
        return await users.findById(id)
      } catch (error) {
        logger?.error({ err: error }, 'user lookup failed: database unavailable')
        throw serviceUnavailable()
      }
    },
    isActive: (user) => user.active,
    revocation: store,
    onListenerError: (error, event) => logger?.error({ err: error, event }, 'auth event listener failed'),
    ...(clock === undefined ? {} : { clock }),
  })
}
