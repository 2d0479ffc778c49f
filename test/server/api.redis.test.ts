/** The API suite with Redis as the revocation store and rate-limit counter (users in PostgreSQL). */
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { RedisRevocationStore } from '../../src/stores/redis.js'
import { postgresUrl, probePostgres, probeRedis, redisUrl, requireService } from '../helpers/services.js'
import { defineApiSuite } from './api-suite.js'
import { fresh, startServer } from './harness.js'
import { countRedisKeys, createPgSchema, deleteRedisPrefix, tempDir, uniqueSuffix } from './helpers.js'

const postgres = await requireService('PostgreSQL', probePostgres)
const redis = await requireService('Redis', probeRedis)

describe.skipIf(postgres.skip || redis.skip)('Redis', () => {
  defineApiSuite('PostgreSQL + Redis', async () => {
    const schema = await createPgSchema(postgresUrl())
    const prefix = `latchkey-test:${uniqueSuffix()}:`
    return {
      settings: { databaseUrl: schema.url, redisUrl: redisUrl(), redisPrefix: prefix },
      countRevocations: async (server) => {
        expect(server.app.latchkey.store).toBeInstanceOf(RedisRevocationStore)
        return countRedisKeys(redisUrl(), prefix)
      },
      cleanup: async () => {
        await deleteRedisPrefix(redisUrl(), prefix)
        await schema.drop()
      },
    }
  })
})

describe.skipIf(postgres.skip || redis.skip)('Redis unavailable', () => {
  it('fails closed: 503 from healthz, login and guarded routes while Redis is gone', async () => {
    const folder = tempDir('latchkey-redis-down-')
    const prefix = `latchkey-test:${uniqueSuffix()}:`
    const server = await startServer(
      { databaseUrl: `file:${join(folder.dir, 'db.sqlite')}`, redisUrl: redisUrl(), redisPrefix: prefix },
      { cwd: folder.dir },
    )
    try {
      const who = fresh()
      await server.client.signup(who.email, 'correct horse battery')
      const login = await server.client.login(who.email, 'correct horse battery', { from: who.from })
      expect(login.status).toBe(200)
      // Drops the connection for good (no reconnection), as a Redis outage would, for this server only.
      server.app.latchkey.redis!.disconnect(false)
      const health = await server.client.get('/healthz')
      expect(health.status).toBe(503)
      expect(health.body).toMatchObject({ status: 'unavailable', msg: 'redis unavailable' })
      const me = await server.client.get('/auth/me', { token: login.body.access_token })
      expect(me.status).toBe(503)
      expect(me.body.code).toBe('REVOCATION_UNAVAILABLE')
      expect(me.headers.get('retry-after')).toBe('1')
      const again = await server.client.login(who.email, 'correct horse battery', { from: who.from })
      expect(again.status).toBe(503)
      expect(again.body.code).toBe('SERVICE_UNAVAILABLE')
    } finally {
      await server.close()
      await deleteRedisPrefix(redisUrl(), prefix)
      folder.remove()
    }
  })
})
