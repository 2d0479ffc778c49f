import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it, vi } from 'vitest'
import {
  type AuthError,
  type AuthOptions,
  ClaimsRejectedError,
  CsrfError,
  createAuth,
  FreshTokenRequiredError,
  isThenable,
  MemoryRevocationStore,
  type RevocationStore,
  RevocationUnavailableError,
  type TokenClaims,
  TokenExpiredError,
  TokenInvalidError,
  TokenMissingError,
  type TokenRef,
  TokenRevokedError,
  UserInactiveError,
  UserNotFoundError,
  WrongTokenTypeError,
} from '../../src/index.js'
import {
  bearer,
  claimsAt,
  cookieLine,
  cookieValue,
  decodeSegment,
  expectAuthRejection,
  forge,
  frozenClock,
  makeView,
  NOW,
  NOW_S,
  rejected,
  SECRET,
  setCookies,
} from './helpers.js'

const ALL: AuthOptions['tokenLocations'] = ['headers', 'cookies', 'json', 'query']

function setup<User = string>(extra: Partial<AuthOptions<User>> = {}) {
  const clock = frozenClock()
  const store = new MemoryRevocationStore({ now: clock.fn, sweepIntervalMs: 0 })
  const listenerErrors: [unknown, string][] = []
  const auth = createAuth<User>({
    keys: { secret: SECRET },
    clock: clock.fn,
    tokenLocations: ALL,
    revocation: store,
    onListenerError: (err, event) => listenerErrors.push([err, event]),
    ...extra,
  })
  return { auth, clock, store, listenerErrors }
}

/** An access token and its csrf claim. */
function accessWithCsrf(auth: ReturnType<typeof setup>['auth'], options = {}) {
  const issued = auth.issueToken('access', 'u1', options)
  return { token: issued.token, csrf: issued.claims.csrf!, claims: issued.claims }
}

const JSON_TYPE = { 'content-type': 'application/json' }
const FORM_TYPE = { 'content-type': 'application/x-www-form-urlencoded' }

