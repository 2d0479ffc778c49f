/**
 * `latchkey/stores/sql`: the revocation contract in SQL, written once. The statements run unchanged
 * on SQLite (3.35 or later: `ON CONFLICT … DO UPDATE`, `RETURNING`) and on PostgreSQL, so every
 * SQL store executes the same text: the SQLite store over better-sqlite3, and any driver or query
 * builder that can run a statement with positional parameters (Kysely's `CompiledQuery.raw`, `pg`).
 *
 * The tables (`<prefix>revoked_tokens`, `<prefix>revoked_families`, `<prefix>identity_cutoffs`,
 * `<prefix>used_refresh_tokens`) are created by the store that owns them (see {@link tableDefinitions}
 * for the columns); times are epoch milliseconds in 64-bit integer columns.
 *
 * Loads no driver: the text and its parameters are all there is.
 */

/** Which placeholders the statements use: `?` (SQLite) or `$1`, `$2`, … (PostgreSQL). */
export type SqlDialect = 'sqlite' | 'postgres'

/** One statement: its text, and its positional parameters from named values. */
export interface SqlStatement<Values> {
  readonly text: string
  /** The parameters in the order the text wants them (a value used twice is passed twice for `?`). */
  params(values: Values): unknown[]
}

/** The table names of a store. */
export interface RevocationTables {
  readonly tokens: string
  readonly families: string
  readonly identities: string
  readonly used: string
}

/** Every statement of the revocation contract. */
export interface RevocationSql {
  readonly tables: RevocationTables
  /** One row, one column `revoked`: 1/0 on SQLite, a boolean on PostgreSQL. */
  readonly isRevoked: SqlStatement<{
    jti: string
    family: string | null
    sub: string
    issuedAt: number
    now: number
  }>
  /** Records a revoked token id, keeping the later expiry of repeated calls. */
  readonly revokeToken: SqlStatement<{ jti: string; expiresAt: number }>
  /** Records a revoked family, keeping the later expiry of repeated calls. */
  readonly revokeFamily: SqlStatement<{ family: string; expiresAt: number }>
  /**
   * Records an identity cut-off, keeping the later cut-off and expiry, unless the stored row has
   * expired (then it no longer means anything and the new one replaces it).
   */
  readonly revokeIdentity: SqlStatement<{ sub: string; cutoff: number; expiresAt: number; now: number }>
  /**
   * Marks a refresh token used, or replaces a marker that has expired. RETURNING yields a row only
   * when this statement wrote, so "a row came back" is exactly "first use".
   */
  readonly claimRefreshToken: SqlStatement<{ jti: string; now: number; expiresAt: number }>
  /** The time of a refresh token's first use: one row with `used_at`, or none. */
  readonly refreshTokenUsedAt: SqlStatement<{ jti: string }>
  /** Deletes the expired rows of each table. */
  readonly purgeExpired: readonly SqlStatement<{ now: number }>[]
}

const PREFIX = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/

/** The columns of each table, for a store that creates its own tables (types as SQLite spells them). */
export function tableDefinitions(tables: RevocationTables): Record<keyof RevocationTables, string> {
  return {
    tokens: `"${tables.tokens}" (jti TEXT PRIMARY KEY NOT NULL, expires_at INTEGER NOT NULL)`,
    families: `"${tables.families}" (family TEXT PRIMARY KEY NOT NULL, expires_at INTEGER NOT NULL)`,
    identities: `"${tables.identities}" (sub TEXT PRIMARY KEY NOT NULL, cutoff INTEGER NOT NULL, expires_at INTEGER NOT NULL)`,
    used: `"${tables.used}" (jti TEXT PRIMARY KEY NOT NULL, used_at INTEGER NOT NULL, expires_at INTEGER NOT NULL)`,
  }
}

/**
 * The statements for one dialect and table prefix.
 *
 * @example
 * ```ts
 * import { revocationSql } from 'latchkey/stores/sql'
 *
 * const sql = revocationSql({ dialect: 'postgres' })
 * const { rows } = await pool.query(sql.isRevoked.text, sql.isRevoked.params({ jti, family: null, sub, issuedAt, now: Date.now() }))
 * ```
 */
