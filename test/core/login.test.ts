import { describe, expect, it } from 'vitest'
import {
  type AuthContext,
  type AuthOptions,
  createAuth,
  MemoryRevocationStore,
  RevocationUnavailableError,
  serializeCookie,
  TokenExpiredError,
  TokenRevokedError,
  UserInactiveError,
  WrongTokenTypeError,
} from '../../src/index.js'
import {
  bearer,
  type Clock,
  cookieLine,
  cookieValue,
  expectAuthRejection,
  frozenClock,
  makeView,
  NOW,
  NOW_S,
  rejected,
  SECRET,
  setCookies,
} from './helpers.js'

type User = { id: string; active: boolean }

function setup(extra: Partial<AuthOptions<User>> = {}) {
  const clock = frozenClock()
  const store = new MemoryRevocationStore({ now: clock.fn, sweepIntervalMs: 0 })
  const auth = createAuth<User>({
    keys: { secret: SECRET },
    clock: clock.fn,
    tokenLocations: ['headers', 'cookies'],
    revocation: store,
    identify: (u) => u.id,
    loadUser: (id) => ({ id, active: true }),
    isActive: (u) => u.active,
    ...extra,
  })
  return { auth, clock, store }
}

const alice: User = { id: 'alice', active: true }

/** Authenticates a token from the Authorization header (no CSRF involved). */
const viaHeader = (auth: ReturnType<typeof setup>['auth'], token: string, refresh = false) =>
  auth.authenticate(makeView({ method: 'POST', headers: bearer(token) }), { refresh })