describe('token locations', () => {
  it.each([
    ['headers', (t: string) => makeView({ headers: bearer(t) })],
    ['cookies', (t: string) => makeView({ cookies: { access_token_cookie: t } })],
    ['json', (t: string) => makeView({ method: 'POST', headers: JSON_TYPE, body: { access_token: t } })],
    ['query', (t: string) => makeView({ query: { jwt: t } })],
  ] as const)('reads a token from %s and reports the location', async (location, view) => {
    const { auth } = setup()
    const issued = auth.issueToken('access', 'u1')
    const ctx = await auth.authenticate(view(issued.token))
    expect(ctx).toEqual({
      isAuthenticated: true,
      user: 'u1',
      sub: 'u1',
      claims: issued.claims,
      header: { alg: 'HS256', typ: 'JWT' },
      token: issued.token,
      location,
      type: 'access',
      fresh: false,
      scopes: [],
      issuer: null,
    })
  })

  it('follows the configured order of precedence', async () => {
    const tokens = Object.fromEntries(
      ['h', 'c', 'j', 'q'].map((s) => [s, setup().auth.createAccessToken(s)]),
    ) as Record<string, string>
    const view = makeView({
      method: 'POST',
      headers: { ...bearer(tokens.h!), ...JSON_TYPE },
      cookies: { access_token_cookie: tokens.c! },
      body: { access_token: tokens.j! },
      query: { jwt: tokens.q! },
    })
    const off = { csrf: { enabled: false } }
    expect((await setup(off).auth.authenticate(view)).sub).toBe('h')
    const reversed = setup({ ...off, tokenLocations: ['query', 'json', 'cookies', 'headers'] }).auth
    expect((await reversed.authenticate(view)).location).toBe('query')
    const middle = setup({ ...off, tokenLocations: ['json', 'cookies'] }).auth
    expect((await middle.authenticate(view)).sub).toBe('j')
  })

  it('falls through only when a location has no token', async () => {
    const { auth, clock } = setup()
    const good = auth.createAccessToken('u1')
    const cookies = { access_token_cookie: good }
    // Missing header, then another scheme: both count as missing.
    expect((await auth.authenticate(makeView({ cookies }))).location).toBe('cookies')
    expect(
      (await auth.authenticate(makeView({ headers: { authorization: 'Basic dTpw' }, cookies }))).location,
    ).toBe('cookies')
    // Present but invalid: stops there.
    await expectAuthRejection(
      auth.authenticate(makeView({ headers: bearer('not.a.token'), cookies })),
      TokenInvalidError,
      'TOKEN_INVALID',
    )
    await expectAuthRejection(
      auth.authenticate(makeView({ headers: { authorization: 'Bearer' }, cookies })),
      TokenInvalidError,
      'TOKEN_INVALID',
    )
    // Present but expired: stops there too.
    const old = auth.createAccessToken('u1', { expiresIn: 1 })
    clock.advance(2000)
    const fresh = auth.createAccessToken('u1')
    await expectAuthRejection(
      auth.authenticate(makeView({ headers: bearer(old), cookies: { access_token_cookie: fresh } })),
      TokenExpiredError,
      'TOKEN_EXPIRED',
    )
  })

  it('TOKEN_MISSING lists the locations tried, for access and refresh tokens', async () => {
    const { auth } = setup()
    const err = await expectAuthRejection(auth.authenticate(makeView()), TokenMissingError, 'TOKEN_MISSING')
    expect(err.message).toBe(
      'Missing access token: looked in the Authorization header, the access_token_cookie cookie, the "access_token" key of a JSON body, the "jwt" query parameter',
    )
    expect(err.locations).toEqual(['headers', 'cookies', 'json', 'query'])
    expect(err.status).toBe(401)
    const r = await expectAuthRejection(
      auth.authenticate(makeView(), { refresh: true }),
      TokenMissingError,
      'TOKEN_MISSING',
    )
    expect(r.message).toBe(
      'Missing refresh token: looked in the Authorization header, the refresh_token_cookie cookie, the "refresh_token" key of a JSON body, the "jwt" query parameter',
    )
    const only = setup({ tokenLocations: undefined }).auth
    const h = await expectAuthRejection(only.authenticate(makeView()), TokenMissingError, 'TOKEN_MISSING')
    expect(h.message).toBe('Missing access token: looked in the Authorization header')
    expect(h.locations).toEqual(['headers'])
  })

  describe('the Authorization header', () => {
    const { auth } = setup({ tokenLocations: ['headers'] })
    const token = auth.createAccessToken('u1')

    it.each(['Bearer', 'bearer', 'BEARER', 'bEaReR'])('scheme %s is accepted', async (scheme) => {
      const ctx = await auth.authenticate(makeView({ headers: { authorization: `${scheme} ${token}` } }))
      expect(ctx.sub).toBe('u1')
    })

    it.each([
      ['Basic credentials', 'Basic dXNlcjpwYXNz'],
      ['a Bearer-like scheme', `Bearerx ${token}`],
      ['the token alone', token],
      ['a Digest scheme', 'Digest username="u"'],
    ])('%s counts as missing', async (_what, value) => {
      await expectAuthRejection(
        auth.authenticate(makeView({ headers: { authorization: value } })),
        TokenMissingError,
        'TOKEN_MISSING',
      )
    })

    it.each([
      ['an empty token', 'Bearer '],
      ['no token', 'Bearer'],
      ['two spaces', `Bearer  ${token}`],
      ['a trailing space', `Bearer ${token} `],
      ['a tab', `Bearer ${token}\tx`],
      ['comma-joined repeated headers', `Bearer ${token}, Bearer ${token}`],
      ['a comma without space', `Bearer ${token},${token}`],
      ['a quoted token', `Bearer "${token}"`],
      ['a semicolon', `Bearer ${token};`],
      ['two tokens', `Bearer ${token} ${token}`],
    ])('%s is TOKEN_INVALID', async (_what, value) => {
      const err = await expectAuthRejection(
        auth.authenticate(makeView({ headers: { authorization: value } })),
        TokenInvalidError,
        'TOKEN_INVALID',
      )
      expect(err.message).not.toContain(token)
    })

    it('a repeated header (as a list) is refused; a list of one is read', async () => {
      const err = await expectAuthRejection(
        auth.authenticate(makeView({ headers: { authorization: [`Bearer ${token}`, `Bearer ${token}`] } })),
        TokenInvalidError,
        'TOKEN_INVALID',
      )
      expect(err.message).toBe('Repeated Authorization headers')
      expect(
        (await auth.authenticate(makeView({ headers: { authorization: [`Bearer ${token}`] } }))).sub,
      ).toBe('u1')
      await expectAuthRejection(
        auth.authenticate(makeView({ headers: { authorization: [] } })),
        TokenMissingError,
        'TOKEN_MISSING',
      )
    })

    it('custom header name and type', async () => {
      const custom = setup({ tokenLocations: ['headers'], header: { name: 'X-Api-Token', type: 'JWT' } }).auth
      const t = custom.createAccessToken('u1')
      expect((await custom.authenticate(makeView({ headers: { 'x-api-token': `JWT ${t}` } }))).sub).toBe('u1')
      const missing = await expectAuthRejection(
        custom.authenticate(
          makeView({ headers: { authorization: `Bearer ${t}`, 'x-api-token': `Bearer ${t}` } }),
        ),
        TokenMissingError,
        'TOKEN_MISSING',
      )
      expect(missing.message).toContain('the X-Api-Token header')
    })

    it('an empty type reads the bare token and refuses anything else', async () => {
      const bare = setup({ tokenLocations: ['headers'], header: { name: 'X-Token', type: '' } }).auth
      const t = bare.createAccessToken('u1')
      expect((await bare.authenticate(makeView({ headers: { 'x-token': t } }))).sub).toBe('u1')
      for (const value of [`Bearer ${t}`, `${t},${t}`, ` ${t}`]) {
        await expectAuthRejection(
          bare.authenticate(makeView({ headers: { 'x-token': value } })),
          TokenInvalidError,
          'TOKEN_INVALID',
        )
      }
    })
  })

  it('json: only a string under the configured key of an object body', async () => {
    const { auth } = setup({ tokenLocations: ['json'], json: { accessKey: 'jwt_access' } })
    const t = auth.createAccessToken('u1')
    expect(
      (await auth.authenticate(makeView({ method: 'POST', headers: JSON_TYPE, body: { jwt_access: t } })))
        .location,
    ).toBe('json')
    // Only a body the request declares as JSON: a form's field (a urlencoded parser's object) is none.
    for (const type of ['application/x-www-form-urlencoded', 'text/plain', 'multipart/form-data']) {
      await expectAuthRejection(
        auth.authenticate(
          makeView({ method: 'POST', headers: { 'content-type': type }, body: { jwt_access: t } }),
        ),
        TokenMissingError,
        'TOKEN_MISSING',
      )
    }
    expect(
      (
        await auth.authenticate(
          makeView({
            method: 'POST',
            headers: { 'content-type': 'application/vnd.api+json; charset=utf-8' },
            body: { jwt_access: t },
          }),
        )
      ).location,
    ).toBe('json')
    for (const body of [
      undefined,
      null,
      'str',
      [t],
      { access_token: t },
      { jwt_access: '' },
      { jwt_access: null },
    ]) {
      await expectAuthRejection(
        auth.authenticate(makeView({ method: 'POST', headers: JSON_TYPE, body })),
        TokenMissingError,
        'TOKEN_MISSING',
      )
    }
    for (const value of [5, { t }, [t]]) {
      await expectAuthRejection(
        auth.authenticate(makeView({ method: 'POST', headers: JSON_TYPE, body: { jwt_access: value } })),
        TokenInvalidError,
        'TOKEN_INVALID',
      )
    }
    // An inherited key is not the body's.
    const inherited = Object.create({ jwt_access: t })
    await expectAuthRejection(
      auth.authenticate(makeView({ method: 'POST', headers: JSON_TYPE, body: inherited })),
      TokenMissingError,
      'TOKEN_MISSING',
    )
  })

  it('query: the configured parameter; repeated is refused; off by default', async () => {
    const { auth } = setup({ tokenLocations: ['query'], query: { param: 'token' } })
    const t = auth.createAccessToken('u1')
    expect((await auth.authenticate(makeView({ query: { token: t } }))).location).toBe('query')
    expect((await auth.authenticate(makeView({ query: { token: [t] } }))).location).toBe('query')
    await expectAuthRejection(
      auth.authenticate(makeView({ query: { token: [t, t] } })),
      TokenInvalidError,
      'TOKEN_INVALID',
    )
    await expectAuthRejection(
      auth.authenticate(makeView({ query: { jwt: t } })),
      TokenMissingError,
      'TOKEN_MISSING',
    )
    const defaults = setup({ tokenLocations: undefined }).auth
    await expectAuthRejection(
      defaults.authenticate(makeView({ query: { jwt: t } })),
      TokenMissingError,
      'TOKEN_MISSING',
    )
  })

  it('an empty cookie counts as missing', async () => {
    const { auth } = setup({ tokenLocations: ['cookies'] })
    await expectAuthRejection(
      auth.authenticate(makeView({ cookies: { access_token_cookie: '' } })),
      TokenMissingError,
      'TOKEN_MISSING',
    )
  })

  it('per-guard locations override the configuration', async () => {
    const { auth } = setup()
    const t = auth.createAccessToken('u1')
    const err = await expectAuthRejection(
      auth.authenticate(makeView({ headers: bearer(t) }), { locations: ['cookies'] }),
      TokenMissingError,
      'TOKEN_MISSING',
    )
    expect(err.message).toBe('Missing access token: looked in the access_token_cookie cookie')
    const ctx = await auth.authenticate(makeView({ headers: bearer(t), query: { jwt: t } }), {
      locations: ['query', 'headers'],
    })
    expect(ctx.location).toBe('query')
  })

  it('per-type locations: access in the header, refresh in a cookie', async () => {
    const { auth } = setup({ accessTokenLocations: ['headers'], refreshTokenLocations: ['cookies'] })
    const access = auth.createAccessToken('u1')
    const refresh = auth.issueToken('refresh', 'u1')
    await expectAuthRejection(
      auth.authenticate(makeView({ cookies: { access_token_cookie: access } })),
      TokenMissingError,
      'TOKEN_MISSING',
    )
    expect((await auth.authenticate(makeView({ headers: bearer(access) }))).location).toBe('headers')
    await expectAuthRejection(
      auth.authenticate(makeView({ method: 'POST', headers: bearer(refresh.token) }), { refresh: true }),
      TokenMissingError,
      'TOKEN_MISSING',
    )
    const ctx = await auth.authenticate(
      makeView({
        method: 'POST',
        cookies: { refresh_token_cookie: refresh.token },
        headers: { 'x-csrf-token': refresh.claims.csrf! },
      }),
      { refresh: true },
    )
    expect(ctx).toMatchObject({ location: 'cookies', type: 'refresh', sub: 'u1' })
  })
})

