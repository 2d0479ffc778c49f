/**
 * Trusted issuers: identity providers whose access tokens an API accepts next to (or instead of) its
 * own. The token's `iss` chooses the issuer before any key is looked up, so a token of an unknown
 * issuer is refused without network traffic; each issuer has its own audience, algorithms, leeway and
 * claim profile (RFC 9068, or "generic" for providers that do not follow it). Keys come from an
 * {@link IssuerKeySource}: configured keys here, a remote JWKS from `latchkey/issuers`. Once a key is
 * at hand, verification is the same synchronous code as for the app's own tokens.
 */
import { createHash } from 'node:crypto'
import {
  AuthError,
  ConfigError,
  IssuerUnavailableError,
  TokenExpiredError,
  TokenNotYetValidError,
  WrongTokenTypeError,
} from '../errors.js'
import { adopt, type MaybePromise } from '../internal/awaitable.js'
import { type Duration, durationMs } from '../internal/duration.js'
import type { TokenRef } from '../stores/store.js'
import { ALGORITHMS, type Algorithm, familyOf, isAlgorithm } from './algorithms.js'
import type { AuthConfig } from './config.js'
import { type CompactJws, invalid } from './jws.js'
import { type KeyConfig, KeySet, type LoadedKey } from './keys.js'
import { type ScopeClaim, type ScopePath, scopePaths, scopesOf } from './scopes.js'
import type { DecodedToken, TokenClaims, TokenHeader } from './types.js'
import { fingerprint, VerifiedTokenCache } from './verified-cache.js'
import { checkSignature, type VerifyDeps, type VerifyOptions } from './verify.js'

/**
 * Where a trusted issuer's keys come from. `key` answers synchronously when the key is at hand (the
 * fast path: no promise), with a promise when it must be fetched first, and with undefined when the
 * issuer has no key for this header. It throws (or rejects) when the keys cannot be had at all:
 * the request is then refused with ISSUER_UNAVAILABLE (503), never as an invalid token.
 * `latchkey/issuers` implements it over a remote JWKS (`oidcIssuer`, `RemoteKeySet`).
 */
export interface IssuerKeySource {
  key(header: TokenHeader): LoadedKey | undefined | PromiseLike<LoadedKey | undefined>
}

/**
 * `rfc9068`: the JWT profile for OAuth 2.0 access tokens (header `typ` `at+jwt`; `iss`, `exp`,
 * `aud`, `sub`, `client_id`, `iat` and `jti` required). `generic`: providers that do not follow it
 * (Auth0, Entra ID, Keycloak, Cognito, Google): any `typ`, and `exp`, `aud` and the identity claim
 * required.
 */
export type IssuerProfile = 'rfc9068' | 'generic'

/** One trusted identity provider (an entry of the `issuers` option of `createAuth`). */
export interface IssuerOptions {
  /** The provider's issuer identifier, exactly as its tokens' `iss` spell it (a trailing `/` matters). */
  issuer: string
  /**
   * This API's identifier(s) at the provider: a token's `aud` must hold one. Required: a token the
   * provider issued for another API must never pass here.
   */
  audience: string | readonly string[]
  /** Default `'rfc9068'`. */
  profile?: IssuerProfile
  /** Accepted algorithms. Default: every asymmetric one (RS, PS, ES, EdDSA); HS needs `keys` with a secret. */
  algorithms?: readonly Algorithm[]
  /** Clock tolerance for this issuer's `exp` and `nbf`. Default: the auth object's `leeway`. */
  leeway?: Duration
  /** Claim holding the identity handed to `loadUser`. Default `'sub'`. */
  identityClaim?: string
  /**
   * Claim holding the audience. Default `'aud'`; Cognito's access tokens have none and name their app
   * client in `client_id` instead.
   */
  audienceClaim?: string
  /** Claims that must hold exactly these values (Cognito: `{ token_use: 'access' }`). */
  requireClaims?: Readonly<Record<string, string | number | boolean>>
  /**
   * Claims that hold the token's scopes, merged into `context.scopes`: names (`'scope'`), dotted paths
   * (`'realm_access.roles'`) or lists of names. Each holds space-separated text or a list of strings.
   * Default `['scope']` (rfc9068) or `['scope', 'scp']` (generic).
   */
  scopeClaims?: readonly ScopeClaim[]
  /** The provider's keys, when they are configured rather than fetched. */
  keys?: KeyConfig | readonly KeyConfig[]
  /** Where the keys come from otherwise (set by `oidcIssuer` of `latchkey/issuers`). */
  keySource?: IssuerKeySource
}

