/**
 * The auth object: `createAuth` checks the options once and wires the core's modules (verify,
 * issue, guard, session, token responses) to one set of dependencies. Every operation lives in its
 * own module; this file only connects them.
 */
import { type AuthError, ConfigError } from '../errors.js'
import type { MaybePromise } from '../internal/awaitable.js'
import type { TokenRef } from '../stores/store.js'
import { type AuthConfig, resolveConfig } from './config.js'
import {
  type CookieHeaders,
  csrfClaim,
  type SetCookieOptions,
  setCookieHeaders,
  type UnsetCookieOptions,
  unsetCookieHeaders,
  wantsCsrfCookie,
} from './cookie-helpers.js'
import { resolveDpop } from './dpop.js'
import { checkProof, consumeProof, type ProofRequest, type VerifiedProof } from './dpop-proof.js'
import { type AuthEvents, type CoreEvents, EventHub } from './events.js'
import { isRevoked, revokeFamily } from './family.js'
import { explainRefusal } from './flask/pyjwt.js'
import { type GuardDeps, type GuardOptions, guard } from './guard.js'
import { type CreateTokenOptions, type IssuedToken, issueToken } from './issue.js'
import { createIssuerRegistry } from './issuers.js'
import { createJwsCache } from './jws.js'
import { type JWKS, KeySet } from './keys.js'
import type { AuthOptions } from './options.js'
import { type ErrorResponse, renderError } from './responses.js'
import {
  clearCookies,
  type LoginOptions,
  type LogoutResult,
  login,
  logout,
  logoutEverywhere,
  refresh,
  revokeToken,
  type SessionDeps,
} from './session.js'
import {
  type AccessTokenResponse,
  type ReissueOptions,
  reissueAccess,
  type TokenResponse,
} from './token-response.js'
import type { AuthContext, DecodedToken, RequestView, TokenClaims } from './types.js'
import { VerifiedTokenCache } from './verified-cache.js'
import { type VerifyOptions, verifyToken, verifyTokenSync } from './verify.js'

