import { ConfigError, DEFAULT_STATUS } from '../errors.js'
import { type Duration, durationMs } from '../internal/duration.js'
import type { RevocationStore } from '../stores/store.js'
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
  /** Default 'Lax'. */
  sameSite?: 'Strict' | 'Lax' | 'None'
  domain?: string
  /** Default '/'. */
  accessPath?: string
  /** Default '/'. A narrower path (e.g. '/auth/refresh') keeps the refresh cookie off other requests. */
  refreshPath?: string
  csrfAccessPath?: string
  csrfRefreshPath?: string
  /** Prefix every cookie name with `__Host-` (needs secure, Path=/ and no Domain). Default false. */
  hostPrefix?: boolean
}

/** CSRF double submit for tokens read from cookies. */
export interface CsrfOptions {
  /** Default true when cookies are a location. Turning it off must be explicit. */
  enabled?: boolean
  /** Methods that need the CSRF value. Default POST, PUT, PATCH, DELETE. */
  methods?: string[]
  /** Default 'X-CSRF-TOKEN'. */
  headerName?: string
  /** Form field that may carry the value instead of the header (urlencoded/multipart bodies). Off by default. */
  formField?: string | false
  /** Also set the readable CSRF cookies at login. Default true. */
  cookies?: boolean
}

/** Options of `createAuth`. Every option but `keys` has a default; unknown options are refused. */
export interface AuthOptions<User = string, Claims extends object = Record<string, unknown>> {
  /** One key or several (key rotation: the first key that can sign signs, every key verifies). */
  keys: KeyConfig | KeyConfig[]
  /** Allow HS and asymmetric keys in one verifier. Default false (RFC 8725 §3.1). */
  allowMixedAlgorithms?: boolean
  /**
   * Keys that live elsewhere: called when no configured key matches the token's `kid` and `alg`. May
   * answer with a promise (a key fetched from a JWKS URL, say); the guard and `auth.verifyToken` then
   * wait for it, and `auth.decodeToken`, which is synchronous, throws a TypeError for such tokens.
   * A key is loaded once per object returned, so return the same object for the same key.
   */
  resolveKey?: (header: TokenHeader) => KeyConfig | undefined | PromiseLike<KeyConfig | undefined>
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
  /** Query-string parameter. Default { param: 'jwt' }. */
  query?: { param?: string }
  /** User → identity (Flask-JWT-Extended's user_identity_loader). Default: the value itself. */
  identify?: (user: User) => string | number
  /** Identity → user, or null when there is none (user_lookup_loader). Runs once per request. */
  loadUser?: (identity: string, claims: Claims) => User | null | undefined | Promise<User | null | undefined>
  /** False refuses the user (USER_INACTIVE). Default: every user is active. */
  isActive?: (user: User) => boolean
  /** `user` of an unauthenticated context on optional routes (Flask-Login's anonymous user). Default null. */
  anonymousUser?: User | null
  /** Extra claims for every token, from the user (or identity) it is made for. */
  additionalClaims?: (user: User | string | number) => Record<string, unknown>
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
}

/** Everything the core needs, with defaults applied and checked once. */
export interface ResolvedConfig {
  accessLocations: readonly TokenLocation[]
  refreshLocations: readonly TokenLocation[]
  cookiesUsed: boolean
  accessTtlMs: number | false
  refreshTtlMs: number | false
  sessionRefreshTtlMs: number
  allowNonExpiring: boolean
  identityClaim: string
  audience: readonly string[] | undefined
  issuer: readonly string[] | undefined
  leewayMs: number
  notBefore: boolean
  maxTokenLength: number
  headerName: string
  headerNameLower: string
  headerType: string
  cookies: Required<Omit<CookieOptions, 'domain'>> & { domain: string | undefined }
  csrf: {
    enabled: boolean
    methods: ReadonlySet<string>
    headerName: string
    formField: string | false
    cookies: boolean
  }
  json: { accessKey: string; refreshKey: string }
  queryParam: string
  refreshReuseGraceMs: number
  implicitRefreshWindowMs: number | false
  verifiedTokenCache: number | false
  clock: () => number
}

