/**
 * The database schema as Kysely sees it. One schema for SQLite and PostgreSQL: times are epoch
 * milliseconds in 64-bit integer columns (comparable in SQL on both, and exact in JavaScript until
 * the year 285 616), and `active` is written as 1/0, which both accept for their boolean column.
 */
import type { ColumnType } from 'kysely'

/** Accounts. `email` is unique and stored normalised (see `email.ts`). */
export interface UsersTable {
  id: string
  email: string
  name: string | null
  password_hash: string
  /** PostgreSQL returns a boolean, SQLite 1/0; always written as 1/0. */
  active: ColumnType<boolean | number, number, number>
  created_at: number
  updated_at: number
}

/** Login rate-limit counters when there is no Redis. `key` is a hash of (client address, email). */
export interface LoginFailuresTable {
  key: string
  count: number
  window_ends_at: number
}

/** Revoked access/refresh token ids. */
export interface RevokedTokensTable {
  jti: string
  expires_at: number
}

/** Revoked refresh families (one per login). */
export interface RevokedFamiliesTable {
  family: string
  expires_at: number
}

/** Logout-everywhere cut-offs: tokens of `sub` issued before `cutoff` are revoked. */
export interface IdentityCutoffsTable {
  sub: string
  cutoff: number
  expires_at: number
}

/** Refresh tokens already exchanged, with the time of their first use. */
export interface UsedRefreshTokensTable {
  jti: string
  used_at: number
  expires_at: number
}

/** Every table of the server. */
export interface ServerSchema {
  users: UsersTable
  login_failures: LoginFailuresTable
  revoked_tokens: RevokedTokensTable
  revoked_families: RevokedFamiliesTable
  identity_cutoffs: IdentityCutoffsTable
  used_refresh_tokens: UsedRefreshTokensTable
}

/** The tables the database revocation store needs. */
export type RevocationSchema = Pick<
  ServerSchema,
  'revoked_tokens' | 'revoked_families' | 'identity_cutoffs' | 'used_refresh_tokens'
>