describe('login', () => {
  it('returns both tokens, lifetimes, the CSRF value, no-store and the cookies', async () => {
    const { auth } = setup()
    const res = await auth.login(alice)
    expect(res.tokenType).toBe('Bearer')
    expect(res.expiresIn).toBe(900)
    expect(res.refreshExpiresIn).toBe(86_400)
    expect(res.access.claims).toMatchObject({ sub: 'alice', type: 'access', fresh: true, csrf: res.csrf })
    expect(res.refresh.claims).toMatchObject({ sub: 'alice', type: 'refresh', csrf: res.csrf })
    expect(res.access.claims.fam).toBe(res.refresh.claims.fam)
    expect(res.csrf).toMatch(/^[A-Za-z0-9_-]{22}$/)
    expect(res.headers['cache-control']).toBe('no-store')
    const list = setCookies(res.headers)
    expect(list.map((c) => c.split('=')[0])).toEqual([
      'access_token_cookie',
      'csrf_access_token',
      'refresh_token_cookie',
      'csrf_refresh_token',
    ])
    expect(cookieValue(list, 'access_token_cookie')).toBe(res.accessToken)
    expect(cookieValue(list, 'refresh_token_cookie')).toBe(res.refreshToken)
    expect(cookieValue(list, 'csrf_access_token')).toBe(res.csrf)
    expect(cookieValue(list, 'csrf_refresh_token')).toBe(res.csrf)
    // Both tokens work at once.
    expect((await viaHeader(auth, res.accessToken)).user).toEqual({ id: 'alice', active: true })
    expect((await viaHeader(auth, res.refreshToken, true)).type).toBe('refresh')
  })

  it('two logins are two families', async () => {
    const { auth } = setup()
    const a = await auth.login(alice)
    const b = await auth.login(alice)
    expect(a.access.claims.fam).not.toBe(b.access.claims.fam)
    expect(a.csrf).not.toBe(b.csrf)
  })

  it('refuses an inactive user unless forced', async () => {
    const { auth } = setup()
    const bob = { id: 'bob', active: false }
    await expectAuthRejection(auth.login(bob), UserInactiveError, 'USER_INACTIVE')
    const res = await auth.login(bob, { force: true })
    expect(res.access.claims.sub).toBe('bob')
  })

  it('fresh and claims options', async () => {
    const { auth } = setup()
    const stale = await auth.login(alice, { fresh: false, claims: { role: 'admin' } })
    expect(stale.access.claims.fresh).toBe(false)
    expect(stale.access.claims).toMatchObject({ role: 'admin' })
    expect(stale.refresh.claims).toMatchObject({ role: 'admin' })
    expect((await auth.login(alice, { fresh: '10m' })).access.claims.fresh).toBe(NOW_S + 600)
  })

  it('remember: true gives Max-Age cookies and the long refresh lifetime', async () => {
    const { auth } = setup()
    const res = await auth.login(alice, { remember: true })
    expect(res.refresh.claims.exp).toBe(NOW_S + 30 * 86_400)
    expect(res.refreshExpiresIn).toBe(30 * 86_400)
    const list = setCookies(res.headers)
    expect(cookieLine(list, 'access_token_cookie')).toContain('; Max-Age=900;')
    expect(cookieLine(list, 'csrf_access_token')).toContain('; Max-Age=900;')
    expect(cookieLine(list, 'refresh_token_cookie')).toContain(`; Max-Age=${30 * 86_400};`)
    expect(cookieLine(list, 'csrf_refresh_token')).toContain(`; Max-Age=${30 * 86_400};`)
    for (const c of list) expect(c).not.toContain('Expires=')
  })

  it('remember: false gives browser-session cookies and the session refresh lifetime', async () => {
    const { auth } = setup({ sessionRefreshTokenTtl: '12h' })
    const res = await auth.login(alice)
    expect(res.refresh.claims.exp).toBe(NOW_S + 12 * 3600)
    expect(res.refreshExpiresIn).toBe(12 * 3600)
    for (const c of setCookies(res.headers)) {
      expect(c).not.toContain('Max-Age')
      expect(c).not.toContain('Expires')
    }
  })

  it('header-only: no set-cookie header at all, but no-store; no CSRF value', async () => {
    const { auth } = setup({ tokenLocations: ['headers'] })
    const res = await auth.login(alice, { remember: true })
    expect(res.headers).toEqual({ 'cache-control': 'no-store' })
    expect(res.csrf).toBeUndefined()
    expect(res.access.claims).not.toHaveProperty('csrf')
  })

  it('per-type locations: only the refresh token goes into a cookie', async () => {
    const { auth } = setup({
      tokenLocations: undefined,
      accessTokenLocations: ['headers'],
      refreshTokenLocations: ['cookies'],
      cookies: { refreshPath: '/auth/refresh' },
    })
    const res = await auth.login(alice)
    const list = setCookies(res.headers)
    expect(list.map((c) => c.split('=')[0])).toEqual(['refresh_token_cookie', 'csrf_refresh_token'])
    expect(cookieLine(list, 'refresh_token_cookie')).toContain('; Path=/auth/refresh;')
  })

  it('with a throwing revocation store, login still works (it writes nothing)', async () => {
    const fail = async (): Promise<never> => {
      throw new Error('down')
    }
    const { auth } = setup({
      revocation: {
        isRevoked: fail,
        revokeToken: fail,
        revokeFamily: fail,
        revokeIdentity: fail,
        consumeRefreshToken: fail,
      },
    })
    expect((await auth.login(alice)).accessToken).toBeTypeOf('string')
  })
})

