/**
 * What an app passes to `createAuth`: every option, its default and what it means. Checked and
 * resolved into an {@link AuthConfig} by config.ts.
 */
import type { Duration } from '../internal/duration.js'
import type { RevocationStore } from '../stores/store.js'
import type { DpopOptions } from './dpop.js'
import type { IssuerOptions } from './issuers.js'
import type { KeyConfig } from './keys.js'
import type { ErrorOptions } from './responses.js'
import type { TokenHeader } from './types.js'

/** Where a token can be read from. The order in `tokenLocations` is the order of precedence. */
export type TokenLocation = 'headers' | 'cookies' | 'json' | 'query'

export const TOKEN_LOCATIONS: readonly TokenLocation[] = ['headers', 'cookies', 'json', 'query']

/** Cookie attributes and names. Token cookies are always HttpOnly; CSRF cookies never are. */
export interface CookieOptions {
  accessName?: string
  refreshName?: string
  csrfAccessName?: string
  csrfRefreshName?: string
  /** Default true. Set false only for plain-HTTP development. */
  secure?: boolean
  /** Default 'Lax'. `false` sends no SameSite attribute (Flask-JWT-Extended's default). */
  sameSite?: 'Strict' | 'Lax' | 'None' | false
  domain?: string
  /** Default '/'. */
  accessPath?: string
  /** Default '/'. A narrower path (e.g. '/auth/refresh') keeps the refresh cookie off other requests. */
  refreshPath?: string
  csrfAccessPath?: string
  csrfRefreshPath?: string
  /** Prefix every cookie name with `__Host-` (needs secure, Path=/ and no Domain). Default false. */
  hostPrefix?: boolean
  /**
   * Max-Age of the cookies the cookie helpers set (`auth.accessCookies`, `auth.refreshCookies`) when
   * the call gives none: Flask-JWT-Extended's `JWT_SESSION_COOKIE = False` is one year (31540000).
   * Default: none, browser-session cookies. Logins keep their rule (`remember` → the token's lifetime).
   */
  maxAge?: Duration
}

/** CSRF double submit for tokens read from cookies. */
export interface CsrfOptions {
  /** Default true when cookies are a location. Turning it off must be explicit. */
  enabled?: boolean
  /** Methods that need the CSRF value. Default POST, PUT, PATCH, DELETE. */
  methods?: string[]
  /** Default 'X-CSRF-TOKEN'. */
  headerName?: string
  /** The header that carries the CSRF value of refresh tokens. Default: `headerName`. */
  refreshHeaderName?: string
  /**
   * Form field that may carry the value instead of the header, read only from form bodies
   * (`application/x-www-form-urlencoded`, `multipart/form-data`). Off by default.
   */
  formField?: string | false
  /** The form field of refresh tokens. Default: `formField`. */
  refreshFormField?: string | false
  /** Also set the readable CSRF cookies at login. Default true. */
  cookies?: boolean
}

/**
 * Options of `createAuth`. Every option but `keys` has a default; `keys` may be left out only by an
 * API that accepts nothing but identity providers' tokens (`issuers`). Unknown options are refused.
 */