export function revocationSql(options: { dialect: SqlDialect; tablePrefix?: string }): RevocationSql {
  const prefix = options.tablePrefix ?? ''
  // Written into SQL as an identifier: only a plain name may pass.
  if (prefix !== '' && !PREFIX.test(prefix))
    throw new TypeError('tablePrefix must match /^[A-Za-z_][A-Za-z0-9_]*$/ (it is written into SQL)')
  const tables: RevocationTables = {
    tokens: `${prefix}revoked_tokens`,
    families: `${prefix}revoked_families`,
    identities: `${prefix}identity_cutoffs`,
    used: `${prefix}used_refresh_tokens`,
  }
  const t = `"${tables.tokens}"`
  const f = `"${tables.families}"`
  const i = `"${tables.identities}"`
  const u = `"${tables.used}"`
  // The later of the stored and the new value (max() on SQLite, GREATEST on PostgreSQL: CASE is both).
  const later = (table: string, column: string) =>
    `CASE WHEN ${table}.${column} > excluded.${column} THEN ${table}.${column} ELSE excluded.${column} END`
  const s = <V>(text: string) => statement<V>(options.dialect, text)
  return {
    tables,
    // A token without a family passes NULL, and `family = NULL` is never true: it cannot match a row.
    isRevoked: s(`SELECT (
        EXISTS (SELECT 1 FROM ${t} WHERE jti = :jti AND expires_at > :now)
        OR EXISTS (SELECT 1 FROM ${f} WHERE family = :family AND expires_at > :now)
        OR EXISTS (SELECT 1 FROM ${i} WHERE sub = :sub AND cutoff > :issuedAt AND expires_at > :now)
      ) AS revoked`),
    revokeToken: s(`INSERT INTO ${t} (jti, expires_at) VALUES (:jti, :expiresAt)
      ON CONFLICT (jti) DO UPDATE SET expires_at = ${later(t, 'expires_at')}`),
    revokeFamily: s(`INSERT INTO ${f} (family, expires_at) VALUES (:family, :expiresAt)
      ON CONFLICT (family) DO UPDATE SET expires_at = ${later(f, 'expires_at')}`),
    revokeIdentity: s(`INSERT INTO ${i} (sub, cutoff, expires_at) VALUES (:sub, :cutoff, :expiresAt)
      ON CONFLICT (sub) DO UPDATE SET
        cutoff = CASE WHEN ${i}.expires_at <= :now THEN excluded.cutoff ELSE ${later(i, 'cutoff')} END,
        expires_at = CASE WHEN ${i}.expires_at <= :now THEN excluded.expires_at ELSE ${later(i, 'expires_at')} END`),
    claimRefreshToken: s(`INSERT INTO ${u} (jti, used_at, expires_at) VALUES (:jti, :now, :expiresAt)
      ON CONFLICT (jti) DO UPDATE SET used_at = excluded.used_at, expires_at = excluded.expires_at
        WHERE ${u}.expires_at <= :now
      RETURNING used_at`),
    refreshTokenUsedAt: s(`SELECT used_at FROM ${u} WHERE jti = :jti`),
    purgeExpired: [t, f, i, u].map((table) =>
      s<{ now: number }>(`DELETE FROM ${table} WHERE expires_at <= :now`),
    ),
  }
}

/** Turns `:name` markers into the dialect's placeholders, and remembers the order of the names. */
function statement<V>(dialect: SqlDialect, source: string): SqlStatement<V> {
  const names: string[] = []
  const text = source.replace(/:([A-Za-z]+)/g, (_match, name: string) => {
    if (dialect === 'sqlite') {
      names.push(name)
      return '?'
    }
    let index = names.indexOf(name)
    if (index < 0) index = names.push(name) - 1
    return `$${index + 1}`
  })
  return {
    text,
    params: (values) => names.map((name) => (values as Record<string, unknown>)[name]),
  }
}
