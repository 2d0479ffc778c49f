/**
 * The login API's migrations, defined in code (no migration folder to ship or find at run time) and
 * applied through Kysely's Migrator, which records them in a table of their own
 * (`latchkey_migration`, so an app's own Kysely migrations are never mixed up with them) and
 * serialises concurrent runs with a lock table, so several instances starting at once migrate once.
 * The same code builds the schema on SQLite and PostgreSQL: `bigint` has integer affinity in SQLite,
 * and `boolean` accepts 1/0 on both.
 *
 * Append new migrations; never edit one that has shipped.
 */
import * as kysely from 'kysely'
import { type Kysely, type Migration, type MigrationResultSet, type Migrator, sql } from 'kysely'

// Migrations work on whatever tables exist, whatever the app's types say.
type AnyDatabase = Kysely<unknown>

/** Every migration, by name; names sort in the order they apply. */
export const LOGIN_MIGRATIONS: Readonly<Record<string, Migration>> = Object.freeze({
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
  '0004_account_lifecycle': {
    async up(db: AnyDatabase): Promise<void> {
      await db.schema.alterTable('users').addColumn('email_verified_at', 'bigint').execute()
      // One row per login (refresh family): what the sessions list shows. Revocation stays in the
      // revocation store; deleting a row ends nothing by itself.
      await db.schema
        .createTable('login_sessions')
        .ifNotExists()
        .addColumn('id', 'varchar(255)', (c) => c.primaryKey().notNull())
        .addColumn('user_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('last_used_at', 'bigint', (c) => c.notNull())
        .addColumn('issued_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('user_agent', 'varchar(256)')
        .addColumn('address', 'varchar(64)')
        .execute()
      await db.schema
        .createIndex('login_sessions_user_id')
        .ifNotExists()
        .on('login_sessions')
        .column('user_id')
        .execute()
      await db.schema
        .createIndex('login_sessions_expires_at')
        .ifNotExists()
        .on('login_sessions')
        .column('expires_at')
        .execute()
      // Mailed links, by the SHA-256 of their token: single use (deleted when used).
      await db.schema
        .createTable('login_tokens')
        .ifNotExists()
        .addColumn('hash', 'varchar(64)', (c) => c.primaryKey().notNull())
        .addColumn('purpose', 'varchar(16)', (c) => c.notNull())
        .addColumn('user_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('email', 'varchar(254)', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute()
      await db.schema
        .createIndex('login_tokens_user_id_purpose')
        .ifNotExists()
        .on('login_tokens')
        .columns(['user_id', 'purpose'])
        .execute()
      await db.schema
        .createIndex('login_tokens_expires_at')
        .ifNotExists()
        .on('login_tokens')
        .column('expires_at')
        .execute()
    },
    async down(db: AnyDatabase): Promise<void> {
      await db.schema.dropTable('login_tokens').ifExists().execute()
      await db.schema.dropTable('login_sessions').ifExists().execute()
      await db.schema.alterTable('users').dropColumn('email_verified_at').execute()
    },
  },
})

/** Options of {@link migrateLogin}. */
export interface MigrateLoginOptions {
  /**
   * PostgreSQL's schema of the migration tables. Give it when the search path is not `public`:
   * otherwise Kysely may find the migration table of another schema in the same database.
   */
  schema?: string
  /**
   * The table recording applied migrations. Default `latchkey_migration`; a database set up by
   * latchkey 0.1 (whose server recorded them in Kysely's default `kysely_migration`) keeps using that.
   */
  migrationTableName?: string
  /** The lock table. Default the migration table's name + `_lock`. */
  migrationLockTableName?: string
}

/** Where latchkey 0.1's server recorded these migrations. */
const LEGACY_TABLE = 'kysely_migration'

async function legacyTable(db: AnyDatabase, schema: string | undefined): Promise<boolean> {
  const table = schema === undefined ? sql.table(LEGACY_TABLE) : sql.table(`${schema}.${LEGACY_TABLE}`)
  try {
    const { rows } = await sql<{
      name: string
    }>`select name from ${table} where name = ${'0001_users'}`.execute(db)
    return rows.length > 0
  } catch {
    // No such table: a new database, or one of an app's own.
    return false
  }
}

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
 * Applies every pending migration of the login API (users, rate-limit counters, revocations, sessions,
 * mailed links); resolves with the names applied (empty when up to date). Safe to run at every start
 * and from several processes at once. `latchkey migrate` runs the same.
 *
 * @example
 * ```ts
 * import { migrateLogin } from 'latchkey/login/kysely'
 * await migrateLogin(db) // db: your Kysely instance (SQLite or PostgreSQL)
 * ```
 */
export async function migrateLogin(
  // biome-ignore lint/suspicious/noExplicitAny: migrations take any Kysely instance, whatever its schema type
  db: Kysely<any>,
  options: MigrateLoginOptions = {},
): Promise<string[]> {
  const anyDb = db as AnyDatabase
  const table =
    options.migrationTableName ??
    ((await legacyTable(anyDb, options.schema)) ? LEGACY_TABLE : 'latchkey_migration')
  const migrator = new (await migratorClass())({
    db: anyDb,
    provider: { getMigrations: async () => ({ ...LOGIN_MIGRATIONS }) },
    migrationTableName: table,
    migrationLockTableName: options.migrationLockTableName ?? `${table}_lock`,
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