export interface AuthOptions<User = string, Claims extends object = Record<string, unknown>> {
  /** One key or several (key rotation: the first key that can sign signs, every key verifies). */
  keys?: KeyConfig | KeyConfig[]
  /**
   * Identity providers whose access tokens this API accepts (OpenID Connect discovery and JWKS through
   * `oidcIssuer` of `latchkey/issuers`, or configured keys). A token's `iss` chooses the issuer; any
   * other `iss` than theirs and the app's own is refused, before any key is fetched.
   */
  issuers?: IssuerOptions[]
  /**
   * DPoP (RFC 9449): proof settings for DPoP-bound tokens (`cnf.jkt`), which are always checked;
   * `false` refuses them and the DPoP scheme altogether.
   */
  dpop?: DpopOptions | false
  /** Allow HS and asymmetric keys in one verifier. Default false (RFC 8725 §3.1). */
  allowMixedAlgorithms?: boolean
  /**
   * Keys that live elsewhere: called when no configured key matches the token's `kid` and `alg`. May
   * answer with a promise (a key fetched from a JWKS URL, say); the guard and `auth.verifyToken` then
   * wait for it, and `auth.verifyTokenSync`, which is synchronous, throws a ConfigError for such tokens.
   * A key is loaded once per object returned, so return the same object for the same key.
   */
  resolveKey?: (
    header: TokenHeader,
    claims: Readonly<Record<string, unknown>>,
  ) => KeyConfig | undefined | PromiseLike<KeyConfig | undefined>
  /**
   * The key that signs a token, chosen per user or identity (Flask-JWT-Extended's
   * `encode_key_loader`); undefined signs with the configured key. Tokens it signs must verify:
   * configure the key too, or give it a `kid` that `resolveKey` knows. A key is loaded once per
   * object returned, so return the same object for the same key.
   */
  signingKey?: (subject: User | string | number) => KeyConfig | undefined
  /** Default ['headers']. */
  tokenLocations?: TokenLocation[]
  /** Locations for access tokens only (overrides tokenLocations). */
  accessTokenLocations?: TokenLocation[]
  /** Locations for refresh tokens only (overrides tokenLocations). */
  refreshTokenLocations?: TokenLocation[]
  /** Default '15m'. `false` (no `exp`) needs `allowNonExpiring`. */
  accessTokenTtl?: Duration | false
  /** Refresh lifetime for `remember: true` logins. Default '30d'. */
  refreshTokenTtl?: Duration | false
  /** Refresh lifetime for `remember: false` logins (browser-session cookies). Default '1d'. */
  sessionRefreshTokenTtl?: Duration
  /** Permit tokens without `exp`, both when creating and when verifying. Default false. */
  allowNonExpiring?: boolean
  /** Claim holding the identity. Default 'sub'. */
  identityClaim?: string
  /** Put `aud` in tokens and require it on verify. A token with `aud` is refused when this is unset. */
  audience?: string | string[]
  /** Put `iss` in tokens (the first) and require one of these on verify. */
  issuer?: string | string[]
  /**
   * The `aud` put in issued tokens when it differs from the accepted `audience` (Flask-JWT-Extended's
   * `JWT_ENCODE_AUDIENCE` beside `JWT_DECODE_AUDIENCE`). Default: `audience`.
   */
  tokenAudience?: string | string[]
  /** The `iss` put in issued tokens when it differs from the accepted `issuer`. Default: the first `issuer`. */
  tokenIssuer?: string
  /**
   * Accept tokens whose identity claim is a number (read as its decimal string in `context.sub`), as
   * Flask-JWT-Extended does with `JWT_VERIFY_SUB = False` or an identity claim other than `sub`.
   * Default false: the identity must be a string (RFC 7519 §4.1.2).
   */
  allowNumericIdentity?: boolean
  /** Clock tolerance for exp and nbf. Default 0. */
  leeway?: Duration
  /** Include `nbf` (= iat). Default true. */
  notBefore?: boolean
  /** Longest token accepted, in characters. Default 8192. */
  maxTokenLength?: number
  /** Default { name: 'Authorization', type: 'Bearer' }. `type: ''` means the header is the bare token. */
  header?: { name?: string; type?: string }
  cookies?: CookieOptions
  csrf?: CsrfOptions
  /** Keys in JSON bodies. Default { accessKey: 'access_token', refreshKey: 'refresh_token' }. */
  json?: { accessKey?: string; refreshKey?: string }
  /**
   * Query-string parameter. Default { param: 'jwt' }. `prefix`: text the value must start with
   * (Flask-JWT-Extended's `JWT_QUERY_STRING_VALUE_PREFIX`, e.g. 'Bearer '); default none.
   */
  query?: { param?: string; prefix?: string }
  /** User → identity (Flask-JWT-Extended's user_identity_loader). Default: the value itself. */
  identify?: (user: User) => string | number
  /** Identity → user, or null when there is none (user_lookup_loader). Runs once per request. */
  loadUser?: (
    identity: string,
    claims: Claims,
    header: TokenHeader,
  ) => User | null | undefined | Promise<User | null | undefined>
  /** False refuses the user (USER_INACTIVE). Default: every user is active. */
  isActive?: (user: User) => boolean
  /** `user` of an unauthenticated context on optional routes (Flask-Login's anonymous user). Default null. */
  anonymousUser?: User | null
  /** Extra claims for every token, from the user (or identity) it is made for. */
  additionalClaims?: (user: User | string | number) => Record<string, unknown>
  /**
   * Extra protected header parameters for every token, from the user (or identity) it is made for
   * (Flask-JWT-Extended's `additional_headers_loader`); `alg`, `kid`, `typ`, `crit` and `b64` are reserved.
   */
  additionalHeaders?: (user: User | string | number) => Record<string, unknown>
  /** App check run after revocation; false (or a throw) refuses with CLAIMS_REJECTED (403). */
  checkClaims?: (claims: Claims, header: TokenHeader) => boolean | Promise<boolean>
  /** Revocation store; without one, revocation is not checked and logout only clears cookies. */
  revocation?: RevocationStore
  /** Reuse of a rotated refresh token within this window is not treated as theft. Default 0 (strict). */
  refreshReuseGrace?: Duration
  /** Re-issue access cookies near expiry. Default off. */
  implicitRefresh?: false | { window?: Duration }
  /** Error statuses, messages and rendering. */
  errors?: ErrorOptions
  /**
   * How many verified tokens to remember by their exact text, so a token presented again skips the
   * signature check and JSON parsing (exp, nbf, revocation and user loading still run every time).
   * A token is admitted on its second verification, so one-off tokens cost nothing; it is served
   * from the cache from its third presentation on. Default 1000; `false` turns it off.
   */
  verifiedTokenCache?: number | false
  /** Current time in epoch milliseconds (tests freeze it). Default Date.now. */
  clock?: () => number
  /** Called when an event listener throws. Default: console.error. */
  onListenerError?: (err: unknown, event: string) => void
  /**
   * Behave as Flask-JWT-Extended 4.x where the two differ, for an app moving from it (set by
   * `fromFlaskConfig`, `latchkey/flask`): its reading of the Authorization header (comma-separated
   * credentials, any whitespace), of JSON bodies (a falsy value is no token), the CSRF header
   * required before the cookie token is decoded, a token issued in the future (`iat`) refused, no
   * cookie clearing on an expired cookie token, `{}` as the claims and header of anonymous contexts,
   * and its error responses (`errors.preset` defaults to 'flask-jwt-extended'). See
   * docs/migrating-from-flask.md for what stays different, and why.
   */
  compat?: 'flask-jwt-extended'
}