/** A trusted issuer, checked and resolved. */
export interface TrustedIssuer {
  readonly issuer: string
  readonly audience: readonly string[]
  readonly profile: IssuerProfile
  readonly algorithms: ReadonlySet<Algorithm>
  readonly leewayMs: number
  readonly identityClaim: string
  readonly audienceClaim: string
  readonly requireClaims: readonly (readonly [string, string | number | boolean])[]
  readonly scopePaths: readonly ScopePath[]
  readonly keys: IssuerKeySource
}

/**
 * Whose tokens a guard accepts: `'self'` (the app's own), `'issuers'` (any trusted identity
 * provider), `'any'` (default), or a list of issuer URLs and/or `'self'`.
 */
export type TokenSources = 'any' | 'self' | 'issuers' | readonly string[]

/** The trusted issuers of one auth object, and the caches their tokens share. */
export interface IssuerRegistry {
  readonly byIssuer: ReadonlyMap<string, TrustedIssuer>
  /** Whether the app's own tokens can be verified at all (keys, or `resolveKey`). */
  readonly firstParty: boolean
  /** Verified tokens of trusted issuers, by their exact text. */
  readonly cache: VerifiedTokenCache | undefined
  /** The key each cached token was verified with: a hit counts only while its issuer still has that key. */
  readonly verifiedWith: WeakMap<object, LoadedKey>
  /** Scopes and revocation references, once per verified claims object. */
  readonly scopes: WeakMap<object, readonly string[]>
  readonly refs: WeakMap<object, TokenRef>
}

const ASYMMETRIC: readonly Algorithm[] = ALGORITHMS.filter((a) => familyOf(a) !== 'HS')
const PROFILES: ReadonlySet<string> = new Set(['rfc9068', 'generic'])
const KNOWN: ReadonlySet<string> = new Set([
  'issuer',
  'audience',
  'profile',
  'algorithms',
  'leeway',
  'identityClaim',
  'audienceClaim',
  'requireClaims',
  'scopeClaims',
  'keys',
  'keySource',
])

/** A static key set as a key source: always synchronous. */
function configuredKeys(configs: KeyConfig | readonly KeyConfig[], where: string): IssuerKeySource {
  let set: KeySet
  try {
    set = new KeySet(configs as KeyConfig[], { allowMixedAlgorithms: false })
  } catch (err) {
    throw new ConfigError(`${where}.keys: ${(err as Error).message}`, { cause: err })
  }
  return { key: (header) => set.select(header.alg, header.kid) }
}

