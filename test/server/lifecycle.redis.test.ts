/** The account lifecycle suite on PostgreSQL + Redis (revocations and rate limits in Redis). */
import { describe } from 'vitest'
import { postgresUrl, probePostgres, probeRedis, redisUrl, requireService } from '../helpers/services.js'
import { createPgSchema, deleteRedisPrefix, uniqueSuffix } from './helpers.js'
import { defineLifecycleSuite } from './lifecycle-suite.js'

const postgres = await requireService('PostgreSQL', probePostgres)
const redis = await requireService('Redis', probeRedis)

describe.skipIf(postgres.skip || redis.skip)('PostgreSQL + Redis', () => {
  defineLifecycleSuite('PostgreSQL + Redis', async () => {
    const schema = await createPgSchema(postgresUrl())
    const prefix = `latchkey-test:${uniqueSuffix()}:`
    return {
      settings: { databaseUrl: schema.url, redisUrl: redisUrl(), redisPrefix: prefix },
      cleanup: async () => {
        await deleteRedisPrefix(redisUrl(), prefix)
        await schema.drop()
      },
    }
  })
})