describe('refresh rotation', () => {
  it('issues a new pair in the same family, not fresh, with the same lifetime kind and custom claims', async () => {
    const { auth, clock } = setup()
    const first = await auth.login(alice, { claims: { role: 'admin' } })
    clock.advance(60_000)
    const ctx = await viaHeader(auth, first.refreshToken, true)
    const next = await auth.refresh(ctx)
    expect(next.refresh.claims.jti).not.toBe(first.refresh.claims.jti)
    expect(next.access.claims.fam).toBe(first.access.claims.fam)
    expect(next.refresh.claims.fam).toBe(first.access.claims.fam)
    expect(next.access.claims.fresh).toBe(false)
    expect(next.access.claims).toMatchObject({ role: 'admin', sub: 'alice' })
    expect(next.refresh.claims.exp).toBe(NOW_S + 60 + 86_400)
    expect(next.headers['cache-control']).toBe('no-store')
    for (const c of setCookies(next.headers)) expect(c).not.toContain('Max-Age')
    const remembered = await auth.login(alice, { remember: true })
    const r = await auth.refresh(await viaHeader(auth, remembered.refreshToken, true))
    expect(r.refresh.claims.exp).toBe(NOW_S + 60 + 30 * 86_400)
    expect(cookieLine(setCookies(r.headers), 'refresh_token_cookie')).toContain(`Max-Age=${30 * 86_400}`)
  })

  it('reuse of a rotated refresh token is TOKEN_REVOKED and revokes the whole family', async () => {
    const { auth, clock } = setup()
    const reused: unknown[] = []
    auth.on('refreshReuseDetected', (e) => reused.push(e))
    const first = await auth.login(alice)
    const other = await auth.login(alice)
    const ctx = await viaHeader(auth, first.refreshToken, true)
    const second = await auth.refresh(ctx)
    clock.advance(5_000)
    // The old refresh token still passes the guard (it is not revoked, only used)...
    const replay = await viaHeader(auth, first.refreshToken, true)
    // ...but refreshing with it is theft.
    const err = await expectAuthRejection(auth.refresh(replay), TokenRevokedError, 'TOKEN_REVOKED')
    expect(err.message).toMatch(/reuse detected/)
    expect(reused).toHaveLength(1)
    for (const [token, refresh] of [
      [first.accessToken, false],
      [first.refreshToken, true],
      [second.accessToken, false],
      [second.refreshToken, true],
    ] as const) {
      await expectAuthRejection(viaHeader(auth, token, refresh), TokenRevokedError, 'TOKEN_REVOKED')
    }
    // Another login of the same user is untouched.
    expect((await viaHeader(auth, other.accessToken)).sub).toBe('alice')
  })

  it('a replay in the same millisecond is reuse too (grace 0)', async () => {
    const { auth } = setup()
    const first = await auth.login(alice)
    const ctx = await viaHeader(auth, first.refreshToken, true)
    await auth.refresh(ctx)
    await expectAuthRejection(auth.refresh(ctx), TokenRevokedError, 'TOKEN_REVOKED')
  })

  it('concurrent refreshes with one refresh token: exactly one wins', async () => {
    const { auth } = setup()
    const first = await auth.login(alice)
    const ctxs = await Promise.all([1, 2, 3].map(() => viaHeader(auth, first.refreshToken, true)))
    const results = await Promise.allSettled(ctxs.map((c) => auth.refresh(c)))
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
    for (const r of results.filter((r) => r.status === 'rejected')) {
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(TokenRevokedError)
    }
  })

  it('a grace window tolerates a quick reuse, not a late one', async () => {
    const { auth, clock } = setup({ refreshReuseGrace: '10s' })
    const first = await auth.login(alice)
    const ctx = await viaHeader(auth, first.refreshToken, true)
    await auth.refresh(ctx)
    clock.advance(9_999)
    const again = await auth.refresh(await viaHeader(auth, first.refreshToken, true))
    expect(again.access.claims.fam).toBe(first.access.claims.fam)
    clock.advance(1)
    await expectAuthRejection(
      auth.refresh(await viaHeader(auth, first.refreshToken, true)),
      TokenRevokedError,
      'TOKEN_REVOKED',
    )
  })

  it('refuses a context that is not an authenticated refresh token', async () => {
    const { auth } = setup()
    const res = await auth.login(alice)
    await expectAuthRejection(
      auth.refresh(await viaHeader(auth, res.accessToken)),
      WrongTokenTypeError,
      'WRONG_TOKEN_TYPE',
    )
    const anonymous = await auth.authenticate(makeView(), { optional: true })
    await expectAuthRejection(auth.refresh(anonymous), WrongTokenTypeError, 'WRONG_TOKEN_TYPE')
  })

  it('a store failure during rotation is REVOCATION_UNAVAILABLE', async () => {
    const { auth, store } = setup()
    const res = await auth.login(alice)
    const ctx = await viaHeader(auth, res.refreshToken, true)
    store.consumeRefreshToken = async () => {
      throw new Error('down')
    }
    auth.on('revocationUnavailable', () => {})
    await expectAuthRejection(auth.refresh(ctx), RevocationUnavailableError, 'REVOCATION_UNAVAILABLE')
  })

  it('without a store, rotation works but cannot see reuse', async () => {
    const { auth } = setup({ revocation: undefined })
    const res = await auth.login(alice)
    const ctx = await viaHeader(auth, res.refreshToken, true)
    await auth.refresh(ctx)
    expect((await auth.refresh(ctx)).accessToken).toBeTypeOf('string')
  })
})