describe('CSRF double submit', () => {
  const unsafe = ['POST', 'PUT', 'PATCH', 'DELETE']

  it.each(unsafe)(
    '%s with a cookie token needs the CSRF header, matching the token claim',
    async (method) => {
      const { auth } = setup({ tokenLocations: ['cookies'] })
      const { token, csrf } = accessWithCsrf(auth)
      const cookies = { access_token_cookie: token, csrf_access_token: csrf }
      const missing = await expectAuthRejection(
        auth.authenticate(makeView({ method, cookies })),
        CsrfError,
        'CSRF_FAILED',
      )
      expect(missing.status).toBe(403)
      expect(missing.message).toBe('Missing CSRF token')
      const wrong = await expectAuthRejection(
        auth.authenticate(makeView({ method, cookies, headers: { 'x-csrf-token': `${csrf}x` } })),
        CsrfError,
        'CSRF_FAILED',
      )
      expect(wrong.message).toBe('CSRF double submit tokens do not match')
      await expectAuthRejection(
        auth.authenticate(makeView({ method, cookies, headers: { 'x-csrf-token': '' } })),
        CsrfError,
        'CSRF_FAILED',
      )
      const ok = await auth.authenticate(makeView({ method, cookies, headers: { 'X-CSRF-TOKEN': csrf } }))
      expect(ok.sub).toBe('u1')
      // Methods are compared case-insensitively.
      await expectAuthRejection(
        auth.authenticate(makeView({ method: method.toLowerCase(), cookies })),
        CsrfError,
        'CSRF_FAILED',
      )
    },
  )

  it.each(['GET', 'HEAD'])('%s needs no CSRF value', async (method) => {
    const { auth } = setup({ tokenLocations: ['cookies'] })
    const { token } = accessWithCsrf(auth)
    expect((await auth.authenticate(makeView({ method, cookies: { access_token_cookie: token } }))).sub).toBe(
      'u1',
    )
  })

  it('tokens from the header, a JSON body or the query need none', async () => {
    const { auth } = setup()
    const { token } = accessWithCsrf(auth)
    expect((await auth.authenticate(makeView({ method: 'POST', headers: bearer(token) }))).location).toBe(
      'headers',
    )
    expect(
      (
        await auth.authenticate(
          makeView({ method: 'DELETE', headers: JSON_TYPE, body: { access_token: token } }),
        )
      ).location,
    ).toBe('json')
    expect((await auth.authenticate(makeView({ method: 'PUT', query: { jwt: token } }))).location).toBe(
      'query',
    )
  })

  it('compares with the claim inside the token, not with the CSRF cookie', async () => {
    const { auth } = setup({ tokenLocations: ['cookies'] })
    const { token, csrf } = accessWithCsrf(auth)
    // A sibling subdomain planted its own CSRF cookie and sends the same value: refused.
    await expectAuthRejection(
      auth.authenticate(
        makeView({
          method: 'POST',
          cookies: { access_token_cookie: token, csrf_access_token: 'planted' },
          headers: { 'x-csrf-token': 'planted' },
        }),
      ),
      CsrfError,
      'CSRF_FAILED',
    )
    // The claim's value passes whatever the CSRF cookie holds (or without one).
    const ok = await auth.authenticate(
      makeView({
        method: 'POST',
        cookies: { access_token_cookie: token, csrf_access_token: 'planted' },
        headers: { 'x-csrf-token': csrf },
      }),
    )
    expect(ok.sub).toBe('u1')
  })

  it('a cookie token without a csrf claim is refused on unsafe methods', async () => {
    const { auth } = setup({ tokenLocations: ['cookies'] })
    const token = forge('HS256', SECRET, { alg: 'HS256' }, claimsAt())
    const err = await expectAuthRejection(
      auth.authenticate(
        makeView({
          method: 'POST',
          cookies: { access_token_cookie: token },
          headers: { 'x-csrf-token': 'x' },
        }),
      ),
      CsrfError,
      'CSRF_FAILED',
    )
    expect(err.message).toBe('Token has no CSRF value')
  })

  // Nothing to compare is not a match: a check that returned early when both the claim and the header
  // are missing would let through any cookie token minted without the claim (by another service, a
  // header-only configuration, an older version).
  it.each(unsafe)(
    '%s with a cookie token that has no csrf claim and no CSRF header is refused (access and refresh guards)',
    async (method) => {
      const { auth } = setup({ tokenLocations: ['cookies'] })
      const access = forge('HS256', SECRET, { alg: 'HS256' }, claimsAt({ jti: 'no-csrf-access' }))
      const refresh = forge(
        'HS256',
        SECRET,
        { alg: 'HS256' },
        claimsAt({ jti: 'no-csrf-refresh', type: 'refresh', fresh: undefined }),
      )
      for (const [what, cookies, refreshGuard] of [
        ['access', { access_token_cookie: access }, false],
        ['access, CSRF cookie present', { access_token_cookie: access, csrf_access_token: 'planted' }, false],
        ['refresh', { refresh_token_cookie: refresh }, true],
        [
          'refresh, CSRF cookie present',
          { refresh_token_cookie: refresh, csrf_refresh_token: 'planted' },
          true,
        ],
      ] as const) {
        for (const view of [
          makeView({ method, cookies }),
          makeView({ method: method.toLowerCase(), cookies }),
          makeView({ method, cookies, headers: { 'x-csrf-token': '' } }),
        ]) {
          const err = await expectAuthRejection(
            auth.authenticate(view, { refresh: refreshGuard }),
            CsrfError,
            'CSRF_FAILED',
          )
          expect(err.status, `${method} ${what}`).toBe(403)
        }
        // The tokens themselves are good: a safe method takes them.
        const ok = await auth.authenticate(makeView({ method: 'GET', cookies }), { refresh: refreshGuard })
        expect(ok.sub, `GET ${what}`).toBe('u1')
      }
    },
  )

  it('a repeated CSRF header is not a value', async () => {
    const { auth } = setup({ tokenLocations: ['cookies'] })
    const { token, csrf } = accessWithCsrf(auth)
    await expectAuthRejection(
      auth.authenticate(
        makeView({
          method: 'POST',
          cookies: { access_token_cookie: token },
          headers: { 'x-csrf-token': [csrf, csrf] },
        }),
      ),
      CsrfError,
      'CSRF_FAILED',
    )
  })

  it('the form field option, the header name and the method list are configurable', async () => {
    const { auth } = setup({
      tokenLocations: ['cookies'],
      csrf: { formField: 'csrf_token', headerName: 'X-XSRF', methods: ['post', 'DELETE'] },
    })
    const { token, csrf } = accessWithCsrf(auth)
    const cookies = { access_token_cookie: token }
    expect(
      (
        await auth.authenticate(
          makeView({ method: 'POST', cookies, headers: FORM_TYPE, body: { csrf_token: csrf } }),
        )
      ).sub,
    ).toBe('u1')
    await expectAuthRejection(
      auth.authenticate(
        makeView({ method: 'POST', cookies, headers: FORM_TYPE, body: { csrf_token: 'nope' } }),
      ),
      CsrfError,
      'CSRF_FAILED',
    )
    // Only a form's field: a JSON body's key of that name is not the form field.
    await expectAuthRejection(
      auth.authenticate(
        makeView({ method: 'POST', cookies, headers: JSON_TYPE, body: { csrf_token: csrf } }),
      ),
      CsrfError,
      'CSRF_FAILED',
    )
    expect(
      (await auth.authenticate(makeView({ method: 'DELETE', cookies, headers: { 'x-xsrf': csrf } }))).sub,
    ).toBe('u1')
    await expectAuthRejection(
      auth.authenticate(makeView({ method: 'DELETE', cookies, headers: { 'x-csrf-token': csrf } })),
      CsrfError,
      'CSRF_FAILED',
    )
    // PUT is not in the list any more.
    expect((await auth.authenticate(makeView({ method: 'PUT', cookies }))).sub).toBe('u1')
    // Without the option, a body field is not read.
    const plain = setup({ tokenLocations: ['cookies'] }).auth
    const p = accessWithCsrf(plain)
    await expectAuthRejection(
      plain.authenticate(
        makeView({
          method: 'POST',
          cookies: { access_token_cookie: p.token },
          headers: FORM_TYPE,
          body: { csrf_token: p.csrf },
        }),
      ),
      CsrfError,
      'CSRF_FAILED',
    )
  })

  it('an explicit opt-out turns the check off', async () => {
    const { auth } = setup({ tokenLocations: ['cookies'], csrf: { enabled: false } })
    const token = auth.createAccessToken('u1')
    expect(
      (await auth.authenticate(makeView({ method: 'POST', cookies: { access_token_cookie: token } }))).sub,
    ).toBe('u1')
  })
})

