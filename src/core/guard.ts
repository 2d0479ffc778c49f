/**
 * The request guard, step by step: find → verify → CSRF, type and freshness → revocation → the app's
 * claims check → user → context. Each step is a module-level function over the request's
 * {@link GuardState} (which carries the explicit {@link GuardDeps}), importable and testable alone.
 *
 * A step that may wait (the revocation store, `checkClaims`, `loadUser`, an asynchronous
 * `resolveKey`) continues synchronously when its answer is not a promise, so with a memory store and
 * a synchronous user loader a request is authenticated without a single promise. App answers are
 * adopted once, where they enter (`adopt`); from there only native promises travel, joined by one
 * helper (`join`).
 */
import {
  AuthError,
  ClaimsRejectedError,
  FreshTokenRequiredError,
  type TokenData,
  TokenExpiredError,
  TokenRevokedError,
  UserInactiveError,
  UserNotFoundError,
  WrongTokenTypeError,
} from '../errors.js'
import { type Awaitable, adopt, join, type MaybePromise } from '../internal/awaitable.js'
import type { RevocationStore } from '../stores/store.js'
import { authorizeStep } from './authorize.js'
import { clearingCookies, serializeCookie } from './cookies.js'
import { checkCsrf, sentCsrf } from './csrf.js'
import { type DpopState, dpopChallenge, dpopStep } from './dpop.js'
import type { CoreEvents } from './events.js'
import { explainRefusal } from './flask/pyjwt.js'
import type { TokenSources, TrustedIssuer } from './issuers.js'
import { checkHeaderSyntax, type FoundToken, findToken, locationsFor } from './locations.js'
import type { TokenLocation } from './options.js'
import { storeFailure, subOf, tokenRef } from './revocation.js'
import { type ScopePath, type ScopeRequirement, scopesOf } from './scopes.js'
import { reissueAccess, type TokenResponseDeps } from './token-response.js'
import type { AuthContext, DecodedToken, RequestView, TokenClaims, TokenHeader, TokenType } from './types.js'
import { isFresh, type VerifyDeps, verifyToken } from './verify.js'
import { checkIssuedToken, issuedTokenRef } from './verify-issued.js'

/** Options of a guard; the same in every adapter. */
export interface GuardOptions {
  /** Let requests without a token through as anonymous. */
  optional?: boolean
  /**
   * With `optional`: treat a bad token (invalid, expired, not yet valid, wrong type, revoked, or whose
   * user is gone) as anonymous too. Default: refuse it. CSRF failures and store outages always refuse.
   */
  invalidAsAnonymous?: boolean
  /** Require a fresh access token. */
  fresh?: boolean
  /** Require a refresh token instead of an access token. */
  refresh?: boolean
  /** Look only in these locations, in this order. */
  locations?: TokenLocation[]
  /** Do not ask the revocation store (for routes that must work while it is down). */
  skipRevocation?: boolean
  /**
   * Scopes the token must grant (`context.scopes`): a list (all of them), or `{ all, any }` (all of
   * `all` and one of `any`). Missing ones refuse with INSUFFICIENT_SCOPE (403, RFC 6750
   * `insufficient_scope`).
   */
  scopes?: ScopeRequirement
  /**
   * A check of the verified claims for this route; false, a throw or a rejection refuses with
   * CLAIMS_REJECTED (403). Runs after revocation and the scopes, before `loadUser`.
   */
  claimCheck?(
    claims: Readonly<Record<string, unknown>>,
    token: { issuer: string | null; scopes: readonly string[] },
  ): boolean | PromiseLike<boolean>
  /**
   * Whose tokens this route accepts: `'self'` (the app's own), `'issuers'` (any trusted identity
   * provider), `'any'` (default), or a list of issuer URLs and/or `'self'`. A provider's token that is
   * not accepted is refused before its keys are fetched.
   */
  accept?: TokenSources
  /**
   * Default true. False accepts access and refresh tokens alike (Flask-JWT-Extended's
   * `verify_type=False`); `refresh` then only says which cookie, JSON key and CSRF header to read.
   * Every token still carries its `type`.
   */
  verifyType?: boolean
}