function resolveIssuer(options: IssuerOptions, where: string, defaultLeewayMs: number): TrustedIssuer {
  if (!options || typeof options !== 'object') throw new ConfigError(`${where} must be an object`)
  for (const key of Object.keys(options))
    if (!KNOWN.has(key))
      throw new ConfigError(`${where}: unknown option "${key}" (known: ${[...KNOWN].join(', ')})`)
  const { issuer } = options
  if (typeof issuer !== 'string' || issuer === '' || /\s/.test(issuer))
    throw new ConfigError(`${where}.issuer must be the provider's issuer identifier (a URL, no spaces)`)
  const audience = Array.isArray(options.audience) ? options.audience : [options.audience]
  if (audience.length === 0 || audience.some((a) => typeof a !== 'string' || a === ''))
    throw new ConfigError(
      `${where}.audience is required: this API's identifier at the provider (tokens for other APIs must not pass)`,
    )
  const profile = options.profile ?? 'rfc9068'
  if (!PROFILES.has(profile)) throw new ConfigError(`${where}.profile must be 'rfc9068' or 'generic'`)
  const hasKeys = options.keys !== undefined
  if (hasKeys === (options.keySource !== undefined))
    throw new ConfigError(
      `${where}: give keys (configured keys) or keySource (a remote JWKS: oidcIssuer from latchkey/issuers), exactly one`,
    )
  if (options.keySource !== undefined && typeof options.keySource?.key !== 'function')
    throw new ConfigError(`${where}.keySource must have a key(header) method`)
  const keys = hasKeys ? configuredKeys(options.keys!, where) : options.keySource!
  const algorithms = options.algorithms ?? ASYMMETRIC
  if (!Array.isArray(algorithms) || algorithms.length === 0 || !algorithms.every(isAlgorithm))
    throw new ConfigError(`${where}.algorithms must be a non-empty list of ${ALGORITHMS.join(', ')}`)
  if (!hasKeys && algorithms.some((a) => familyOf(a) === 'HS'))
    throw new ConfigError(
      `${where}.algorithms: HS algorithms need configured keys (a shared secret is never fetched)`,
    )
  const identityClaim = options.identityClaim ?? 'sub'
  if (typeof identityClaim !== 'string' || identityClaim === '')
    throw new ConfigError(`${where}.identityClaim must be a non-empty string`)
  const audienceClaim = options.audienceClaim ?? 'aud'
  if (typeof audienceClaim !== 'string' || audienceClaim === '')
    throw new ConfigError(`${where}.audienceClaim must be a non-empty string`)
  const required = options.requireClaims ?? {}
  if (typeof required !== 'object' || required === null || Array.isArray(required))
    throw new ConfigError(`${where}.requireClaims must be an object of claim names and values`)
  const requireClaims = Object.entries(required)
  for (const [name, value] of requireClaims)
    if (!['string', 'number', 'boolean'].includes(typeof value))
      throw new ConfigError(`${where}.requireClaims.${name} must be a string, a number or a boolean`)
  const leewayMs =
    options.leeway === undefined ? defaultLeewayMs : durationMs(options.leeway, `${where}.leeway`)
  if (leewayMs > 300_000) throw new ConfigError(`${where}.leeway is more than 5 minutes`)
  const claims = options.scopeClaims ?? (profile === 'rfc9068' ? ['scope'] : ['scope', 'scp'])
  return Object.freeze({
    issuer,
    audience: Object.freeze([...audience]),
    profile,
    algorithms: new Set(algorithms),
    leewayMs,
    identityClaim,
    audienceClaim,
    requireClaims: Object.freeze(requireClaims),
    scopePaths: scopePaths(claims, `${where}.scopeClaims`),
    keys,
  })
}

/** Checks the `issuers` option and builds the registry, or undefined when there are none. */
export function createIssuerRegistry(
  options: readonly IssuerOptions[] | undefined,
  config: AuthConfig,
  firstParty: boolean,
): IssuerRegistry | undefined {
  if (options === undefined) return undefined
  if (!Array.isArray(options)) throw new ConfigError('issuers must be a list of trusted issuers')
  if (options.length === 0) return undefined
  const byIssuer = new Map<string, TrustedIssuer>()
  options.forEach((o, i) => {
    const trusted = resolveIssuer(o, `issuers[${i}]`, config.leewayMs)
    if (byIssuer.has(trusted.issuer)) throw new ConfigError(`issuers: "${trusted.issuer}" is listed twice`)
    if (config.issuer?.includes(trusted.issuer))
      throw new ConfigError(
        `issuers: "${trusted.issuer}" is also the app's own issuer (option issuer); a token's iss must say whose keys verify it`,
      )
    byIssuer.set(trusted.issuer, trusted)
  })
  return {
    byIssuer,
    firstParty,
    cache: config.verifiedTokenCache ? new VerifiedTokenCache(config.verifiedTokenCache) : undefined,
    verifiedWith: new WeakMap(),
    scopes: new WeakMap(),
    refs: new WeakMap(),
  }
}

