/**
 * The core's modules alone, each over explicit dependencies built here by hand (no createAuth): the
 * sync/async join, compact parsing with per-object caches, each step of the guard, re-issuing an
 * access token, the session operations' headers, the shared SQL text, and errors that never change.
 */
import { describe, expect, it, vi } from 'vitest'
import { resolveConfig } from '../../src/core/config.js'
import { type AuthEvents, EventHub } from '../../src/core/events.js'
import {
  anonymous,
  checkToken,
  claimsStep,
  contextStep,
  type GuardDeps,
  GuardState,
  guard,
  refuse,
  revocationStep,
  userStep,
  verifyStep,
} from '../../src/core/guard.js'
import { issueToken } from '../../src/core/issue.js'
import { createJwsCache, parseCompact } from '../../src/core/jws.js'
import { KeySet } from '../../src/core/keys.js'
import type { AuthOptions } from '../../src/core/options.js'
import { logout, logoutEverywhere, type SessionDeps } from '../../src/core/session.js'
import { reissueAccess } from '../../src/core/token-response.js'
import type { AuthContext, RequestView } from '../../src/core/types.js'
import { verifyToken, verifyTokenSync } from '../../src/core/verify.js'
import {
  type Auth,
  ClaimsRejectedError,
  ConfigError,
  CsrfError,
  createAuth,
  FreshTokenRequiredError,
  MemoryRevocationStore,
  RevocationUnavailableError,
  TokenExpiredError,
  TokenInvalidError,
  TokenRevokedError,
  UserNotFoundError,
  WrongTokenTypeError,
} from '../../src/index.js'
import { adopt, join } from '../../src/internal/awaitable.js'
import { revocationSql } from '../../src/stores/sql.js'
import { bearer, cookieValue, frozenClock, makeView, SECRET, setCookies } from './helpers.js'

type Deps = GuardDeps & SessionDeps

/** The core's dependencies, wired by hand: what createAuth does, minus everything a test does not need. */
function coreDeps(options: Partial<AuthOptions<unknown>> = {}, parts: Partial<Deps> = {}) {
  const clock = frozenClock()
  const all = { keys: { secret: SECRET }, clock: clock.fn, ...options } as AuthOptions<unknown>
  const events = new EventHub<AuthEvents<unknown, object>>((err) => {
    throw err
  })
  const deps: Deps = {
    config: resolveConfig(all),
    keys: new KeySet(all.keys!),
    resolveKey: undefined,
    verifiedCache: undefined,
    jws: createJwsCache(),
    resolvedKeys: new WeakMap(),
    headerSegments: new WeakMap(),
    additionalClaims: undefined,
    additionalHeaders: undefined,
    signingKey: undefined,
    signingKeys: new WeakMap(),
    identify: undefined,
    loadUser: undefined,
    isActive: undefined,
    checkClaims: undefined,
    anonymousUser: null,
    store: undefined,
    events,
    ...parts,
  }
  return { deps, clock, events }
}

/** A state as the guard makes it after finding `token` in `location`. */
function stateFor(
  deps: Deps,
  token: string,
  view: RequestView = makeView(),
  location: 'headers' | 'cookies' = 'headers',
) {
  return new GuardState(deps, view, { token, location }, 'access', {}, deps.config.clock())
}

/** The state after verification (as checkToken leaves it). */
function verifiedState(deps: Deps, token: string) {
  const state = stateFor(deps, token)
  return checkToken(verifyTokenSync(deps, token), state)
}

