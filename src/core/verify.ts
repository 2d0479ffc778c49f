/**
 * Verifying a token: the key (configured, or from `resolveKey`), the signature, the payload and its
 * claims. Check order: shape, header, key, signature, payload, exp, nbf, the other claims, type. A
 * token verified before is found in the verified-token cache by its exact text; its time claims and
 * type are checked again.
 */
import { ConfigError, TokenExpiredError, TokenNotYetValidError, WrongTokenTypeError } from '../errors.js'
import { type Awaitable, adopt, join, type MaybePromise } from '../internal/awaitable.js'
import { decodeBase64url, decodeBase64urlIn } from '../internal/base64url.js'
import { Scratch } from '../internal/scratch.js'
import { equalInConstantTime } from './algorithms.js'
import type { AuthConfig } from './config.js'
import { acceptsSelf, type IssuerRegistry, routeToken, type TokenSources } from './issuers.js'
import { type CompactJws, invalid, type JwsCache, parseCompact, parsePayload } from './jws.js'
import { type KeyConfig, type KeySet, type LoadedKey, loadKey } from './keys.js'
import type { DecodedToken, TokenClaims, TokenHeader, TokenType } from './types.js'
import { fingerprint, type VerifiedTokenCache } from './verified-cache.js'
import { cachedIssued, verifyIssued } from './verify-issued.js'

/** Options of `auth.verifyToken` and `auth.verifyTokenSync`. */
export interface VerifyOptions {
  /** Require this token type. Default: either. An identity provider's token counts as an access token. */
  type?: TokenType
  /** Return an expired token's claims instead of throwing (for logout of an expired session). */
  allowExpired?: boolean
  /**
   * Whose tokens to accept: `'self'` (the app's own), `'issuers'` (every trusted identity provider),
   * or a list of issuer URLs and/or `'self'`. Default: all of them. A token of an issuer that is not
   * accepted is refused before any key is fetched.
   */
  accept?: TokenSources
}

/** @deprecated Renamed {@link VerifyOptions} (0.2). */
export type DecodeOptions = VerifyOptions

/** What verifying needs: the configuration, the keys, and the caches of one auth object. */
export interface VerifyDeps {
  readonly config: AuthConfig
  readonly keys: KeySet
  /** Keys that live elsewhere (the `resolveKey` option). */
  readonly resolveKey:
    | ((header: TokenHeader, claims: Readonly<Record<string, unknown>>) => Awaitable<KeyConfig | undefined>)
    | undefined
  /** Verified tokens by their text, or undefined when the cache is off. */
  readonly verifiedCache: VerifiedTokenCache | undefined
  readonly jws: JwsCache
  /** Keys loaded from `resolveKey`'s answers, once per object answered. */
  readonly resolvedKeys: WeakMap<KeyConfig, LoadedKey>
  /** Trusted identity providers (the `issuers` option), or undefined when there are none. */
  readonly issuers?: IssuerRegistry | undefined
}

const NO_OPTIONS: VerifyOptions = Object.freeze({})

/**
 * Verifies a token; the decoded token, or a (native) promise of it when its key had to come from an
 * asynchronous `resolveKey`. Throws (or rejects with) an AuthError. Does not ask the revocation store.
 */
export function verifyToken<Claims extends object>(
  deps: VerifyDeps,
  token: unknown,
  options: VerifyOptions = NO_OPTIONS,
  now: number = deps.config.clock(),
): MaybePromise<DecodedToken<Claims>> {
  return verify(deps, token, options, now, true) as MaybePromise<DecodedToken<Claims>>
}

/**
 * {@link verifyToken}, synchronously: a token whose key an asynchronous `resolveKey` must fetch
 * throws a ConfigError, before anything starts.
 */
export function verifyTokenSync<Claims extends object>(
  deps: VerifyDeps,
  token: unknown,
  options: VerifyOptions = NO_OPTIONS,
  now: number = deps.config.clock(),
): DecodedToken<Claims> {
  return verify(deps, token, options, now, false) as DecodedToken<Claims>
}

/** One verification waiting for the resolver's key, handed from the key to the checks (see verifyWith). */
interface Verification {
  deps: VerifyDeps
  jws: CompactJws
  options: VerifyOptions
  now: number
  fp: number
  payload: Record<string, unknown> | undefined
}

