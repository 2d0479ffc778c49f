/**
 * Errors are data: every failure has its own class with a stable `code`, a default HTTP status and a
 * message that never contains token or key material. Adapters turn them into responses through one
 * table (see `core/responses.ts`).
 */

/** Every error code latchkey can produce for a request. */
export type AuthErrorCode =
  | 'TOKEN_MISSING'
  | 'TOKEN_EXPIRED'
  | 'TOKEN_NOT_YET_VALID'
  | 'TOKEN_INVALID'
  | 'WRONG_TOKEN_TYPE'
  | 'FRESH_TOKEN_REQUIRED'
  | 'TOKEN_REVOKED'
  | 'USER_NOT_FOUND'
  | 'USER_INACTIVE'
  | 'CSRF_FAILED'
  | 'CLAIMS_REJECTED'
  | 'REVOCATION_UNAVAILABLE'

/** Default HTTP status of each code. Apps may override any of them (`errors.statuses`). */
export const DEFAULT_STATUS: Readonly<Record<AuthErrorCode, number>> = Object.freeze({
  TOKEN_MISSING: 401,
  TOKEN_EXPIRED: 401,
  TOKEN_NOT_YET_VALID: 401,
  TOKEN_INVALID: 401,
  WRONG_TOKEN_TYPE: 401,
  FRESH_TOKEN_REQUIRED: 401,
  TOKEN_REVOKED: 401,
  USER_NOT_FOUND: 401,
  USER_INACTIVE: 401,
  CSRF_FAILED: 403,
  CLAIMS_REJECTED: 403,
  REVOCATION_UNAVAILABLE: 503,
})

/**
 * Base class of every request-time failure.
 *
 * @example
 * ```ts
 * try { auth.decodeToken(token) } catch (err) {
 *   if (err instanceof AuthError && err.code === 'TOKEN_EXPIRED') { ... }
 * }
 * ```
 */
export abstract class AuthError extends Error {
  /** Stable machine-readable code; switch on this, not on the class or the message. */
  abstract readonly code: AuthErrorCode
  /** Headers the response must carry besides the error body (for example cookies to clear). */
  headers: Record<string, string | string[]> = {}

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = new.target.name
  }

  /** The default HTTP status for this error's code. */
  get status(): number {
    return DEFAULT_STATUS[this.code]
  }
}

/** No token in any of the locations that were tried. */
export class TokenMissingError extends AuthError {
  readonly code = 'TOKEN_MISSING' as const
  /** The locations that were looked at, in order. */
  readonly locations: readonly string[]
  /** What was looked for in each location, in order (set by the guard). */
  readonly looked: readonly MissingToken[]
  constructor(message: string, locations: readonly string[] = [], looked: readonly MissingToken[] = []) {
    super(message)
    this.locations = locations
    this.looked = looked
  }
}

/** One place the guard looked for a token and found none. */
export interface MissingToken {
  location: 'headers' | 'cookies' | 'json' | 'query'
  /** The header, cookie, JSON key or query parameter name. */
  name: string
  /** For `json`: whether the request declared a JSON body (`Content-Type: application/json`). */
  jsonBody?: boolean
}

/** The token's `exp` is in the past (beyond the leeway). */
export class TokenExpiredError extends AuthError {
  readonly code = 'TOKEN_EXPIRED' as const
  /** When the token expired (epoch milliseconds). */
  readonly expiredAt: number
  constructor(expiredAt: number) {
    super('Token has expired')
    this.expiredAt = expiredAt
  }
}

/** The token's `nbf` is in the future (beyond the leeway). */
export class TokenNotYetValidError extends AuthError {
  readonly code = 'TOKEN_NOT_YET_VALID' as const
  constructor() {
    super('Token is not yet valid')
  }
}

/** Malformed token, bad signature, wrong algorithm or key, wrong audience/issuer, bad claims. */
export class TokenInvalidError extends AuthError {
  readonly code = 'TOKEN_INVALID' as const
}

/** An access token where a refresh token is required, or the reverse. */
export class WrongTokenTypeError extends AuthError {
  readonly code = 'WRONG_TOKEN_TYPE' as const
  readonly expected: 'access' | 'refresh'
  constructor(expected: 'access' | 'refresh') {
    super(expected === 'access' ? 'Only access tokens are allowed' : 'Only refresh tokens are allowed')
    this.expected = expected
  }
}

/** The route needs a fresh access token (one from a recent password login). */
export class FreshTokenRequiredError extends AuthError {
  readonly code = 'FRESH_TOKEN_REQUIRED' as const
  constructor() {
    super('Fresh token required')
  }
}

/** The token was revoked (logout, logout everywhere, refresh reuse, or by the app). */
export class TokenRevokedError extends AuthError {
  readonly code = 'TOKEN_REVOKED' as const
  constructor(message = 'Token has been revoked') {
    super(message)
  }
}

/** The user loader found no user for the token's identity. */
export class UserNotFoundError extends AuthError {
  readonly code = 'USER_NOT_FOUND' as const
  constructor() {
    super('User not found')
  }
}

/** The user exists but is not active (disabled). */
export class UserInactiveError extends AuthError {
  readonly code = 'USER_INACTIVE' as const
  constructor() {
    super('User is inactive')
  }
}

/** A token from a cookie came without the matching CSRF value on an unsafe method. */
export class CsrfError extends AuthError {
  readonly code = 'CSRF_FAILED' as const
}

/** The app's own claims check refused the token. */
export class ClaimsRejectedError extends AuthError {
  readonly code = 'CLAIMS_REJECTED' as const
  constructor(message = 'Token claims rejected') {
    super(message)
  }
}

/** The revocation store could not answer; latchkey fails closed. */
export class RevocationUnavailableError extends AuthError {
  readonly code = 'REVOCATION_UNAVAILABLE' as const
  constructor(options?: { cause?: unknown }) {
    super('Revocation check unavailable, try again later', options)
  }
}

/**
 * Thrown by `createAuth` (and key loading) when the configuration is wrong. Not a request error:
 * it means the app must be fixed, and its message says how.
 */
export class ConfigError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'ConfigError'
  }
}

/** True when `err` is one of latchkey's request errors. */
export function isAuthError(err: unknown): err is AuthError {
  return err instanceof AuthError
}
