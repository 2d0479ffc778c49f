/**
 * Migrations, defined in code (no migration folder to ship or find at run time) and applied through
 * Kysely's Migrator, which records them in `kysely_migration` and serialises concurrent runs with a
 * lock table, so several instances starting at once migrate once. The same code builds the schema
 * on SQLite and PostgreSQL: `bigint` has integer affinity in SQLite, and `boolean` accepts 1/0 on both.
 *
 * Append new migrations; never edit one that has shipped.
 */
import * as kysely from 'kysely'
import { type Kysely, type Migration, type MigrationResultSet, type Migrator, sql } from 'kysely'

// Migrations work on whatever tables exist, whatever the app's types say.
type AnyDatabase = Kysely<unknown>

/** Every migration, by name; names sort in the order they apply. */
export const MIGRATIONS: Readonly<Record<string, Migration>> = Object.freeze({
  '0001_users': {
    async up(db: AnyDatabase): Promise<void> {
      await db.schema
        .createTable('users')
        .ifNotExists()
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey().notNull())
        // 254 is the longest address SMTP can carry (RFC 5321 path limit less the brackets).
        .addColumn('email', 'varchar(254)', (c) => c.notNull())
        .addColumn('name', 'varchar(200)')
        .addColumn('password_hash', 'varchar(255)', (c) => c.notNull())
        .addColumn('active', 'boolean', (c) => c.notNull().defaultTo(sql`true`))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute()
      // The unique index is what makes concurrent signups with one email safe: exactly one insert wins.
      await db.schema
        .createIndex('users_email_key')
        .ifNotExists()
        .unique()
        .on('users')
        .column('email')
        .execute()
    },
    async down(db: AnyDatabase): Promise<void> {
      await db.schema.dropTable('users').ifExists().execute()
    },
  },
  '0002_login_failures': {
    async up(db: AnyDatabase): Promise<void> {
      await db.schema
        .createTable('login_failures')
        .ifNotExists()
        .addColumn('key', 'varchar(64)', (c) => c.primaryKey().notNull())
        .addColumn('count', 'integer', (c) => c.notNull())
        .addColumn('window_ends_at', 'bigint', (c) => c.notNull())
        .execute()
      await db.schema
        .createIndex('login_failures_window_ends_at')
        .ifNotExists()
        .on('login_failures')
        .column('window_ends_at')
        .execute()
    },
    async down(db: AnyDatabase): Promise<void> {
      await db.schema.dropTable('login_failures').ifExists().execute()
    },
  },
  '0003_revocations': {
    async up(db: AnyDatabase): Promise<void> {
      const tables: [string, string, string[]][] = [
        ['revoked_tokens', 'jti', []],
        ['revoked_families', 'family', []],
        ['identity_cutoffs', 'sub', ['cutoff']],
        ['used_refresh_tokens', 'jti', ['used_at']],
      ]
      for (const [table, key, extra] of tables) {
        let builder = db.schema
          .createTable(table)
          .ifNotExists()
          .addColumn(key, 'varchar(255)', (c) => c.primaryKey().notNull())
        for (const column of extra) builder = builder.addColumn(column, 'bigint', (c) => c.notNull())
        await builder.addColumn('expires_at', 'bigint', (c) => c.notNull()).execute()
        // Expired rows are deleted by expiry; the index keeps that cheap.
        await db.schema
          .createIndex(`${table}_expires_at`)
          .ifNotExists()
          .on(table)
          .column('expires_at')
          .execute()
      }
    },
    async down(db: AnyDatabase): Promise<void> {
      for (const table of ['revoked_tokens', 'revoked_families', 'identity_cutoffs', 'used_refresh_tokens'])
        await db.schema.dropTable(table).ifExists().execute()
    },
  },
})

/**
 * Kysely's Migrator: exported by `kysely` up to 0.28, by `kysely/migration` from 0.29 (both are in
 * the peer range). The namespace import above cannot fail to link on either.
 */
async function migratorClass(): Promise<typeof Migrator> {
  const root = kysely as Partial<{ Migrator: typeof Migrator }>
  if (root.Migrator) return root.Migrator
  const entry = 'kysely/migration' // not a literal: 0.28, the dev dependency, has no such entry
  return ((await import(entry)) as { Migrator: typeof Migrator }).Migrator
}

/**
 * Applies every pending migration; returns the names applied (empty when up to date). `schema` is
 * PostgreSQL's current schema: Kysely must be told, or it finds the migration table of another
 * schema in the same database and skips creating its own.
 */
export async function migrateToLatest(
  db: Kysely<unknown>,
  options: { schema?: string } = {},
): Promise<string[]> {
  const migrator = new (await migratorClass())({
    db,
    provider: { getMigrations: async () => ({ ...MIGRATIONS }) },
    ...(options.schema === undefined ? {} : { migrationTableSchema: options.schema }),
  })
  let outcome: MigrationResultSet = await migrator.migrateToLatest()
  // Kysely's PostgreSQL introspection checks has_schema_privilege() on every schema of the
  // database; a schema dropped by someone else during that query fails it with 3F000, naming a
  // schema that is not ours. Nothing ran then, so trying again is safe.
  for (
    let attempt = 0;
    attempt < 5 && (outcome.error as { code?: unknown } | undefined)?.code === '3F000';
    attempt++
  ) {
    await new Promise((resolve) => setTimeout(resolve, 50 * (attempt + 1)))
    outcome = await migrator.migrateToLatest()
  }
  const { error, results } = outcome
  if (error !== undefined) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName
    const reason = error instanceof Error ? error.message : String(error)
    throw new Error(`migration ${failed ?? ''} failed: ${reason}`.replace('  ', ' '), { cause: error })
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName)
}
