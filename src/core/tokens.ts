import { isAscii } from 'node:buffer'
import { randomUUID } from 'node:crypto'
import {
  TokenExpiredError,
  TokenInvalidError,
  TokenNotYetValidError,
  WrongTokenTypeError,
} from '../errors.js'
import { type Awaitable, isThenable } from '../internal/awaitable.js'
import { decodeBase64url, encodeBase64url } from '../internal/base64url.js'
import { type Duration, durationMs } from '../internal/duration.js'
import { familyOf, isAlgorithm, signBytes, verifyBytes, verifyHmacText } from './algorithms.js'
import type { ResolvedConfig } from './config.js'
import { newCsrfValue } from './csrf.js'
import { type KeyConfig, type KeySet, type LoadedKey, loadKey } from './keys.js'
import type { DecodedToken, TokenClaims, TokenHeader, TokenType } from './types.js'

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
}

/** A signed token with the facts a caller needs without decoding it again. */
export interface IssuedToken<Claims extends object = Record<string, unknown>> {
  token: string
  claims: TokenClaims<Claims>
  /** `exp` in epoch milliseconds, or undefined for a non-expiring token. */
  expiresAt: number | undefined
}

/** Options of `decodeToken`. */
export interface DecodeOptions {
  /** Require this token type. Default: either. */
  type?: TokenType
  /** Return an expired token's claims instead of throwing (for logout of an expired session). */
  allowExpired?: boolean
}

/** The parts of an auth object the token functions need. Internal. */
export interface TokenState {
  config: ResolvedConfig
  keys: KeySet
  resolveKey: ((header: TokenHeader) => Awaitable<KeyConfig | undefined>) | undefined
  additionalClaims: ((subject: unknown) => Record<string, unknown>) | undefined
  identify: ((user: never) => string | number) | undefined
  /** Verified-token cache, or undefined when disabled. */
  cache: VerifiedTokenCache | undefined
}

const RESERVED_CLAIMS = new Set([
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
])
const RESERVED_HEADERS = new Set(['alg', 'kid', 'typ', 'crit', 'b64'])

/** Turns a user object or an identity into the identity string stored in the token. */
export function identityOf(state: TokenState, subject: unknown): string {
  let id: unknown = subject
  if (subject !== null && typeof subject === 'object') {
    if (!state.identify) {
      throw new TypeError(
        'latchkey: got a user object but no identify(user) option to turn it into an identity',
      )
    }
    id = (state.identify as (u: unknown) => unknown)(subject)
  }
  if (typeof id === 'number' && Number.isFinite(id)) id = String(id)
  if (typeof id !== 'string' || id.length === 0) {
    throw new TypeError('latchkey: the identity must be a non-empty string or a finite number')
  }
  return id
}

