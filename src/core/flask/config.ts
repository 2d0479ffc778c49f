/**
 * `fromFlaskConfig`: a Flask-JWT-Extended 4.x configuration (its 43 `JWT_*` settings, as in
 * `app.config`) turned into `createAuth` options that behave as that app did. A setting latchkey
 * cannot honour is refused with a ConfigError that names it.
 */
import { ConfigError } from '../../errors.js'
import { type Algorithm, familyOf, isAlgorithm } from '../algorithms.js'
import type { KeyConfig } from '../keys.js'
import { minSecretBytes } from '../keys.js'
import type { AuthOptions, TokenLocation } from '../options.js'
import { FLASK_JWT_DEFAULTS, type FlaskConfig } from './settings.js'

/** The `createAuth` options `fromFlaskConfig` sets: spread them, then add the app's callbacks. */
export type FlaskAuthOptions = Pick<
  AuthOptions,
  | 'keys'
  | 'tokenLocations'
  | 'accessTokenTtl'
  | 'refreshTokenTtl'
  | 'sessionRefreshTokenTtl'
  | 'allowNonExpiring'
  | 'identityClaim'
  | 'audience'
  | 'issuer'
  | 'tokenAudience'
  | 'tokenIssuer'
  | 'allowNumericIdentity'
  | 'leeway'
  | 'notBefore'
  | 'header'
  | 'cookies'
  | 'csrf'
  | 'json'
  | 'query'
  | 'errors'
  | 'compat'
>

/** Options of {@link fromFlaskConfig}. */
export interface FromFlaskConfigOptions {
  /**
   * Accept a `JWT_SECRET_KEY` shorter than RFC 7518 requires (32 bytes for HS256), to keep the
   * tokens of the running Flask app valid during the move; see `insecureShortSecretForMigration`.
   */
  insecureShortSecretForMigration?: boolean
}

/** One year, Flask-JWT-Extended's Max-Age for `JWT_SESSION_COOKIE = False`. */
const ONE_YEAR = 31_540_000
const LOCATIONS: Readonly<Record<string, TokenLocation>> = {
  headers: 'headers',
  cookies: 'cookies',
  json: 'json',
  query_string: 'query',
}
const KNOWN = new Set(Object.keys(FLASK_JWT_DEFAULTS))

function refuse(key: string, why: string): never {
  throw new ConfigError(`fromFlaskConfig: ${key} ${why}`)
}

/**
 * Turns a Flask-JWT-Extended configuration into `createAuth` options: the same keys, token
 * locations, lifetimes, claims, cookies, CSRF rules and error bodies, with
 * `compat: 'flask-jwt-extended'` (Flask-JWT-Extended's reading of requests and its error texts).
 * Defaults are Flask-JWT-Extended's (cookies without `Secure` and `SameSite` among them). Durations
 * are seconds, `false` for none. Throws a ConfigError naming the setting it cannot honour, and for a
 * `JWT_*` name Flask-JWT-Extended 4 does not know.
 *
 * @example
 * ```ts
 * import { createAuth } from 'latchkey'
 * import { fromFlaskConfig } from 'latchkey/flask'
 *
 * const auth = createAuth<User>({
 *   ...fromFlaskConfig({
 *     JWT_SECRET_KEY: process.env.JWT_SECRET_KEY,
 *     JWT_TOKEN_LOCATION: ['headers', 'cookies'],
 *     JWT_ACCESS_TOKEN_EXPIRES: 3600, // timedelta(hours=1)
 *     JWT_COOKIE_SECURE: true,
 *   }),
 *   identify: (user) => user.email,                 // user_identity_loader
 *   loadUser: (email) => db.users.byEmail(email),   // user_lookup_loader
 * })
 * ```
 */
