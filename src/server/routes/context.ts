/** What the server's own route files (health, meta) receive. The auth routes are the login API's. */
import type { Redis } from 'ioredis'
import type { Auth } from '../../index.js'
import type { KyselyUser } from '../../login/kysely/index.js'
import type { ServerConfig } from '../config.js'
import type { ServerDatabase } from '../db/connect.js'
import type { ServerMetrics } from '../metrics.js'
import type { RedisConnection } from '../redis.js'

/** The services the routes use. */
export interface RouteDeps {
  config: ServerConfig
  auth: Auth<KyselyUser>
  metrics: ServerMetrics | undefined
  database: ServerDatabase
  redis: Redis | undefined
  redisConnection: RedisConnection | undefined
}