describe('the sync/async join', () => {
  it('continues synchronously on a plain value, with the state and no promise', () => {
    const next = vi.fn((value: number, arg: string) => `${arg}${value}`)
    expect(join(1, next, 'x')).toBe('x1')
    expect(next).toHaveBeenCalledWith(1, 'x')
  })

  it('waits for a native promise; `fail` maps its rejection only, not an error of the next step', async () => {
    expect(await join(Promise.resolve(2), (v: number) => v * 2, undefined)).toBe(4)
    const fail = (err: unknown): never => {
      throw new Error(`mapped ${(err as Error).message}`)
    }
    await expect(join(Promise.reject(new Error('store')), () => 0, undefined, fail)).rejects.toThrow(
      'mapped store',
    )
    const next = () => {
      throw new Error('step')
    }
    await expect(join(Promise.resolve(1), next, undefined, fail)).rejects.toThrow(/^step$/)
  })

  it('adopts an app thenable once into a native promise; plain values and native promises pass as they are', async () => {
    const native = Promise.resolve(1)
    expect(adopt(native)).toBe(native)
    expect(adopt(true)).toBe(true)
    const user = { id: 'u1' }
    expect(adopt(user)).toBe(user)
    // biome-ignore lint/suspicious/noThenProperty: an app's thenable
    const thenable = { then: (resolve: (v: string) => void) => resolve('later') }
    const adopted = adopt(thenable as unknown as PromiseLike<string>)
    expect(adopted).toBeInstanceOf(Promise)
    expect(await adopted).toBe('later')
  })
})

describe('compact parsing', () => {
  it('splits a token at its dots with its checked header', () => {
    const { deps } = coreDeps()
    const token = issueToken(deps, 'access', 'u1').token
    const jws = parseCompact(createJwsCache(), token)
    expect(jws.header).toEqual({ alg: 'HS256', typ: 'JWT' })
    expect(token.slice(0, jws.dot1)).toBe(token.split('.')[0])
    expect(token.slice(jws.dot2 + 1)).toBe(token.split('.')[2])
  })

  it('keeps its header cache per auth object: another object parses for itself', () => {
    const { deps } = coreDeps()
    const token = issueToken(deps, 'access', 'u1').token
    const a = createJwsCache()
    const b = createJwsCache()
    parseCompact(a, token)
    expect(a.headers.size).toBe(1)
    expect(b.headers.size).toBe(0)
    expect(b.last).toBeUndefined()
  })

  it('refuses anything but three segments and an allowed algorithm', () => {
    const cache = createJwsCache()
    expect(() => parseCompact(cache, 'a.b')).toThrow(TokenInvalidError)
    expect(() => parseCompact(cache, 'a.b.c.d')).toThrow(/three dot-separated segments/)
    const none = Buffer.from('{"alg":"none"}').toString('base64url')
    expect(() => parseCompact(cache, `${none}.e30.`)).toThrow(/algorithm not allowed/)
  })
})

describe('verify', () => {
  it('verifyToken answers without a promise when the key is configured; verifyTokenSync the same', () => {
    const { deps } = coreDeps()
    const token = issueToken(deps, 'access', 'u1').token
    const decoded = verifyToken(deps, token)
    expect(decoded).not.toBeInstanceOf(Promise)
    expect(verifyTokenSync(deps, token).claims).toEqual((decoded as { claims: unknown }).claims)
  })

  it('a key from an asynchronous resolver: a promise from verifyToken, a ConfigError (a TypeError) from verifyTokenSync', async () => {
    const issuer = coreDeps({ keys: { secret: SECRET, kid: 'remote' } }).deps
    const { deps } = coreDeps(
      { keys: { secret: 'another-secret-of-at-least-32-bytes-long!!', kid: 'local' } },
      {
        resolveKey: async () => ({ secret: SECRET, kid: 'remote' }),
      },
    )
    const token = issueToken(issuer, 'access', 'u1').token
    const pending = verifyToken(deps, token)
    expect(pending).toBeInstanceOf(Promise)
    expect((await pending).claims.sub).toBe('u1')
    const err = (() => {
      try {
        verifyTokenSync(deps, token)
      } catch (e) {
        return e
      }
    })()
    expect(err).toBeInstanceOf(ConfigError)
    expect(err).toBeInstanceOf(TypeError)
  })
})