export function fromFlaskConfig(config: FlaskConfig, options: FromFlaskConfigOptions = {}): FlaskAuthOptions {
  if (!config || typeof config !== 'object')
    throw new ConfigError('fromFlaskConfig needs a configuration object')
  for (const key of Object.keys(config)) {
    if (key.startsWith('JWT_') && !KNOWN.has(key))
      refuse(key, `is not a Flask-JWT-Extended 4 setting (known: ${[...KNOWN].join(', ')})`)
  }
  const get = <K extends keyof typeof FLASK_JWT_DEFAULTS>(key: K): (typeof FLASK_JWT_DEFAULTS)[K] => {
    const value = config[key]
    return (value === undefined ? FLASK_JWT_DEFAULTS[key] : value) as (typeof FLASK_JWT_DEFAULTS)[K]
  }
  const text = (key: keyof typeof FLASK_JWT_DEFAULTS, allowEmpty = false): string => {
    const value = get(key)
    if (typeof value !== 'string' || (!allowEmpty && value === ''))
      refuse(key, allowEmpty ? 'must be a string' : 'must be a non-empty string')
    return value
  }
  const flag = (key: keyof typeof FLASK_JWT_DEFAULTS): boolean => {
    const value = get(key)
    if (typeof value !== 'boolean') refuse(key, 'must be True or False')
    return value
  }
  const optional = (key: keyof typeof FLASK_JWT_DEFAULTS): string | undefined => {
    const value = get(key)
    if (value === null || value === undefined) return undefined
    if (typeof value !== 'string' || value === '') refuse(key, 'must be a non-empty string or None')
    return value
  }
  const stringsOrNone = (key: keyof typeof FLASK_JWT_DEFAULTS): string[] | undefined => {
    const value = get(key)
    if (value === null || value === undefined) return undefined
    const list = typeof value === 'string' ? [value] : value
    if (!Array.isArray(list) || list.length === 0 || list.some((v) => typeof v !== 'string' || v === ''))
      refuse(key, 'must be a string, a list of strings, or None')
    return list as string[]
  }

  const accessTtl = lifetime(get('JWT_ACCESS_TOKEN_EXPIRES'), 'JWT_ACCESS_TOKEN_EXPIRES')
  const refreshTtl = lifetime(get('JWT_REFRESH_TOKEN_EXPIRES'), 'JWT_REFRESH_TOKEN_EXPIRES')

  const rawLocations = get('JWT_TOKEN_LOCATION')
  const locationList = typeof rawLocations === 'string' ? [rawLocations] : rawLocations
  if (!Array.isArray(locationList) || locationList.length === 0)
    refuse('JWT_TOKEN_LOCATION', 'must name at least one of "headers", "cookies", "query_string", "json"')
  const tokenLocations = locationList.map((l) => {
    const location = typeof l === 'string' && Object.hasOwn(LOCATIONS, l) ? LOCATIONS[l] : undefined
    if (!location)
      refuse(
        'JWT_TOKEN_LOCATION',
        `can only contain "headers", "cookies", "query_string", or "json" (got ${JSON.stringify(l)})`,
      )
    return location
  })
  if (new Set(tokenLocations).size !== tokenLocations.length)
    refuse('JWT_TOKEN_LOCATION', 'lists a location twice')

  const decodeAudience = stringsOrNone('JWT_DECODE_AUDIENCE')
  const encodeAudience = stringsOrNone('JWT_ENCODE_AUDIENCE')
  if (encodeAudience && !decodeAudience)
    refuse(
      'JWT_ENCODE_AUDIENCE',
      'is set without JWT_DECODE_AUDIENCE: latchkey refuses a token whose aud it does not accept (RFC 7519 §4.1.3), its own included; set JWT_DECODE_AUDIENCE too',
    )
  const decodeIssuer = stringsOrNone('JWT_DECODE_ISSUER')
  const encodeIssuer = optional('JWT_ENCODE_ISSUER')

  const leeway = get('JWT_DECODE_LEEWAY')
  if (typeof leeway !== 'number' || !Number.isFinite(leeway) || leeway < 0)
    refuse('JWT_DECODE_LEEWAY', 'must be a number of seconds')
  if (leeway > 300)
    refuse('JWT_DECODE_LEEWAY', 'is more than 5 minutes; latchkey accepts at most 300 seconds')

  const identityClaim = text('JWT_IDENTITY_CLAIM')
  const verifySub = flag('JWT_VERIFY_SUB')

  const sameSiteValue = get('JWT_COOKIE_SAMESITE')
  let sameSite: 'Strict' | 'Lax' | 'None' | false = false
  if (sameSiteValue !== null && sameSiteValue !== undefined) {
    const titled =
      typeof sameSiteValue === 'string'
        ? sameSiteValue.charAt(0).toUpperCase() + sameSiteValue.slice(1).toLowerCase()
        : ''
    if (titled !== 'Strict' && titled !== 'Lax' && titled !== 'None')
      refuse(
        'JWT_COOKIE_SAMESITE',
        `must be "Strict", "Lax", "None" or None (got ${JSON.stringify(sameSiteValue)})`,
      )
    sameSite = titled
  }
  const secure = flag('JWT_COOKIE_SECURE')
  if (sameSite === 'None' && !secure)
    refuse(
      'JWT_COOKIE_SAMESITE',
      '"None" needs JWT_COOKIE_SECURE = True: browsers drop such cookies otherwise',
    )

  const csrfProtect = flag('JWT_COOKIE_CSRF_PROTECT')
  const methods = get('JWT_CSRF_METHODS')
  if (!Array.isArray(methods) || methods.some((m) => typeof m !== 'string'))
    refuse('JWT_CSRF_METHODS', 'must be a list of HTTP methods')
  if (methods.length === 0 && csrfProtect)
    refuse(
      'JWT_CSRF_METHODS',
      'is empty, which turns CSRF checks off; set JWT_COOKIE_CSRF_PROTECT = False to say so',
    )
  const checkForm = flag('JWT_CSRF_CHECK_FORM')

  const messageKey = text('JWT_ERROR_MESSAGE_KEY')
  const headerType = text('JWT_HEADER_TYPE', true)
  if (/\s/.test(headerType)) refuse('JWT_HEADER_TYPE', 'must be one word, or "" for a bare token')

  const out: FlaskAuthOptions = {
    keys: keysOf(config, get('JWT_ALGORITHM'), get('JWT_DECODE_ALGORITHMS'), options),
    tokenLocations,
    accessTokenTtl: accessTtl,
    refreshTokenTtl: refreshTtl,
    allowNonExpiring: accessTtl === false || refreshTtl === false,
    identityClaim,
    allowNumericIdentity: !verifySub || identityClaim !== 'sub',
    leeway,
    notBefore: flag('JWT_ENCODE_NBF'),
    header: { name: text('JWT_HEADER_NAME'), type: headerType },
    json: { accessKey: text('JWT_JSON_KEY'), refreshKey: text('JWT_REFRESH_JSON_KEY') },
    query: { param: text('JWT_QUERY_STRING_NAME'), prefix: text('JWT_QUERY_STRING_VALUE_PREFIX', true) },
    cookies: {
      accessName: text('JWT_ACCESS_COOKIE_NAME'),
      refreshName: text('JWT_REFRESH_COOKIE_NAME'),
      csrfAccessName: text('JWT_ACCESS_CSRF_COOKIE_NAME'),
      csrfRefreshName: text('JWT_REFRESH_CSRF_COOKIE_NAME'),
      accessPath: text('JWT_ACCESS_COOKIE_PATH'),
      refreshPath: text('JWT_REFRESH_COOKIE_PATH'),
      csrfAccessPath: text('JWT_ACCESS_CSRF_COOKIE_PATH'),
      csrfRefreshPath: text('JWT_REFRESH_CSRF_COOKIE_PATH'),
      secure,
      sameSite,
      ...(optional('JWT_COOKIE_DOMAIN') === undefined ? {} : { domain: optional('JWT_COOKIE_DOMAIN') }),
      ...(flag('JWT_SESSION_COOKIE') ? {} : { maxAge: ONE_YEAR }),
    },
    csrf: {
      enabled: csrfProtect,
      methods: [...methods],
      headerName: text('JWT_ACCESS_CSRF_HEADER_NAME'),
      refreshHeaderName: text('JWT_REFRESH_CSRF_HEADER_NAME'),
      formField: checkForm ? text('JWT_ACCESS_CSRF_FIELD_NAME') : false,
      refreshFormField: checkForm ? text('JWT_REFRESH_CSRF_FIELD_NAME') : false,
      cookies: flag('JWT_CSRF_IN_COOKIES'),
    },
    errors: { preset: 'flask-jwt-extended', messageKey },
    compat: 'flask-jwt-extended',
  }
  // A refresh token of a login without "remember" lives as long as any other (Flask-JWT-Extended has one lifetime).
  if (refreshTtl !== false) out.sessionRefreshTokenTtl = refreshTtl
  if (decodeAudience) out.audience = decodeAudience
  if (encodeAudience) out.tokenAudience = encodeAudience
  if (decodeIssuer) out.issuer = decodeIssuer
  if (encodeIssuer) out.tokenIssuer = encodeIssuer
  return out
}

