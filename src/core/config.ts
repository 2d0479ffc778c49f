/**
 * The resolved configuration: `createAuth`'s options checked once, with every default applied. An
 * auth object exposes it read-only as `auth.config`.
 */
import { ConfigError } from '../errors.js'
import { type Duration, durationMs } from '../internal/duration.js'
import {
  type AuthOptions,
  type CookieOptions,
  KNOWN_NESTED_OPTIONS,
  KNOWN_OPTIONS,
  TOKEN_LOCATIONS,
  type TokenLocation,
} from './options.js'
import { checkErrorOptions } from './responses.js'

/**
 * Everything the core needs, with defaults applied and checked once: `auth.config`, read-only. Apps
 * and adapters read it (cookie names, the CSRF header name, the token locations); nothing changes it.
 */
export interface AuthConfig {
  /** Where access tokens are looked for, in order of precedence. */
  readonly accessLocations: readonly TokenLocation[]
  /** Where refresh tokens are looked for, in order of precedence. */
  readonly refreshLocations: readonly TokenLocation[]
  /** Whether either token type travels in cookies (then logins set cookies and CSRF applies). */
  readonly cookiesUsed: boolean
  /** Access token lifetime in milliseconds; `false`: no `exp`. */
  readonly accessTtlMs: number | false
  /** Refresh lifetime of `remember: true` logins in milliseconds; `false`: no `exp`. */
  readonly refreshTtlMs: number | false
  /** Refresh lifetime of `remember: false` logins in milliseconds. */
  readonly sessionRefreshTtlMs: number
  readonly allowNonExpiring: boolean
  /** The claim that holds the identity. */
  readonly identityClaim: string
  readonly audience: readonly string[] | undefined
  readonly issuer: readonly string[] | undefined
  /** The `aud` and `iss` issued tokens carry (`tokenAudience`, `tokenIssuer`), or undefined. */
  readonly tokenAudience: string | readonly string[] | undefined
  readonly tokenIssuer: string | undefined
  readonly allowNumericIdentity: boolean
  readonly leewayMs: number
  readonly notBefore: boolean
  readonly maxTokenLength: number
  /** The header name as configured (`Authorization`). */
  readonly headerName: string
  readonly headerNameLower: string
  /** The scheme (`Bearer`), or `''` for a bare token. */
  readonly headerType: string
  /** Cookie names (with the `__Host-` prefix when configured) and attributes. */
  readonly cookies: Readonly<
    Required<Omit<CookieOptions, 'domain' | 'maxAge'>> & {
      domain: string | undefined
      maxAge: number | undefined
    }
  >
  readonly csrf: {
    /** True when cookies are a location (or under `compat`) and CSRF was not turned off. */
    readonly enabled: boolean
    /** Upper-case methods that need the CSRF value. */
    readonly methods: ReadonlySet<string>
    /** The header that carries the CSRF value (as configured, `X-CSRF-TOKEN` by default). */
    readonly headerName: string
    /** The header that carries the CSRF value of refresh tokens. */
    readonly refreshHeaderName: string
    readonly formField: string | false
    readonly refreshFormField: string | false
    /** Whether logins also set the readable CSRF cookies. */
    readonly cookies: boolean
  }
  readonly json: { readonly accessKey: string; readonly refreshKey: string }
  readonly queryParam: string
  /** Text a query-string token must start with (removed before verifying); '' for none. */
  readonly queryPrefix: string
  readonly refreshReuseGraceMs: number
  /** How long before expiry a cookie access token is re-issued; `false`: implicit refresh is off. */
  readonly implicitRefreshWindowMs: number | false
  readonly verifiedTokenCache: number | false
  /** The clock, in epoch milliseconds. */
  readonly clock: () => number
  /** `compat: 'flask-jwt-extended'`: Flask-JWT-Extended's request handling (see the option). */
  readonly compat: boolean
  /** The error preset: with 'flask-jwt-extended', refusals are explained in its and PyJWT's words. */
  readonly errorPreset: 'latchkey' | 'flask-jwt-extended'
}