function verify(
  deps: VerifyDeps,
  token: unknown,
  options: VerifyOptions,
  now: number,
  mayWait: boolean,
): MaybePromise<DecodedToken<object>> {
  const { config, verifiedCache: cache } = deps
  if (typeof token !== 'string' || token.length === 0) throw invalid('not a string')
  if (token.length > config.maxTokenLength) throw invalid('too long')
  let fp = 0
  if (cache) {
    fp = fingerprint(token)
    const cached = cache.get(token, fp)
    if (cached) {
      checkTime(config, cached.claims as unknown as Record<string, unknown>, options, now, cached.header)
      return checkType(cached, options)
    }
  }
  const jws = parseCompact(deps.jws, token)
  let payload: Record<string, unknown> | undefined
  if (deps.issuers !== undefined) {
    const known = cachedIssued(deps, jws, options, now)
    if (known !== undefined) return known
    // `iss` chooses between the app's own keys and a trusted issuer's, before any key is fetched.
    payload = parsePayload(jws)
    const trusted = routeToken(deps, payload, options)
    if (trusted !== undefined) return verifyIssued(deps, trusted, jws, payload, options, now, mayWait)
  }
  // A configured key (nearly every token): no Verification to hand along, nothing to join.
  const key = deps.keys.select(jws.header.alg, jws.header.kid)
  if (key !== undefined) return checkType(verifyWith(key, deps, jws, options, now, fp, payload), options)
  const v: Verification = { deps, jws, options, now, fp, payload }
  return join(join(resolverKey(deps, jws, mayWait), verifyFor, v), checkType, options)
}

function checkType(decoded: DecodedToken<object>, options: VerifyOptions): DecodedToken<object> {
  if (options.accept !== undefined && !acceptsSelf(options.accept)) throw invalid('issuer not accepted')
  if (options.type && decoded.claims.type !== options.type)
    throw new WrongTokenTypeError(options.type, {
      header: decoded.header,
      claims: decoded.claims as unknown as Readonly<Record<string, unknown>>,
    })
  return decoded
}

// The header is attacker-controlled: a resolver that throws or rejects on an odd kid, or hands back a
// key that does not load, is a refused token (401), never a 500.
const noKey = (err: unknown): never => {
  throw Object.assign(invalid('no key for this token'), { cause: err })
}

function unknownKey(header: TokenHeader): Error {
  return header.kid !== undefined ? invalid('unknown key id or algorithm') : invalid('algorithm not allowed')
}

/**
 * The key of a token that no configured key verifies: the resolver's (asked with the header and the
 * payload, not yet verified). A promise only when the resolver answers with one (keys fetched from
 * elsewhere).
 */
function resolverKey(deps: VerifyDeps, jws: CompactJws, mayWait: boolean): MaybePromise<LoadedKey> {
  const header = jws.header
  if (!deps.resolveKey) throw unknownKey(header)
  const unverified = parsePayload(jws)
  let answer: MaybePromise<KeyConfig | undefined>
  try {
    answer = adopt(deps.resolveKey(header, unverified)) // inside the try: even a `then` getter that throws is the resolver's
  } catch (err) {
    return noKey(err)
  }
  if (!(answer instanceof Promise)) return resolvedKey(deps, header, answer)
  if (!mayWait) {
    // Nobody waits for it: keep its eventual rejection from surfacing as an unhandled one.
    answer.then(undefined, () => {})
    throw new ConfigError(
      'latchkey: resolveKey answered with a promise, and verifyTokenSync (decodeToken) is synchronous: use auth.verifyToken(token) or a guard',
    )
  }
  return answer.then((cfg) => resolvedKey(deps, header, cfg), noKey)
}

function resolvedKey(deps: VerifyDeps, header: TokenHeader, cfg: KeyConfig | undefined): LoadedKey {
  let loaded: LoadedKey | undefined
  if (cfg) {
    // Loaded once per object the resolver returns: a resolver that keeps its objects pays nothing.
    loaded = deps.resolvedKeys.get(cfg)
    if (!loaded) {
      try {
        loaded = loadKey(cfg, 'resolveKey')
      } catch (err) {
        return noKey(err)
      }
      deps.resolvedKeys.set(cfg, loaded)
    }
  }
  // Same family rule as the configured keys: no HS key for an asymmetric verifier unless allowed.
  if (loaded && loaded.algorithm === header.alg && deps.keys.allows(loaded.algorithm)) return loaded
  throw unknownKey(header)
}

/** Where signatures are decoded (RSA 4096: 512 bytes; longer ones get their own Buffer). */
const signatureScratch = new Scratch(768)

