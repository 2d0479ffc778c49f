import type { AuthConfig } from './config.js'
import type { TokenType } from './types.js'

/** One cookie to set or clear, before serialisation. */
export interface CookieSpec {
  name: string
  value: string
  httpOnly: boolean
  secure: boolean
  /** `false`: no SameSite attribute (the browser's default applies). */
  sameSite: 'Strict' | 'Lax' | 'None' | false
  path: string
  domain: string | undefined
  /**
   * Seconds; undefined makes a browser-session cookie; 0 clears. Max-Age only, no Expires: it wins
   * in every browser (RFC 6265 §5.3) and does not depend on the server's clock. A clearing cookie
   * also carries a past Expires, for old clients.
   */
  maxAge: number | undefined
}

/** Serialises a cookie for a Set-Cookie header. Values we set are base64url, so no escaping is needed. */
export function serializeCookie(c: CookieSpec): string {
  let s = `${c.name}=${c.value}; Path=${c.path}`
  if (c.domain !== undefined) s += `; Domain=${c.domain}`
  if (c.maxAge !== undefined) {
    s += `; Max-Age=${c.maxAge}`
    if (c.maxAge === 0) s += '; Expires=Thu, 01 Jan 1970 00:00:00 GMT'
  }
  if (c.httpOnly) s += '; HttpOnly'
  if (c.secure) s += '; Secure'
  if (c.sameSite !== false) s += `; SameSite=${c.sameSite}`
  return s
}

/** Per-call attributes of the token cookies (the cookie helpers' `domain`). */
export interface CookieOverrides {
  domain?: string | undefined
}

function base(
  config: AuthConfig,
  overrides: CookieOverrides | undefined,
): Pick<CookieSpec, 'secure' | 'sameSite' | 'domain'> {
  return {
    secure: config.cookies.secure,
    sameSite: config.cookies.sameSite,
    domain: overrides?.domain ?? config.cookies.domain,
  }
}

/** The token cookie and, when CSRF cookies are on, its readable CSRF cookie. */
export function tokenCookies(
  config: AuthConfig,
  type: TokenType,
  token: string,
  csrf: string | undefined,
  maxAgeSeconds: number | undefined,
  overrides?: CookieOverrides,
): CookieSpec[] {
  const c = config.cookies
  const access = type === 'access'
  const out: CookieSpec[] = [
    {
      ...base(config, overrides),
      name: access ? c.accessName : c.refreshName,
      value: token,
      httpOnly: true,
      path: access ? c.accessPath : c.refreshPath,
      maxAge: maxAgeSeconds,
    },
  ]
  if (config.csrf.enabled && config.csrf.cookies && csrf !== undefined) {
    out.push({
      ...base(config, overrides),
      name: access ? c.csrfAccessName : c.csrfRefreshName,
      value: csrf,
      httpOnly: false, // the page reads it and sends it back in the CSRF header
      path: access ? c.csrfAccessPath : c.csrfRefreshPath,
      maxAge: maxAgeSeconds,
    })
  }
  return out
}

/**
 * Cookies that clear the token (and CSRF) cookies of `types`. Every attribute the cookie was set
 * with is repeated (Path, Domain, Secure, SameSite), or browsers keep the original.
 */
export function clearingCookies(
  config: AuthConfig,
  types: readonly TokenType[] = ['access', 'refresh'],
  overrides?: CookieOverrides,
): CookieSpec[] {
  return types.flatMap((type) =>
    tokenCookies(config, type, '', config.csrf.enabled ? '' : undefined, 0, overrides),
  )
}

/** Whether tokens of this type travel in cookies under this configuration. */
export function cookiesFor(config: AuthConfig, type: TokenType): boolean {
  return (type === 'access' ? config.accessLocations : config.refreshLocations).includes('cookies')
}