/** A lifetime in seconds; `false`, or 0 (a timedelta Python counts as false), for none. */
function lifetime(value: unknown, key: string): number | false {
  if (value === false || value === 0) return false
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
    refuse(key, 'must be a number of seconds (a timedelta) or False')
  if (value < 1) refuse(key, 'must be at least one second')
  return value
}

/** The keys: the signing algorithm's, and one per other algorithm of JWT_DECODE_ALGORITHMS. */
function keysOf(
  config: FlaskConfig,
  algorithm: unknown,
  decodeAlgorithms: unknown,
  options: FromFlaskConfigOptions,
): KeyConfig[] {
  if (!isAlgorithm(algorithm))
    refuse(
      'JWT_ALGORITHM',
      `must be one of the algorithms latchkey supports (got ${JSON.stringify(algorithm)})`,
    )
  const algorithms: Algorithm[] = [algorithm]
  if (decodeAlgorithms !== null && decodeAlgorithms !== undefined) {
    if (!Array.isArray(decodeAlgorithms))
      refuse('JWT_DECODE_ALGORITHMS', 'must be a list of algorithms or None')
    for (const a of decodeAlgorithms) {
      if (!isAlgorithm(a))
        refuse('JWT_DECODE_ALGORITHMS', `lists an algorithm latchkey does not support (${JSON.stringify(a)})`)
      if ((familyOf(a) === 'HS') !== (familyOf(algorithm) === 'HS'))
        refuse(
          'JWT_DECODE_ALGORITHMS',
          `mixes HS and asymmetric algorithms (${a} beside JWT_ALGORITHM ${algorithm}): one key cannot serve both`,
        )
      if (!algorithms.includes(a)) algorithms.push(a)
    }
  }
  // Several keys need their kid; tokens without one are still matched by their algorithm.
  const kid = (a: Algorithm) => (algorithms.length > 1 ? { kid: a } : {})
  if (familyOf(algorithm) === 'HS') {
    const secret = config.JWT_SECRET_KEY || config.SECRET_KEY
    if (!secret)
      refuse(
        'JWT_SECRET_KEY',
        `(or Flask's SECRET_KEY) must be set when using symmetric algorithm "${algorithm}"`,
      )
    if (typeof secret !== 'string') refuse('JWT_SECRET_KEY', 'must be a string')
    const bytes = new TextEncoder().encode(secret).length
    const short = algorithms.find((a) => bytes < minSecretBytes(a as 'HS256'))
    if (short && options.insecureShortSecretForMigration !== true)
      refuse(
        'JWT_SECRET_KEY',
        `is ${bytes} bytes; ${short} needs at least ${minSecretBytes(short as 'HS256')} random bytes (RFC 7518 §3.2). Rotate it, or pass { insecureShortSecretForMigration: true } for the migration only`,
      )
    return algorithms.map((a, i) => ({
      secret,
      algorithm: a as 'HS256',
      ...kid(a),
      ...(i > 0 ? { verifyOnly: true } : {}),
      ...(short ? { insecureShortSecretForMigration: true } : {}),
    }))
  }
  const privateKey = config.JWT_PRIVATE_KEY
  const publicKey = config.JWT_PUBLIC_KEY
  if (!privateKey && !publicKey)
    refuse('JWT_PRIVATE_KEY', `or JWT_PUBLIC_KEY must be set to use asymmetric algorithm "${algorithm}"`)
  if (privateKey !== undefined && privateKey !== null && typeof privateKey !== 'string')
    refuse('JWT_PRIVATE_KEY', 'must be PEM text')
  if (publicKey !== undefined && publicKey !== null && typeof publicKey !== 'string')
    refuse('JWT_PUBLIC_KEY', 'must be PEM text')
  return algorithms.map((a, i) =>
    privateKey
      ? { privateKey, algorithm: a, ...kid(a), ...(i > 0 ? { verifyOnly: true } : {}) }
      : { publicKey: publicKey as string, algorithm: a, ...kid(a) },
  )
}