describe('check order', () => {
  it('an expired cookie token with a bad CSRF value is TOKEN_EXPIRED', async () => {
    const { auth, clock } = setup({ tokenLocations: ['cookies'] })
    const { token } = accessWithCsrf(auth)
    clock.advance(16 * 60_000)
    await expectAuthRejection(
      auth.authenticate(makeView({ method: 'POST', cookies: { access_token_cookie: token } })),
      TokenExpiredError,
      'TOKEN_EXPIRED',
    )
  })

  it('a bad signature wins over everything', async () => {
    const { auth } = setup({ tokenLocations: ['cookies'] })
    const token = forge('HS256', `${SECRET}-other`, { alg: 'HS256' }, claimsAt({ exp: NOW_S - 10 }))
    await expectAuthRejection(
      auth.authenticate(makeView({ method: 'POST', cookies: { access_token_cookie: token } })),
      TokenInvalidError,
      'TOKEN_INVALID',
    )
  })

  it('a refresh token with a bad CSRF value on POST is CSRF_FAILED before WRONG_TOKEN_TYPE', async () => {
    const { auth } = setup({ tokenLocations: ['cookies'] })
    const refresh = auth.issueToken('refresh', 'u1')
    const cookies = { access_token_cookie: refresh.token }
    await expectAuthRejection(
      auth.authenticate(makeView({ method: 'POST', cookies })),
      CsrfError,
      'CSRF_FAILED',
    )
    const err = await expectAuthRejection(
      auth.authenticate(
        makeView({ method: 'POST', cookies, headers: { 'x-csrf-token': refresh.claims.csrf! } }),
      ),
      WrongTokenTypeError,
      'WRONG_TOKEN_TYPE',
    )
    expect(err.message).toBe('Only access tokens are allowed')
  })

  it('a refresh token on a fresh-only guard is WRONG_TOKEN_TYPE, not FRESH_TOKEN_REQUIRED', async () => {
    const { auth } = setup()
    await expectAuthRejection(
      auth.authenticate(makeView({ headers: bearer(auth.createRefreshToken('u1')) }), { fresh: true }),
      WrongTokenTypeError,
      'WRONG_TOKEN_TYPE',
    )
  })

  it('a non-fresh revoked token on a fresh guard is FRESH_TOKEN_REQUIRED', async () => {
    const { auth } = setup()
    const issued = auth.issueToken('access', 'u1')
    await auth.revokeToken(issued.claims)
    await expectAuthRejection(
      auth.authenticate(makeView({ headers: bearer(issued.token) }), { fresh: true }),
      FreshTokenRequiredError,
      'FRESH_TOKEN_REQUIRED',
    )
  })

  it('a revoked token whose claims the app rejects is TOKEN_REVOKED; the user is not loaded', async () => {
    const loadUser = vi.fn(() => null)
    const checkClaims = vi.fn(() => false)
    const { auth } = setup({ checkClaims, loadUser })
    const issued = auth.issueToken('access', 'u1')
    await auth.revokeToken(issued.claims)
    await expectAuthRejection(
      auth.authenticate(makeView({ headers: bearer(issued.token) })),
      TokenRevokedError,
      'TOKEN_REVOKED',
    )
    expect(checkClaims).not.toHaveBeenCalled()
    expect(loadUser).not.toHaveBeenCalled()
  })

  it('rejected claims come before user loading', async () => {
    const loadUser = vi.fn(() => null)
    const { auth } = setup({ checkClaims: () => false, loadUser })
    await expectAuthRejection(
      auth.authenticate(makeView({ headers: bearer(auth.createAccessToken('u1')) })),
      ClaimsRejectedError,
      'CLAIMS_REJECTED',
    )
    expect(loadUser).not.toHaveBeenCalled()
  })

  it('an unavailable revocation store comes before the claims check', async () => {
    const checkClaims = vi.fn(() => false)
    const { auth } = setup({ checkClaims, revocation: throwingStore() })
    auth.on('revocationUnavailable', () => {})
    await expectAuthRejection(
      auth.authenticate(makeView({ headers: bearer(auth.createAccessToken('u1')) })),
      RevocationUnavailableError,
      'REVOCATION_UNAVAILABLE',
    )
    expect(checkClaims).not.toHaveBeenCalled()
  })
})

/** A store that answers `isRevoked` its own way and hands every write to `store`. */
function delegatingTo(
  store: MemoryRevocationStore,
  isRevoked: RevocationStore['isRevoked'],
): RevocationStore {
  return {
    isRevoked,
    revokeToken: (jti, until) => store.revokeToken(jti, until),
    revokeFamily: (family, until) => store.revokeFamily(family, until),
    revokeIdentity: (sub, before, until) => store.revokeIdentity(sub, before, until),
    consumeRefreshToken: (jti, until) => store.consumeRefreshToken(jti, until),
  }
}

function throwingStore(): RevocationStore & { error: Error } {
  const error = new Error('connection refused')
  const fail = async (): Promise<never> => {
    throw error
  }
  return {
    error,
    isRevoked: fail,
    revokeToken: fail,
    revokeFamily: fail,
    revokeIdentity: fail,
    consumeRefreshToken: fail,
  }
}

