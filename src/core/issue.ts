/** Issuing a token: identity, claims, lifetime, header, signature. */
import { randomUUID } from 'node:crypto'
import { ConfigError } from '../errors.js'
import { encodeBase64url } from '../internal/base64url.js'
import { type Duration, durationMs } from '../internal/duration.js'
import { signBytes } from './algorithms.js'
import type { AuthConfig } from './config.js'
import { newCsrfValue } from './csrf.js'
import { type KeyConfig, type KeySet, type LoadedKey, loadKey } from './keys.js'
import type { TokenClaims, TokenType } from './types.js'

/** Options for one token. */
export interface CreateTokenOptions {
  /** Lifetime of this token, overriding the configured one. `false` needs `allowNonExpiring`. */
  expiresIn?: Duration | false
  /** Access tokens only: `true`, `false` (default), or how long the token stays fresh (`'10m'`, a Date). */
  fresh?: boolean | Duration | Date
  /** Extra claims. Reserved claims (sub, exp, type, jti, ...) cannot be overridden. */
  claims?: Record<string, unknown>
  /** Extra protected header parameters (alg, kid, typ and crit are reserved). */
  headers?: Record<string, unknown>
  /** Refresh family to attach (set by login and refresh; apps rarely need it). */
  family?: string
  /** CSRF value to embed. Default: a new random value when cookies are a location (CSRF on), else none. */
  csrf?: string
  /**
   * Bind the token to a DPoP key (RFC 9449): the key's RFC 7638 thumbprint, put in `cnf.jkt`. Such a
   * token is accepted only with a DPoP proof signed by that key.
   */
  dpopJkt?: string
}

/** A signed token with the facts a caller needs without decoding it again. */
export interface IssuedToken<Claims extends object = Record<string, unknown>> {
  token: string
  claims: TokenClaims<Claims>
  /** `exp` in epoch milliseconds, or undefined for a non-expiring token. */
  expiresAt: number | undefined
}

/** What issuing needs: the configuration, the signing key and the app's identity and claim callbacks. */
export interface IssueDeps {
  readonly config: AuthConfig
  readonly keys: KeySet
  /** The `additionalClaims` option. */
  readonly additionalClaims: ((subject: unknown) => Record<string, unknown>) | undefined
  /** The `identify` option. */
  readonly identify: ((user: never) => string | number) | undefined
  /** The `additionalHeaders` option. */
  readonly additionalHeaders: ((subject: unknown) => Record<string, unknown>) | undefined
  /** The `signingKey` option, and the keys it answered with, loaded once per object. */
  readonly signingKey: ((subject: unknown) => KeyConfig | undefined) | undefined
  readonly signingKeys: WeakMap<KeyConfig, LoadedKey>
  /** Encoded header segments of the plain headers, by key (the same for every token a key signs). */
  readonly headerSegments: WeakMap<LoadedKey, string>
}

/** Claims latchkey sets itself; the app's claims may not override them (nor the identity claim). */
export const RESERVED_CLAIMS: ReadonlySet<string> = new Set([
  'iat',
  'iat_ms',
  'nbf',
  'exp',
  'jti',
  'type',
  'fresh',
  'csrf',
  'fam',
  'aud',
  'iss',
  'sub',
  'cnf',
])
const RESERVED_HEADERS = new Set(['alg', 'kid', 'typ', 'crit', 'b64'])

/** Turns a user object or an identity into the identity string stored in the token. */
export function identityOf(deps: Pick<IssueDeps, 'identify'>, subject: unknown): string {
  let id: unknown = subject
  if (subject !== null && typeof subject === 'object') {
    if (!deps.identify) {
      throw new ConfigError(
        'latchkey: got a user object but no identify(user) option to turn it into an identity',
      )
    }
    id = (deps.identify as (u: unknown) => unknown)(subject)
  }
  if (typeof id === 'number' && Number.isFinite(id)) id = String(id)
  if (typeof id !== 'string' || id.length === 0) {
    throw new ConfigError('latchkey: the identity must be a non-empty string or a finite number')
  }
  return id
}