/** What the guard needs: verifying, re-issuing (implicit refresh), the store, events and the app's callbacks. */
export interface GuardDeps extends VerifyDeps, TokenResponseDeps {
  /** DPoP settings and caches; undefined when DPoP is turned off (`dpop: false`). */
  readonly dpop?: DpopState | undefined
  readonly store: RevocationStore | undefined
  readonly events: CoreEvents
  readonly loadUser:
    | ((identity: string, claims: never, header: TokenHeader) => Awaitable<unknown>)
    | undefined
  readonly isActive: ((user: never) => boolean) | undefined
  readonly checkClaims: ((claims: never, header: TokenHeader) => Awaitable<boolean>) | undefined
  /** `user` of an anonymous context. */
  readonly anonymousUser: unknown
}

/** One guarded request on its way through the steps. */
export class GuardState {
  /** Set by {@link checkToken}, once the token is verified. */
  header!: TokenHeader
  claims!: TokenClaims<object>
  sub = ''
  fresh = false
  /** The trusted issuer of an identity provider's token; undefined for the app's own tokens. */
  trusted: TrustedIssuer | undefined = undefined
  /** The scopes the token grants. */
  scopes: readonly string[] = NO_SCOPES
  constructor(
    readonly deps: GuardDeps,
    readonly view: RequestView,
    readonly found: FoundToken,
    readonly type: TokenType,
    readonly options: GuardOptions,
    /** One clock reading for the whole check: expiry, freshness and the implicit-refresh window agree. */
    readonly now: number,
  ) {}
}

type Context = AuthContext<unknown, object>

const NO_OPTIONS: GuardOptions = Object.freeze({})
const NO_SCOPES: readonly string[] = Object.freeze([])

/**
 * What `invalidAsAnonymous` tolerates: a token that is bad in itself. Not CSRF failures, inactive
 * users, rejected claims or an unavailable revocation store: those stay errors.
 */
const ANONYMOUS_IF_INVALID: ReadonlySet<string> = new Set([
  'TOKEN_INVALID',
  'TOKEN_EXPIRED',
  'TOKEN_NOT_YET_VALID',
  'WRONG_TOKEN_TYPE',
  'TOKEN_REVOKED',
  'USER_NOT_FOUND',
])

/**
 * The guard: the context itself when nothing had to wait, a native promise of it otherwise. Throws
 * or rejects with an AuthError (or, for an optional guard, answers with an anonymous context).
 */
export function guard(
  deps: GuardDeps,
  view: RequestView,
  options: GuardOptions = NO_OPTIONS,
): MaybePromise<Context> {
  // CORS preflights carry no credentials; guards let them through untouched.
  if (view.method === 'OPTIONS') return anonymous(deps)
  const type: TokenType = options.refresh ? 'refresh' : 'access'
  let found: FoundToken | undefined
  try {
    found = findToken(deps.config, view, type, locationsFor(deps.config, options), deps.dpop !== undefined)
    const state = new GuardState(deps, view, found, type, options, deps.config.clock())
    const result = join(join(verifyStep(state), dpopStep, undefined), revocationStep, undefined)
    if (!(result instanceof Promise)) return result
    const where = found
    return result.then(undefined, (err: unknown) => refuse(deps, err, options, type, where))
  } catch (err) {
    return refuse(deps, err, options, type, found)
  }
}

/** Verifies the found token; waits only for a key from an asynchronous `resolveKey`. */
export function verifyStep(state: GuardState): MaybePromise<GuardState> {
  let decoded: MaybePromise<DecodedToken<object>>
  try {
    // The guard options carry `accept` (and no `type`: the guard checks the type itself, below).
    decoded = verifyToken(state.deps, state.found.token, state.options, state.now)
  } catch (err) {
    return undecodable(err, state)
  }
  return join(decoded, checkToken, state, undecodable)
}