const TOP_LEVEL = new Set([
  'keys',
  'allowMixedAlgorithms',
  'resolveKey',
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
  'checkClaims',
  'revocation',
  'refreshReuseGrace',
  'implicitRefresh',
  'verifiedTokenCache',
  'errors',
  'clock',
  'onListenerError',
])
const NESTED: Record<string, Set<string>> = {
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
  ]),
  csrf: new Set(['enabled', 'methods', 'headerName', 'formField', 'cookies']),
  json: new Set(['accessKey', 'refreshKey']),
  query: new Set(['param']),
  implicitRefresh: new Set(['window']),
  errors: new Set(['preset', 'statuses', 'messages', 'messageKey', 'handler']),
}

function refuseUnknown(obj: object, allowed: Set<string>, where: string): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.has(key)) {
      throw new ConfigError(`${where}: unknown option "${key}" (known: ${[...allowed].join(', ')})`)
    }
  }
}

function locations(value: unknown, where: string): TokenLocation[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new ConfigError(`${where} must be a non-empty list of ${TOKEN_LOCATIONS.join(', ')}`)
  }
  for (const v of value) {
    if (!TOKEN_LOCATIONS.includes(v)) {
      throw new ConfigError(`${where}: unknown location "${String(v)}" (use ${TOKEN_LOCATIONS.join(', ')})`)
    }
  }
  if (new Set(value).size !== value.length) throw new ConfigError(`${where} lists a location twice`)
  return value
}

function ttl(
  value: Duration | false | undefined,
  fallback: Duration,
  what: string,
  allowNonExpiring: boolean,
): number | false {
  if (value === false) {
    if (!allowNonExpiring) {
      throw new ConfigError(
        `${what}: false makes tokens that never expire; set allowNonExpiring: true if you mean it`,
      )
    }
    return false
  }
  const ms = durationMs(value ?? fallback, what)
  if (ms < 1000) throw new ConfigError(`${what} must be at least one second`)
  return ms
}

function stringList(value: unknown, what: string): string[] | undefined {
  if (value === undefined) return undefined
  const list = Array.isArray(value) ? value : [value]
  if (list.length === 0 || list.some((v) => typeof v !== 'string' || v.length === 0)) {
    throw new ConfigError(`${what} must be a non-empty string or a list of them`)
  }
  return list as string[]
}

function name(value: unknown, fallback: string, what: string): string {
  if (value === undefined) return fallback
  if (typeof value !== 'string' || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(value)) {
    throw new ConfigError(`${what} must be a valid header/cookie token (letters, digits, - _ . and the like)`)
  }
  return value
}

/** A typo in a preset name or an error code would otherwise silently change every error response. */
function checkErrorOptions(errors: ErrorOptions | undefined): void {
  if (errors === undefined) return
  if (errors.preset !== undefined && errors.preset !== 'latchkey' && errors.preset !== 'flask-jwt-extended')
    throw new ConfigError(
      `errors.preset must be 'latchkey' or 'flask-jwt-extended' (got ${JSON.stringify(errors.preset)})`,
    )
  for (const key of ['statuses', 'messages'] as const) {
    const table = errors[key]
    if (table === undefined) continue
    if (typeof table !== 'object' || table === null) throw new ConfigError(`errors.${key} must be an object`)
    for (const [code, value] of Object.entries(table)) {
      if (!Object.hasOwn(DEFAULT_STATUS, code))
        throw new ConfigError(
          `errors.${key}: unknown error code "${code}" (known: ${Object.keys(DEFAULT_STATUS).join(', ')})`,
        )
      if (key === 'statuses' && !(Number.isInteger(value) && value >= 100 && value <= 599))
        throw new ConfigError(`errors.statuses.${code} must be an HTTP status (100-599)`)
      if (key === 'messages' && typeof value !== 'string')
        throw new ConfigError(`errors.messages.${code} must be a string`)
    }
  }
  if (errors.messageKey !== undefined && (typeof errors.messageKey !== 'string' || errors.messageKey === ''))
    throw new ConfigError('errors.messageKey must be a non-empty string')
  if (errors.handler !== undefined && typeof errors.handler !== 'function')
    throw new ConfigError('errors.handler must be a function')
}

