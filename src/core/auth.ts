import { randomUUID } from 'node:crypto'
import {
  AuthError,
  ClaimsRejectedError,
  FreshTokenRequiredError,
  RevocationUnavailableError,
  TokenExpiredError,
  TokenRevokedError,
  UserInactiveError,
  UserNotFoundError,
  WrongTokenTypeError,
} from '../errors.js'
import { type Awaitable, isThenable } from '../internal/awaitable.js'
import type { Duration } from '../internal/duration.js'
import type { RevocationStore, TokenRef } from '../stores/store.js'
import { type AuthOptions, type ResolvedConfig, resolveConfig, type TokenLocation } from './config.js'
import { clearingCookies, cookiesFor, serializeCookie, tokenCookies } from './cookies.js'
import { checkCsrf, newCsrfValue } from './csrf.js'
import { type AuthEvents, EventHub } from './events.js'
import { type JWKS, KeySet } from './keys.js'
import { checkHeaderSyntax, type FoundToken, findToken } from './locations.js'
import { type ErrorResponse, renderError } from './responses.js'
import {
  type CreateTokenOptions,
  createToken,
  type DecodeOptions,
  decodeToken,
  decodeTokenAwaitable,
  type IssuedToken,
  identityOf,
  isFresh,
  type TokenState,
  VerifiedTokenCache,
} from './tokens.js'
import type {
  AuthContext,
  DecodedToken,
  RequestView,
  StandardClaims,
  TokenClaims,
  TokenHeader,
  TokenType,
} from './types.js'

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
}

/** Options of `auth.login`. */
export interface LoginOptions {
  /** Persistent cookies and the long refresh lifetime. Default false: browser-session cookies. */
  remember?: boolean
  /** Whether the access token is fresh. Default true (a login is a password check). */
  fresh?: CreateTokenOptions['fresh']
  /** Extra claims for both tokens. */
  claims?: Record<string, unknown>
  /** Log in even when `isActive(user)` is false. */
  force?: boolean
}

/** Tokens and everything to send with them. Token responses must not be cached. */
export interface TokenResponse {
  accessToken: string
  refreshToken: string
  tokenType: 'Bearer'
  /** Access token lifetime in seconds (undefined when it never expires). */
  expiresIn: number | undefined
  /** Refresh token lifetime in seconds. */
  refreshExpiresIn: number | undefined
  /** The CSRF value the page must send back (when cookies are a location). */
  csrf: string | undefined
  /** Response headers: `cache-control: no-store`, and `set-cookie` only when cookies are a location. */
  headers: Record<string, string | string[]>
  access: IssuedToken<object>
  refresh: IssuedToken<object>
}

/** What `auth.logout` returns: the headers that clear cookies (if any). */
export interface LogoutResult {
  headers: Record<string, string | string[]>
}

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
   * Verifies a token (signature, exp, nbf, aud, iss, type). Does not ask the revocation store.
   * Synchronous: a token whose key an asynchronous `resolveKey` must fetch throws a TypeError here;
   * use `verifyToken` for those.
   */
  decodeToken(token: string, options?: DecodeOptions): DecodedToken<Claims>
  /** `decodeToken` as a promise, which also waits for a key from an asynchronous `resolveKey`. */
  verifyToken(token: string, options?: DecodeOptions): Promise<DecodedToken<Claims>>
  /** The request guard: finds, verifies and checks a token, loads the user. Rejects with AuthError. */
  authenticate(request: RequestView, options?: GuardOptions): Promise<AuthContext<User, Claims>>
  /**
   * The same guard for adapter authors: returns the context itself when nothing had to wait (a
   * revocation store and user loader that answered synchronously), a native `Promise` otherwise;
   * throws or rejects with AuthError. Saves a promise and its microtasks on every request of a hot
   * path. (`result instanceof Promise` tells the two apart; `isThenable` works too.)
   *
   * @example
   * ```ts
   * const result = auth.check(view)
   * if (isThenable(result)) result.then(proceed, refuse)
   * else proceed(result)
   * ```
   */
  check(request: RequestView, options?: GuardOptions): Awaitable<AuthContext<User, Claims>>
  /** Headers the adapter adds to the response of a guarded request (implicit refresh cookies). */
  responseHeaders(context: AuthContext<User, Claims>): Record<string, string[]> | undefined
  /** Logs a user in: tokens, cookies, `login` event. Refuses inactive users unless forced. */
  login(user: User, options?: LoginOptions): Promise<TokenResponse>
  /** Rotates a refresh token (context from a `refresh: true` guard): new access and refresh tokens. */
  refresh(context: AuthContext<User, Claims>): Promise<TokenResponse>
  /** Revokes the presented token and its refresh family; returns the headers that clear cookies. */
  logout(context: AuthContext<User, Claims>): Promise<LogoutResult>
  /** Revokes every token of an identity issued before now (password change, "log out everywhere"). */
  logoutEverywhere(subject: User | string | number): Promise<void>
  /** Revokes one token by its claims. */
  revokeToken(claims: Pick<TokenClaims, 'jti' | 'exp'>): Promise<void>
  /** Renders an AuthError as a response (status, `{msg, code}` body, headers). */
  errorResponse(error: AuthError): ErrorResponse
  /** `Set-Cookie` values that clear every token and CSRF cookie. */
  clearCookies(): string[]
  /** The public keys as a JWKS document. */
  jwks(): JWKS
  /** Subscribes to an event; returns the unsubscribe function. */
  on<K extends keyof AuthEvents<User, Claims>>(
    event: K,
    listener: (payload: AuthEvents<User, Claims>[K]) => void,
  ): () => void
  /** The resolved configuration (read-only). */
  readonly config: ResolvedConfig
}

