/** `latchkey migrate`: applies pending database migrations (the server also does at start). */
import { openDatabase } from '../../server/db/connect.js'
import type { CliIO } from '../io.js'
import { print } from '../io.js'
import { configFrom, parse, SETTINGS_NOTE } from '../shared.js'

/** `latchkey migrate --help`. */
export const MIGRATE_HELP = `Usage: latchkey migrate [--database-url URL]

Creates or updates the database schema (users, login rate limits, revocations). Safe to run while
servers are running and from several hosts at once: Kysely's migration lock serialises runs.
${SETTINGS_NOTE}
`

/** `latchkey migrate`: resolves with the exit code. */
export async function migrate(args: string[], io: CliIO): Promise<number> {
  const { values } = parse(args, {}, { settings: true })
  if (values.help) {
    io.stdout.write(MIGRATE_HELP)
    return 0
  }
  const config = configFrom(io, values)
  const database = await openDatabase(config.databaseUrl, { cwd: io.cwd })
  try {
    const applied = await database.migrate()
    print(io, applied.length === 0 ? 'Database is up to date.' : `Applied: ${applied.join(', ')}`)
  } finally {
    await database.close()
  }
  return 0
}