describe('logout', () => {
  it('revokes the access token and its refresh family, and clears every cookie', async () => {
    const { auth } = setup({
      cookies: { domain: 'example.com', refreshPath: '/auth/refresh', sameSite: 'Strict' },
    })
    const logouts: unknown[] = []
    auth.on('logout', (e) => logouts.push(e))
    const res = await auth.login(alice, { remember: true })
    const other = await auth.login(alice)
    const ctx = await viaHeader(auth, res.accessToken)
    const out = await auth.logout(ctx)
    expect(out.headers['cache-control']).toBe('no-store')
    await expectAuthRejection(viaHeader(auth, res.accessToken), TokenRevokedError, 'TOKEN_REVOKED')
    await expectAuthRejection(viaHeader(auth, res.refreshToken, true), TokenRevokedError, 'TOKEN_REVOKED')
    expect((await viaHeader(auth, other.accessToken)).sub).toBe('alice')
    expect(logouts).toEqual([{ sub: 'alice', claims: ctx.claims, everywhere: false }])

    const cleared = setCookies(out.headers)
    const set = setCookies(res.headers)
    expect(cleared).toHaveLength(4)
    for (const line of cleared) {
      const name = line.split('=')[0]!
      expect(line).toMatch(new RegExp(`^${name}=; `))
      expect(line).toContain('; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT')
      // Every attribute the cookie was set with is repeated.
      const attrs = (l: string) =>
        l
          .split('; ')
          .slice(1)
          .filter((a) => !a.startsWith('Max-Age') && !a.startsWith('Expires'))
      expect(attrs(line)).toEqual(attrs(cookieLine(set, name)!))
    }
    expect(cookieLine(cleared, 'refresh_token_cookie')).toBe(
      'refresh_token_cookie=; Path=/auth/refresh; Domain=example.com; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Strict',
    )
    expect(auth.clearCookies()).toEqual(cleared)
  })

  it('logging out with the refresh token revokes the family too', async () => {
    const { auth } = setup()
    const res = await auth.login(alice)
    await auth.logout(await viaHeader(auth, res.refreshToken, true))
    await expectAuthRejection(viaHeader(auth, res.accessToken), TokenRevokedError, 'TOKEN_REVOKED')
  })

  it('header-only: no set-cookie; anonymous context: nothing to revoke', async () => {
    const { auth } = setup({ tokenLocations: ['headers'] })
    const res = await auth.login(alice)
    expect((await auth.logout(await viaHeader(auth, res.accessToken))).headers).toEqual({
      'cache-control': 'no-store',
    })
    const anonymous = await auth.authenticate(makeView(), { optional: true })
    expect((await auth.logout(anonymous)).headers).toEqual({ 'cache-control': 'no-store' })
  })

  it('a store failure during logout is REVOCATION_UNAVAILABLE', async () => {
    const { auth, store } = setup()
    const ctx = await viaHeader(auth, (await auth.login(alice)).accessToken)
    store.revokeToken = async () => {
      throw new Error('down')
    }
    auth.on('revocationUnavailable', () => {})
    await expectAuthRejection(auth.logout(ctx), RevocationUnavailableError, 'REVOCATION_UNAVAILABLE')
  })
})