describe('the guard, step by step', () => {
  it('checkToken: CSRF for cookie tokens on unsafe methods, the wanted type, freshness', () => {
    const { deps } = coreDeps({ tokenLocations: ['cookies'] })
    const access = issueToken(deps, 'access', 'u1')
    const post = makeView({ method: 'POST' })
    const cookieState = new GuardState(
      deps,
      post,
      { token: access.token, location: 'cookies' },
      'access',
      {},
      deps.config.clock(),
    )
    expect(() => checkToken(verifyTokenSync(deps, access.token), cookieState)).toThrow(CsrfError)
    const refreshState = new GuardState(
      deps,
      makeView(),
      { token: access.token, location: 'cookies' },
      'refresh',
      {},
      0,
    )
    expect(() => checkToken(verifyTokenSync(deps, access.token), refreshState)).toThrow(WrongTokenTypeError)
    const freshState = new GuardState(
      deps,
      makeView(),
      { token: access.token, location: 'cookies' },
      'access',
      { fresh: true },
      deps.config.clock(),
    )
    expect(() => checkToken(verifyTokenSync(deps, access.token), freshState)).toThrow(FreshTokenRequiredError)
    const ok = checkToken(verifyTokenSync(deps, access.token), stateFor(deps, access.token))
    expect(ok).toMatchObject({ sub: 'u1', fresh: false, claims: access.claims })
  })

  it('verifyStep names a broken Authorization header only once the token failed', () => {
    const { deps } = coreDeps()
    expect(() => verifyStep(stateFor(deps, 'not a token'))).toThrow(
      /Authorization header must be exactly "Bearer <token>"/,
    )
    expect(() => verifyStep(stateFor(deps, 'x.y.z'))).toThrow(/Invalid token/)
  })

  it('revocationStep: revoked refuses, a failing store is a 503, skipRevocation never asks', async () => {
    const store = new MemoryRevocationStore({ sweepIntervalMs: 0 })
    const { deps, events } = coreDeps({}, { store })
    events.on('revocationUnavailable', () => {})
    const issued = issueToken(deps, 'access', 'u1')
    expect(revocationStep(verifiedState(deps, issued.token))).toMatchObject({
      isAuthenticated: true,
      sub: 'u1',
    })
    await store.revokeToken(issued.claims.jti, Number.MAX_SAFE_INTEGER)
    expect(() => revocationStep(verifiedState(deps, issued.token))).toThrow(TokenRevokedError)
    const skipping = new GuardState(
      deps,
      makeView(),
      { token: issued.token, location: 'headers' },
      'access',
      { skipRevocation: true },
      deps.config.clock(),
    )
    expect(revocationStep(checkToken(verifyTokenSync(deps, issued.token), skipping))).toMatchObject({
      sub: 'u1',
    })
    const broken = coreDeps(
      {},
      { store: { ...store, isRevoked: () => Promise.reject(new Error('down')) } as never },
    )
    broken.events.on('revocationUnavailable', () => {})
    const pending = revocationStep(verifiedState(broken.deps, issueToken(broken.deps, 'access', 'u1').token))
    await expect(pending).rejects.toBeInstanceOf(RevocationUnavailableError)
  })

  it('claimsStep: false, a throw or a rejection is CLAIMS_REJECTED', async () => {
    for (const checkClaims of [
      () => false,
      () => Promise.resolve(false),
      () => {
        throw new Error('app')
      },
    ]) {
      const { deps } = coreDeps({}, { checkClaims })
      const state = verifiedState(deps, issueToken(deps, 'access', 'u1').token)
      await expect((async () => claimsStep(state))()).rejects.toBeInstanceOf(ClaimsRejectedError)
    }
  })

  it('userStep and contextStep: the loaded user, or USER_NOT_FOUND', async () => {
    const users = new Map([['u1', { id: 'u1' }]])
    const { deps } = coreDeps({}, { loadUser: (id: string) => users.get(id) })
    expect(userStep(verifiedState(deps, issueToken(deps, 'access', 'u1').token))).toMatchObject({
      user: { id: 'u1' },
    })
    expect(() => userStep(verifiedState(deps, issueToken(deps, 'access', 'u2').token))).toThrow(
      UserNotFoundError,
    )
    const waiting = coreDeps({}, { loadUser: async (id: string) => users.get(id) }).deps
    const pending = userStep(verifiedState(waiting, issueToken(waiting, 'access', 'u1').token))
    expect(pending).toBeInstanceOf(Promise)
    expect((await pending).user).toEqual({ id: 'u1' })
  })

  it('contextStep carries the implicit-refresh cookies on the context; logout and a re-issue drop them', async () => {
    const { deps, clock } = coreDeps({ tokenLocations: ['cookies'], implicitRefresh: { window: '5m' } })
    const issued = issueToken(deps, 'access', 'u1', { family: 'fam' })
    clock.advance(12 * 60_000)
    const state = new GuardState(
      deps,
      makeView(),
      { token: issued.token, location: 'cookies' },
      'access',
      {},
      clock.now,
    )
    const context = contextStep('u1', checkToken(verifyTokenSync(deps, issued.token), state))
    const cookies = setCookies(context.responseHeaders)
    expect(cookieValue(cookies, 'csrf_access_token')).toBe(issued.claims.csrf)
    expect(verifyTokenSync(deps, cookieValue(cookies, 'access_token_cookie')!).claims.fam).toBe('fam')
    await logout(deps, context)
    expect(context.responseHeaders).toBeUndefined()
    // A fresh login in the same request supersedes the implicit refresh the same way.
    const again = contextStep('u1', checkToken(verifyTokenSync(deps, issued.token), state))
    expect(again.responseHeaders).toBeDefined()
    const fresh = reissueAccess(deps, again, { fresh: true })
    expect(again.responseHeaders).toBeUndefined()
    expect(verifyTokenSync(deps, fresh.accessToken).claims.fresh).toBe(true)
  })

  it('refuse: anonymous where the guard allows it; an expired cookie token gets a copy carrying the clearing cookies', () => {
    const { deps } = coreDeps({ tokenLocations: ['cookies'] })
    const missing = (() => {
      try {
        void guard(deps, makeView())
      } catch (e) {
        return e
      }
    })()
    expect(refuse(deps, missing, { optional: true }, 'access', undefined)).toEqual(anonymous(deps))
    const expired = new TokenExpiredError(0)
    let thrown: unknown
    try {
      refuse(deps, expired, {}, 'access', { token: 't', location: 'cookies' })
    } catch (e) {
      thrown = e
    }
    expect(thrown).toBeInstanceOf(TokenExpiredError)
    expect(thrown).not.toBe(expired)
    expect(expired.headers).toEqual({})
    expect(cookieValue(setCookies((thrown as TokenExpiredError).headers), 'access_token_cookie')).toBe('')
    const crash = new Error('not ours')
    expect(() => refuse(deps, crash, { optional: true }, 'access', undefined)).toThrow(crash)
  })

  it('guard: the whole pipeline answers without a promise when nothing waits', () => {
    const { deps } = coreDeps(
      {},
      { store: new MemoryRevocationStore({ sweepIntervalMs: 0 }), loadUser: (id: string) => ({ id }) },
    )
    const result = guard(deps, makeView({ headers: bearer(issueToken(deps, 'access', 'u1').token) }))
    expect(result).not.toBeInstanceOf(Promise)
    expect(result).toMatchObject({ isAuthenticated: true, user: { id: 'u1' }, location: 'headers' })
  })
})

