import type { Algorithm } from './algorithms.js'
import type { TokenLocation } from './options.js'

/** The protected header of a latchkey token. */
export interface TokenHeader {
  alg: Algorithm
  typ?: string
  kid?: string
  [name: string]: unknown
}

/** `access` or `refresh`; every latchkey token carries one, and each guard accepts one. */
export type TokenType = 'access' | 'refresh'

/** The claims latchkey sets. Apps add their own through the `Claims` type parameter. */
export interface StandardClaims {
  /** Identity (the claim name is configurable; `sub` by default). Always a string. */
  sub: string
  iat: number
  /** Issue time in milliseconds, so logout-everywhere can tell apart two tokens of the same second. */
  iat_ms: number
  nbf?: number
  exp?: number
  jti: string
  type: TokenType
  /** `true`, `false`, or the NumericDate until which the token counts as fresh. */
  fresh?: boolean | number
  /** CSRF double-submit value, present when cookies are a location. */
  csrf?: string
  /** Refresh family: one per login, shared by the access and refresh tokens it gives rise to. */
  fam?: string
  aud?: string | string[]
  iss?: string
}

/** Verified claims: the standard ones and the app's own. */
export type TokenClaims<Claims extends object = Record<string, unknown>> = StandardClaims & Claims

/** A decoded and verified token. */
export interface DecodedToken<Claims extends object = Record<string, unknown>> {
  header: TokenHeader
  /**
   * The claims. An identity provider's token has its provider's claims: no `type`, `iat_ms`, `fresh`,
   * `csrf` or `fam`, and perhaps no `jti`.
   */
  claims: TokenClaims<Claims>
  /** The trusted issuer (its `iss`) of an identity provider's token; absent for the app's own tokens. */
  issuer?: string
}

/**
 * The minimal view of a request that every adapter can build. Getters are lazy so a guard that reads
 * only the Authorization header never parses cookies, bodies or query strings.
 */
export interface RequestView {
  method: string
  /** A header by lower-case name; repeated headers may come as a list. */
  header(name: string): string | string[] | undefined
  /** A cookie by name (adapters parse the Cookie header, or pass the framework's parsed cookies). */
  cookie(name: string): string | undefined
  /** The parsed JSON body, when the request had one. */
  body?: unknown
  /** A query-string parameter. */
  query(name: string): string | string[] | undefined
  /**
   * The request's absolute URL (`https://api.example.com/orders?x=1`), as the framework knows it
   * (behind a proxy: the public one, when the framework trusts the proxy). Needed only to check DPoP
   * proofs (their `htu`); a view without it cannot accept DPoP-bound tokens.
   */
  url?(): string
}

/**
 * What a guard learned about the request: who is calling and with which token. The same shape in
 * every adapter (`req.auth`, `request.auth`, `c.get('auth')`, `result.auth`).
 */
export interface AuthContext<User = string, Claims extends object = Record<string, unknown>> {
  /** False only on optional routes without a token. */
  isAuthenticated: boolean
  /** The loaded user; the configured anonymous user when not authenticated. */
  user: User
  /** The identity claim, or null when not authenticated. */
  sub: string | null
  claims: TokenClaims<Claims> | null
  header: TokenHeader | null
  token: string | null
  location: TokenLocation | null
  type: TokenType | null
  /** True when the token is an access token that is fresh now. */
  fresh: boolean
  /**
   * The scopes the token grants: an identity provider's from its issuer's scope claims (`scope`,
   * `scp`, ...), the app's own from its `scope` claim. Empty when none (and when not authenticated).
   */
  scopes: readonly string[]
  /**
   * The trusted issuer (its `iss`) of an identity provider's token; null for the app's own tokens
   * and when not authenticated.
   */
  issuer: string | null
  /**
   * Headers the response to this request must carry, or undefined: the re-issued access cookie of
   * implicit refresh (a cookie access token near its expiry). The adapters add them when the response
   * is sent; `auth.logout(context)` drops them, so a logout's cleared cookies are never overwritten.
   */
  responseHeaders?: Record<string, string[]> | undefined
}