describe('optional guard and OPTIONS', () => {
  it('a missing token gives the configured anonymous user', async () => {
    const anon = { name: 'anonymous' }
    const { auth } = setup<{ name: string }>({ anonymousUser: anon })
    const unauthorized = vi.fn()
    auth.on('unauthorized', unauthorized)
    const ctx = await auth.authenticate(makeView(), { optional: true })
    expect(ctx).toEqual({
      isAuthenticated: false,
      user: anon,
      sub: null,
      claims: null,
      header: null,
      token: null,
      location: null,
      type: null,
      fresh: false,
      scopes: [],
      issuer: null,
    })
    expect(ctx.user).toBe(anon)
    expect(unauthorized).not.toHaveBeenCalled()
    expect((await setup().auth.authenticate(makeView(), { optional: true })).user).toBeNull()
  })

  it('a valid token on an optional route authenticates', async () => {
    const { auth } = setup()
    const ctx = await auth.authenticate(makeView({ headers: bearer(auth.createAccessToken('u1')) }), {
      optional: true,
    })
    expect(ctx.isAuthenticated).toBe(true)
    expect(ctx.sub).toBe('u1')
  })

  it('an invalid or expired token is refused unless invalidAsAnonymous', async () => {
    const { auth, clock } = setup()
    const expired = auth.createAccessToken('u1', { expiresIn: 1 })
    clock.advance(1000)
    await expectAuthRejection(
      auth.authenticate(makeView({ headers: bearer('x.y.z') }), { optional: true }),
      TokenInvalidError,
      'TOKEN_INVALID',
    )
    await expectAuthRejection(
      auth.authenticate(makeView({ headers: bearer(expired) }), { optional: true }),
      TokenExpiredError,
      'TOKEN_EXPIRED',
    )
    for (const t of ['x.y.z', expired]) {
      const ctx = await auth.authenticate(makeView({ headers: bearer(t) }), {
        optional: true,
        invalidAsAnonymous: true,
      })
      expect(ctx.isAuthenticated).toBe(false)
      expect(ctx.token).toBeNull()
    }
    // invalidAsAnonymous alone (without optional) changes nothing.
    await expectAuthRejection(
      auth.authenticate(makeView({ headers: bearer('x.y.z') }), { invalidAsAnonymous: true }),
      TokenInvalidError,
      'TOKEN_INVALID',
    )
  })

  it('invalidAsAnonymous never hides CSRF failures, inactive users, rejected claims or store outages', async () => {
    const { auth } = setup({ isActive: () => false })
    await expectAuthRejection(
      auth.authenticate(makeView({ headers: bearer(auth.createAccessToken('u1')) }), {
        optional: true,
        invalidAsAnonymous: true,
      }),
      UserInactiveError,
      'USER_INACTIVE',
    )
    const store = throwingStore()
    const { auth: down } = setup({ revocation: store })
    await expectAuthRejection(
      down.authenticate(makeView({ headers: bearer(down.createAccessToken('u1')) }), {
        optional: true,
        invalidAsAnonymous: true,
      }),
      RevocationUnavailableError,
      'REVOCATION_UNAVAILABLE',
    )
  })

  it('OPTIONS passes every guard untouched', async () => {
    const loadUser = vi.fn(() => 'user')
    const { auth } = setup({ loadUser })
    for (const view of [
      makeView({ method: 'OPTIONS' }),
      makeView({ method: 'OPTIONS', headers: bearer('garbage') }),
    ]) {
      const ctx = await auth.authenticate(view, { fresh: true, refresh: true })
      expect(ctx.isAuthenticated).toBe(false)
    }
    expect(loadUser).not.toHaveBeenCalled()
  })
})

describe('fresh and refresh guards', () => {
  it('fresh: true passes, false is refused, a duration expires', async () => {
    const { auth, clock } = setup()
    const needsFresh = vi.fn()
    auth.on('needsFresh', needsFresh)
    const fresh = auth.createAccessToken('u1', { fresh: true })
    const stale = auth.createAccessToken('u1')
    const timed = auth.createAccessToken('u1', { fresh: '5m' })
    const ctx = await auth.authenticate(makeView({ headers: bearer(fresh) }), { fresh: true })
    expect(ctx.fresh).toBe(true)
    const err = await expectAuthRejection(
      auth.authenticate(makeView({ headers: bearer(stale) }), { fresh: true }),
      FreshTokenRequiredError,
      'FRESH_TOKEN_REQUIRED',
    )
    expect(err.status).toBe(401)
    expect(needsFresh).toHaveBeenCalledTimes(1)
    expect(needsFresh.mock.calls[0]![0]).toMatchObject({ sub: 'u1', claims: { fresh: false } })
    // Not fresh, but still a valid token for ordinary guards.
    expect((await auth.authenticate(makeView({ headers: bearer(stale) }))).fresh).toBe(false)
    clock.advance(5 * 60_000 - 1)
    expect((await auth.authenticate(makeView({ headers: bearer(timed) }), { fresh: true })).fresh).toBe(true)
    clock.advance(1)
    await expectAuthRejection(
      auth.authenticate(makeView({ headers: bearer(timed) }), { fresh: true }),
      FreshTokenRequiredError,
      'FRESH_TOKEN_REQUIRED',
    )
  })

  it('refresh guard: only refresh tokens; a refresh token is never fresh, even if its claims say so', async () => {
    const { auth } = setup()
    const refresh = auth.createRefreshToken('u1')
    const ctx = await auth.authenticate(makeView({ headers: bearer(refresh) }), { refresh: true })
    expect(ctx).toMatchObject({ type: 'refresh', fresh: false, sub: 'u1' })
    const err = await expectAuthRejection(
      auth.authenticate(makeView({ headers: bearer(auth.createAccessToken('u1')) }), { refresh: true }),
      WrongTokenTypeError,
      'WRONG_TOKEN_TYPE',
    )
    expect(err.message).toBe('Only refresh tokens are allowed')
    await expectAuthRejection(
      auth.authenticate(makeView({ headers: bearer(refresh) })),
      WrongTokenTypeError,
      'WRONG_TOKEN_TYPE',
    )
    const forged = forge('HS256', SECRET, { alg: 'HS256' }, claimsAt({ type: 'refresh', fresh: true }))
    expect((await auth.authenticate(makeView({ headers: bearer(forged) }), { refresh: true })).fresh).toBe(
      false,
    )
  })
})

describe('user loading', () => {
  type User = { id: string; active: boolean }

  it('loadUser runs once with the identity and the claims; its user is in the context', async () => {
    const user: User = { id: 'u1', active: true }
    const loadUser = vi.fn(async (_id: string, _claims: unknown) => user)
    const { auth } = setup<User>({ loadUser, isActive: (u) => u.active })
    const issued = auth.issueToken('access', 'u1')
    const ctx = await auth.authenticate(makeView({ headers: bearer(issued.token) }))
    expect(ctx.user).toBe(user)
    expect(loadUser).toHaveBeenCalledTimes(1)
    expect(loadUser).toHaveBeenCalledWith('u1', issued.claims, { alg: 'HS256', typ: 'JWT' })
  })

  it.each([null, undefined])('a loader answering %s is USER_NOT_FOUND', async (answer) => {
    const { auth } = setup<User>({ loadUser: () => answer })
    const err = await expectAuthRejection(
      auth.authenticate(makeView({ headers: bearer(auth.createAccessToken('u1')) })),
      UserNotFoundError,
      'USER_NOT_FOUND',
    )
    expect(err.status).toBe(401)
  })

  it('an inactive user is USER_INACTIVE', async () => {
    const { auth } = setup<User>({ loadUser: (id) => ({ id, active: false }), isActive: (u) => u.active })
    await expectAuthRejection(
      auth.authenticate(makeView({ headers: bearer(auth.createAccessToken('u1')) })),
      UserInactiveError,
      'USER_INACTIVE',
    )
    // isActive without loadUser sees the identity.
    const seen: unknown[] = []
    const plain = setup({
      isActive: (u) => {
        seen.push(u)
        return u !== 'banned'
      },
    }).auth
    await expectAuthRejection(
      plain.authenticate(makeView({ headers: bearer(plain.createAccessToken('banned')) })),
      UserInactiveError,
      'USER_INACTIVE',
    )
    expect(seen).toEqual(['banned'])
  })

  it('an app loader that throws is not turned into an AuthError', async () => {
    const { auth } = setup({
      loadUser: () => {
        throw new Error('db down')
      },
    })
    const err = await rejected(auth.authenticate(makeView({ headers: bearer(auth.createAccessToken('u1')) })))
    expect((err as Error).message).toBe('db down')
  })
})