describe('logoutEverywhere', () => {
  it('refuses tokens issued before; a token issued 1 ms later, in the same second, is accepted', async () => {
    const { auth, clock } = setup()
    clock.advance(100)
    const before = await auth.login(alice)
    const bob = await auth.login({ id: 'bob', active: true })
    clock.advance(1)
    await auth.logoutEverywhere(alice)
    clock.advance(1)
    const after = await auth.login(alice)
    expect(Math.floor(after.access.claims.iat_ms / 1000)).toBe(Math.floor(before.access.claims.iat_ms / 1000))
    expect(after.access.claims.iat).toBe(before.access.claims.iat)
    await expectAuthRejection(viaHeader(auth, before.accessToken), TokenRevokedError, 'TOKEN_REVOKED')
    await expectAuthRejection(viaHeader(auth, before.refreshToken, true), TokenRevokedError, 'TOKEN_REVOKED')
    expect((await viaHeader(auth, after.accessToken)).sub).toBe('alice')
    expect((await viaHeader(auth, bob.accessToken)).sub).toBe('bob')
  })

  it('a login in the same millisecond as the cut-off still works', async () => {
    const { auth } = setup()
    await auth.logoutEverywhere('alice')
    const res = await auth.login(alice)
    expect((await viaHeader(auth, res.accessToken)).sub).toBe('alice')
  })

  it('needs a revocation store', async () => {
    const { auth } = setup({ revocation: undefined })
    const err = await rejected(auth.logoutEverywhere('alice'))
    expect(err).toBeInstanceOf(TypeError)
  })
})

/**
 * A token is accepted until `exp + leeway`, so everything that refuses it must last as long: the store
 * is told to keep each entry until then, and may forget it after. A revocation forgotten at `exp`
 * instead would let a logged-out token back in for the rest of the leeway.
 */