function copyClaims(
  target: Record<string, unknown>,
  extra: Record<string, unknown> | undefined,
  identityClaim: string,
  where: string,
): void {
  if (!extra) return
  if (typeof extra !== 'object' || Array.isArray(extra))
    throw new TypeError(`latchkey: ${where} must be an object`)
  for (const key of Object.keys(extra)) {
    if (RESERVED_CLAIMS.has(key) || key === identityClaim) {
      throw new TypeError(`latchkey: ${where} may not set the reserved claim "${key}"`)
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

const headerSegments = new WeakMap<LoadedKey, string>()

function headerSegment(key: LoadedKey, extra: Record<string, unknown> | undefined): string {
  if (!extra || Object.keys(extra).length === 0) {
    let seg = headerSegments.get(key)
    if (seg === undefined) {
      seg = encodeBase64url(
        JSON.stringify(
          key.kid === undefined
            ? { alg: key.algorithm, typ: 'JWT' }
            : { alg: key.algorithm, typ: 'JWT', kid: key.kid },
        ),
      )
      headerSegments.set(key, seg)
    }
    return seg
  }
  const header: Record<string, unknown> = { alg: key.algorithm, typ: 'JWT' }
  if (key.kid !== undefined) header.kid = key.kid
  for (const name of Object.keys(extra)) {
    if (RESERVED_HEADERS.has(name))
      throw new TypeError(`latchkey: the header parameter "${name}" is reserved`)
    Object.defineProperty(header, name, {
      value: extra[name],
      enumerable: true,
      writable: true,
      configurable: true,
    })
  }
  return encodeBase64url(JSON.stringify(header))
}

/** Creates and signs one token. The identity may be a user (through `identify`) or a string/number. */
export function createToken<Claims extends object>(
  state: TokenState,
  type: TokenType,
  subject: unknown,
  options: CreateTokenOptions = {},
): IssuedToken<Claims> {
  const { config } = state
  const key = state.keys.signing
  if (!key) throw new TypeError('latchkey: no key can sign (every configured key is verify-only or public)')
  const sub = identityOf(state, subject)
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
    throw new TypeError('latchkey: a token without expiry needs allowNonExpiring: true')
  }
  const claims: Record<string, unknown> = {}
  if (state.additionalClaims)
    copyClaims(claims, state.additionalClaims(subject), config.identityClaim, 'additionalClaims')
  copyClaims(claims, options.claims, config.identityClaim, 'claims')
  claims[config.identityClaim] = sub
  if (config.identityClaim !== 'sub') claims.sub = sub
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
  // With cookies as a location every token carries a CSRF value (as in Flask-JWT-Extended), so a token
  // an app sets as a cookie itself still passes the double-submit check; its value is `claims.csrf`.
  if (options.csrf !== undefined) claims.csrf = options.csrf
  else if (config.csrf.enabled) claims.csrf = newCsrfValue()
  if (options.family !== undefined) claims.fam = options.family
  if (config.audience) claims.aud = config.audience.length === 1 ? config.audience[0] : [...config.audience]
  if (config.issuer) claims.iss = config.issuer[0]
  const input = `${headerSegment(key, options.headers)}.${encodeBase64url(JSON.stringify(claims))}`
  const token = `${input}.${signBytes(key.algorithm, key.signKey!, input).toString('base64url')}`
  return { token, claims: claims as unknown as TokenClaims<Claims>, expiresAt }
}

function freshClaim(fresh: CreateTokenOptions['fresh'], now: number): boolean | number {
  if (fresh === undefined || fresh === false) return false
  if (fresh === true) return true
  if (fresh instanceof Date) return Math.floor(fresh.getTime() / 1000)
  return Math.floor((now + durationMs(fresh, 'fresh')) / 1000)
}

const invalid = (why: string): TokenInvalidError => new TokenInvalidError(`Invalid token: ${why}`)

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

// Most tokens of one app share a handful of header segments; parsing each once saves a JSON.parse.
const headerCache = new Map<string, TokenHeader>()
const HEADER_CACHE_MAX = 64

function parseSegment(segment: string, what: string): Record<string, unknown> {
  const bytes = decodeBase64url(segment)
  if (!bytes) throw invalid(`${what} is not canonical base64url`)
  let value: unknown
  let text: string
  try {
    // Fatal decoding: invalid UTF-8 is refused (as jose does), never replaced with U+FFFD, so two
    // different byte strings can never decode to the same claims.
    // ASCII (nearly every token) is valid UTF-8 as it stands: skip the slower strict decoder.
    text = isAscii(bytes) ? bytes.toString('latin1') : strictUtf8.decode(bytes)
    value = JSON.parse(text)
  } catch {
    throw invalid(`${what} is not UTF-8 JSON`)
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw invalid(`${what} is not a JSON object`)
  // Frozen, nested values too: a cached token's claims are shared by every request that presents it,
  // so one request pushing to `claims.roles` must not change what the next one sees. Most payloads
  // hold no nested object or array (no `{` or `[` after the first character): freeze just the top.
  if (text.indexOf('{', 1) < 0 && text.indexOf('[') < 0) Object.freeze(value)
  else deepFreeze(value)
  return value as Record<string, unknown>
}

// The header segment of the last token: most tokens repeat it, and comparing it in place costs
// less than slicing it out and hashing it for the cache.
let lastSegment = ''
let lastHeader: TokenHeader | undefined

/** The checked header of `token`, whose first dot is at `dot1`. */
function headerOf(token: string, dot1: number): TokenHeader {
  if (lastHeader !== undefined && dot1 === lastSegment.length && token.startsWith(lastSegment))
    return lastHeader
  const segment = token.slice(0, dot1)
  const header = cachedHeader(segment)
  lastSegment = segment
  lastHeader = header
  return header
}

function cachedHeader(segment: string): TokenHeader {
  const cached = headerCache.get(segment)
  if (cached) return cached
  const header = parseSegment(segment, 'header')
  if (!isAlgorithm(header.alg)) throw invalid('algorithm not allowed')
  // RFC 7515 §4.1.11: we understand no extension, so any `crit` means refuse.
  if (header.crit !== undefined) throw invalid('unsupported critical header parameters')
  if (header.kid !== undefined && typeof header.kid !== 'string') throw invalid('kid must be a string')
  if (headerCache.size >= HEADER_CACHE_MAX) headerCache.delete(headerCache.keys().next().value!)
  headerCache.set(segment, header as TokenHeader)
  return header as TokenHeader
}

const resolvedKeys = new WeakMap<KeyConfig, LoadedKey>()

// The header is attacker-controlled: a resolver that throws or rejects on an odd kid, or hands back a
// key that does not load, is a refused token (401), never a 500.
const noKey = (err: unknown): TokenInvalidError =>
  Object.assign(invalid('no key for this token'), { cause: err })

function unknownKey(header: TokenHeader): TokenInvalidError {
  return header.kid !== undefined ? invalid('unknown key id or algorithm') : invalid('algorithm not allowed')
}

/**
 * The key that verifies a token: a configured one, else the resolver's. A promise only when the
 * resolver answers with one (keys fetched from elsewhere); the configured keys never wait.
 */
function keyFor(state: TokenState, header: TokenHeader, mayWait: boolean): Awaitable<LoadedKey> {
  const key = state.keys.select(header.alg, header.kid)
  if (key) return key
  if (!state.resolveKey) throw unknownKey(header)
  let answer: Awaitable<KeyConfig | undefined>
  let waits: boolean
  try {
    answer = state.resolveKey(header)
    waits = isThenable(answer) // inside the try: even a `then` getter that throws is the resolver's
  } catch (err) {
    throw noKey(err)
  }
  if (!waits) return resolvedKey(state, header, answer as KeyConfig | undefined)
  if (!mayWait) {
    // Nobody waits for it: keep its eventual rejection from surfacing as an unhandled one.
    Promise.resolve(answer).then(undefined, () => {})
    throw new TypeError(
      'latchkey: resolveKey answered with a promise, and decodeToken is synchronous: use auth.verifyToken(token) or a guard',
    )
  }
  // From here on every value that may wait is a native promise of ours: `instanceof Promise` tells,
  // which stays cheap where a `then` lookup on many object shapes would not.
  return Promise.resolve(answer).then(
    (cfg) => resolvedKey(state, header, cfg),
    (err: unknown) => {
      throw noKey(err)
    },
  )
}

function resolvedKey(state: TokenState, header: TokenHeader, cfg: KeyConfig | undefined): LoadedKey {
  let loaded: LoadedKey | undefined
  if (cfg) {
    // Loaded once per object the resolver returns: a resolver that keeps its objects pays nothing.
    loaded = resolvedKeys.get(cfg)
    if (!loaded) {
      try {
        loaded = loadKey(cfg, 'resolveKey')
      } catch (err) {
        throw noKey(err)
      }
      resolvedKeys.set(cfg, loaded)
    }
  }
  // Same family rule as the configured keys: no HS key for an asymmetric verifier unless allowed.
  if (loaded && loaded.algorithm === header.alg && state.keys.allows(loaded.algorithm)) return loaded
  throw unknownKey(header)
}

const NO_DECODE_OPTIONS: DecodeOptions = Object.freeze({})

const isNumericDate = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v)

/**
 * A cheap fingerprint of a token: FNV-1a of its last 8 characters (the signature's tail). Only a
 * hint for the admission filter; the cache itself is keyed by the exact text.
 */
function fingerprint(token: string): number {
  let h = 0x811c9dc5
  for (let i = Math.max(0, token.length - 8); i < token.length; i++) {
    h = Math.imul(h ^ token.charCodeAt(i), 0x01000193)
  }
  return h | 0
}

/**
 * Verified tokens, by their exact text: a repeated token skips signature and parsing, never the rest.
 *
 * A token is cached the second time it is verified, not the first: a small filter remembers the
 * fingerprints of tokens verified once. A stream of one-off tokens (many users, one request each)
 * then costs no map traffic and keeps nothing alive for the garbage collector to promote and sweep,
 * which on such traffic made the cache slower than no cache at all. A fingerprint collision only
 * makes a token cached one verification earlier or later; a hit always needs the exact text.
 */
export class VerifiedTokenCache {
  private readonly entries = new Map<string, DecodedToken<object>>()
  /** Fingerprints of tokens verified once, one per slot: about as many as the cache holds. */
  private readonly seen: Int32Array
  private readonly mask: number
  constructor(readonly max: number) {
    let slots = 16
    while (slots < max) slots *= 2
    this.seen = new Int32Array(slots)
    this.mask = slots - 1
  }
  /** The cached verification of `token`, whose fingerprint is `fp`. */
  get(token: string, fp: number): DecodedToken<object> | undefined {
    // Not verified lately (as far as the filter knows): skip hashing the whole text.
    if (this.seen[fp & this.mask] !== fp) return undefined
    return this.entries.get(token)
  }
  set(token: string, fp: number, decoded: DecodedToken<object>): void {
    const slot = fp & this.mask
    if (this.seen[slot] !== fp) {
      this.seen[slot] = fp
      return
    }
    if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value!)
    this.entries.set(token, decoded)
  }
}

function checkTime(
  config: ResolvedConfig,
  claims: Record<string, unknown>,
  options: DecodeOptions,
  now: number,
): void {
  const exp = claims.exp as number | undefined
  if (exp !== undefined && exp * 1000 <= now - config.leewayMs && !options.allowExpired) {
    throw new TokenExpiredError(exp * 1000)
  }
  const nbf = claims.nbf as number | undefined
  if (nbf !== undefined && nbf * 1000 > now + config.leewayMs) throw new TokenNotYetValidError()
}

/**
 * Verifies a compact JWS and its claims; returns typed header and claims or throws an AuthError.
 * Check order: shape, header, key, signature, payload, exp, nbf, the other claims, type. A token
 * verified before is found in the cache by its exact text; its time claims are checked again.
 */
export function decodeToken<Claims extends object>(
  state: TokenState,
  token: unknown,
  options: DecodeOptions = NO_DECODE_OPTIONS,
  now: number = state.config.clock(),
): DecodedToken<Claims> {
  // Never a promise: a key that must be awaited throws a TypeError in keyFor, before anything starts.
  return decodeTokenAwaitable<Claims>(state, token, options, now, false) as DecodedToken<Claims>
}

/**
 * `decodeToken` for the guard and `auth.verifyToken`: the decoded token, or a promise of it when the
 * key had to come from an asynchronous `resolveKey`.
 */
export function decodeTokenAwaitable<Claims extends object>(
  state: TokenState,
  token: unknown,
  options: DecodeOptions = NO_DECODE_OPTIONS,
  now: number = state.config.clock(),
  mayWait = true,
): Awaitable<DecodedToken<Claims>> {
  const { config, cache } = state
  if (typeof token !== 'string' || token.length === 0) throw invalid('not a string')
  if (token.length > config.maxTokenLength) throw invalid('too long')
  if (!cache) {
    const verified = verifyToken(state, token, options, now, mayWait)
    return verified instanceof Promise
      ? verified.then((d) => checkType<Claims>(d, options))
      : checkType(verified as DecodedToken<object>, options)
  }
  const fp = fingerprint(token)
  const cached = cache.get(token, fp)
  if (cached) {
    checkTime(config, cached.claims as unknown as Record<string, unknown>, options, now)
    return checkType(cached, options)
  }
  const verified = verifyToken(state, token, options, now, mayWait)
  if (!(verified instanceof Promise)) {
    cache.set(token, fp, verified as DecodedToken<object>)
    return checkType(verified as DecodedToken<object>, options)
  }
  return verified.then((d: DecodedToken<object>) => {
    cache.set(token, fp, d)
    return checkType<Claims>(d, options)
  })
}

function checkType<Claims extends object>(
  decoded: DecodedToken<object>,
  options: DecodeOptions,
): DecodedToken<Claims> {
  if (options.type && decoded.claims.type !== options.type) throw new WrongTokenTypeError(options.type)
  return decoded as DecodedToken<Claims>
}

function verifyToken(
  state: TokenState,
  token: string,
  options: DecodeOptions,
  now: number,
  mayWait: boolean,
): Awaitable<DecodedToken<object>> {
  const dot1 = token.indexOf('.')
  const dot2 = dot1 < 0 ? -1 : token.indexOf('.', dot1 + 1)
  if (dot2 < 0 || token.indexOf('.', dot2 + 1) >= 0) throw invalid('expected three dot-separated segments')
  const header = headerOf(token, dot1)
  const key = keyFor(state, header, mayWait)
  if (!(key instanceof Promise))
    return verifyWith(state, token, dot1, dot2, header, key as LoadedKey, options, now)
  return key.then((k: LoadedKey) => verifyWith(state, token, dot1, dot2, header, k, options, now))
}

/** Signature, payload and claims, once the key is known. */
function verifyWith(
  state: TokenState,
  token: string,
  dot1: number,
  dot2: number,
  header: TokenHeader,
  key: LoadedKey,
  options: DecodeOptions,
  now: number,
): DecodedToken<object> {
  const { config } = state
  const signatureText = token.slice(dot2 + 1)
  if (familyOf(key.algorithm) === 'HS') {
    // Compared as text: only the canonical spelling of the right MAC matches (see verifyHmacText).
    if (!verifyHmacText(key.algorithm, key.verifyKey, token.slice(0, dot2), signatureText)) {
      const bytes = decodeBase64url(signatureText)
      throw invalid(!bytes || bytes.length === 0 ? 'bad signature encoding' : 'signature verification failed')
    }
  } else {
    const signature = decodeBase64url(signatureText)
    if (!signature || signature.length === 0) throw invalid('bad signature encoding')
    if (!verifyBytes(key.algorithm, key.verifyKey, token.slice(0, dot2), signature))
      throw invalid('signature verification failed')
  }
  const claims = parseSegment(token.slice(dot1 + 1, dot2), 'payload')

  const { exp, nbf } = claims
  if (exp === undefined) {
    if (!config.allowNonExpiring) throw invalid('missing exp')
  } else if (!isNumericDate(exp)) throw invalid('exp must be a number')
  if (nbf !== undefined && !isNumericDate(nbf)) throw invalid('nbf must be a number')
  checkTime(config, claims, options, now)
  if (claims.iat !== undefined && !isNumericDate(claims.iat)) throw invalid('iat must be a number')
  if (claims.iat_ms !== undefined && !isNumericDate(claims.iat_ms)) throw invalid('iat_ms must be a number')
  const sub = claims[config.identityClaim]
  if (typeof sub !== 'string' || sub.length === 0)
    throw invalid(`${config.identityClaim} must be a non-empty string`)
  if (typeof claims.jti !== 'string' || claims.jti.length === 0)
    throw invalid('jti must be a non-empty string')
  if (claims.type !== 'access' && claims.type !== 'refresh') throw invalid('missing or unknown token type')
  checkAudience(claims.aud, config.audience)
  if (config.issuer && (typeof claims.iss !== 'string' || !config.issuer.includes(claims.iss)))
    throw invalid('issuer not accepted')
  if (claims.iss !== undefined && typeof claims.iss !== 'string') throw invalid('iss must be a string')
  const { fresh } = claims
  if (fresh !== undefined && typeof fresh !== 'boolean' && !isNumericDate(fresh))
    throw invalid('fresh must be a boolean or a number')
  if (claims.csrf !== undefined && typeof claims.csrf !== 'string') throw invalid('csrf must be a string')
  if (claims.fam !== undefined && typeof claims.fam !== 'string') throw invalid('fam must be a string')
  return { header, claims: claims as unknown as TokenClaims<object> }
}

/** Freezes a parsed JSON value and every object and array in it (iteratively: nesting can be deep). */
function deepFreeze<T extends object>(value: T): T {
  const stack: object[] = [value]
  for (let v = stack.pop(); v !== undefined; v = stack.pop()) {
    Object.freeze(v)
    for (const key of Object.keys(v)) {
      const child = (v as Record<string, unknown>)[key]
      if (child !== null && typeof child === 'object' && !Object.isFrozen(child)) stack.push(child)
    }
  }
  return value
}

function checkAudience(aud: unknown, expected: readonly string[] | undefined): void {
  if (aud === undefined) {
    if (expected) throw invalid('missing audience')
    return
  }
  // RFC 7519 §4.1.3: a token meant for an audience is refused by a verifier that is not configured with it.
  if (!expected) throw invalid('audience not accepted')
  if (typeof aud === 'string') {
    if (!expected.includes(aud)) throw invalid('audience not accepted')
    return
  }
  if (!Array.isArray(aud) || aud.length === 0 || aud.some((a) => typeof a !== 'string'))
    throw invalid('aud must be a string or a list of strings')
  if (!aud.some((a) => expected.includes(a))) throw invalid('audience not accepted')
}

/** True when an access token's claims say it is fresh at `now` (ms). Refresh tokens are never fresh. */
export function isFresh(claims: { type: TokenType; fresh?: boolean | number }, now: number): boolean {
  if (claims.type !== 'access') return false
  return claims.fresh === true || (typeof claims.fresh === 'number' && now < claims.fresh * 1000)
}