describe('checkClaims', () => {
  it('receives claims and header; true passes (sync or async)', async () => {
    const checkClaims = vi.fn(async () => true)
    const { auth } = setup({ checkClaims })
    const issued = auth.issueToken('access', 'u1', { claims: { role: 'admin' } })
    await auth.authenticate(makeView({ headers: bearer(issued.token) }))
    expect(checkClaims).toHaveBeenCalledWith(issued.claims, { alg: 'HS256', typ: 'JWT' })
  })

  it('false is CLAIMS_REJECTED (403)', async () => {
    const { auth } = setup({ checkClaims: (c) => (c as { role?: string }).role === 'admin' })
    const err = await expectAuthRejection(
      auth.authenticate(makeView({ headers: bearer(auth.createAccessToken('u1')) })),
      ClaimsRejectedError,
      'CLAIMS_REJECTED',
    )
    expect(err.status).toBe(403)
  })

  it('a throw is CLAIMS_REJECTED with the cause; an AuthError thrown by the app passes through', async () => {
    const boom = new Error('boom')
    const { auth } = setup({
      checkClaims: () => {
        throw boom
      },
    })
    const err = await expectAuthRejection(
      auth.authenticate(makeView({ headers: bearer(auth.createAccessToken('u1')) })),
      ClaimsRejectedError,
      'CLAIMS_REJECTED',
    )
    expect(err.cause).toBe(boom)
    const revoking = setup({
      checkClaims: async () => {
        throw new TokenRevokedError('revoked by the app')
      },
    }).auth
    const e2 = await expectAuthRejection(
      revoking.authenticate(makeView({ headers: bearer(revoking.createAccessToken('u1')) })),
      TokenRevokedError,
      'TOKEN_REVOKED',
    )
    expect(e2.message).toBe('revoked by the app')
  })
})

describe('revocation', () => {
  it('asks the store with the token reference and refuses revoked tokens', async () => {
    const { auth, store: memoryStore } = setup()
    const store: RevocationStore = memoryStore
    const seen: TokenRef[] = []
    const original = store.isRevoked.bind(store)
    store.isRevoked = async (ref) => {
      seen.push(ref)
      return original(ref)
    }
    const issued = auth.issueToken('access', 'u1', { family: 'fam-1' })
    await auth.authenticate(makeView({ headers: bearer(issued.token) }))
    expect(seen).toEqual([
      { jti: issued.claims.jti, sub: 'u1', family: 'fam-1', issuedAt: NOW, expiresAt: (NOW_S + 900) * 1000 },
    ])
    await auth.revokeToken(issued.claims)
    const revoked = vi.fn()
    auth.on('tokenRevoked', revoked)
    await expectAuthRejection(
      auth.authenticate(makeView({ headers: bearer(issued.token) })),
      TokenRevokedError,
      'TOKEN_REVOKED',
    )
    expect(revoked).toHaveBeenCalledWith({
      sub: 'u1',
      claims: issued.claims,
      header: { alg: 'HS256', typ: 'JWT' },
    })
    // Another token of the same user is unaffected; skipRevocation skips the store.
    expect((await auth.authenticate(makeView({ headers: bearer(auth.createAccessToken('u1')) }))).sub).toBe(
      'u1',
    )
    expect(
      (await auth.authenticate(makeView({ headers: bearer(issued.token) }), { skipRevocation: true })).sub,
    ).toBe('u1')
  })

  it('a store that throws is REVOCATION_UNAVAILABLE (503), failing closed', async () => {
    const store = throwingStore()
    const { auth } = setup({ revocation: store })
    const events: unknown[] = []
    auth.on('revocationUnavailable', (e) => events.push(e.error))
    const err = await expectAuthRejection(
      auth.authenticate(makeView({ headers: bearer(auth.createAccessToken('u1')) })),
      RevocationUnavailableError,
      'REVOCATION_UNAVAILABLE',
    )
    expect(err.status).toBe(503)
    expect(err.cause).toBe(store.error)
    expect(events).toEqual([store.error])
    expect(err.message).not.toContain('connection refused')
    // skipRevocation lets routes that must work while the store is down through.
    const ctx = await auth.authenticate(makeView({ headers: bearer(auth.createAccessToken('u1')) }), {
      skipRevocation: true,
    })
    expect(ctx.isAuthenticated).toBe(true)
  })

  it('without a listener, a store failure is logged (without the token) and still refused', async () => {
    const { auth } = setup({ revocation: throwingStore() })
    const token = auth.createAccessToken('u1')
    const spy = vi.spyOn(console, 'error').mockImplementation(() => {})
    try {
      await expectAuthRejection(
        auth.authenticate(makeView({ headers: bearer(token) })),
        RevocationUnavailableError,
        'REVOCATION_UNAVAILABLE',
      )
      expect(spy).toHaveBeenCalledTimes(1)
      expect(JSON.stringify(spy.mock.calls.map((c) => c.map(String)))).not.toContain(token)
    } finally {
      spy.mockRestore()
    }
  })
})