/** The auth object: one per app, created once by `createAuth`. */
export interface Auth<User = string, Claims extends object = Record<string, unknown>> {
  /** Signs an access token for a user or identity. */
  createAccessToken(subject: User | string | number, options?: CreateTokenOptions): string
  /** Signs a refresh token for a user or identity. */
  createRefreshToken(subject: User | string | number, options?: CreateTokenOptions): string
  /** Signs a token and returns it with its claims and expiry. */
  issueToken(
    type: 'access' | 'refresh',
    subject: User | string | number,
    options?: CreateTokenOptions,
  ): IssuedToken<Claims>
  /**
   * Verifies a token (signature, exp, nbf, aud, iss, type), synchronously. Does not ask the
   * revocation store. A token whose key an asynchronous `resolveKey` must fetch throws a ConfigError
   * here; use `verifyToken` for those.
   *
   * @example
   * ```ts
   * const { claims } = auth.verifyTokenSync(token, { type: 'access' })
   * ```
   */
  verifyTokenSync(token: string, options?: VerifyOptions): DecodedToken<Claims>
  /** @deprecated Renamed `verifyTokenSync` (0.2): it verifies, where "decode" elsewhere means it does not. */
  decodeToken(token: string, options?: VerifyOptions): DecodedToken<Claims>
  /** `verifyTokenSync` as a promise, which also waits for a key from an asynchronous `resolveKey`. */
  verifyToken(token: string, options?: VerifyOptions): Promise<DecodedToken<Claims>>
  /** The request guard: finds, verifies and checks a token, loads the user. Rejects with AuthError. */
  authenticate(request: RequestView, options?: GuardOptions): Promise<AuthContext<User, Claims>>
  /**
   * The same guard for adapter authors (see `latchkey/adapter-kit`): the context itself when nothing
   * had to wait (a revocation store and user loader that answered synchronously), a native `Promise`
   * otherwise; throws or rejects with AuthError. Saves a promise and its microtasks on every request
   * of a hot path (`result instanceof Promise` tells the two apart).
   */
  check(request: RequestView, options?: GuardOptions): MaybePromise<AuthContext<User, Claims>>
  /** @deprecated Read `context.responseHeaders` (0.2): the headers travel with the context now. */
  responseHeaders(context: AuthContext<User, Claims>): Record<string, string[]> | undefined
  /** Logs a user in: tokens, cookies, `login` event. Refuses inactive users unless forced. */
  login(user: User, options?: LoginOptions): Promise<TokenResponse>
  /** Rotates a refresh token (context from a `refresh: true` guard): new access and refresh tokens. */
  refresh(context: AuthContext<User, Claims>): Promise<TokenResponse>
  /**
   * A new access token for the holder of an access-token context, in the same family and with the
   * same CSRF value: for a fresh login (`{ fresh: true }` once the app has checked the password
   * again). Its `headers` set the access cookie when access tokens travel in cookies; the context's
   * pending implicit-refresh cookie, if any, is dropped (this token supersedes it).
   *
   * @example
   * ```ts
   * const session = auth.reissueAccess(req.auth, { fresh: true, remember: body.remember })
   * res.set(session.headers).json({ access_token: session.accessToken, expires_in: session.expiresIn })
   * ```
   */
  reissueAccess(context: AuthContext<User, Claims>, options?: ReissueOptions): AccessTokenResponse
  /** Revokes the presented token and its refresh family; returns the headers that clear cookies. */
  logout(context: AuthContext<User, Claims>): Promise<LogoutResult>
  /**
   * Revokes every token of an identity issued before now (password change, "log out everywhere");
   * returns the headers that clear this client's cookies.
   */
  logoutEverywhere(subject: User | string | number): Promise<LogoutResult>
  /** Revokes one token by its claims. */
  revokeToken(claims: Pick<TokenClaims, 'jti' | 'exp'>): Promise<void>
  /**
   * Ends one login everywhere: every token of the refresh family `family` (the `fam` claim) is
   * refused from now on, on every instance sharing the revocation store. For a "sessions" page that
   * ends a login whose tokens the caller does not hold.
   *
   * @example
   * ```ts
   * await auth.revokeFamily(session.id) // the `fam` claim of that login's tokens
   * ```
   */
  revokeFamily(family: string): Promise<void>
  /**
   * Whether the revocation store refuses a token (by id, refresh family or identity cut-off); false
   * without a store. Rejects with REVOCATION_UNAVAILABLE when the store fails.
   *
   * @example
   * ```ts
   * const ended = await auth.isRevoked({ jti: '', sub: user.id, family, issuedAt, expiresAt: undefined })
   * ```
   */
  isRevoked(token: TokenRef): Promise<boolean>
  /** Renders an AuthError as a response (status, `{msg, code}` body, headers). */
  errorResponse(error: AuthError): ErrorResponse
  /**
   * Checks a DPoP proof (RFC 9449) sent with a request that has no bound token yet, such as a login
   * that binds its tokens to the client's key, and consumes its `jti`. Rejects with a DPoP error.
   *
   * @example
   * ```ts
   * const { jkt } = await auth.verifyDpopProof(req.get('dpop'), { method: 'POST', url: 'https://api.example.com/login' })
   * const tokens = await auth.login(user, { dpopJkt: jkt })
   * ```
   */
  verifyDpopProof(proof: string | undefined, request: ProofRequest): Promise<VerifiedProof>
  /** `Set-Cookie` values that clear every token and CSRF cookie. */
  clearCookies(): string[]
  /**
   * The cookies of an access token the app made itself (Flask-JWT-Extended's `set_access_cookies`):
   * the token cookie and, when CSRF cookies are on, the readable CSRF cookie holding the token's
   * `csrf` claim (the token is verified to read it). Pass the result to the adapter's `applyAuthHeaders`.
   *
   * @example
   * ```ts
   * const token = auth.createAccessToken(user, { fresh: true })
   * applyAuthHeaders(res, auth.accessCookies(token, { domain: 'example.com' })).json({ ok: true })
   * ```
   */
  accessCookies(token: string, options?: SetCookieOptions): CookieHeaders
  /** The cookies of a refresh token (`set_refresh_cookies`); as {@link Auth.accessCookies}. */
  refreshCookies(token: string, options?: SetCookieOptions): CookieHeaders
  /**
   * Cookies that clear the access token and its CSRF cookie (`unset_access_cookies`).
   *
   * @example
   * ```ts
   * applyAuthHeaders(res, auth.unsetAccessCookies()).json({ ok: true })
   * ```
   */
  unsetAccessCookies(options?: UnsetCookieOptions): CookieHeaders
  /** Cookies that clear the refresh token and its CSRF cookie (`unset_refresh_cookies`). */
  unsetRefreshCookies(options?: UnsetCookieOptions): CookieHeaders
  /** Cookies that clear every token and CSRF cookie (`unset_jwt_cookies`); `clearCookies` with a domain. */
  unsetCookies(options?: UnsetCookieOptions): CookieHeaders
  /** The public keys as a JWKS document. */
  jwks(): JWKS
  /** Subscribes to an event; returns the unsubscribe function. */
  on<K extends keyof AuthEvents<User, Claims>>(
    event: K,
    listener: (payload: AuthEvents<User, Claims>[K]) => void,
  ): () => void
  /** The resolved configuration (read-only): cookie names, the CSRF header name, locations, lifetimes. */
  readonly config: AuthConfig
}

/** Everything the core's modules need, built once per auth object. */
type Core = GuardDeps & SessionDeps

const logListenerError = (err: unknown, event: string): void =>
  console.error(`latchkey: a "${event}" listener threw`, err)

/**
 * Creates the auth object. Configuration is validated here: a wrong option throws ConfigError with
 * what to fix, so a misconfigured app fails at start, not on the first request.
 *
 * @example
 * ```ts
 * const auth = createAuth<User>({
 *   keys: { secret: process.env.LATCHKEY_SECRET! },
 *   tokenLocations: ['headers', 'cookies'],
 *   identify: (user) => user.id,
 *   loadUser: (id) => db.users.find(id),
 *   isActive: (user) => user.active,
 * })
 * ```
 */
