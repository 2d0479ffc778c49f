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
  | 'INSUFFICIENT_SCOPE'
  | 'ISSUER_UNAVAILABLE'
  | 'DPOP_PROOF_MISSING'
  | 'DPOP_PROOF_INVALID'
  | 'DPOP_PROOF_REPLAYED'

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
  INSUFFICIENT_SCOPE: 403,
  ISSUER_UNAVAILABLE: 503,
  DPOP_PROOF_MISSING: 401,
  DPOP_PROOF_INVALID: 401,
  DPOP_PROOF_REPLAYED: 401,
})

/** Response headers an error carries: read-only, set when the error is made. */
export type ErrorHeaders = Readonly<Record<string, string | string[]>>

/** A decoded token header or claim set, as errors carry them (read-only). */
export type TokenData = Readonly<Record<string, unknown>>

/** What every error constructor accepts besides its own arguments. */
export interface AuthErrorOptions {
  /** The original error (a jose error, a store's failure, ...). */
  cause?: unknown
  /** Headers the response must carry besides the error body (for example cookies to clear). */
  headers?: ErrorHeaders
  /** The header of the token the error is about, when it was decoded. */
  header?: TokenData
  /** The claims of the token the error is about, when they were verified (an expired token's too). */
  claims?: TokenData
}

const NO_HEADERS: ErrorHeaders = Object.freeze({})

/**
 * Base class of every request-time failure. To tell them apart, switch on `code` of an
 * {@link AnyAuthError}: TypeScript then knows the class in each branch.
 *
 * @example
 * ```ts
 * try { auth.verifyTokenSync(token) } catch (err) {
 *   if (err instanceof AuthError && err.code === 'TOKEN_EXPIRED') { ... }
 * }
 * ```
 */
export abstract class AuthError extends Error {
  /** Stable machine-readable code; switch on this, not on the class or the message. */
  abstract readonly code: AuthErrorCode
  /** Headers the response must carry besides the error body (for example cookies to clear). Frozen. */
  readonly headers: ErrorHeaders
  /**
   * The decoded header of the token the error is about, where it was decoded (an expired, revoked,
   * not fresh or wrong-type token, a user not found, claims rejected, a CSRF mismatch), so an error
   * handler can build its answer from it, as Flask-JWT-Extended's loaders do. Undefined otherwise.
   */
  readonly header: TokenData | undefined
  /** The claims of that token (verified, but for its expiry in an expired token's case), or undefined. */
  readonly claims: TokenData | undefined

  constructor(message: string, options?: AuthErrorOptions) {
    super(message, options !== undefined && 'cause' in options ? { cause: options.cause } : undefined)
    this.name = new.target.name
    this.headers = options?.headers === undefined ? NO_HEADERS : Object.freeze({ ...options.headers })
    this.header = options?.header
    this.claims = options?.claims
  }

  /** The default HTTP status for this error's code. */
  get status(): number {
    return DEFAULT_STATUS[this.code]
  }

  /**
   * A copy of this error (same class, code, message, cause and stack) that also carries `headers`,
   * over the ones it has. Errors are never changed once made: the guard uses this to add the
   * cookie-clearing headers of an expired cookie token.
   */
  withHeaders(headers: ErrorHeaders): this {
    const descriptors = Object.getOwnPropertyDescriptors(this)
    // V8 from Node 22 on keeps `stack` as an accessor over an internal slot the copy lacks: copy the
    // text itself.
    if (descriptors.stack?.get) descriptors.stack = { value: this.stack, writable: true, configurable: true }
    const copy = Object.create(Object.getPrototypeOf(this), descriptors) as this
    Object.defineProperty(copy, 'headers', {
      value: Object.freeze({ ...this.headers, ...headers }),
      enumerable: true,
      configurable: true,
      writable: false,
    })
    return copy
  }
}