/**
 * A token that did not decode. The header's syntax is checked only now: a header that breaks it can
 * never hold a valid token (its characters are outside base64url), so valid requests skip the scan,
 * and a broken header is still named as such. Under the flask-jwt-extended preset the refusal is
 * explained as PyJWT would (its words, and its order of checks).
 */
function undecodable(err: unknown, state: GuardState): never {
  const { config } = state.deps
  if (config.errorPreset === 'flask-jwt-extended') {
    const csrf = state.found.location === 'cookies' ? sentCsrf(config, state.view, state.type) : undefined
    throw explainRefusal(state.deps, state.found.token, err, csrf)
  }
  if (state.found.location === 'headers') checkHeaderSyntax(config, state.found.token)
  throw err
}

/** The verified header and claims, as errors carry them. */
function tokenData(header: TokenHeader, claims: object): { header: TokenData; claims: TokenData } {
  return { header, claims: claims as TokenData }
}

/** CSRF (tokens from cookies), token type and freshness of a verified token. */
export function checkToken(decoded: DecodedToken<object>, state: GuardState): GuardState {
  if (decoded.issuer !== undefined) return checkIssuedToken(decoded, state)
  const { header, claims } = decoded
  const { config, events } = state.deps
  if (state.found.location === 'cookies') checkCsrf(config, state.view, claims, state.type, header)
  if (claims.type !== state.type && state.options.verifyType !== false)
    throw new WrongTokenTypeError(state.type, tokenData(header, claims))
  const sub = subOf(config, claims)
  const fresh = isFresh(claims, state.now)
  if (state.options.fresh && !fresh) {
    events.emit('needsFresh', { sub, claims, header })
    throw new FreshTokenRequiredError(tokenData(header, claims))
  }
  state.header = header
  state.claims = claims
  state.sub = sub
  state.fresh = fresh
  const scope = (claims as { scope?: unknown }).scope
  if (scope !== undefined) state.scopes = scopesOf(claims as unknown as Record<string, unknown>, SCOPE_PATHS)
  return state
}

const SCOPE_PATHS: readonly ScopePath[] = Object.freeze([Object.freeze(['scope'])])

/** Asks the revocation store (unless skipped); a store that fails refuses with a 503. */
export function revocationStep(state: GuardState): MaybePromise<Context> {
  const { store, config } = state.deps
  if (!store || state.options.skipRevocation) return join(authorizeStep(state), claimsStep, undefined)
  const ref =
    state.trusted === undefined
      ? tokenRef(config, state.claims)
      : issuedTokenRef(
          state.deps.issuers!,
          state.trusted,
          state.claims as unknown as Record<string, unknown>,
          state.found.token,
        )
  let revoked: MaybePromise<boolean>
  try {
    revoked = adopt(store.isRevoked(ref))
  } catch (error) {
    return storeFailed(error, state)
  }
  return join(revoked, afterRevocation, state, storeFailed)
}

function storeFailed(error: unknown, state: GuardState): never {
  throw storeFailure(state.deps.events, error)
}

function afterRevocation(revoked: boolean, state: GuardState): MaybePromise<Context> {
  if (revoked) {
    state.deps.events.emit('tokenRevoked', { sub: state.sub, claims: state.claims, header: state.header })
    throw new TokenRevokedError(undefined, tokenData(state.header, state.claims))
  }
  return join(authorizeStep(state), claimsStep, undefined)
}

/** The app's `checkClaims`; false, a throw or a rejection refuses with CLAIMS_REJECTED. */
export function claimsStep(state: GuardState): MaybePromise<Context> {
  const check = state.deps.checkClaims
  if (!check) return userStep(state)
  let ok: MaybePromise<boolean>
  try {
    ok = adopt(check(state.claims as never, state.header))
  } catch (err) {
    return claimsRejected(err, state)
  }
  return join(ok, afterClaims, state, claimsRejected)
}

function claimsRejected(err: unknown, state: GuardState): never {
  if (err instanceof AuthError) throw err
  throw new ClaimsRejectedError(undefined, { cause: err, ...tokenData(state.header, state.claims) })
}