function refuseUnknown(obj: object, allowed: ReadonlySet<string>, where: string): void {
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

/** Applies defaults and validates; every message says which option to fix and how. */
export function resolveConfig<User, Claims extends object>(options: AuthOptions<User, Claims>): AuthConfig {
  if (!options || typeof options !== 'object') throw new ConfigError('createAuth needs an options object')
  refuseUnknown(options, KNOWN_OPTIONS, 'createAuth')
  for (const [key, allowed] of Object.entries(KNOWN_NESTED_OPTIONS)) {
    const v = (options as unknown as Record<string, unknown>)[key]
    if (v !== undefined && v !== false) {
      if (typeof v !== 'object' || v === null) throw new ConfigError(`${key} must be an object`)
      refuseUnknown(v, allowed, key)
    }
  }
  if (options.keys === undefined && !(Array.isArray(options.issuers) && options.issuers.length > 0))
    throw new ConfigError(
      "createAuth: keys is required, e.g. { secret: process.env.LATCHKEY_SECRET } (or issuers, for an API that accepts only identity providers' tokens)",
    )
  const allowNonExpiring = options.allowNonExpiring === true
  const base = locations(options.tokenLocations ?? ['headers'], 'tokenLocations')
  const accessLocations = options.accessTokenLocations
    ? locations(options.accessTokenLocations, 'accessTokenLocations')
    : base
  const refreshLocations = options.refreshTokenLocations
    ? locations(options.refreshTokenLocations, 'refreshTokenLocations')
    : base
  const cookiesUsed = accessLocations.includes('cookies') || refreshLocations.includes('cookies')
  if (options.compat !== undefined && options.compat !== 'flask-jwt-extended')
    throw new ConfigError(`compat must be 'flask-jwt-extended' (got ${JSON.stringify(options.compat)})`)
  const compat = options.compat === 'flask-jwt-extended'

  const c = options.cookies ?? {}
  const hostPrefix = c.hostPrefix === true
  const secure = c.secure ?? true
  const sameSite = c.sameSite ?? 'Lax'
  if (sameSite !== false && !['Strict', 'Lax', 'None'].includes(sameSite))
    throw new ConfigError(`cookies.sameSite must be 'Strict', 'Lax', 'None' or false (no attribute)`)
  if (sameSite === 'None' && !secure)
    throw new ConfigError('cookies.sameSite None requires cookies.secure true (browsers drop it otherwise)')
  const prefix = hostPrefix ? '__Host-' : ''
  const cookies: AuthConfig['cookies'] = {
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
    maxAge: c.maxAge === undefined ? undefined : Math.floor(durationMs(c.maxAge, 'cookies.maxAge') / 1000),
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
  const headerName = name(s.headerName, 'X-CSRF-TOKEN', 'csrf.headerName')
  const formField = field(s.formField, false, 'csrf.formField')
  const csrf: AuthConfig['csrf'] = {
    // Flask-JWT-Extended puts a CSRF value in every token while its CSRF protection is on (compat).
    enabled: (cookiesUsed || compat) && csrfEnabled,
    methods: new Set((s.methods ?? ['POST', 'PUT', 'PATCH', 'DELETE']).map((m) => String(m).toUpperCase())),
    headerName,
    refreshHeaderName: name(s.refreshHeaderName, headerName, 'csrf.refreshHeaderName'),
    formField,
    refreshFormField: field(s.refreshFormField, formField, 'csrf.refreshFormField'),
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
  const authHeaderName = name(options.header?.name, 'Authorization', 'header.name')
  const identityClaim = options.identityClaim ?? 'sub'
  if (typeof identityClaim !== 'string' || identityClaim.length === 0)
    throw new ConfigError('identityClaim must be a non-empty string')
  checkErrorOptions(options.errors)
  const queryPrefix = options.query?.prefix ?? ''
  if (typeof queryPrefix !== 'string') throw new ConfigError('query.prefix must be a string')
  const audience = stringList(options.audience, 'audience')
  const issuer = stringList(options.issuer, 'issuer')
  const tokenAudience =
    options.tokenAudience === undefined ? audience : stringList(options.tokenAudience, 'tokenAudience')
  if (options.tokenIssuer !== undefined && (typeof options.tokenIssuer !== 'string' || !options.tokenIssuer))
    throw new ConfigError('tokenIssuer must be a non-empty string')
  const implicit = options.implicitRefresh
  if (implicit && !cookiesUsed)
    throw new ConfigError('implicitRefresh only works when cookies are a token location')

  for (const fn of [
    'resolveKey',
    'signingKey',
    'identify',
    'loadUser',
    'isActive',
    'additionalClaims',
    'additionalHeaders',
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
    audience,
    issuer,
    tokenAudience: tokenAudience?.length === 1 ? tokenAudience[0] : tokenAudience,
    tokenIssuer: options.tokenIssuer ?? issuer?.[0],
    allowNumericIdentity: options.allowNumericIdentity === true,
    leewayMs,
    notBefore: options.notBefore ?? true,
    maxTokenLength,
    headerName: authHeaderName,
    headerNameLower: authHeaderName.toLowerCase(),
    headerType,
    cookies,
    csrf,
    json: {
      accessKey: options.json?.accessKey ?? 'access_token',
      refreshKey: options.json?.refreshKey ?? 'refresh_token',
    },
    queryParam: options.query?.param ?? 'jwt',
    queryPrefix,
    refreshReuseGraceMs: durationMs(options.refreshReuseGrace ?? 0, 'refreshReuseGrace'),
    implicitRefreshWindowMs: implicit ? durationMs(implicit.window ?? '5m', 'implicitRefresh.window') : false,
    verifiedTokenCache: cacheSize(options.verifiedTokenCache),
    clock: options.clock ?? Date.now,
    compat,
    errorPreset: options.errors?.preset ?? (compat ? 'flask-jwt-extended' : 'latchkey'),
  }
}

function field(value: unknown, fallback: string | false, what: string): string | false {
  if (value === undefined) return fallback
  if (value === false) return false
  if (typeof value !== 'string' || value === '')
    throw new ConfigError(`${what} must be a field name or false`)
  return value
}

function cacheSize(value: unknown): number | false {
  if (value === false || value === 0) return false
  if (value === undefined) return 1000
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new ConfigError('verifiedTokenCache must be a whole number of tokens, or false')
  }
  return value
}
