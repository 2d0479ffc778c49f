/**
 * Issued tokens as a response: the token pair of a login or refresh, a re-issued access token (fresh
 * login, implicit refresh), and the headers that go with them (`Cache-Control: no-store`, and the
 * cookies when cookies are a token location).
 */
import { WrongTokenTypeError } from '../errors.js'
import type { Duration } from '../internal/duration.js'
import type { AuthConfig } from './config.js'
import { cookiesFor, serializeCookie, tokenCookies } from './cookies.js'
import { newCsrfValue } from './csrf.js'
import { boundKey } from './dpop.js'
import {
  type CreateTokenOptions,
  type IssueDeps,
  type IssuedToken,
  issueToken,
  RESERVED_CLAIMS,
} from './issue.js'
import type { AuthContext, StandardClaims } from './types.js'

/** Tokens and everything to send with them. Token responses must not be cached. */
export interface TokenResponse {
  accessToken: string
  refreshToken: string
  tokenType: 'Bearer'
  /** Access token lifetime in seconds (undefined when it never expires). */
  expiresIn: number | undefined
  /** Refresh token lifetime in seconds. */
  refreshExpiresIn: number | undefined
  /** The CSRF value the page must send back (when cookies are a location). */
  csrf: string | undefined
  /** Response headers: `cache-control: no-store`, and `set-cookie` only when cookies are a location. */
  headers: Record<string, string | string[]>
  access: IssuedToken<object>
  refresh: IssuedToken<object>
}

/** A re-issued access token and everything to send with it (see `auth.reissueAccess`). */
export interface AccessTokenResponse {
  accessToken: string
  tokenType: 'Bearer'
  /** Lifetime in seconds (undefined when it never expires). */
  expiresIn: number | undefined
  /** The CSRF value of the token: the same as the context's, so the page's CSRF cookie stays valid. */
  csrf: string | undefined
  /** `cache-control: no-store`, and `set-cookie` (access cookies) only when access tokens travel in cookies. */
  headers: Record<string, string | string[]>
  access: IssuedToken<object>
}

/** Options of `auth.reissueAccess`. */
export interface ReissueOptions {
  /** Whether the new token is fresh (a password was just checked). Default false. */
  fresh?: CreateTokenOptions['fresh']
  /** Persistent cookies (Max-Age) rather than browser-session ones. Default false. */
  remember?: boolean
}

/** What token responses need: issuing, and whether tokens are made for the loaded user. */
export interface TokenResponseDeps extends IssueDeps {
  /** Present when the app loads users: a re-issued token is then made for the user (with `identify`). */
  readonly loadUser: unknown
}

const NO_STORE = 'no-store'

/**
 * What a new token for a context's holder is made for: the user when it can be turned back into an
 * identity (so `additionalClaims` sees the current user), else the identity itself.
 */
export function subjectOf(deps: TokenResponseDeps, context: AuthContext<unknown, object>): unknown {
  return deps.loadUser && deps.identify ? context.user : context.sub
}

/**
 * The app's own claims of a token, to carry over into the tokens issued for its holder. Claims that
 * `additionalClaims` produces for `subject` are left out: issuing computes them afresh.
 */
export function carriedClaims(
  deps: TokenResponseDeps,
  claims: StandardClaims,
  subject: unknown,
): Record<string, unknown> | undefined {
  let out: Record<string, unknown> | undefined
  const fromLoader = deps.additionalClaims ? Object.keys(deps.additionalClaims(subject) ?? {}) : []
  for (const key of Object.keys(claims)) {
    if (RESERVED_CLAIMS.has(key) || key === deps.config.identityClaim || fromLoader.includes(key)) continue
    out ??= {}
    Object.defineProperty(out, key, {
      value: (claims as unknown as Record<string, unknown>)[key],
      enumerable: true,
      writable: true,
      configurable: true,
    })
  }
  return out
}

/** The DPoP binding of a token's claims, to carry into the tokens issued for its holder. */
export function dpopBinding(claims: object): { dpopJkt?: string } {
  const jkt = boundKey(claims)
  return jkt === undefined ? {} : { dpopJkt: jkt }
}

/** Seconds from the token's issue to its expiry (what `expires_in` says), or undefined. */
function lifetimeSeconds(token: IssuedToken<object>, issuedAtMs: number): number | undefined {
  return token.expiresAt === undefined ? undefined : Math.round((token.expiresAt - issuedAtMs) / 1000)
}

