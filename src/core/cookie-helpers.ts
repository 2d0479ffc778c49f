/**
 * The cookie helpers: `Set-Cookie` values that set or clear the token cookies of a token the app
 * made itself (Flask-JWT-Extended's `set_access_cookies`, `set_refresh_cookies`,
 * `unset_access_cookies`, `unset_refresh_cookies` and `unset_jwt_cookies`). Logins, refreshes and
 * logouts set their cookies themselves; these are for tokens made with `createAccessToken` and the like.
 */
import { ConfigError } from '../errors.js'
import { type Duration, durationMs } from '../internal/duration.js'
import type { AuthConfig } from './config.js'
import { type CookieOverrides, clearingCookies, serializeCookie, tokenCookies } from './cookies.js'
import type { TokenType } from './types.js'

/** Options of `auth.accessCookies` and `auth.refreshCookies`. */
export interface SetCookieOptions {
  /**
   * The cookies' Max-Age, or false for browser-session cookies. Default: `cookies.maxAge` (none:
   * browser-session cookies).
   */
  maxAge?: Duration | false
  /** The cookies' Domain for this call, over `cookies.domain`. */
  domain?: string
}

/** Options of the `unset…Cookies` helpers. */
export interface UnsetCookieOptions {
  /** The Domain the cookies were set with, over `cookies.domain`. */
  domain?: string
}

/** What the cookie helpers return: headers for `applyAuthHeaders` (every adapter has it). */
export interface CookieHeaders {
  headers: { 'set-cookie': string[] }
}

function overrides(options: UnsetCookieOptions | undefined): CookieOverrides | undefined {
  const domain = options?.domain
  if (domain === undefined) return undefined
  if (typeof domain !== 'string' || domain === '' || /[;\s]/.test(domain))
    throw new ConfigError('latchkey: the cookie domain must be a domain name')
  return { domain }
}

/** Whether the helpers also set a token's readable CSRF cookie (its value is the token's `csrf` claim). */
export function wantsCsrfCookie(config: AuthConfig): boolean {
  return config.csrf.enabled && config.csrf.cookies
}

/** The `Set-Cookie` values of a token's cookie and, when CSRF cookies are on, its CSRF cookie. */
export function setCookieHeaders(
  config: AuthConfig,
  type: TokenType,
  token: string,
  csrf: string | undefined,
  options: SetCookieOptions = {},
): CookieHeaders {
  if (typeof token !== 'string' || token === '')
    throw new ConfigError('latchkey: no token to set as a cookie')
  const maxAge =
    options.maxAge === false
      ? undefined
      : options.maxAge === undefined
        ? config.cookies.maxAge
        : Math.floor(durationMs(options.maxAge, 'maxAge') / 1000)
  const specs = tokenCookies(config, type, token, csrf, maxAge, overrides(options))
  return { headers: { 'set-cookie': specs.map(serializeCookie) } }
}

/** The `Set-Cookie` values that clear the token (and CSRF) cookies of `types`. */
export function unsetCookieHeaders(
  config: AuthConfig,
  types: readonly TokenType[],
  options?: UnsetCookieOptions,
): CookieHeaders {
  return {
    headers: { 'set-cookie': clearingCookies(config, types, overrides(options)).map(serializeCookie) },
  }
}

/** The CSRF value of verified claims, for the CSRF cookie; a token without one cannot have its cookie. */
export function csrfClaim(claims: { csrf?: unknown }): string {
  if (typeof claims.csrf !== 'string' || claims.csrf === '')
    throw new ConfigError(
      'latchkey: the token has no csrf claim, so its CSRF cookie cannot be set (tokens carry one when cookies are a token location and CSRF is on)',
    )
  return claims.csrf
}