describe('events', () => {
  it('userLoaded and unauthorized fire with their payloads; unsubscribe stops them', async () => {
    const { auth } = setup()
    const loaded: unknown[] = []
    const refused: AuthError[] = []
    const off = auth.on('userLoaded', (e) => loaded.push(e))
    auth.on('unauthorized', (e) => refused.push(e.error))
    const issued = auth.issueToken('access', 'u1')
    await auth.authenticate(makeView({ headers: bearer(issued.token) }))
    expect(loaded).toEqual([{ user: 'u1', sub: 'u1', claims: issued.claims }])
    const err = await rejected(auth.authenticate(makeView()))
    expect(refused).toEqual([err])
    off()
    await auth.authenticate(makeView({ headers: bearer(issued.token) }))
    expect(loaded).toHaveLength(1)
  })

  it('a throwing listener does not break the request; the error goes to onListenerError', async () => {
    const { auth, listenerErrors } = setup()
    const boom = new Error('listener bug')
    const after = vi.fn()
    auth.on('userLoaded', () => {
      throw boom
    })
    auth.on('userLoaded', after)
    auth.on('unauthorized', () => {
      throw boom
    })
    auth.on('needsFresh', () => {
      throw boom
    })
    const ctx = await auth.authenticate(makeView({ headers: bearer(auth.createAccessToken('u1')) }))
    expect(ctx.sub).toBe('u1')
    expect(after).toHaveBeenCalledTimes(1)
    await expectAuthRejection(auth.authenticate(makeView()), TokenMissingError, 'TOKEN_MISSING')
    await expectAuthRejection(
      auth.authenticate(makeView({ headers: bearer(auth.createAccessToken('u1')) }), { fresh: true }),
      FreshTokenRequiredError,
      'FRESH_TOKEN_REQUIRED',
    )
    expect(listenerErrors).toEqual([
      [boom, 'userLoaded'],
      [boom, 'unauthorized'],
      [boom, 'needsFresh'],
      [boom, 'unauthorized'],
    ])
  })

  it('login, logout and refreshReuseDetected fire', async () => {
    const { auth } = setup({ tokenLocations: ['headers'] })
    const seen: [string, unknown][] = []
    for (const name of ['login', 'logout', 'refresh', 'refreshReuseDetected', 'tokenRevoked'] as const) {
      auth.on(name, (e) => seen.push([name, e]))
    }
    const tokens = await auth.login('u1')
    const family = tokens.refresh.claims.fam
    expect(seen[0]).toEqual(['login', { user: 'u1', sub: 'u1', remember: false, family }])
    const refreshCtx = await auth.authenticate(
      makeView({ method: 'POST', headers: bearer(tokens.refreshToken) }),
      {
        refresh: true,
      },
    )
    await auth.refresh(refreshCtx)
    expect(seen[1]).toEqual(['refresh', { sub: 'u1', family }])
    await expectAuthRejection(auth.refresh(refreshCtx), TokenRevokedError, 'TOKEN_REVOKED')
    expect(seen[2]).toEqual(['refreshReuseDetected', { sub: 'u1', family, jti: tokens.refresh.claims.jti }])
    const accessCtx = await auth.authenticate(makeView({ headers: bearer(auth.createAccessToken('u2')) }))
    await auth.logout(accessCtx)
    expect(seen[3]).toEqual(['logout', { sub: 'u2', claims: accessCtx.claims, everywhere: false }])
    await auth.logoutEverywhere('u3')
    expect(seen[4]).toEqual(['logout', { sub: 'u3', claims: null, everywhere: true }])
  })
})

describe('implicit refresh', () => {
  function cookieSetup(extra: Partial<AuthOptions<unknown>> = {}) {
    return setup<unknown>({
      tokenLocations: ['headers', 'cookies'],
      implicitRefresh: { window: '5m' },
      ...extra,
    })
  }

  it('re-issues the access cookie inside the window, keeping csrf, family and custom claims', async () => {
    const { auth, clock } = cookieSetup()
    const issued = auth.issueToken('access', 'u1', { family: 'fam', claims: { role: 'admin' }, fresh: true })
    clock.advance(9 * 60_000)
    const early = await auth.authenticate(makeView({ cookies: { access_token_cookie: issued.token } }))
    expect(auth.responseHeaders(early)).toBeUndefined()
    clock.advance(2 * 60_000) // 4 minutes left, window is 5
    const ctx = await auth.authenticate(makeView({ cookies: { access_token_cookie: issued.token } }))
    const list = setCookies(auth.responseHeaders(ctx))
    const next = cookieValue(list, 'access_token_cookie')!
    expect(next).toBeDefined()
    expect(next).not.toBe(issued.token)
    expect(cookieLine(list, 'access_token_cookie')).toMatch(/; Path=\/; HttpOnly; Secure; SameSite=Lax$/)
    expect(cookieValue(list, 'csrf_access_token')).toBe(issued.claims.csrf)
    const claims = auth.decodeToken(next).claims
    expect(claims).toMatchObject({
      sub: 'u1',
      fam: 'fam',
      role: 'admin',
      csrf: issued.claims.csrf,
      fresh: false,
    })
    expect(claims.exp).toBe(Math.floor(clock.now / 1000) + 900)
    expect(claims.jti).not.toBe(issued.claims.jti)
  })

  it('nothing for a token from the header, or after logout', async () => {
    const { auth, clock } = cookieSetup()
    const token = auth.createAccessToken('u1')
    clock.advance(12 * 60_000)
    const fromHeader = await auth.authenticate(makeView({ headers: bearer(token) }))
    expect(auth.responseHeaders(fromHeader)).toBeUndefined()
    const ctx = await auth.authenticate(makeView({ cookies: { access_token_cookie: token } }))
    expect(auth.responseHeaders(ctx)).toBeDefined()
    await auth.logout(ctx)
    expect(auth.responseHeaders(ctx)).toBeUndefined()
  })

  it('an expired cookie token is refused with set-cookie clearing it; a header token gets none', async () => {
    const { auth, clock } = cookieSetup()
    const token = auth.createAccessToken('u1')
    clock.advance(15 * 60_000)
    const err = await expectAuthRejection(
      auth.authenticate(makeView({ cookies: { access_token_cookie: token } })),
      TokenExpiredError,
      'TOKEN_EXPIRED',
    )
    const list = setCookies(err.headers)
    expect(cookieLine(list, 'access_token_cookie')).toBe(
      'access_token_cookie=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Lax',
    )
    expect(cookieValue(list, 'csrf_access_token')).toBe('')
    expect(cookieValue(list, 'refresh_token_cookie')).toBeUndefined()
    expect(auth.errorResponse(err).headers['set-cookie']).toEqual(list)
    const fromHeader = await expectAuthRejection(
      auth.authenticate(makeView({ headers: bearer(token) })),
      TokenExpiredError,
      'TOKEN_EXPIRED',
    )
    expect(fromHeader.headers['set-cookie']).toBeUndefined()
  })

  it('works with a user loader that returns objects and no identify option', async () => {
    const { auth, clock } = cookieSetup({ loadUser: (id) => ({ id }) })
    const token = auth.createAccessToken('u1')
    clock.advance(12 * 60_000)
    const ctx = await auth.authenticate(makeView({ cookies: { access_token_cookie: token } }))
    expect(ctx.user).toEqual({ id: 'u1' })
    const next = cookieValue(setCookies(auth.responseHeaders(ctx)), 'access_token_cookie')!
    expect(auth.decodeToken(next).claims.sub).toBe('u1')
  })

  it('recomputes loader claims from the loaded user when identify is set', async () => {
    type U = { id: string; role: string }
    let role = 'user'
    const { auth, clock } = cookieSetup({
      loadUser: (id) => ({ id, role }),
      identify: (u) => (u as U).id,
      additionalClaims: (u) => ({ role: typeof u === 'object' ? (u as U).role : 'none' }),
    })
    const token = auth.createAccessToken({ id: 'u1', role })
    expect(decodeSegment(token.split('.')[1]!).role).toBe('user')
    role = 'admin'
    clock.advance(12 * 60_000)
    const ctx = await auth.authenticate(makeView({ cookies: { access_token_cookie: token } }))
    const next = cookieValue(setCookies(auth.responseHeaders(ctx)), 'access_token_cookie')!
    expect(auth.decodeToken(next).claims.role).toBe('admin')
  })
})

describe('malformed claims through the guard', () => {
  it.each([['__proto__ claims', `{"__proto__":{"polluted":"yes"},${JSON.stringify(claimsAt()).slice(1)}`]])(
    '%s authenticate without pollution',
    async (_what, raw) => {
      const { auth } = setup()
      const token = forge('HS256', SECRET, { alg: 'HS256' }, raw)
      const ctx = await auth.authenticate(makeView({ headers: bearer(token) }))
      expect(ctx.sub).toBe('u1')
      expect(({} as Record<string, unknown>).polluted).toBeUndefined()
      expect((ctx.claims as TokenClaims & { polluted?: unknown }).polluted).toBeUndefined()
    },
  )
})