/**
 * Checks a split token's signature with `key`, through what the key prepared once: an HS key's MAC
 * (src/core/hmac.ts), an asymmetric key's signature check (`signatureCheck`). Throws
 * TokenInvalidError when it does not verify; a key with neither verifies nothing.
 */
export function checkSignature(key: LoadedKey, jws: CompactJws): void {
  const { token, dot2 } = jws
  const mac = key.macText
  if (mac !== undefined) {
    // The expected MAC as base64url text, compared in constant time where the signature stands in
    // the token: only the canonical spelling of the right MAC matches, so this is also the strict
    // base64url check, without decoding the signature, re-encoding it or timingSafeEqual.
    if (!equalInConstantTime(mac(token.slice(0, dot2)), token, dot2 + 1)) {
      const bytes = decodeBase64url(token.slice(dot2 + 1))
      throw invalid(!bytes || bytes.length === 0 ? 'bad signature encoding' : 'signature verification failed')
    }
    return
  }
  const signature = decodeBase64urlIn(signatureScratch, token.slice(dot2 + 1))
  if (!signature || signature.length === 0) throw invalid('bad signature encoding')
  const verifies = key.verifySignature
  if (verifies === undefined || !verifies(token.slice(0, dot2), signature))
    throw invalid('signature verification failed')
}

/** {@link verifyWith} for a key that came from the resolver. */
function verifyFor(key: LoadedKey, v: Verification): DecodedToken<object> {
  return verifyWith(key, v.deps, v.jws, v.options, v.now, v.fp, v.payload)
}

/**
 * Signature, payload and claims, once the key is known; the result enters the cache. `payload` is
 * the payload when it was parsed before the signature was checked (to read `iss`), `fp` the token's
 * fingerprint for the cache (0 when the cache is off).
 */
function verifyWith(
  key: LoadedKey,
  deps: VerifyDeps,
  jws: CompactJws,
  options: VerifyOptions,
  now: number,
  fp: number,
  payload: Record<string, unknown> | undefined,
): DecodedToken<object> {
  checkSignature(key, jws)
  const claims = payload ?? parsePayload(jws)
  checkClaims(deps.config, claims, options, now, jws.header)
  const decoded: DecodedToken<object> = {
    header: jws.header,
    claims: claims as unknown as TokenClaims<object>,
  }
  deps.verifiedCache?.set(jws.token, fp, decoded)
  return decoded
}

const isNumericDate = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v)

/** The registered and latchkey claims, each of its type; time and audience rules. */
function checkClaims(
  config: AuthConfig,
  claims: Record<string, unknown>,
  options: VerifyOptions,
  now: number,
  header: TokenHeader,
): void {
  const { exp, nbf } = claims
  if (exp === undefined) {
    if (!config.allowNonExpiring) throw invalid('missing exp')
  } else if (!isNumericDate(exp)) throw invalid('exp must be a number')
  if (nbf !== undefined && !isNumericDate(nbf)) throw invalid('nbf must be a number')
  checkTime(config, claims, options, now, header)
  if (claims.iat !== undefined && !isNumericDate(claims.iat)) throw invalid('iat must be a number')
  if (claims.iat_ms !== undefined && !isNumericDate(claims.iat_ms)) throw invalid('iat_ms must be a number')
  const sub = claims[config.identityClaim]
  if ((typeof sub !== 'string' || sub.length === 0) && !(config.allowNumericIdentity && isNumericDate(sub)))
    throw invalid(`${config.identityClaim} must be a non-empty string`)
  // RFC 7519 §4.1.2: `sub` is a string, also when another claim holds the identity.
  if (config.identityClaim !== 'sub' && claims.sub !== undefined && typeof claims.sub !== 'string')
    throw invalid('sub must be a string')
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
}

function checkTime(
  config: AuthConfig,
  claims: Record<string, unknown>,
  options: VerifyOptions,
  now: number,
  header: TokenHeader,
): void {
  // PyJWT refuses a token issued in the future, and checks `iat` before `exp` and `nbf`.
  if (
    config.compat &&
    typeof claims.iat === 'number' &&
    Math.trunc(claims.iat) * 1000 > now + config.leewayMs
  )
    throw new TokenNotYetValidError({ header, claims })
  const exp = claims.exp as number | undefined
  if (exp !== undefined && exp * 1000 <= now - config.leewayMs && !options.allowExpired) {
    throw new TokenExpiredError(exp * 1000, { header, claims })
  }
  const nbf = claims.nbf as number | undefined
  if (nbf !== undefined && nbf * 1000 > now + config.leewayMs)
    throw new TokenNotYetValidError({ header, claims })
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
