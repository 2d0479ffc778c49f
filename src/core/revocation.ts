/**
 * The core's side of the revocation store: what it asks about a token, how long an entry must be
 * kept, and how a store that fails becomes a 503 (fail closed).
 */
import { RevocationUnavailableError } from '../errors.js'
import type { Awaitable } from '../internal/awaitable.js'
import type { TokenRef } from '../stores/store.js'
import type { AuthConfig } from './config.js'
import type { CoreEvents } from './events.js'
import type { StandardClaims } from './types.js'

/**
 * The identity of verified claims (the configured identity claim, `sub` by default), always a
 * string: a numeric identity (`allowNumericIdentity`) is read as its decimal text.
 */
export function subOf(config: AuthConfig, claims: StandardClaims): string {
  const identity = (claims as unknown as Record<string, string | number>)[config.identityClaim]!
  return typeof identity === 'string' ? identity : String(identity)
}

/** What the store is asked about a token. */
export function tokenRef(config: AuthConfig, claims: StandardClaims): TokenRef {
  return {
    jti: claims.jti,
    sub: subOf(config, claims),
    family: claims.fam,
    issuedAt: typeof claims.iat_ms === 'number' ? claims.iat_ms : (claims.iat ?? 0) * 1000,
    expiresAt: claims.exp === undefined ? undefined : claims.exp * 1000,
  }
}

/**
 * When a store may forget an entry about a token: once the token is refused anyway, that is after
 * `exp` plus the leeway (a token is still accepted within the leeway, so must its revocation be).
 */
export function forgetAfter(config: AuthConfig, exp: number | undefined): number {
  return exp === undefined ? Number.MAX_SAFE_INTEGER : exp * 1000 + config.leewayMs
}

/**
 * How long family and identity revocations must be kept: the longest any token can live, plus the
 * leeway.
 */
export function longestLifetimeMs(config: AuthConfig): number {
  return (
    Math.max(Number(config.refreshTtlMs || 0), config.sessionRefreshTtlMs, Number(config.accessTtlMs || 0)) +
    config.leewayMs
  )
}

/** A store that threw or rejected: reported once, and the request fails closed (503). */
export function storeFailure(events: CoreEvents, error: unknown): RevocationUnavailableError {
  if (events.has('revocationUnavailable')) events.emit('revocationUnavailable', { error })
  else console.error('latchkey: revocation store unavailable', error)
  return new RevocationUnavailableError({ cause: error })
}

/** A store call outside the guard (login, refresh, logout), failing closed the same way. */
export async function storeCall<T>(events: CoreEvents, call: () => Awaitable<T>): Promise<T> {
  try {
    return await call()
  } catch (error) {
    throw storeFailure(events, error)
  }
}