describe('check: the guard without promises when nothing waits', () => {
  const users = new Map([['u1', { id: 'u1', active: true }]])
  type U = { id: string; active: boolean }
  const syncOptions = {
    identify: (u: U) => u.id,
    loadUser: (id: string) => users.get(id),
    isActive: (u: U) => u.active,
    checkClaims: () => true,
  }

  it('returns the context itself with a memory store and synchronous callbacks', () => {
    const { auth } = setup<U>(syncOptions)
    const token = auth.createAccessToken('u1')
    const result = auth.check(makeView({ headers: bearer(token) }))
    expect(isThenable(result)).toBe(false)
    expect(result).toMatchObject({ isAuthenticated: true, user: users.get('u1'), sub: 'u1', token })
  })

  it('throws an AuthError synchronously for a refused token, after the same events', () => {
    const { auth } = setup<U>(syncOptions)
    const unauthorized = vi.fn()
    auth.on('unauthorized', unauthorized)
    expect(() => auth.check(makeView({ headers: bearer('not.a.token') }))).toThrow(TokenInvalidError)
    expect(() => auth.check(makeView({ headers: bearer(auth.createAccessToken('nobody')) }))).toThrow(
      UserNotFoundError,
    )
    expect(unauthorized).toHaveBeenCalledTimes(2)
  })

  it('a store that throws synchronously is an unavailable store (503), not a crash', () => {
    const store = new MemoryRevocationStore()
    const error = new Error('disk gone')
    ;(store as RevocationStore).isRevoked = () => {
      throw error
    }
    const { auth } = setup<U>({ ...syncOptions, revocation: store })
    const seen = vi.fn()
    auth.on('revocationUnavailable', seen)
    const token = auth.createAccessToken('u1')
    expect(() => auth.check(makeView({ headers: bearer(token) }))).toThrow(RevocationUnavailableError)
    expect(seen).toHaveBeenCalledWith({ error })
  })

  it.each([
    ['the store', { revocation: 'async' }],
    ['checkClaims', { checkClaims: async () => true }],
    ['loadUser', { loadUser: async (id: string) => users.get(id) }],
  ] as const)('returns a promise once %s answers with one, with the same context', async (_, extra) => {
    const store = new MemoryRevocationStore()
    const waiting = delegatingTo(store, async (ref) => store.isRevoked(ref))
    const options = { ...syncOptions, ...extra, revocation: 'revocation' in extra ? waiting : store }
    const { auth } = setup<U>(options as Partial<AuthOptions<U>>)
    const token = auth.createAccessToken('u1')
    const result = auth.check(makeView({ headers: bearer(token) }))
    expect(isThenable(result)).toBe(true)
    expect(await result).toMatchObject({ isAuthenticated: true, user: users.get('u1'), sub: 'u1' })
    // A refusal before the first step that waits is thrown; after it, the promise rejects.
    await store.revokeToken(auth.decodeToken(token).claims.jti, Date.now() + 60_000)
    const attempt = () => auth.check(makeView({ headers: bearer(token) }))
    if ('revocation' in extra) await expect(attempt()).rejects.toBeInstanceOf(TokenRevokedError)
    else expect(attempt).toThrow(TokenRevokedError)
  })

  it('a thenable that breaks the rules (its then returns nothing) still decides, never lets through', async () => {
    // A plain-JavaScript store or loader may hand back such an object; `await` copes, so must the guard.
    const later = <T>(value: T) => ({
      // biome-ignore lint/suspicious/noThenProperty: the point of the test
      then(resolve: (v: T) => void) {
        setTimeout(() => resolve(value), 1)
      },
    })
    const revokedStore = delegatingTo(
      new MemoryRevocationStore(),
      () => later(true) as unknown as Promise<boolean>,
    )
    const cases: [Partial<AuthOptions<U>>, unknown][] = [
      [{ revocation: revokedStore }, TokenRevokedError],
      [{ checkClaims: () => later(false) as unknown as Promise<boolean> }, ClaimsRejectedError],
      [{ loadUser: () => later(undefined) as unknown as Promise<U> }, UserNotFoundError],
    ]
    for (const [extra, error] of cases) {
      const { auth } = setup<U>({ ...syncOptions, ...extra })
      const view = makeView({ headers: bearer(auth.createAccessToken('u1')) })
      await expect(auth.authenticate(view)).rejects.toBeInstanceOf(error)
      const result = auth.check(view)
      expect(isThenable(result)).toBe(true)
      await expect(result).rejects.toBeInstanceOf(error)
    }
    // A Promise subclass whose then returns nothing (and never calls back): pending, as `await` would
    // leave it, never an early "success".
    class Lazy<T> extends Promise<T> {
      // biome-ignore lint/suspicious/noThenProperty: the point of the test
      override then(): never {
        return undefined as never
      }
    }
    {
      const { auth } = setup<U>({
        ...syncOptions,
        loadUser: () => Object.setPrototypeOf(Promise.resolve(null), Lazy.prototype) as Promise<U>,
      })
      const result = auth.check(makeView({ headers: bearer(auth.createAccessToken('u1')) }))
      expect(result).toBeInstanceOf(Promise)
      const settled = await Promise.race([
        (result as Promise<unknown>).then(
          () => 'settled',
          () => 'settled',
        ),
        sleep(20, 'pending'),
      ])
      expect(settled).toBe('pending')
    }
    // A thenable that is a function, resolving no user: refused.
    {
      const thenable = Object.assign(() => {}, {
        // biome-ignore lint/suspicious/noThenProperty: the point of the test
        then: (resolve: (v: null) => void) => resolve(null),
      })
      const { auth } = setup<U>({ ...syncOptions, loadUser: () => thenable as unknown as Promise<U> })
      const result = auth.check(makeView({ headers: bearer(auth.createAccessToken('u1')) }))
      expect(result).toBeInstanceOf(Promise)
      await expect(result).rejects.toBeInstanceOf(UserNotFoundError)
    }
    const { auth } = setup<U>({
      ...syncOptions,
      loadUser: (id) => later(users.get(id)) as unknown as Promise<U>,
    })
    expect((await auth.authenticate(makeView({ headers: bearer(auth.createAccessToken('u1')) }))).user).toBe(
      users.get('u1'),
    )
  })

  it('authenticate always returns a promise, and rejects rather than throws', async () => {
    const { auth } = setup<U>(syncOptions)
    const good = auth.authenticate(makeView({ headers: bearer(auth.createAccessToken('u1')) }))
    expect(good).toBeInstanceOf(Promise)
    expect((await good).sub).toBe('u1')
    const bad = auth.authenticate(makeView({ headers: bearer('not.a.token') }))
    expect(bad).toBeInstanceOf(Promise)
    await expect(bad).rejects.toBeInstanceOf(TokenInvalidError)
  })

  it('a header with characters no token has is still named as a header syntax error', () => {
    const { auth } = setup<U>(syncOptions)
    const token = auth.createAccessToken('u1')
    for (const value of [`Bearer ${token} x`, `Bearer ${token},${token}`, `Bearer "${token}"`]) {
      expect(() => auth.check(makeView({ headers: { authorization: value } }))).toThrow(
        /Authorization header must be exactly "Bearer <token>"/,
      )
    }
    expect(() => auth.check(makeView({ headers: { authorization: `bearer ${token}` } }))).not.toThrow()
  })
})