describe('revocations last until exp plus the leeway', () => {
  const LEEWAY_MS = 60_000
  // Every refresh token lives 2 h, so the family and identity entries must last 2 h + the leeway.
  const leewaySetup = () => setup({ leeway: '60s', refreshTokenTtl: '2h', sessionRefreshTokenTtl: '2h' })
  const at = (clock: Clock, exp: number, afterExpMs: number) => {
    clock.now = exp * 1000 + afterExpMs
  }

  it('the leeway is real: a token nobody revoked is accepted up to exp + leeway, then expired', async () => {
    const { auth, clock } = leewaySetup()
    const issued = auth.issueToken('access', alice)
    at(clock, issued.claims.exp!, 30_000)
    expect((await viaHeader(auth, issued.token)).sub).toBe('alice')
    at(clock, issued.claims.exp!, LEEWAY_MS - 1)
    expect((await viaHeader(auth, issued.token)).sub).toBe('alice')
    at(clock, issued.claims.exp!, LEEWAY_MS)
    await expectAuthRejection(viaHeader(auth, issued.token), TokenExpiredError, 'TOKEN_EXPIRED')
  })

  it('a logged-out token (revoked by jti alone) is refused through the whole leeway', async () => {
    const { auth, clock } = leewaySetup()
    // Without a family: only the jti revocation keeps it out.
    const loggedOut = auth.issueToken('access', alice)
    const revoked = auth.issueToken('access', alice)
    await auth.logout(await viaHeader(auth, loggedOut.token))
    await auth.revokeToken(revoked.claims)
    for (const afterExp of [0, 30_000, LEEWAY_MS - 1]) {
      at(clock, loggedOut.claims.exp!, afterExp)
      for (const token of [loggedOut.token, revoked.token])
        await expectAuthRejection(viaHeader(auth, token), TokenRevokedError, 'TOKEN_REVOKED')
    }
    at(clock, loggedOut.claims.exp!, LEEWAY_MS)
    await expectAuthRejection(viaHeader(auth, loggedOut.token), TokenExpiredError, 'TOKEN_EXPIRED')
  })

  it('after logout, the refresh token of that login (revoked through its family) is refused through the whole leeway', async () => {
    const { auth, clock } = leewaySetup()
    const session = await auth.login(alice)
    const other = await auth.login(alice)
    await auth.logout(await viaHeader(auth, session.accessToken))
    const exp = session.refresh.claims.exp as number
    for (const afterExp of [30_000, LEEWAY_MS - 1]) {
      at(clock, exp, afterExp)
      await expectAuthRejection(
        viaHeader(auth, session.refreshToken, true),
        TokenRevokedError,
        'TOKEN_REVOKED',
      )
      // Control: another login's refresh token of the same age is still accepted there.
      expect((await viaHeader(auth, other.refreshToken, true)).sub).toBe('alice')
    }
  })

  it('after logout everywhere, tokens issued before the cut-off are refused through the whole leeway', async () => {
    const { auth, clock } = leewaySetup()
    const session = await auth.login(alice, { remember: true })
    const bob = await auth.login({ id: 'bob', active: true }, { remember: true })
    clock.advance(1)
    await auth.logoutEverywhere(alice)
    const exp = session.refresh.claims.exp as number
    for (const afterExp of [30_000, LEEWAY_MS - 1]) {
      at(clock, exp, afterExp)
      await expectAuthRejection(
        viaHeader(auth, session.refreshToken, true),
        TokenRevokedError,
        'TOKEN_REVOKED',
      )
      expect((await viaHeader(auth, bob.refreshToken, true)).sub).toBe('bob')
    }
  })

  it('a rotated refresh token replayed 30 s past its exp is still reuse', async () => {
    const { auth, clock } = leewaySetup()
    const session = await auth.login(alice)
    await auth.refresh(await viaHeader(auth, session.refreshToken, true))
    at(clock, session.refresh.claims.exp as number, 30_000)
    // The guard lets it through (used is not revoked) ...
    const replay = await viaHeader(auth, session.refreshToken, true)
    // ... but the store still remembers its first use: theft, and the family goes.
    await expectAuthRejection(auth.refresh(replay), TokenRevokedError, 'TOKEN_REVOKED')
  })
})