/** Applies defaults and validates; every message says which option to fix and how. */
export function resolveConfig<User, Claims extends object>(
  options: AuthOptions<User, Claims>,
): ResolvedConfig {
  if (!options || typeof options !== 'object') throw new ConfigError('createAuth needs an options object')
  refuseUnknown(options, TOP_LEVEL, 'createAuth')
  for (const [key, allowed] of Object.entries(NESTED)) {
    const v = (options as unknown as Record<string, unknown>)[key]
    if (v !== undefined && v !== false) {
      if (typeof v !== 'object' || v === null) throw new ConfigError(`${key} must be an object`)
      refuseUnknown(v, allowed, key)
    }
  }
  if (options.keys === undefined)
    throw new ConfigError('createAuth: keys is required, e.g. { secret: process.env.LATCHKEY_SECRET }')
  const allowNonExpiring = options.allowNonExpiring === true
  const base = locations(options.tokenLocations ?? ['headers'], 'tokenLocations')
  const accessLocations = options.accessTokenLocations
    ? locations(options.accessTokenLocations, 'accessTokenLocations')
    : base
  const refreshLocations = options.refreshTokenLocations
    ? locations(options.refreshTokenLocations, 'refreshTokenLocations')
    : base
  const cookiesUsed = accessLocations.includes('cookies') || refreshLocations.includes('cookies')

  const c = options.cookies ?? {}
  const hostPrefix = c.hostPrefix === true
  const secure = c.secure ?? true
  const sameSite = c.sameSite ?? 'Lax'
  if (!['Strict', 'Lax', 'None'].includes(sameSite))
    throw new ConfigError(`cookies.sameSite must be 'Strict', 'Lax' or 'None'`)
  if (sameSite === 'None' && !secure)
    throw new ConfigError('cookies.sameSite None requires cookies.secure true (browsers drop it otherwise)')
  const prefix = hostPrefix ? '__Host-' : ''
  const cookies: ResolvedConfig['cookies'] = {
    accessName: prefix + name(c.accessName, 'access_token_cookie', 'cookies.accessName'),
    refreshName: prefix + name(c.refreshName, 'refresh_token_cookie', 'cookies.refreshName'),
    csrfAccessName: prefix + name(c.csrfAccessName, 'csrf_access_token', 'cookies.csrfAccessName'),
    csrfRefreshName: prefix + name(c.csrfRefreshName, 'csrf_refresh_token', 'cookies.csrfRefreshName'),
    secure,
    sameSite,
    domain: c.domain,
    accessPath: c.accessPath ?? '/',
    refreshPath: c.refreshPath ?? '/',
    csrfAccessPath: c.csrfAccessPath ?? c.accessPath ?? '/',
    csrfRefreshPath: c.csrfRefreshPath ?? c.refreshPath ?? '/',
    hostPrefix,
  }
  if (hostPrefix) {
    const paths = [cookies.accessPath, cookies.refreshPath, cookies.csrfAccessPath, cookies.csrfRefreshPath]
    if (!secure || cookies.domain !== undefined || paths.some((p) => p !== '/')) {
      throw new ConfigError(
        'cookies.hostPrefix needs secure: true, no domain and every path "/" (browsers reject __Host- cookies otherwise)',
      )
    }
  }
  for (const p of ['accessPath', 'refreshPath', 'csrfAccessPath', 'csrfRefreshPath'] as const) {
    if (!cookies[p].startsWith('/') || /[;\s]/.test(cookies[p]))
      throw new ConfigError(`cookies.${p} must be a path starting with /`)
  }
  if (cookies.domain !== undefined && (typeof cookies.domain !== 'string' || /[;\s]/.test(cookies.domain))) {
    throw new ConfigError('cookies.domain must be a domain name')
  }

  const s = options.csrf ?? {}
  const csrfEnabled = s.enabled ?? true
  if (s.methods !== undefined && (!Array.isArray(s.methods) || s.methods.some((m) => typeof m !== 'string')))
    throw new ConfigError(
      "csrf.methods must be a list of HTTP methods, e.g. ['POST', 'PUT', 'PATCH', 'DELETE']",
    )
  if (Array.isArray(s.methods) && s.methods.length === 0 && s.enabled !== false) {
    throw new ConfigError(
      'csrf.methods is empty, which turns CSRF off; set csrf.enabled: false to opt out explicitly',
    )
  }
  const csrf: ResolvedConfig['csrf'] = {
    enabled: cookiesUsed && csrfEnabled,
    methods: new Set((s.methods ?? ['POST', 'PUT', 'PATCH', 'DELETE']).map((m) => String(m).toUpperCase())),
    headerName: name(s.headerName, 'X-CSRF-TOKEN', 'csrf.headerName'),
    formField: s.formField ?? false,
    cookies: s.cookies ?? true,
  }

  const leewayMs = durationMs(options.leeway ?? 0, 'leeway')
  if (leewayMs > 300_000)
    throw new ConfigError(
      'leeway is more than 5 minutes; clock skew that large should be fixed at the source',
    )
  const maxTokenLength = options.maxTokenLength ?? 8192
  if (!Number.isInteger(maxTokenLength) || maxTokenLength < 256)
    throw new ConfigError('maxTokenLength must be an integer of at least 256')

  const headerType = options.header?.type ?? 'Bearer'
  if (typeof headerType !== 'string' || /\s/.test(headerType))
    throw new ConfigError('header.type must be a single word, or "" for a bare token')
  const headerName = name(options.header?.name, 'Authorization', 'header.name')
  const identityClaim = options.identityClaim ?? 'sub'
  if (typeof identityClaim !== 'string' || identityClaim.length === 0)
    throw new ConfigError('identityClaim must be a non-empty string')
  checkErrorOptions(options.errors)
  const implicit = options.implicitRefresh
  if (implicit && !cookiesUsed)
    throw new ConfigError('implicitRefresh only works when cookies are a token location')

  for (const fn of [
    'resolveKey',
    'identify',
    'loadUser',
    'isActive',
    'additionalClaims',
    'checkClaims',
    'clock',
    'onListenerError',
  ] as const) {
    if (options[fn] !== undefined && typeof options[fn] !== 'function')
      throw new ConfigError(`${fn} must be a function`)
  }
  const store = options.revocation
  if (store !== undefined) {
    for (const m of [
      'isRevoked',
      'revokeToken',
      'revokeFamily',
      'revokeIdentity',
      'consumeRefreshToken',
    ] as const) {
      if (typeof store?.[m] !== 'function')
        throw new ConfigError(`revocation must implement RevocationStore (missing ${m})`)
    }
  }

  return {
    accessLocations,
    refreshLocations,
    cookiesUsed,
    accessTtlMs: ttl(options.accessTokenTtl, '15m', 'accessTokenTtl', allowNonExpiring),
    refreshTtlMs: ttl(options.refreshTokenTtl, '30d', 'refreshTokenTtl', allowNonExpiring),
    sessionRefreshTtlMs: ttl(options.sessionRefreshTokenTtl, '1d', 'sessionRefreshTokenTtl', false) as number,
    allowNonExpiring,
    identityClaim,
    audience: stringList(options.audience, 'audience'),
    issuer: stringList(options.issuer, 'issuer'),
    leewayMs,
    notBefore: options.notBefore ?? true,
    maxTokenLength,
    headerName,
    headerNameLower: headerName.toLowerCase(),
    headerType,
    cookies,
    csrf,
    json: {
      accessKey: options.json?.accessKey ?? 'access_token',
      refreshKey: options.json?.refreshKey ?? 'refresh_token',
    },
    queryParam: options.query?.param ?? 'jwt',
    refreshReuseGraceMs: durationMs(options.refreshReuseGrace ?? 0, 'refreshReuseGrace'),
    implicitRefreshWindowMs: implicit ? durationMs(implicit.window ?? '5m', 'implicitRefresh.window') : false,
    verifiedTokenCache: cacheSize(options.verifiedTokenCache),
    clock: options.clock ?? Date.now,
  }
}

function cacheSize(value: unknown): number | false {
  if (value === false || value === 0) return false
  if (value === undefined) return 1000
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new ConfigError('verifiedTokenCache must be a whole number of tokens, or false')
  }
  return value
}