/** Whether `accept` lets the app's own tokens through. */
export function acceptsSelf(accept: TokenSources): boolean {
  if (accept === 'any' || accept === 'self') return true
  if (accept === 'issuers') return false
  return accept.includes('self')
}

function acceptsIssuer(accept: TokenSources | undefined, issuer: string): boolean {
  if (accept === undefined || accept === 'any' || accept === 'issuers') return true
  if (accept === 'self') return false
  return accept.includes(issuer)
}

/**
 * The trusted issuer a token's `iss` names, or undefined for the app's own tokens (no `iss`, or the
 * app's configured one). Any other `iss` is refused here, before any key is looked up or fetched.
 */
export function routeToken(
  deps: VerifyDeps,
  payload: Record<string, unknown>,
  options: VerifyOptions,
): TrustedIssuer | undefined {
  const registry = deps.issuers!
  const { iss } = payload
  if (typeof iss === 'string') {
    const trusted = registry.byIssuer.get(iss)
    if (trusted !== undefined) {
      if (!acceptsIssuer(options.accept, iss)) throw invalid('issuer not accepted')
      return trusted
    }
  }
  if (!registry.firstParty || (iss !== undefined && !deps.config.issuer?.includes(iss as string)))
    throw invalid('issuer not accepted')
  return undefined
}

const isNumericDate = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v)

/** RFC 9068 §2.1 / §4: `at+jwt`, or its media type `application/at+jwt`, compared case-insensitively. */
function isAccessTokenType(typ: unknown): boolean {
  if (typeof typ !== 'string') return false
  const t = typ.toLowerCase()
  return t === 'at+jwt' || t === 'application/at+jwt'
}

/**
 * An identity provider's token, once routed to its issuer: algorithm and `typ`, the key (waiting only
 * when it must be fetched), signature, claims. The result enters the issuers' verified-token cache.
 */
export function verifyIssued(
  deps: VerifyDeps,
  trusted: TrustedIssuer,
  jws: CompactJws,
  payload: Record<string, unknown>,
  options: VerifyOptions,
  now: number,
  mayWait: boolean,
): MaybePromise<DecodedToken<object>> {
  const registry = deps.issuers!
  const { header } = jws
  if (!trusted.algorithms.has(header.alg)) throw invalid('algorithm not allowed')
  if (trusted.profile === 'rfc9068' ? !isAccessTokenType(header.typ) : isProofType(header.typ))
    throw invalid('typ must be at+jwt (RFC 9068 access token)')
  let key: MaybePromise<LoadedKey | undefined>
  try {
    key = adopt(trusted.keys.key(header))
  } catch (err) {
    return unavailable(trusted, err)
  }
  const fp = registry.cache ? fingerprint(jws.token) : 0
  const finish = (loaded: LoadedKey | undefined): DecodedToken<object> => {
    if (loaded === undefined || loaded.algorithm !== header.alg)
      throw invalid(header.kid !== undefined ? 'unknown key id or algorithm' : 'no key for this token')
    checkSignature(loaded, jws)
    checkIssuedClaims(registry, trusted, payload, options, now)
    const decoded: DecodedToken<object> = {
      header,
      claims: payload as unknown as TokenClaims<object>,
      issuer: trusted.issuer,
    }
    registry.verifiedWith.set(decoded, loaded)
    registry.cache?.set(jws.token, fp, decoded)
    return checkIssuedType(decoded, options)
  }
  if (!(key instanceof Promise)) return finish(key)
  if (!mayWait) {
    key.then(undefined, () => {})
    throw new ConfigError(
      `latchkey: the keys of ${trusted.issuer} are not loaded yet, and verifyTokenSync is synchronous: use auth.verifyToken(token) or a guard`,
    )
  }
  return key.then(finish, (err: unknown) => unavailable(trusted, err))
}