export function createAuth<User = string, Claims extends object = Record<string, unknown>>(
  options: AuthOptions<User, Claims>,
): Auth<User, Claims> {
  const config = resolveConfig(options)
  const events = new EventHub<AuthEvents<User, Claims>>(options.onListenerError ?? logListenerError)
  const firstParty = options.keys !== undefined || options.resolveKey !== undefined
  const dpop = resolveDpop(options.dpop, options.revocation)
  const core: Core = {
    config,
    keys: new KeySet(options.keys ?? [], {
      allowMixedAlgorithms: options.allowMixedAlgorithms === true,
      allowEmpty: options.keys === undefined,
    }),
    issuers: createIssuerRegistry(options.issuers, config, firstParty),
    dpop,
    resolveKey: options.resolveKey,
    verifiedCache: config.verifiedTokenCache ? new VerifiedTokenCache(config.verifiedTokenCache) : undefined,
    jws: createJwsCache(),
    resolvedKeys: new WeakMap(),
    headerSegments: new WeakMap(),
    additionalClaims: options.additionalClaims as Core['additionalClaims'],
    additionalHeaders: options.additionalHeaders as Core['additionalHeaders'],
    signingKey: options.signingKey as Core['signingKey'],
    signingKeys: new WeakMap(),
    identify: options.identify as Core['identify'],
    loadUser: options.loadUser as Core['loadUser'],
    isActive: options.isActive as Core['isActive'],
    checkClaims: options.checkClaims as Core['checkClaims'],
    anonymousUser: options.anonymousUser ?? null,
    store: options.revocation,
    events: events as unknown as CoreEvents,
  }
  const errorOptions = { ...options.errors, preset: config.errorPreset }
  // The core works on contexts of unknown users; the app's User and Claims are restored here, once.
  type Ctx = AuthContext<User, Claims>
  // Under the flask-jwt-extended preset a refusal is explained in PyJWT's words (decode_token).
  const explained = config.errorPreset === 'flask-jwt-extended'
  const verifySync = (token: string, opts?: VerifyOptions) => {
    if (!explained) return verifyTokenSync<Claims>(core, token, opts)
    try {
      return verifyTokenSync<Claims>(core, token, opts)
    } catch (err) {
      throw explainRefusal(core, token, err)
    }
  }
  const csrfOf = (token: string) =>
    wantsCsrfCookie(config) ? csrfClaim(verifySync(token).claims as { csrf?: unknown }) : undefined

  return {
    config,
    createAccessToken: (subject, opts) => issueToken(core, 'access', subject, opts).token,
    createRefreshToken: (subject, opts) => issueToken(core, 'refresh', subject, opts).token,
    issueToken: (type, subject, opts) => issueToken<Claims>(core, type, subject, opts),
    verifyTokenSync: verifySync,
    decodeToken: verifySync,
    verifyToken: async (token, opts) => {
      try {
        return await verifyToken<Claims>(core, token, opts)
      } catch (err) {
        throw explained ? explainRefusal(core, token, err) : err
      }
    },
    check: (view, opts) => guard(core, view, opts) as MaybePromise<Ctx>,
    authenticate(view, opts) {
      try {
        return Promise.resolve(guard(core, view, opts) as MaybePromise<Ctx>)
      } catch (err) {
        return Promise.reject(err)
      }
    },
    responseHeaders: (context) => context.responseHeaders,
    login: (user, opts) => login(core, user, opts),
    refresh: (context) => refresh(core, context as AuthContext<unknown, object>),
    reissueAccess: (context, opts) => reissueAccess(core, context as AuthContext<unknown, object>, opts),
    logout: (context) => logout(core, context as AuthContext<unknown, object>),
    logoutEverywhere: (subject) => logoutEverywhere(core, subject),
    revokeToken: (claims) => revokeToken(core, claims),
    revokeFamily: (family) => revokeFamily(core, family),
    isRevoked: (token) => isRevoked(core, token),
    errorResponse: (error) => renderError(errorOptions, error),
    async verifyDpopProof(proof, request) {
      if (!dpop) throw new ConfigError('latchkey: DPoP is turned off (dpop: false)')
      const now = config.clock()
      const checked = checkProof(dpop, proof, request, now)
      await consumeProof(dpop, core.events, checked, now)
      return checked
    },
    clearCookies: () => clearCookies(core),
    accessCookies: (token, opts) => setCookieHeaders(config, 'access', token, csrfOf(token), opts),
    refreshCookies: (token, opts) => setCookieHeaders(config, 'refresh', token, csrfOf(token), opts),
    unsetAccessCookies: (opts) => unsetCookieHeaders(config, ['access'], opts),
    unsetRefreshCookies: (opts) => unsetCookieHeaders(config, ['refresh'], opts),
    unsetCookies: (opts) => unsetCookieHeaders(config, ['access', 'refresh'], opts),
    jwks: () => core.keys.jwks(),
    on: (event, listener) => events.on(event, listener),
  }
}