/** Creates and signs one token. The identity may be a user (through `identify`) or a string/number. */
export function issueToken<Claims extends object>(
  deps: IssueDeps,
  type: TokenType,
  subject: unknown,
  options: CreateTokenOptions = {},
): IssuedToken<Claims> {
  const { config } = deps
  const key = signingKeyFor(deps, subject)
  const sub = identityOf(deps, subject)
  const now = config.clock()
  const iat = Math.floor(now / 1000)
  const ttl =
    options.expiresIn === undefined
      ? type === 'access'
        ? config.accessTtlMs
        : config.refreshTtlMs
      : options.expiresIn === false
        ? false
        : durationMs(options.expiresIn, 'expiresIn')
  if (ttl === false && !config.allowNonExpiring) {
    throw new ConfigError('latchkey: a token without expiry needs allowNonExpiring: true')
  }
  const claims: Record<string, unknown> = {}
  if (deps.additionalClaims)
    copyClaims(claims, deps.additionalClaims(subject), config.identityClaim, 'additionalClaims')
  copyClaims(claims, options.claims, config.identityClaim, 'claims')
  claims[config.identityClaim] = sub
  // Flask-JWT-Extended writes the identity under its claim only (compat).
  if (config.identityClaim !== 'sub' && !config.compat) claims.sub = sub
  claims.iat = iat
  claims.iat_ms = now
  if (config.notBefore) claims.nbf = iat
  let expiresAt: number | undefined
  if (ttl !== false) {
    expiresAt = (iat + Math.ceil(ttl / 1000)) * 1000
    claims.exp = expiresAt / 1000
  }
  claims.jti = randomUUID()
  claims.type = type
  if (type === 'access') claims.fresh = freshClaim(options.fresh, now)
  else if (config.compat) claims.fresh = false // as Flask-JWT-Extended's refresh tokens say
  // With cookies as a location every token carries a CSRF value (as in Flask-JWT-Extended), so a token
  // an app sets as a cookie itself still passes the double-submit check; its value is `claims.csrf`.
  if (options.csrf !== undefined) claims.csrf = options.csrf
  else if (config.csrf.enabled) claims.csrf = newCsrfValue()
  if (options.family !== undefined) claims.fam = options.family
  if (options.dpopJkt !== undefined) {
    if (typeof options.dpopJkt !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(options.dpopJkt))
      throw new ConfigError('latchkey: dpopJkt must be a JWK SHA-256 thumbprint (43 base64url characters)')
    claims.cnf = { jkt: options.dpopJkt }
  }
  const aud = config.tokenAudience
  if (aud !== undefined) claims.aud = typeof aud === 'string' ? aud : [...aud]
  if (config.tokenIssuer !== undefined) claims.iss = config.tokenIssuer
  const headers = deps.additionalHeaders
    ? { ...deps.additionalHeaders(subject), ...options.headers }
    : options.headers
  const input = `${headerSegment(deps, key, headers)}.${encodeBase64url(JSON.stringify(claims))}`
  const signature = key.macText
    ? key.macText(input)
    : signBytes(key.algorithm, key.signKey!, input).toString('base64url')
  const token = `${input}.${signature}`
  return { token, claims: claims as unknown as TokenClaims<Claims>, expiresAt }
}

/** The key that signs for `subject`: the `signingKey` option's answer, else the configured signing key. */
function signingKeyFor(deps: IssueDeps, subject: unknown): LoadedKey {
  const chosen = deps.signingKey?.(subject)
  if (chosen !== undefined) {
    let loaded = deps.signingKeys.get(chosen)
    if (!loaded) {
      loaded = loadKey(chosen, 'signingKey')
      deps.signingKeys.set(chosen, loaded)
    }
    if (!loaded.signKey) throw new ConfigError('latchkey: signingKey answered with a key that cannot sign')
    return loaded
  }
  const key = deps.keys.signing
  if (!key)
    throw new ConfigError(
      'latchkey: no key can sign (none is configured, or every configured key is verify-only or public)',
    )
  return key
}

function copyClaims(
  target: Record<string, unknown>,
  extra: Record<string, unknown> | undefined,
  identityClaim: string,
  where: string,
): void {
  if (!extra) return
  if (typeof extra !== 'object' || Array.isArray(extra))
    throw new ConfigError(`latchkey: ${where} must be an object`)
  for (const key of Object.keys(extra)) {
    if (RESERVED_CLAIMS.has(key) || key === identityClaim) {
      throw new ConfigError(`latchkey: ${where} may not set the reserved claim "${key}"`)
    }
    // defineProperty, not assignment: a "__proto__" key stays a plain data property.
    Object.defineProperty(target, key, {
      value: extra[key],
      enumerable: true,
      writable: true,
      configurable: true,
    })
  }
}

function headerSegment(deps: IssueDeps, key: LoadedKey, extra: Record<string, unknown> | undefined): string {
  if (!extra || Object.keys(extra).length === 0) {
    let segment = deps.headerSegments.get(key)
    if (segment === undefined) {
      segment = encodeBase64url(
        JSON.stringify(
          key.kid === undefined
            ? { alg: key.algorithm, typ: 'JWT' }
            : { alg: key.algorithm, typ: 'JWT', kid: key.kid },
        ),
      )
      deps.headerSegments.set(key, segment)
    }
    return segment
  }
  const header: Record<string, unknown> = { alg: key.algorithm, typ: 'JWT' }
  if (key.kid !== undefined) header.kid = key.kid
  for (const name of Object.keys(extra)) {
    if (RESERVED_HEADERS.has(name))
      throw new ConfigError(`latchkey: the header parameter "${name}" is reserved`)
    Object.defineProperty(header, name, {
      value: extra[name],
      enumerable: true,
      writable: true,
      configurable: true,
    })
  }
  return encodeBase64url(JSON.stringify(header))
}

function freshClaim(fresh: CreateTokenOptions['fresh'], now: number): boolean | number {
  if (fresh === undefined || fresh === false) return false
  if (fresh === true) return true
  if (fresh instanceof Date) return Math.floor(fresh.getTime() / 1000)
  return Math.floor((now + durationMs(fresh, 'fresh')) / 1000)
}