function afterClaims(ok: boolean, state: GuardState): MaybePromise<Context> {
  if (!ok) throw new ClaimsRejectedError(undefined, tokenData(state.header, state.claims))
  return userStep(state)
}

/** The app's `loadUser` (the identity itself when there is none). */
export function userStep(state: GuardState): MaybePromise<Context> {
  const load = state.deps.loadUser
  if (!load) return contextStep(state.sub, state)
  return join(adopt(load(state.sub, state.claims as never, state.header)), contextStep, state)
}

/** The context of a loaded user: active check, `userLoaded`, and implicit refresh near expiry. */
export function contextStep(loaded: unknown, state: GuardState): Context {
  const { deps, claims, sub, found } = state
  if (deps.loadUser && (loaded === null || loaded === undefined))
    throw new UserNotFoundError({ identity: sub, ...tokenData(state.header, claims) })
  if (deps.isActive && !deps.isActive(loaded as never))
    throw new UserInactiveError(tokenData(state.header, claims))
  const { events, config } = deps
  if (events.has('userLoaded')) events.emit('userLoaded', { user: loaded, sub, claims })
  const context: Context = {
    isAuthenticated: true,
    user: loaded,
    sub,
    claims,
    header: state.header,
    token: found.token,
    location: found.location,
    type: claims.type,
    fresh: state.fresh,
    scopes: state.scopes,
    issuer: state.trusted?.issuer ?? null,
    responseHeaders: undefined,
  }
  const window = config.implicitRefreshWindowMs
  if (
    window !== false &&
    state.trusted === undefined &&
    found.location === 'cookies' &&
    state.type === 'access' &&
    claims.exp !== undefined &&
    claims.exp * 1000 - state.now < window
  ) {
    // Only the cookies: the guarded response is the app's, its caching too.
    const cookies = reissueAccess(deps, context).headers['set-cookie'] as string[]
    context.responseHeaders = { 'set-cookie': cookies }
  }
  return context
}

/**
 * The context of a request without a token (optional guards, CORS preflights). Under the
 * flask-jwt-extended preset (or `compat`) its claims and header are `{}`, as `get_jwt()` answers there.
 */
export function anonymous(deps: Pick<GuardDeps, 'anonymousUser' | 'config'>): Context {
  const compat = deps.config.errorPreset === 'flask-jwt-extended'
  return {
    isAuthenticated: false,
    user: deps.anonymousUser,
    sub: null,
    claims: compat ? ({} as Context['claims']) : null,
    header: compat ? ({} as Context['header']) : null,
    token: null,
    location: null,
    type: null,
    fresh: false,
    scopes: NO_SCOPES,
    issuer: null,
    responseHeaders: undefined,
  }
}

/** A refused request: anonymous where the guard allows it, else the error (events, cookie clearing). */
export function refuse(
  deps: GuardDeps,
  err: unknown,
  options: GuardOptions,
  type: TokenType,
  found: FoundToken | undefined,
): Context {
  if (!(err instanceof AuthError)) throw err
  if (
    options.optional &&
    (err.code === 'TOKEN_MISSING' || (options.invalidAsAnonymous && ANONYMOUS_IF_INVALID.has(err.code)))
  ) {
    return anonymous(deps)
  }
  // An expired cookie is cleared, so the browser stops sending it and the page knows to refresh.
  let error =
    err instanceof TokenExpiredError && found?.location === 'cookies' && !deps.config.compat
      ? err.withHeaders({ 'set-cookie': clearingCookies(deps.config, [type]).map(serializeCookie) })
      : err
  // Refusals of DPoP requests (and of proofs) carry the DPoP challenge (RFC 9449 §7.1).
  const challenge = deps.dpop && dpopChallenge(deps.dpop, error, found?.scheme === 'dpop')
  if (challenge) error = error.withHeaders({ 'www-authenticate': challenge })
  deps.events.emit('unauthorized', { error })
  throw error
}