describe('re-issuing an access token', () => {
  function context(auth: Auth, type: 'access' | 'refresh' = 'access'): AuthContext {
    const issued = auth.issueToken(type, 'u1', { family: 'fam', claims: { role: 'admin' } })
    return {
      isAuthenticated: true,
      user: 'u1',
      sub: 'u1',
      claims: issued.claims,
      header: { alg: 'HS256' },
      token: issued.token,
      location: 'cookies',
      type,
      fresh: false,
      scopes: [],
      issuer: null,
    }
  }

  it('keeps family, CSRF value and the app claims; fresh when asked; cookies with Max-Age when remembered', () => {
    const clock = frozenClock()
    const auth = createAuth({
      keys: { secret: SECRET },
      clock: clock.fn,
      tokenLocations: ['headers', 'cookies'],
    })
    const ctx = context(auth)
    const session = auth.reissueAccess(ctx, { fresh: true, remember: true })
    expect(session.headers['cache-control']).toBe('no-store')
    expect(session.expiresIn).toBe(900)
    expect(session.csrf).toBe(ctx.claims!.csrf)
    expect(auth.verifyTokenSync(session.accessToken).claims).toMatchObject({
      fam: 'fam',
      role: 'admin',
      fresh: true,
    })
    const cookies = setCookies(session.headers)
    expect(cookies.find((c) => c.startsWith('access_token_cookie='))).toMatch(/; Max-Age=900;/)
    expect(
      setCookies(auth.reissueAccess(ctx).headers).find((c) => c.startsWith('access_token_cookie=')),
    ).not.toMatch(/Max-Age/)
  })

  it('sets no cookie when access tokens do not travel in cookies, and refuses a refresh-token context', () => {
    const auth = createAuth({ keys: { secret: SECRET } })
    expect(auth.reissueAccess(context(auth)).headers).toEqual({ 'cache-control': 'no-store' })
    expect(() => auth.reissueAccess(context(auth, 'refresh'))).toThrow(WrongTokenTypeError)
    const { deps } = coreDeps()
    expect(() => reissueAccess(deps, anonymous(deps))).toThrow(WrongTokenTypeError)
  })
})

