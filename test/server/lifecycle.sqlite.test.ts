/** The account lifecycle suite on SQLite (revocations and rate limits in the database). */
import { join } from 'node:path'
import { tempDir } from './helpers.js'
import { defineLifecycleSuite } from './lifecycle-suite.js'

defineLifecycleSuite('SQLite', async () => {
  const folder = tempDir('latchkey-lifecycle-sqlite-')
  return {
    settings: { databaseUrl: `file:${join(folder.dir, 'latchkey.db')}` },
    cleanup: async () => folder.remove(),
  }
})
