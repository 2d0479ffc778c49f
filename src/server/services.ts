/**
 * What the server and the CLI share: the database, Redis, the revocation store, the users and the
 * auth object, opened and closed in one place.
 */
import type { Redis } from 'ioredis'
import type { Logger } from 'pino'
import { type Auth, createAuth, type KeyConfig, type RevocationStore, type TokenLocation } from '../index.js'
import { type AttemptCounter, loginAuthOptions, serviceUnavailable } from '../login/index.js'
import { KyselyLoginStore, KyselyRevocationStore, type KyselyUser } from '../login/kysely/index.js'
import { RedisAttemptCounter } from '../login/redis.js'
import { RedisRevocationStore } from '../stores/redis.js'
import type { ServerConfig } from './config.js'
import { openDatabase, type ServerDatabase } from './db/connect.js'
import { withDeadline } from './deadline.js'
import { connectRedis, type RedisConnection } from './redis.js'

/** A user of the server (the login API's, from its Kysely store). */
export type User = KyselyUser

/** The server's connections and the objects over them. */
export interface Backends {
  database: ServerDatabase
  redis: Redis | undefined
  /** The Redis connection's state (persistence), when Redis is configured. */
  redisConnection: RedisConnection | undefined
  /** Redis when configured, else the database. */
  store: RevocationStore
  /** Rate-limit counters: Redis when configured, else the database. */
  counter: AttemptCounter
  /** Users, sessions and mailed-link tokens in the database. */
  users: KyselyLoginStore
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
      poolSize: config.dbPoolSize,
      readTimeoutMs: config.dbReadTimeoutMs,
      writeTimeoutMs: config.dbWriteTimeoutMs,
      acquireTimeoutMs: config.dbAcquireTimeoutMs,
      onPoolError: (error) =>
        logger?.error({ err: { message: error.message } }, 'idle database connection failed'),
    })
  } catch (error) {
    throw new Error(`cannot open DATABASE_URL (${(error as Error).message})`, { cause: error })
  }
  let redisConnection: RedisConnection | undefined
  try {
    if (options.migrate) {
      const applied = await database.migrate()
      if (applied.length > 0) logger?.info({ migrations: applied }, 'database migrated')
    }
    if (config.redisUrl)
      redisConnection = await connectRedis(config.redisUrl, {
        timeoutMs: config.redisTimeoutMs,
        requirePersistence: config.redisRequirePersistence,
        logger,
      })
  } catch (error) {
    redisConnection?.redis.disconnect()
    await quietly('database', logger, () => database.close())
    throw error
  }
  const redis = redisConnection?.redis
  const store: RevocationStore = redis
    ? new RedisRevocationStore(redis, { prefix: config.redisPrefix, commandTimeoutMs: config.redisTimeoutMs })
    : new KyselyRevocationStore(database.db)
  const users = new KyselyLoginStore(database.db)
  const counter: AttemptCounter = redis
    ? new RedisAttemptCounter(redis, { prefix: config.redisPrefix })
    : users
  let closed = false
  return {
    database,
    redis,
    redisConnection,
    store,
    counter,
    users,
    async close() {
      if (closed) return
      closed = true
      await quietly('revocation store', logger, async () => store.close?.())
      if (redis) {
        const r = redis
        // quit() waits for Redis's answer, which a Redis that is away never sends.
        await quietly('redis', logger, () =>
          withDeadline(r.quit(), config.redisTimeoutMs, 'redis quit').catch(() => r.disconnect()),
        )
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
  backends: { users: Pick<KyselyLoginStore, 'findById'>; store: RevocationStore },
  logger?: Logger,
  clock?: () => number,
): Auth<User> {
  // The refresh endpoint also reads `refresh_token` from a JSON body: JSON bodies cannot be sent
  // cross-site without a CORS preflight, so this adds no CSRF exposure.
  const refreshLocations: TokenLocation[] = config.tokenLocations.includes('json')
    ? config.tokenLocations
    : [...config.tokenLocations, 'json']
  const { users, store } = backends
  const { identify, isActive } = loginAuthOptions(users)
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
    identify,
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
    isActive,
    revocation: store,
    onListenerError: (error, event) => logger?.error({ err: error, event }, 'auth event listener failed'),
    ...(clock === undefined ? {} : { clock }),
  })
}
