import type { Awaitable } from '../internal/awaitable.js'

/**
 * The revocation contract. Small on purpose: a store remembers revoked token ids, revoked refresh
 * families, per-identity cut-off times (logout everywhere) and which refresh tokens were already
 * used. Every method may throw or reject when the backing service is unreachable; latchkey then
 * fails closed (REVOCATION_UNAVAILABLE, 503).
 *
 * Times are epoch milliseconds. `expiresAt` tells the store when an entry can be forgotten: a token
 * past its `exp` is refused anyway, so its revocation need not outlive it.
 */
export interface RevocationStore {
  /**
   * One call per guarded request: is this token revoked by id, by family, or by an identity cut-off
   * later than its issue time? Implementations answer in one round trip where they can, and
   * synchronously (a plain boolean, not a promise) when they know without I/O: the guard then
   * authenticates the request without waiting for a microtask.
   */
  isRevoked(token: TokenRef): Awaitable<boolean>
  /** Revokes one token id until `expiresAt`. Idempotent. */
  revokeToken(jti: string, expiresAt: number): Promise<void>
  /** Revokes every token of a refresh family (one login) until `expiresAt`. Idempotent. */
  revokeFamily(family: string, expiresAt: number): Promise<void>
  /**
   * Logout everywhere: tokens of `sub` issued (in milliseconds) before `before` are revoked. Keeps
   * the latest cut-off; the entry may be forgotten after `expiresAt` (the longest token lifetime).
   */
  revokeIdentity(sub: string, before: number, expiresAt: number): Promise<void>
  /**
   * Marks a refresh token as used, atomically: of concurrent calls with one `jti`, exactly one gets
   * `{ firstUse: true }`; every other gets `{ firstUse: false, usedAt }` with the time of that first use.
   */
  consumeRefreshToken(jti: string, expiresAt: number): Promise<ConsumeResult>
  /** Releases connections or timers the store opened. Optional. */
  close?(): Promise<void>
}

/** What the guard knows of a token when it asks whether it is revoked. */
export interface TokenRef {
  jti: string
  sub: string
  /** Refresh family (one login), when the token has one. */
  family: string | undefined
  /** Issue time in epoch milliseconds (finer than `iat`, so logout-all never hits a same-second login). */
  issuedAt: number
  /** `exp` in epoch milliseconds, or undefined for a non-expiring token. */
  expiresAt: number | undefined
}

export type ConsumeResult = { firstUse: true } | { firstUse: false; usedAt: number }