const NO_STORE = 'no-store'
const NO_OPTIONS: GuardOptions = Object.freeze({})

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
  const keys = new KeySet(options.keys, { allowMixedAlgorithms: options.allowMixedAlgorithms === true })
  const state: TokenState = {
    config,
    keys,
    resolveKey: options.resolveKey,
    additionalClaims: options.additionalClaims as TokenState['additionalClaims'],
    identify: options.identify as TokenState['identify'],
    cache: config.verifiedTokenCache ? new VerifiedTokenCache(config.verifiedTokenCache) : undefined,
  }
  const store: RevocationStore | undefined = options.revocation
  const events = new EventHub<AuthEvents<User, Claims>>(
    options.onListenerError ?? ((err, event) => console.error(`latchkey: a "${event}" listener threw`, err)),
  )
  const errorOptions = options.errors ?? {}
  const anonymousUser = (options.anonymousUser ?? null) as User
  const { loadUser, isActive, checkClaims } = options
  const pending = new WeakMap<object, string[]>()
  const loggedOut = new WeakSet<object>()
  // How long family and identity revocations must be kept: the longest any token can live, plus leeway.
  const longestRefreshMs =
    Math.max(Number(config.refreshTtlMs || 0), config.sessionRefreshTtlMs, Number(config.accessTtlMs || 0)) +
    config.leewayMs

  const subOf = (claims: StandardClaims): string =>
    (claims as unknown as Record<string, string>)[config.identityClaim]!

  /**
   * When a store may forget an entry about a token: once the token is refused anyway, that is after
   * `exp` plus the leeway (a token is still accepted within the leeway, so must its revocation be).
   */
  const forgetAfter = (exp: number | undefined): number =>
    exp === undefined ? Number.MAX_SAFE_INTEGER : exp * 1000 + config.leewayMs

  function anonymous(): AuthContext<User, Claims> {
    return {
      isAuthenticated: false,
      user: anonymousUser,
      sub: null,
      claims: null,
      header: null,
      token: null,
      location: null,
      type: null,
      fresh: false,
    }
  }

  function tokenRef(claims: StandardClaims): TokenRef {
    return {
      jti: claims.jti,
      sub: subOf(claims),
      family: claims.fam,
      issuedAt: typeof claims.iat_ms === 'number' ? claims.iat_ms : (claims.iat ?? 0) * 1000,
      expiresAt: claims.exp === undefined ? undefined : claims.exp * 1000,
    }
  }

  /** A store that threw or rejected: reported once, and the request fails closed (503). */
  function storeFailure(error: unknown): RevocationUnavailableError {
    if (events.has('revocationUnavailable')) events.emit('revocationUnavailable', { error })
    else console.error('latchkey: revocation store unavailable', error)
    return new RevocationUnavailableError({ cause: error })
  }

  async function storeCall<T>(call: () => Awaitable<T>): Promise<T> {
    try {
      return await call()
    } catch (error) {
      throw storeFailure(error)
    }
  }

  function setCookies(list: ReturnType<typeof tokenCookies>): string[] {
    return list.map(serializeCookie)
  }

  /** What the synchronous part of the guard learned, handed to the steps that may wait. */
  interface Verified {
    found: FoundToken
    header: TokenHeader
    claims: TokenClaims<Claims>
    type: TokenType
    sub: string
    now: number
    fresh: boolean
  }

  /**
   * The guard. Each step that may wait (revocation store, `checkClaims`, `loadUser`) continues
   * synchronously when its answer is not a promise, so with a memory store and a synchronous user
   * loader a request is authenticated without a single promise. Throws or rejects with AuthError.
   */
  function check(view: RequestView, opts: GuardOptions = NO_OPTIONS): Awaitable<AuthContext<User, Claims>> {
    // CORS preflights carry no credentials; guards let them through untouched.
    if (view.method === 'OPTIONS') return anonymous()
    const type: TokenType = opts.refresh ? 'refresh' : 'access'
    let found: FoundToken | undefined
    try {
      found = findToken(
        config,
        view,
        type,
        opts.locations ?? (type === 'access' ? config.accessLocations : config.refreshLocations),
      )
      const v = verify(view, found, type, opts)
      const result =
        v instanceof Promise
          ? v.then((x: Verified) => revocationStep(x, opts))
          : revocationStep(v as Verified, opts)
      // Every promise of this chain is a native one: instanceof tells, and stays cheap.
      if (!(result instanceof Promise)) return result
      const where = found
      return Promise.resolve(result).then(undefined, (err: unknown) => refuse(err, opts, type, where))
    } catch (err) {
      return refuse(err, opts, type, found)
    }
  }

  /**
   * Signature, claims, CSRF, token type and freshness. Waits only for a key from an asynchronous
   * `resolveKey`; configured keys never wait.
   */
  function verify(
    view: RequestView,
    found: FoundToken,
    type: TokenType,
    opts: GuardOptions,
  ): Awaitable<Verified> {
    // One clock reading for the whole check: expiry, freshness and the implicit-refresh window agree.
    const now = config.clock()
    let decoded: Awaitable<DecodedToken<Claims>>
    try {
      decoded = decodeTokenAwaitable<Claims>(state, found.token, undefined, now)
    } catch (err) {
      return undecodable(found, err)
    }
    // Only a key from an asynchronous resolveKey makes it a promise (a native one, hence instanceof).
    if (!(decoded instanceof Promise))
      return verified(view, found, type, opts, now, decoded as DecodedToken<Claims>)
    return decoded.then(
      (d: DecodedToken<Claims>) => verified(view, found, type, opts, now, d),
      (err: unknown) => undecodable(found, err),
    )
  }

  /**
   * A token that did not decode. The header's syntax is checked only now: a header that breaks it
   * can never hold a valid token (its characters are outside base64url), so valid requests skip the
   * scan, and a broken header is still named as such.
   */
  function undecodable(found: FoundToken, err: unknown): never {
    if (found.location === 'headers') checkHeaderSyntax(config, found.token)
    throw err
  }

  function verified(
    view: RequestView,
    found: FoundToken,
    type: TokenType,
    opts: GuardOptions,
    now: number,
    { header, claims }: DecodedToken<Claims>,
  ): Verified {
    if (found.location === 'cookies') checkCsrf(config, view, claims.csrf)
    if (claims.type !== type) throw new WrongTokenTypeError(type)
    const sub = subOf(claims)
    const fresh = isFresh(claims, now)
    if (opts.fresh && !fresh) {
      events.emit('needsFresh', { sub, claims })
      throw new FreshTokenRequiredError()
    }
    return { found, header, claims, type, sub, now, fresh }
  }

  function revocationStep(v: Verified, opts: GuardOptions): Awaitable<AuthContext<User, Claims>> {
    if (!store || opts.skipRevocation) return claimsStep(v)
    let revoked: Awaitable<boolean>
    try {
      revoked = store.isRevoked(tokenRef(v.claims))
    } catch (error) {
      throw storeFailure(error)
    }
    if (!isThenable(revoked)) return afterRevocation(v, revoked)
    // Through Promise.resolve: a store's own thenable need not follow the rules (a `then` that returns
    // nothing would otherwise end the chain with `undefined`, which the adapters would take for a context).
    return Promise.resolve(revoked).then(
      (answer) => afterRevocation(v, answer),
      (error: unknown) => {
        throw storeFailure(error)
      },
    )
  }

  function afterRevocation(v: Verified, revoked: boolean): Awaitable<AuthContext<User, Claims>> {
    if (revoked) {
      events.emit('tokenRevoked', { sub: v.sub, claims: v.claims })
      throw new TokenRevokedError()
    }
    return claimsStep(v)
  }

  function claimsStep(v: Verified): Awaitable<AuthContext<User, Claims>> {
    if (!checkClaims) return userStep(v)
    const rejected = (err: unknown): never => {
      if (err instanceof AuthError) throw err
      throw Object.assign(new ClaimsRejectedError(), { cause: err })
    }
    let ok: Awaitable<boolean>
    try {
      ok = checkClaims(v.claims, v.header)
    } catch (err) {
      return rejected(err)
    }
    const next = (answer: boolean) => {
      if (!answer) throw new ClaimsRejectedError()
      return userStep(v)
    }
    return isThenable(ok) ? Promise.resolve(ok).then(next, rejected) : next(ok)
  }

  function userStep(v: Verified): Awaitable<AuthContext<User, Claims>> {
    if (!loadUser) return finish(v, v.sub as unknown as User)
    const loaded = loadUser(v.sub, v.claims)
    // Any thenable (a native promise is the common case, checked first) is adopted through
    // Promise.resolve, so a non-conforming `then` can never end the chain early. Checked here rather
    // than through a shared helper, so this site's property lookup only ever sees the app's users.
    if (
      loaded instanceof Promise ||
      (loaded !== null &&
        (typeof loaded === 'object' || typeof loaded === 'function') &&
        typeof (loaded as { then?: unknown }).then === 'function')
    ) {
      return Promise.resolve(loaded as unknown as PromiseLike<User | null | undefined>).then((user) =>
        finish(v, user),
      )
    }
    return finish(v, loaded as User | null | undefined)
  }

  function finish(v: Verified, loaded: User | null | undefined): AuthContext<User, Claims> {
    if (loadUser && (loaded === null || loaded === undefined)) throw new UserNotFoundError()
    const user = loaded as User
    const { claims, sub, found, now } = v
    if (isActive && !isActive(user)) throw new UserInactiveError()
    if (events.has('userLoaded')) events.emit('userLoaded', { user, sub, claims })
    const context: AuthContext<User, Claims> = {
      isAuthenticated: true,
      user,
      sub,
      claims,
      header: v.header,
      token: found.token,
      location: found.location,
      type: v.type,
      fresh: v.fresh,
    }
    if (
      config.implicitRefreshWindowMs !== false &&
      found.location === 'cookies' &&
      v.type === 'access' &&
      claims.exp !== undefined &&
      claims.exp * 1000 - now < config.implicitRefreshWindowMs
    ) {
      // The user only when it can be turned back into an identity; otherwise the identity itself.
      const subject = loadUser && options.identify ? user : sub
      const next = createToken<Claims>(state, 'access', subject, {
        csrf: claims.csrf,
        family: claims.fam,
        claims: customClaims(claims, subject),
      })
      pending.set(
        context,
        setCookies(tokenCookies(config, 'access', next.token, next.claims.csrf, undefined)),
      )
    }
    return context
  }

  /** A refused request: anonymous where the guard allows it, else the error (events, cookie clearing). */
  function refuse(
    err: unknown,
    opts: GuardOptions,
    type: TokenType,
    found: FoundToken | undefined,
  ): AuthContext<User, Claims> {
    if (!(err instanceof AuthError)) throw err
    if (
      opts.optional &&
      (err.code === 'TOKEN_MISSING' || (opts.invalidAsAnonymous && ANONYMOUS_IF_INVALID.has(err.code)))
    ) {
      return anonymous()
    }
    // An expired cookie is cleared, so the browser stops sending it and the page knows to refresh.
    if (err instanceof TokenExpiredError && found?.location === 'cookies') {
      err.headers['set-cookie'] = setCookies(clearingCookies(config, [type]))
    }
    events.emit('unauthorized', { error: err })
    throw err
  }

  function authenticate(view: RequestView, opts?: GuardOptions): Promise<AuthContext<User, Claims>> {
    try {
      return Promise.resolve(check(view, opts))
    } catch (err) {
      return Promise.reject(err)
    }
  }

  const standard = new Set([
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
    config.identityClaim,
  ])
  /**
   * The app's own claims of a token, to carry over into the tokens a refresh issues. Claims that the
   * claims loader produces for `subject` are left out: createToken computes them afresh.
   */
  function customClaims(claims: StandardClaims, subject: unknown): Record<string, unknown> | undefined {
    let out: Record<string, unknown> | undefined
    const fromLoader = options.additionalClaims
      ? Object.keys(options.additionalClaims(subject as User) ?? {})
      : []
    for (const key of Object.keys(claims)) {
      if (standard.has(key) || fromLoader.includes(key)) continue
      out ??= {}
      Object.defineProperty(out, key, {
        value: (claims as unknown as Record<string, unknown>)[key],
        enumerable: true,
        writable: true,
        configurable: true,
      })
    }
    return out
  }

  function tokenResponse(
    access: IssuedToken<object>,
    refresh: IssuedToken<object>,
    csrf: string | undefined,
    remember: boolean,
  ): TokenResponse {
    const headers: Record<string, string | string[]> = { 'cache-control': NO_STORE }
    if (config.cookiesUsed) {
      const now = config.clock()
      const maxAge = (t: IssuedToken<object>) =>
        remember && t.expiresAt !== undefined
          ? Math.max(0, Math.floor((t.expiresAt - now) / 1000))
          : undefined
      const list = [
        ...(cookiesFor(config, 'access')
          ? tokenCookies(config, 'access', access.token, csrf, maxAge(access))
          : []),
        ...(cookiesFor(config, 'refresh')
          ? tokenCookies(config, 'refresh', refresh.token, csrf, maxAge(refresh))
          : []),
      ]
      headers['set-cookie'] = setCookies(list)
    }
    const seconds = (t: IssuedToken<object>) =>
      t.expiresAt === undefined ? undefined : Math.round((t.expiresAt - access.claims.iat_ms) / 1000)
    return {
      accessToken: access.token,
      refreshToken: refresh.token,
      tokenType: 'Bearer',
      expiresIn: seconds(access),
      refreshExpiresIn: seconds(refresh),
      csrf,
      headers,
      access,
      refresh,
    }
  }

  function pair(
    subject: unknown,
    family: string,
    remember: boolean,
    fresh: LoginOptions['fresh'],
    claims: Record<string, unknown> | undefined,
    refreshTtl?: Duration | false,
  ): TokenResponse {
    const csrf = config.cookiesUsed && config.csrf.enabled ? newCsrfValue() : undefined
    const access = createToken(state, 'access', subject, { fresh, claims, family, csrf })
    const refresh = createToken(state, 'refresh', subject, {
      claims,
      family,
      csrf,
      expiresIn:
        refreshTtl ??
        (remember ? config.refreshTtlMs && config.refreshTtlMs / 1000 : config.sessionRefreshTtlMs / 1000),
    })
    return tokenResponse(access, refresh, csrf, remember)
  }

  const auth: Auth<User, Claims> = {
    config,
    createAccessToken: (subject, opts) => createToken(state, 'access', subject, opts).token,
    createRefreshToken: (subject, opts) => createToken(state, 'refresh', subject, opts).token,
    issueToken: (type, subject, opts) => createToken<Claims>(state, type, subject, opts),
    decodeToken: (token, opts) => decodeToken<Claims>(state, token, opts),
    verifyToken: async (token, opts) => decodeTokenAwaitable<Claims>(state, token, opts),
    authenticate,
    check,
    responseHeaders(context) {
      const cookies = pending.get(context)
      return cookies && !loggedOut.has(context) ? { 'set-cookie': cookies } : undefined
    },
    async login(user, opts = {}) {
      if (isActive && !opts.force && !isActive(user)) throw new UserInactiveError()
      const remember = opts.remember === true
      const family = randomUUID()
      const result = pair(user, family, remember, opts.fresh ?? true, opts.claims)
      events.emit('login', { user, sub: result.access.claims.sub, remember, family })
      return result
    },
    async refresh(context) {
      const claims = context.claims
      if (!context.isAuthenticated || !claims || claims.type !== 'refresh')
        throw new WrongTokenTypeError('refresh')
      const sub = subOf(claims)
      const expiresAt = forgetAfter(claims.exp)
      // A refresh token made outside login (createRefreshToken) has no family: its own id names the
      // family its rotations start, so that reusing it revokes what those rotations issued too.
      const family = claims.fam ?? claims.jti
      if (store) {
        const used = await storeCall(() => store.consumeRefreshToken(claims.jti, expiresAt))
        // Strict (grace 0): every use after the first is reuse, whatever the clocks say; the first use
        // may have been stamped by another host whose clock is ahead of ours. With a grace window,
        // `>=` keeps a reuse exactly at its end out of it.
        const grace = config.refreshReuseGraceMs
        if (!used.firstUse && (grace === 0 || config.clock() - used.usedAt >= grace)) {
          const familyUntil = config.clock() + longestRefreshMs
          await storeCall(() => store.revokeFamily(family, familyUntil))
          // A token without a family claim is not covered by the family: revoke it by id as well.
          if (!claims.fam) await storeCall(() => store.revokeToken(claims.jti, expiresAt))
          events.emit('refreshReuseDetected', { sub, family: claims.fam, jti: claims.jti })
          throw new TokenRevokedError('Refresh token reuse detected: every token of this login was revoked')
        }
      }
      // The new refresh token keeps the old one's lifetime (remember or browser-session).
      const lifetimeMs =
        claims.exp === undefined ? false : claims.exp * 1000 - (claims.iat_ms ?? claims.iat * 1000)
      const remember = lifetimeMs === false || lifetimeMs > config.sessionRefreshTtlMs
      const subject = loadUser && options.identify ? context.user : sub
      const result = pair(
        subject,
        family,
        remember,
        false,
        customClaims(claims, subject),
        lifetimeMs === false ? false : Math.max(1, Math.round(lifetimeMs / 1000)),
      )
      events.emit('refresh', { sub, family: claims.fam })
      return result
    },
    async logout(context) {
      loggedOut.add(context)
      const claims = context.claims
      if (store && claims) {
        const expiresAt = forgetAfter(claims.exp)
        await storeCall(() => store.revokeToken(claims.jti, expiresAt))
        if (claims.fam) {
          const familyUntil = config.clock() + longestRefreshMs
          await storeCall(() => store.revokeFamily(claims.fam!, familyUntil))
        }
      }
      if (claims) events.emit('logout', { sub: subOf(claims), claims, everywhere: false })
      const headers: Record<string, string | string[]> = { 'cache-control': NO_STORE }
      if (config.cookiesUsed) headers['set-cookie'] = setCookies(clearingCookies(config))
      return { headers }
    },
    async logoutEverywhere(subject) {
      if (!store) throw new TypeError('latchkey: logoutEverywhere needs a revocation store')
      const sub = identityOf(state, subject)
      const now = config.clock()
      const longest = config.allowNonExpiring
        ? Number.MAX_SAFE_INTEGER
        : now + Math.max(longestRefreshMs, Number(config.accessTtlMs || 0))
      await storeCall(() => store.revokeIdentity(sub, now, longest))
      events.emit('logout', { sub, claims: null, everywhere: true })
    },
    async revokeToken(claims) {
      if (!store) throw new TypeError('latchkey: revokeToken needs a revocation store')
      await storeCall(() => store.revokeToken(claims.jti, forgetAfter(claims.exp)))
    },
    errorResponse: (error) => renderError(errorOptions, error),
    clearCookies: () => setCookies(clearingCookies(config)),
    jwks: () => keys.jwks(),
    on: (event, listener) => events.on(event, listener),
  }
  return auth
}
