/** The API suite on the default backend: a SQLite file, revocations and rate limits in it. */
import { join } from 'node:path'
import { defineApiSuite } from './api-suite.js'
import { countDatabaseRevocations, tempDir } from './helpers.js'

defineApiSuite('SQLite', async () => {
  const folder = tempDir('latchkey-api-sqlite-')
  return {
    settings: { databaseUrl: `file:${join(folder.dir, 'latchkey.db')}` },
    cleanup: async () => folder.remove(),
    countRevocations: (server) => countDatabaseRevocations(server),
  }
})
