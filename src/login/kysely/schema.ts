/**
 * The login API's tables as Kysely sees them. One schema for SQLite and PostgreSQL: times are epoch
 * milliseconds in 64-bit integer columns (comparable in SQL on both, and exact in JavaScript until
 * the year 285 616), and booleans are written as 1/0, which both accept for their boolean column.
 */
import type { ColumnType } from 'kysely'

/** Accounts. `email` is unique and stored normalised (`normalizeEmail`). */
export interface UsersTable {
  id: string
  email: string
  name: string | null
  password_hash: string
  /** PostgreSQL returns a boolean, SQLite 1/0; always written as 1/0. */
  active: ColumnType<boolean | number, number, number>
  /** When the address was verified, or null (migration 0004). */
  email_verified_at: ColumnType<number | null, number | null | undefined, number | null>
  created_at: number
  updated_at: number
}

/** Rate-limit counters when there is no Redis. `key` is a hash of what is limited. */
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

/** One login (refresh family) for the sessions list. */
export interface LoginSessionsTable {
  id: string
  user_id: string
  created_at: number
  last_used_at: number
  issued_at: number
  expires_at: number
  user_agent: string | null
  address: string | null
}

/** One-time tokens of mailed links, by their SHA-256. */
export interface LoginTokensTable {
  hash: string
  purpose: string
  user_id: string
  email: string
  created_at: number
  expires_at: number
}

/** Every table of the login API's migrations. */
export interface LoginSchema {
  users: UsersTable
  login_failures: LoginFailuresTable
  revoked_tokens: RevokedTokensTable
  revoked_families: RevokedFamiliesTable
  identity_cutoffs: IdentityCutoffsTable
  used_refresh_tokens: UsedRefreshTokensTable
  login_sessions: LoginSessionsTable
  login_tokens: LoginTokensTable
}

/** The tables the Kysely revocation store needs. */
export type RevocationSchema = Pick<
  LoginSchema,
  'revoked_tokens' | 'revoked_families' | 'identity_cutoffs' | 'used_refresh_tokens'
>