/** Max-Age of a remembered cookie: what is left of the token's life; a browser-session cookie otherwise. */
function maxAgeOf(config: AuthConfig, token: IssuedToken<object>, remember: boolean): number | undefined {
  return remember && token.expiresAt !== undefined
    ? Math.max(0, Math.floor((token.expiresAt - config.clock()) / 1000))
    : undefined
}

/** `Set-Cookie` values of one token (and its CSRF cookie), when tokens of its type travel in cookies. */
function cookieLines(
  config: AuthConfig,
  type: 'access' | 'refresh',
  token: IssuedToken<object>,
  remember: boolean,
): string[] {
  if (!cookiesFor(config, type)) return []
  return tokenCookies(config, type, token.token, token.claims.csrf, maxAgeOf(config, token, remember)).map(
    serializeCookie,
  )
}

/** What {@link issuePair} makes. */
export interface PairOptions {
  /** A user (through `identify`) or an identity. */
  subject: unknown
  /** The refresh family both tokens join. */
  family: string
  /** Persistent cookies and the long refresh lifetime. */
  remember: boolean
  fresh: CreateTokenOptions['fresh']
  claims: Record<string, unknown> | undefined
  /** The refresh token's lifetime; default by `remember`. */
  refreshTtl?: Duration | false
  /** The DPoP key both tokens are bound to (`cnf.jkt`), if any. */
  dpopJkt?: string | undefined
}

/** An access and a refresh token sharing a family and a CSRF value, as a {@link TokenResponse}. */
export function issuePair(deps: TokenResponseDeps, options: PairOptions): TokenResponse {
  const { config } = deps
  const { subject, family, remember, fresh, claims } = options
  const csrf = config.cookiesUsed && config.csrf.enabled ? newCsrfValue() : undefined
  const bound = options.dpopJkt === undefined ? {} : { dpopJkt: options.dpopJkt }
  const access = issueToken(deps, 'access', subject, { fresh, claims, family, csrf, ...bound })
  const refresh = issueToken(deps, 'refresh', subject, {
    claims,
    family,
    csrf,
    ...bound,
    expiresIn:
      options.refreshTtl ??
      (remember ? config.refreshTtlMs && config.refreshTtlMs / 1000 : config.sessionRefreshTtlMs / 1000),
  })
  const headers: Record<string, string | string[]> = { 'cache-control': NO_STORE }
  if (config.cookiesUsed)
    headers['set-cookie'] = [
      ...cookieLines(config, 'access', access, remember),
      ...cookieLines(config, 'refresh', refresh, remember),
    ]
  return {
    accessToken: access.token,
    refreshToken: refresh.token,
    tokenType: 'Bearer',
    expiresIn: lifetimeSeconds(access, access.claims.iat_ms),
    refreshExpiresIn: lifetimeSeconds(refresh, access.claims.iat_ms),
    csrf,
    headers,
    access,
    refresh,
  }
}

/**
 * A new access token for the holder of an authenticated access-token context: same family, same
 * CSRF value and the app's own claims carried over; fresh only when asked. Used by implicit refresh
 * and for a fresh login (a password checked again for a sensitive route). A refresh-token context is
 * refused: a new access token from a refresh token is a refresh, which rotates it (`auth.refresh`).
 * The context's pending implicit-refresh cookie is dropped: this token supersedes it.
 */
export function reissueAccess(
  deps: TokenResponseDeps,
  context: AuthContext<unknown, object>,
  options: ReissueOptions = {},
): AccessTokenResponse {
  const claims = context.claims
  if (!context.isAuthenticated || !claims || claims.type !== 'access') throw new WrongTokenTypeError('access')
  const { config } = deps
  const subject = subjectOf(deps, context)
  const access = issueToken(deps, 'access', subject, {
    fresh: options.fresh ?? false,
    claims: carriedClaims(deps, claims, subject),
    ...(claims.fam === undefined ? {} : { family: claims.fam }),
    ...(claims.csrf === undefined ? {} : { csrf: claims.csrf }),
    ...dpopBinding(claims),
  })
  if (context.responseHeaders !== undefined) context.responseHeaders = undefined
  const headers: Record<string, string | string[]> = { 'cache-control': NO_STORE }
  const cookies = cookieLines(config, 'access', access, options.remember === true)
  if (cookies.length > 0) headers['set-cookie'] = cookies
  return {
    accessToken: access.token,
    tokenType: 'Bearer',
    expiresIn: lifetimeSeconds(access, access.claims.iat_ms),
    csrf: access.claims.csrf,
    headers,
    access,
  }
}