/**
 * A provider's token verified before, found by its exact text: its time claims and type are checked
 * again, and it counts only while its issuer still has the key it was verified with (a provider's
 * keys change; a token whose key has left the set must stop passing). Undefined when not cached, or
 * when the key must be fetched again (the full path then waits for it).
 */
export function cachedIssued(
  deps: VerifyDeps,
  jws: CompactJws,
  options: VerifyOptions,
  now: number,
): DecodedToken<object> | undefined {
  const registry = deps.issuers!
  const cached = registry.cache?.get(jws.token, fingerprint(jws.token))
  if (cached === undefined) return undefined
  const trusted = registry.byIssuer.get(cached.issuer!)!
  if (!acceptsIssuer(options.accept, trusted.issuer)) throw invalid('issuer not accepted')
  let key: LoadedKey | undefined | PromiseLike<LoadedKey | undefined>
  try {
    key = trusted.keys.key(jws.header)
  } catch (err) {
    return unavailable(trusted, err)
  }
  if (key === undefined || key !== registry.verifiedWith.get(cached)) {
    // A key being fetched: the full path asks again and waits; this answer is nobody's.
    if (key !== undefined && typeof (key as PromiseLike<unknown>).then === 'function')
      Promise.resolve(key).catch(() => {})
    return undefined
  }
  checkTime(trusted, cached.claims as unknown as Record<string, unknown>, options, now)
  return checkIssuedType(cached, options)
}

function isProofType(typ: unknown): boolean {
  return typeof typ === 'string' && typ.toLowerCase() === 'dpop+jwt'
}

/** A key source that failed: its own AuthError as it is, anything else as ISSUER_UNAVAILABLE (503). */
function unavailable(trusted: TrustedIssuer, err: unknown): never {
  if (err instanceof AuthError) throw err
  throw new IssuerUnavailableError(trusted.issuer, { cause: err })
}

function checkIssuedType(decoded: DecodedToken<object>, options: VerifyOptions): DecodedToken<object> {
  // A provider's access token is an access token: never a refresh token of this app.
  if (options.type === 'refresh') throw new WrongTokenTypeError('refresh')
  return decoded
}

function checkTime(
  trusted: TrustedIssuer,
  claims: Record<string, unknown>,
  options: VerifyOptions,
  now: number,
): void {
  const exp = claims.exp as number
  if (exp * 1000 <= now - trusted.leewayMs && !options.allowExpired) throw new TokenExpiredError(exp * 1000)
  const nbf = claims.nbf as number | undefined
  if (nbf !== undefined && nbf * 1000 > now + trusted.leewayMs) throw new TokenNotYetValidError()
}

function optionalString(claims: Record<string, unknown>, name: string, required: boolean): void {
  const value = claims[name]
  if (value === undefined) {
    if (required) throw invalid(`missing ${name}`)
  } else if (typeof value !== 'string' || value === '') throw invalid(`${name} must be a non-empty string`)
}