describe('cookie attributes', () => {
  it('defaults: HttpOnly token cookies, readable CSRF cookies, Secure, SameSite=Lax, Path=/', async () => {
    const { auth } = setup()
    const res = await auth.login(alice)
    const list = setCookies(res.headers)
    expect(cookieLine(list, 'access_token_cookie')).toBe(
      `access_token_cookie=${res.accessToken}; Path=/; HttpOnly; Secure; SameSite=Lax`,
    )
    expect(cookieLine(list, 'csrf_access_token')).toBe(
      `csrf_access_token=${res.csrf}; Path=/; Secure; SameSite=Lax`,
    )
  })

  it('secure, sameSite, domain, paths and names are configurable', async () => {
    const { auth } = setup({
      cookies: {
        secure: false,
        sameSite: 'Strict',
        domain: 'api.example.com',
        accessPath: '/api',
        refreshPath: '/auth/refresh',
        csrfAccessPath: '/',
        accessName: 'at',
        refreshName: 'rt',
        csrfAccessName: 'cat',
        csrfRefreshName: 'crt',
      },
    })
    const res = await auth.login(alice)
    const list = setCookies(res.headers)
    expect(cookieLine(list, 'at')).toBe(
      `at=${res.accessToken}; Path=/api; Domain=api.example.com; HttpOnly; SameSite=Strict`,
    )
    expect(cookieLine(list, 'cat')).toBe(`cat=${res.csrf}; Path=/; Domain=api.example.com; SameSite=Strict`)
    expect(cookieLine(list, 'rt')).toBe(
      `rt=${res.refreshToken}; Path=/auth/refresh; Domain=api.example.com; HttpOnly; SameSite=Strict`,
    )
    // The CSRF refresh cookie follows the refresh path unless told otherwise.
    expect(cookieLine(list, 'crt')).toBe(
      `crt=${res.csrf}; Path=/auth/refresh; Domain=api.example.com; SameSite=Strict`,
    )
    // The guard reads the configured names.
    const ctx = await auth.authenticate(
      makeView({ method: 'POST', cookies: { at: res.accessToken }, headers: { 'x-csrf-token': res.csrf! } }),
    )
    expect(ctx.location).toBe('cookies')
  })

  it('SameSite=None goes with Secure', async () => {
    const { auth } = setup({ cookies: { sameSite: 'None' } })
    for (const c of setCookies((await auth.login(alice)).headers))
      expect(c).toMatch(/; Secure; SameSite=None$/)
  })

  it('hostPrefix names every cookie __Host- with Path=/, Secure and no Domain; the guard reads them', async () => {
    const { auth } = setup({ cookies: { hostPrefix: true } })
    const res = await auth.login(alice)
    const list = setCookies(res.headers)
    expect(list.map((c) => c.split('=')[0])).toEqual([
      '__Host-access_token_cookie',
      '__Host-csrf_access_token',
      '__Host-refresh_token_cookie',
      '__Host-csrf_refresh_token',
    ])
    for (const c of list) {
      expect(c).toContain('; Path=/;')
      expect(c).toContain('; Secure;')
      expect(c).not.toContain('Domain=')
    }
    const ctx = await auth.authenticate(
      makeView({ cookies: { '__Host-access_token_cookie': res.accessToken } }),
    )
    expect(ctx.sub).toBe('alice')
    const plain = await auth.authenticate(makeView({ cookies: { access_token_cookie: res.accessToken } }), {
      optional: true,
    })
    expect(plain.isAuthenticated).toBe(false)
  })

  it('csrf.cookies false: the CSRF value is in the token and the response, but no readable cookie', async () => {
    const { auth } = setup({ csrf: { cookies: false } })
    const res = await auth.login(alice)
    expect(res.csrf).toBeDefined()
    expect(res.access.claims.csrf).toBe(res.csrf)
    expect(setCookies(res.headers).map((c) => c.split('=')[0])).toEqual([
      'access_token_cookie',
      'refresh_token_cookie',
    ])
  })

  it('serializeCookie writes the attributes in a fixed order', () => {
    expect(
      serializeCookie({
        name: 'n',
        value: 'v',
        httpOnly: true,
        secure: true,
        sameSite: 'Lax',
        path: '/p',
        domain: 'd.example',
        maxAge: 10,
      }),
    ).toBe('n=v; Path=/p; Domain=d.example; Max-Age=10; HttpOnly; Secure; SameSite=Lax')
    expect(
      serializeCookie({
        name: 'n',
        value: '',
        httpOnly: false,
        secure: false,
        sameSite: 'Strict',
        path: '/',
        domain: undefined,
        maxAge: 0,
      }),
    ).toBe('n=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; SameSite=Strict')
  })
})

describe('the auth context across login and guards', () => {
  it('a cookie login, then a CSRF-protected POST, then logout', async () => {
    const { auth } = setup()
    const res = await auth.login(alice)
    const list = setCookies(res.headers)
    const cookies = {
      access_token_cookie: cookieValue(list, 'access_token_cookie')!,
      csrf_access_token: cookieValue(list, 'csrf_access_token')!,
    }
    const ctx: AuthContext<User> = await auth.authenticate(
      makeView({ method: 'POST', cookies, headers: { 'x-csrf-token': cookies.csrf_access_token } }),
    )
    expect(ctx).toMatchObject({ isAuthenticated: true, location: 'cookies', fresh: true, sub: 'alice' })
    expect(ctx.claims!.iat_ms).toBe(NOW)
    await auth.logout(ctx)
    await expectAuthRejection(
      auth.authenticate(
        makeView({ method: 'POST', cookies, headers: { 'x-csrf-token': cookies.csrf_access_token } }),
      ),
      TokenRevokedError,
      'TOKEN_REVOKED',
    )
  })
})