/** No token in any of the locations that were tried. */
export class TokenMissingError extends AuthError {
  readonly code = 'TOKEN_MISSING' as const
  /** The locations that were looked at, in order. */
  readonly locations: readonly string[]
  /** What was looked for in each location, in order (set by the guard). */
  readonly looked: readonly MissingToken[]
  constructor(
    message: string,
    locations: readonly string[] = [],
    looked: readonly MissingToken[] = [],
    options?: AuthErrorOptions,
  ) {
    super(message, options)
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
  /** For `headers`: the header was sent, but not as `<type> <token>` (another scheme, say). */
  otherScheme?: boolean
  /** For `headers`: the expected type (`Bearer`; `''` for a bare token). */
  type?: string
}

/** The token's `exp` is in the past (beyond the leeway). */
export class TokenExpiredError extends AuthError {
  readonly code = 'TOKEN_EXPIRED' as const
  /** When the token expired (epoch milliseconds). */
  readonly expiredAt: number
  constructor(expiredAt: number, options?: AuthErrorOptions) {
    super('Token has expired', options)
    this.expiredAt = expiredAt
  }
}

/** The token's `nbf` (or, under `compat`, its `iat`) is in the future (beyond the leeway). */
export class TokenNotYetValidError extends AuthError {
  readonly code = 'TOKEN_NOT_YET_VALID' as const
  constructor(options?: AuthErrorOptions & { message?: string }) {
    super(options?.message ?? 'Token is not yet valid', options)
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
  constructor(expected: 'access' | 'refresh', options?: AuthErrorOptions) {
    super(
      expected === 'access' ? 'Only access tokens are allowed' : 'Only refresh tokens are allowed',
      options,
    )
    this.expected = expected
  }
}

/** The route needs a fresh access token (one from a recent password login). */
export class FreshTokenRequiredError extends AuthError {
  readonly code = 'FRESH_TOKEN_REQUIRED' as const
  constructor(options?: AuthErrorOptions) {
    super('Fresh token required', options)
  }
}

/** The token was revoked (logout, logout everywhere, refresh reuse, or by the app). */
export class TokenRevokedError extends AuthError {
  readonly code = 'TOKEN_REVOKED' as const
  constructor(message = 'Token has been revoked', options?: AuthErrorOptions) {
    super(message, options)
  }
}

/** The user loader found no user for the token's identity. */
export class UserNotFoundError extends AuthError {
  readonly code = 'USER_NOT_FOUND' as const
  /** The identity no user was found for, when the guard knows it. */
  readonly identity: string | undefined
  constructor(options?: AuthErrorOptions & { identity?: string }) {
    super('User not found', options)
    this.identity = options?.identity
  }
}

/** The user exists but is not active (disabled). */
export class UserInactiveError extends AuthError {
  readonly code = 'USER_INACTIVE' as const
  constructor(options?: AuthErrorOptions) {
    super('User is inactive', options)
  }
}

/** A token from a cookie came without the matching CSRF value on an unsafe method. */
export class CsrfError extends AuthError {
  readonly code = 'CSRF_FAILED' as const
}

/** The app's own claims check refused the token. */
export class ClaimsRejectedError extends AuthError {
  readonly code = 'CLAIMS_REJECTED' as const
  constructor(message = 'Token claims rejected', options?: AuthErrorOptions) {
    super(message, options)
  }
}

/** The revocation store could not answer; latchkey fails closed. */
export class RevocationUnavailableError extends AuthError {
  readonly code = 'REVOCATION_UNAVAILABLE' as const
  constructor(options?: AuthErrorOptions) {
    super('Revocation check unavailable, try again later', options)
  }
}

/** The token lacks a scope the route requires (RFC 6750 `insufficient_scope`). */
export class InsufficientScopeError extends AuthError {
  readonly code = 'INSUFFICIENT_SCOPE' as const
  /** The scopes the route asks for (all of them, or one of them: see `mode`). */
  readonly scopes: readonly string[]
  /** `all`: every scope in `scopes` is required; `any`: one of them is enough. */
  readonly mode: 'all' | 'any'
  constructor(scopes: readonly string[], mode: 'all' | 'any', options?: AuthErrorOptions) {
    super(
      mode === 'all'
        ? `Insufficient scope: requires ${scopes.join(' ')}`
        : `Insufficient scope: requires one of ${scopes.join(' ')}`,
      options,
    )
    this.scopes = Object.freeze([...scopes])
    this.mode = mode
  }
}

/**
 * A trusted issuer's keys (or its discovery document) could not be fetched, and no cached key can
 * decide: the token may well be valid, so the request is refused with a 503, never a 401.
 */
export class IssuerUnavailableError extends AuthError {
  readonly code = 'ISSUER_UNAVAILABLE' as const
  /** The issuer whose keys are out of reach. */
  readonly issuer: string
  constructor(issuer: string, options?: AuthErrorOptions) {
    super("The token issuer's keys are unavailable, try again later", options)
    this.issuer = issuer
  }
}

/** A DPoP-bound token came without a DPoP proof (or with the Bearer scheme), RFC 9449. */
export class DpopProofMissingError extends AuthError {
  readonly code = 'DPOP_PROOF_MISSING' as const
}

/** The DPoP proof is malformed, badly signed, or made for another method, URL, time or token. */
export class DpopProofInvalidError extends AuthError {
  readonly code = 'DPOP_PROOF_INVALID' as const
}

/** The DPoP proof's `jti` was seen before: a replayed proof. */
export class DpopProofReplayedError extends AuthError {
  readonly code = 'DPOP_PROOF_REPLAYED' as const
  constructor(options?: AuthErrorOptions) {
    super('DPoP proof replayed', options)
  }
}

/**
 * Every request error, as a union: `switch (err.code)` narrows it to the one class, with that
 * class's own fields (`expiredAt`, `looked`, `expected`).
 *
 * @example
 * ```ts
 * function describe(err: AnyAuthError): string {
 *   switch (err.code) {
 *     case 'TOKEN_EXPIRED': return `expired at ${new Date(err.expiredAt).toISOString()}`
 *     case 'TOKEN_MISSING': return `looked in ${err.locations.join(', ')}`
 *     default: return err.message
 *   }
 * }
 * ```
 */
export type AnyAuthError =
  | TokenMissingError
  | TokenExpiredError
  | TokenNotYetValidError
  | TokenInvalidError
  | WrongTokenTypeError
  | FreshTokenRequiredError
  | TokenRevokedError
  | UserNotFoundError
  | UserInactiveError
  | CsrfError
  | ClaimsRejectedError
  | RevocationUnavailableError
  | InsufficientScopeError
  | IssuerUnavailableError
  | DpopProofMissingError
  | DpopProofInvalidError
  | DpopProofReplayedError

/**
 * The app must be fixed, and the message says how: a wrong option in `createAuth` (or a key that
 * does not load), and a call the configuration cannot serve (a token without `exp` while
 * `allowNonExpiring` is off, a user object without `identify`, `logoutEverywhere` without a
 * revocation store, ...). Not a request error. A `TypeError`, as such misuse was before 0.2.
 */
export class ConfigError extends TypeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'ConfigError'
  }
}

/** True when `err` is one of latchkey's request errors (narrowed to the union: switch on `code`). */
export function isAuthError(err: unknown): err is AnyAuthError {
  return err instanceof AuthError
}