describe('the session operations answer with their headers', () => {
  it('logoutEverywhere: no-store, and the cleared cookies when cookies are a location', async () => {
    const store = new MemoryRevocationStore({ sweepIntervalMs: 0 })
    const withCookies = coreDeps({ tokenLocations: ['cookies'] }, { store }).deps
    const result = await logoutEverywhere(withCookies, 'u1')
    expect(result.headers['cache-control']).toBe('no-store')
    expect(cookieValue(setCookies(result.headers), 'access_token_cookie')).toBe('')
    const headersOnly = coreDeps({}, { store }).deps
    expect(await logoutEverywhere(headersOnly, 'u1')).toEqual({ headers: { 'cache-control': 'no-store' } })
    await expect(logoutEverywhere(coreDeps().deps, 'u1')).rejects.toBeInstanceOf(ConfigError)
  })
})

describe('the revocation SQL, written once', () => {
  it('numbers PostgreSQL parameters once per name and repeats SQLite ones per use', () => {
    const pg = revocationSql({ dialect: 'postgres' })
    const lite = revocationSql({ dialect: 'sqlite', tablePrefix: 'auth_' })
    const values = { jti: 'j', family: null, sub: 's', issuedAt: 1, now: 2 }
    expect(pg.isRevoked.text).toContain('jti = $1 AND expires_at > $2')
    expect(pg.isRevoked.params(values)).toEqual(['j', 2, null, 's', 1])
    expect(lite.isRevoked.text).not.toMatch(/\$\d/)
    expect(lite.isRevoked.params(values)).toEqual(['j', 2, null, 2, 's', 1, 2])
    expect(lite.tables.tokens).toBe('auth_revoked_tokens')
    expect(lite.revokeToken.text).toContain('"auth_revoked_tokens"')
    expect(() => revocationSql({ dialect: 'sqlite', tablePrefix: 'x"; DROP' })).toThrow(TypeError)
  })
})

describe('errors never change once made', () => {
  it('headers are frozen; withHeaders makes a copy of the same class, message and code', () => {
    const err = new TokenExpiredError(5)
    expect(Object.isFrozen(err.headers)).toBe(true)
    const copy = err.withHeaders({ 'set-cookie': ['a=; Max-Age=0'] })
    expect(copy).toBeInstanceOf(TokenExpiredError)
    expect(copy).toMatchObject({
      code: 'TOKEN_EXPIRED',
      expiredAt: 5,
      message: err.message,
      stack: err.stack,
    })
    expect(copy.headers).toEqual({ 'set-cookie': ['a=; Max-Age=0'] })
    expect(err.headers).toEqual({})
    expect(() => {
      ;(copy.headers as Record<string, unknown>).x = 'y'
    }).toThrow(TypeError)
  })
})