/** The claims of a provider's token, by its issuer's profile. */
function checkIssuedClaims(
  registry: IssuerRegistry,
  trusted: TrustedIssuer,
  claims: Record<string, unknown>,
  options: VerifyOptions,
  now: number,
): void {
  const strict = trusted.profile === 'rfc9068'
  if (claims.exp === undefined) throw invalid('missing exp')
  if (!isNumericDate(claims.exp)) throw invalid('exp must be a number')
  if (claims.nbf !== undefined && !isNumericDate(claims.nbf)) throw invalid('nbf must be a number')
  checkTime(trusted, claims, options, now)
  if (claims.iat === undefined) {
    if (strict) throw invalid('missing iat')
  } else if (!isNumericDate(claims.iat)) throw invalid('iat must be a number')
  const aud = claims[trusted.audienceClaim]
  if (aud === undefined) throw invalid('missing audience')
  if (typeof aud === 'string') {
    if (!trusted.audience.includes(aud)) throw invalid('audience not accepted')
  } else if (!Array.isArray(aud) || aud.length === 0 || aud.some((a) => typeof a !== 'string'))
    throw invalid('aud must be a string or a list of strings')
  else if (!aud.some((a) => trusted.audience.includes(a))) throw invalid('audience not accepted')
  const id = claims[trusted.identityClaim]
  if (typeof id !== 'string' || id === '')
    throw invalid(`${trusted.identityClaim} must be a non-empty string`)
  optionalString(claims, 'sub', strict)
  optionalString(claims, 'client_id', strict)
  optionalString(claims, 'jti', strict)
  for (const [name, value] of trusted.requireClaims)
    if (claims[name] !== value) throw invalid(`${name} not accepted`)
  const { cnf } = claims
  if (cnf !== undefined) {
    if (cnf === null || typeof cnf !== 'object' || Array.isArray(cnf)) throw invalid('cnf must be an object')
    const { jkt } = cnf as Record<string, unknown>
    if (jkt !== undefined && (typeof jkt !== 'string' || jkt === ''))
      throw invalid('cnf.jkt must be a string')
  }
  // Parsed now, so a token whose scope claims have the wrong type is refused as invalid (and once).
  registry.scopes.set(claims, scopesOf(claims, trusted.scopePaths))
}

/** The trusted issuer of a verified provider's token. */
export function trustedIssuerOf(deps: VerifyDeps, decoded: DecodedToken<object>): TrustedIssuer {
  return deps.issuers!.byIssuer.get(decoded.issuer!)!
}

/** The scopes of a verified provider's token (parsed when it was verified). */
export function issuedScopes(
  registry: IssuerRegistry,
  trusted: TrustedIssuer,
  claims: object,
): readonly string[] {
  let scopes = registry.scopes.get(claims)
  if (scopes === undefined) {
    scopes = scopesOf(claims as Record<string, unknown>, trusted.scopePaths)
    registry.scopes.set(claims, scopes)
  }
  return scopes
}

/**
 * What the revocation store is asked about a provider's token. Ids are the issuer's, so they are
 * prefixed with the issuer (`<iss> <jti>`, `<iss> <sub>`): two providers, or a provider and the app,
 * may use the same ones. A token without `jti` is named by the SHA-256 of its payload segment (signed,
 * so it has one spelling; never of the whole text, whose signature may have several). A token without
 * `iat` counts as issued at time 0: any logout-everywhere of its subject revokes it.
 */
export function issuedTokenRef(
  registry: IssuerRegistry,
  trusted: TrustedIssuer,
  claims: Record<string, unknown>,
  token: string,
): TokenRef {
  let ref = registry.refs.get(claims)
  if (ref === undefined) {
    const jti =
      typeof claims.jti === 'string'
        ? claims.jti
        : `sha256:${createHash('sha256')
            .update(token.slice(token.indexOf('.') + 1, token.lastIndexOf('.')))
            .digest('base64url')}`
    const iat = claims.iat as number | undefined
    const exp = claims.exp as number
    ref = Object.freeze({
      jti: `${trusted.issuer} ${jti}`,
      sub: `${trusted.issuer} ${claims[trusted.identityClaim] as string}`,
      family: undefined,
      issuedAt: iat === undefined ? 0 : iat * 1000,
      expiresAt: exp * 1000,
    })
    registry.refs.set(claims, ref)
  }
  return ref
}
