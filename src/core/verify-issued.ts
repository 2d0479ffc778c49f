/**
 * A trusted issuer's token, once `iss` has chosen the issuer: algorithm and `typ`, the key (waiting
 * only when it must be fetched), signature, the claims of the issuer's profile, the verified-token
 * cache (a hit counts only while the issuer still publishes the key), and what the guard and the
 * revocation store need of it (scopes, identity, revocation reference).
 */
import { createHash } from 'node:crypto'
import {
  AuthError,
  ConfigError,
  FreshTokenRequiredError,
  IssuerUnavailableError,
  TokenExpiredError,
  TokenNotYetValidError,
  WrongTokenTypeError,
} from '../errors.js'
import { adopt, type MaybePromise } from '../internal/awaitable.js'
import type { TokenRef } from '../stores/store.js'
import { checkCsrf } from './csrf.js'
import type { GuardState } from './guard.js'
import { acceptsIssuer, type IssuerRegistry, type TrustedIssuer, trustedIssuerOf } from './issuers.js'
import { type CompactJws, invalid } from './jws.js'
import type { LoadedKey } from './keys.js'
import { scopesOf } from './scopes.js'
import type { DecodedToken, TokenClaims } from './types.js'
import { fingerprint } from './verified-cache.js'
import { checkSignature, type VerifyDeps, type VerifyOptions } from './verify.js'

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
  if (trusted.profile === 'rfc9068' && !isAccessTokenType(header.typ))
    throw invalid('typ must be at+jwt (RFC 9068 access token)')
  if (isProofType(header.typ)) throw invalid('a DPoP proof is not an access token')
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

/**
 * An identity provider's token: CSRF when it came in a cookie; never a refresh token, never fresh
 * (freshness is a password login of this app); its identity and scopes by its issuer's profile.
 */
export function checkIssuedToken(decoded: DecodedToken<object>, state: GuardState): GuardState {
  const { deps } = state
  const trusted = trustedIssuerOf(deps, decoded)
  const claims = decoded.claims as unknown as Record<string, unknown>
  if (state.found.location === 'cookies')
    checkCsrf(deps.config, state.view, claims, state.type, decoded.header)
  const data = { header: decoded.header, claims: claims as Readonly<Record<string, unknown>> }
  if (state.type !== 'access') throw new WrongTokenTypeError(state.type, data)
  const sub = claims[trusted.identityClaim] as string
  if (state.options.fresh) {
    deps.events.emit('needsFresh', { sub, claims: decoded.claims, header: decoded.header })
    throw new FreshTokenRequiredError(data)
  }
  state.header = decoded.header
  state.claims = decoded.claims
  state.sub = sub
  state.trusted = trusted
  state.scopes = issuedScopes(deps.issuers!, trusted, claims)
  return state
}
