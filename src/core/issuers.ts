/**
 * Trusted issuers: identity providers whose access tokens an API accepts next to (or instead of) its
 * own. The token's `iss` chooses the issuer before any key is looked up, so a token of an unknown
 * issuer is refused without network traffic; each issuer has its own audience, algorithms, leeway and
 * claim profile (RFC 9068, or "generic" for providers that do not follow it). Keys come from an
 * {@link IssuerKeySource}: configured keys here, a remote JWKS from `latchkey/issuers`. Verifying the
 * token once routed: verify-issued.ts.
 */
import { ConfigError } from '../errors.js'
import { type Duration, durationMs } from '../internal/duration.js'
import type { TokenRef } from '../stores/store.js'
import { ALGORITHMS, type Algorithm, familyOf, isAlgorithm } from './algorithms.js'
import type { AuthConfig } from './config.js'
import { invalid } from './jws.js'
import { type KeyConfig, KeySet, type LoadedKey } from './keys.js'
import { type ScopeClaim, type ScopePath, scopePaths } from './scopes.js'
import type { DecodedToken, TokenHeader } from './types.js'
import { VerifiedTokenCache } from './verified-cache.js'
import type { VerifyDeps, VerifyOptions } from './verify.js'

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

/** Whether `accept` lets a trusted issuer's tokens through. */
export function acceptsIssuer(accept: TokenSources | undefined, issuer: string): boolean {
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

/** The trusted issuer of a verified provider's token. */
export function trustedIssuerOf(deps: VerifyDeps, decoded: DecodedToken<object>): TrustedIssuer {
  return deps.issuers!.byIssuer.get(decoded.issuer!)!
}