/** Every option name `createAuth` knows: any other is refused (a typo must not pass silently). */
export const KNOWN_OPTIONS: ReadonlySet<string> = new Set([
  'keys',
  'issuers',
  'dpop',
  'allowMixedAlgorithms',
  'resolveKey',
  'signingKey',
  'tokenLocations',
  'accessTokenLocations',
  'refreshTokenLocations',
  'accessTokenTtl',
  'refreshTokenTtl',
  'sessionRefreshTokenTtl',
  'allowNonExpiring',
  'identityClaim',
  'audience',
  'issuer',
  'tokenAudience',
  'tokenIssuer',
  'allowNumericIdentity',
  'leeway',
  'notBefore',
  'maxTokenLength',
  'header',
  'cookies',
  'csrf',
  'json',
  'query',
  'identify',
  'loadUser',
  'isActive',
  'anonymousUser',
  'additionalClaims',
  'additionalHeaders',
  'checkClaims',
  'revocation',
  'refreshReuseGrace',
  'implicitRefresh',
  'verifiedTokenCache',
  'errors',
  'clock',
  'onListenerError',
  'compat',
])
/** The names each nested option object knows. */
export const KNOWN_NESTED_OPTIONS: Readonly<Record<string, ReadonlySet<string>>> = {
  header: new Set(['name', 'type']),
  cookies: new Set([
    'accessName',
    'refreshName',
    'csrfAccessName',
    'csrfRefreshName',
    'secure',
    'sameSite',
    'domain',
    'accessPath',
    'refreshPath',
    'csrfAccessPath',
    'csrfRefreshPath',
    'hostPrefix',
    'maxAge',
  ]),
  csrf: new Set([
    'enabled',
    'methods',
    'headerName',
    'refreshHeaderName',
    'formField',
    'refreshFormField',
    'cookies',
  ]),
  json: new Set(['accessKey', 'refreshKey']),
  query: new Set(['param', 'prefix']),
  implicitRefresh: new Set(['window']),
  errors: new Set(['preset', 'statuses', 'messages', 'messageKey', 'includeCode', 'handler']),
}
