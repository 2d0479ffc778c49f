/** The API suite on PostgreSQL (a schema of its own), revocations and rate limits in the database. */
import { describe } from 'vitest'
import { postgresUrl, probePostgres, requireService } from '../helpers/services.js'
import { defineApiSuite } from './api-suite.js'
import { countDatabaseRevocations, createPgSchema } from './helpers.js'

const postgres = await requireService('PostgreSQL', probePostgres)

describe.skipIf(postgres.skip)('PostgreSQL', () => {
  defineApiSuite('PostgreSQL', async () => {
    const schema = await createPgSchema(postgresUrl())
    return {
      settings: { databaseUrl: schema.url },
      cleanup: schema.drop,
      countRevocations: (server) => countDatabaseRevocations(server),
    }
  })
})
