import { describe, expect, it } from 'vitest'
import {
  type AuthError,
  type AuthErrorCode,
  ClaimsRejectedError,
  CsrfError,
  createAuth,
  DEFAULT_STATUS,
  DpopProofInvalidError,
  DpopProofMissingError,
  DpopProofReplayedError,
  type ErrorOptions,
  FreshTokenRequiredError,
  InsufficientScopeError,
  IssuerUnavailableError,
  isAuthError,
  RevocationUnavailableError,
  renderError,
  TokenExpiredError,
  TokenInvalidError,
  TokenMissingError,
  TokenNotYetValidError,
  TokenRevokedError,
  UserInactiveError,
  UserNotFoundError,
  WrongTokenTypeError,
} from '../../src/index.js'
import { bearer, frozenClock, makeView, rejected, SECRET } from './helpers.js'

/** One error of every code, built as the core builds them. */
function samples(): AuthError[] {
  return [
    new TokenMissingError('Missing access token: looked in the Authorization header', ['headers']),
    new TokenExpiredError(1_700_000_000_000),
    new TokenNotYetValidError(),
    new TokenInvalidError('Invalid token: signature verification failed'),
    new WrongTokenTypeError('access'),
    new FreshTokenRequiredError(),
    new TokenRevokedError(),
    new UserNotFoundError(),
    new UserInactiveError(),
    new CsrfError('Missing CSRF token'),
    new ClaimsRejectedError(),
    new RevocationUnavailableError({ cause: new Error('down') }),
    new InsufficientScopeError(['read:orders'], 'all'),
    new IssuerUnavailableError('https://idp.example/', { cause: new Error('down') }),
    new DpopProofMissingError('DPoP proof missing'),
    new DpopProofInvalidError('Invalid DPoP proof: htu does not match the request URL'),
    new DpopProofReplayedError(),
  ]
}

const EXPECTED_STATUS: Record<AuthErrorCode, number> = {
  TOKEN_MISSING: 401,
  TOKEN_EXPIRED: 401,
  TOKEN_NOT_YET_VALID: 401,
  TOKEN_INVALID: 401,
  WRONG_TOKEN_TYPE: 401,
  FRESH_TOKEN_REQUIRED: 401,
  TOKEN_REVOKED: 401,
  USER_NOT_FOUND: 401,
  USER_INACTIVE: 401,
  CSRF_FAILED: 403,
  CLAIMS_REJECTED: 403,
  REVOCATION_UNAVAILABLE: 503,
  INSUFFICIENT_SCOPE: 403,
  ISSUER_UNAVAILABLE: 503,
  DPOP_PROOF_MISSING: 401,
  DPOP_PROOF_INVALID: 401,
  DPOP_PROOF_REPLAYED: 401,
}

const auth = (errors?: ErrorOptions) =>
  createAuth({ keys: { secret: SECRET }, ...(errors ? { errors } : {}) })

describe('error classes', () => {
  it('every code has one class, a status and a name; the table covers every code', () => {
    const all = samples()
    expect(new Set(all.map((e) => e.code)).size).toBe(17)
    expect(DEFAULT_STATUS).toEqual(EXPECTED_STATUS)
    for (const err of all) {
      expect(isAuthError(err)).toBe(true)
      expect(err).toBeInstanceOf(Error)
      expect(err.status).toBe(EXPECTED_STATUS[err.code])
      expect(err.name).toBe(err.constructor.name)
    }
    expect(isAuthError(new Error('x'))).toBe(false)
    expect(Object.isFrozen(DEFAULT_STATUS)).toBe(true)
  })
})

describe('auth.errorResponse', () => {
  it.each(samples().map((e) => [e.code, e] as const))(
    '%s: default status, {msg, code} body, headers',
    (code, err) => {
      const res = auth().errorResponse(err)
      expect(res.status).toBe(EXPECTED_STATUS[code])
      expect(res.body).toEqual({ msg: err.message, code })
      expect(res.headers['cache-control']).toBe('no-store')
      if (code === 'TOKEN_MISSING') expect(res.headers['www-authenticate']).toBe('Bearer')
      else if (res.status === 401)
        expect(res.headers['www-authenticate']).toBe(
          `Bearer error="invalid_token", error_description="${err.message}"`,
        )
      else if (code === 'INSUFFICIENT_SCOPE')
        expect(res.headers['www-authenticate']).toBe(
          `Bearer error="insufficient_scope", error_description="${err.message}", scope="read:orders"`,
        )
      else expect(res.headers).not.toHaveProperty('www-authenticate')
      if (code === 'REVOCATION_UNAVAILABLE' || code === 'ISSUER_UNAVAILABLE')
        expect(res.headers['retry-after']).toBe('1')
      else expect(res.headers).not.toHaveProperty('retry-after')
    },
  )

  it('messageKey renames the message member', () => {
    const res = auth({ messageKey: 'message' }).errorResponse(new TokenRevokedError())
    expect(res.body).toEqual({ message: 'Token has been revoked', code: 'TOKEN_REVOKED' })
  })

  it('statuses and messages override per code', () => {
    const a = auth({
      statuses: { TOKEN_EXPIRED: 419, CSRF_FAILED: 401 },
      messages: { TOKEN_MISSING: 'Please log in', TOKEN_EXPIRED: 'Session over' },
    })
    const expired = a.errorResponse(new TokenExpiredError(0))
    expect(expired.status).toBe(419)
    expect(expired.body).toEqual({ msg: 'Session over', code: 'TOKEN_EXPIRED' })
    expect(expired.headers).not.toHaveProperty('www-authenticate')
    const csrf = a.errorResponse(new CsrfError('Missing CSRF token'))
    expect(csrf.status).toBe(401)
    expect(csrf.headers['www-authenticate']).toBe(
      'Bearer error="invalid_token", error_description="Missing CSRF token"',
    )
    const missing = a.errorResponse(new TokenMissingError('Missing access token', ['headers']))
    expect(missing.body.msg).toBe('Please log in')
    expect(missing.headers['www-authenticate']).toBe('Bearer')
  })

  it('WWW-Authenticate stays a valid quoted string whatever the message', () => {
    const a = auth({ messages: { TOKEN_INVALID: 'bad "token" \\ here\r\nX-Injected: 1 ✓' } })
    const header = a.errorResponse(new TokenInvalidError('x')).headers['www-authenticate'] as string
    expect(header).toBe('Bearer error="invalid_token", error_description="bad token  hereX-Injected: 1 "')
    expect(header).not.toMatch(/[\r\n]/)
  })

  it('a handler overrides rendering; returning undefined keeps the default', () => {
    const seen: AuthError[] = []
    const a = auth({
      handler: (err) => {
        seen.push(err)
        return err.code === 'TOKEN_EXPIRED'
          ? { status: 440, body: { expired: true }, headers: {} }
          : undefined
      },
    })
    const expired = new TokenExpiredError(0)
    expect(a.errorResponse(expired)).toEqual({ status: 440, body: { expired: true }, headers: {} })
    expect(a.errorResponse(new TokenRevokedError()).status).toBe(401)
    expect(seen).toEqual([expired, expect.any(TokenRevokedError)])
  })

  it('keeps the headers the error carries (cookies to clear)', () => {
    const err = new TokenExpiredError(0, { headers: { 'set-cookie': ['access_token_cookie=; Max-Age=0'] } })
    const res = auth().errorResponse(err)
    expect(res.headers['set-cookie']).toEqual(['access_token_cookie=; Max-Age=0'])
    expect(res.headers['www-authenticate']).toMatch(/^Bearer error="invalid_token"/)
  })

  it('renderError is the same function adapters use', () => {
    const err = new UserInactiveError()
    expect(renderError({}, err)).toEqual(auth().errorResponse(err))
  })
})

describe('the flask-jwt-extended preset', () => {
  const flask = auth({ preset: 'flask-jwt-extended' })
  it.each([
    [new TokenMissingError('x', ['headers']), 401, 'Missing Authorization Header'],
    [new TokenExpiredError(0), 401, 'Token has expired'],
    [
      new TokenInvalidError('Invalid token: signature verification failed'),
      422,
      'Signature verification failed',
    ],
    [
      new TokenInvalidError('Invalid token: expected three dot-separated segments'),
      422,
      'Invalid token: expected three dot-separated segments',
    ],
    [new TokenNotYetValidError(), 422, 'The token is not yet valid (nbf)'],
    [new WrongTokenTypeError('access'), 422, 'Only non-refresh tokens are allowed'],
    [new WrongTokenTypeError('refresh'), 422, 'Only refresh tokens are allowed'],
    [new FreshTokenRequiredError(), 401, 'Fresh token required'],
    [new TokenRevokedError('Refresh token reuse detected'), 401, 'Token has been revoked'],
    [new CsrfError('Missing CSRF token'), 401, 'Missing CSRF token'],
    [new CsrfError('CSRF double submit tokens do not match'), 401, 'CSRF double submit tokens do not match'],
    [new ClaimsRejectedError(), 400, 'User claims verification failed'],
    [new RevocationUnavailableError(), 503, 'Revocation check unavailable, try again later'],
  ] as const)('%s → %i %j', (err, status, msg) => {
    const res = flask.errorResponse(err)
    expect(res.status).toBe(status)
    // Flask-JWT-Extended's body: the message alone, under JWT_ERROR_MESSAGE_KEY.
    expect(res.body).toEqual({ msg })
    if (status === 401) expect(res.headers['www-authenticate']).toMatch(/^Bearer/)
    else expect(res.headers).not.toHaveProperty('www-authenticate')
  })

  it('keeps the code when asked (includeCode), and drops it from latchkey bodies when asked', () => {
    const err = new TokenExpiredError(0)
    expect(auth({ preset: 'flask-jwt-extended', includeCode: true }).errorResponse(err).body).toEqual({
      msg: 'Token has expired',
      code: 'TOKEN_EXPIRED',
    })
    expect(auth({ messageKey: 'message', includeCode: false }).errorResponse(err).body).toEqual({
      message: 'Token has expired',
    })
  })

  it('words a cookie token without a csrf claim as a decode error (422 Missing claim: csrf)', () => {
    const res = flask.errorResponse(new CsrfError('Token has no CSRF value'))
    expect(res.status).toBe(422)
    expect(res.body).toEqual({ msg: 'Missing claim: csrf' })
  })

  it('names the identity no user was found for', () => {
    expect(flask.errorResponse(new UserNotFoundError({ identity: 'ann@example.com' })).body).toEqual({
      msg: 'Error loading the user ann@example.com',
    })
    expect(flask.errorResponse(new UserNotFoundError()).body).toEqual({ msg: 'Error loading the user' })
  })

  it('names the locations when the error was made without the guard', () => {
    expect(flask.errorResponse(new TokenMissingError('x', ['headers', 'cookies'])).body.msg).toBe(
      'Missing JWT in headers or cookies',
    )
  })

  it.each([
    [['headers'], {}, 'Missing Authorization Header'],
    [['cookies'], {}, 'Missing cookie "access_token_cookie"'],
    [['query'], {}, "Missing 'jwt' query paramater"],
    [['json'], { method: 'POST' }, 'Invalid content-type. Must be application/json.'],
    [
      ['json'],
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: { other: 1 } },
      'Missing "access_token" key in json data.',
    ],
    // A body parser that sets an empty object on every request (Express 4): the content type decides.
    [['json'], { method: 'GET', body: {} }, 'Invalid content-type. Must be application/json.'],
    [
      ['headers', 'cookies', 'query'],
      {},
      'Missing JWT in headers, cookies or query_string (Missing Authorization Header; Missing cookie "access_token_cookie"; Missing \'jwt\' query paramater)',
    ],
  ] as const)(
    'a missing token in %j reads as Flask-JWT-Extended words it',
    async (locations, request, msg) => {
      const a = createAuth({
        keys: { secret: SECRET },
        tokenLocations: [...locations],
        errors: { preset: 'flask-jwt-extended' },
      })
      const error = await a.authenticate(makeView(request)).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(TokenMissingError)
      const res = a.errorResponse(error as TokenMissingError)
      expect(res.status).toBe(401)
      expect(res.body.msg).toBe(msg)
    },
  )

  it('names the refresh cookie and key on a refresh guard, and a renamed header', async () => {
    const a = createAuth({
      keys: { secret: SECRET },
      tokenLocations: ['headers', 'cookies', 'json'],
      header: { name: 'X-Auth' },
      errors: { preset: 'flask-jwt-extended' },
    })
    const error = (await a
      .authenticate(
        makeView({
          method: 'POST',
          headers: { 'content-type': 'application/json; charset=utf-8' },
          body: {},
        }),
        { refresh: true },
      )
      .catch((e: unknown) => e)) as TokenMissingError
    expect(a.errorResponse(error).body.msg).toBe(
      'Missing JWT in headers, cookies or json (Missing X-Auth Header; Missing cookie "refresh_token_cookie"; Missing "refresh_token" key in json data.)',
    )
  })

  it('statuses and messages still override the preset', () => {
    const custom = auth({
      preset: 'flask-jwt-extended',
      statuses: { TOKEN_INVALID: 401 },
      messages: { TOKEN_EXPIRED: 'Expired' },
    })
    expect(custom.errorResponse(new TokenInvalidError('Invalid token: x')).status).toBe(401)
    expect(custom.errorResponse(new TokenExpiredError(0)).body.msg).toBe('Expired')
  })

  it('the preset named latchkey is the default', () => {
    const err = new TokenInvalidError('Invalid token: x')
    expect(auth({ preset: 'latchkey' }).errorResponse(err)).toEqual(auth().errorResponse(err))
  })
})

describe('messages never contain the token', () => {
  it('for every refusal the guard produces', async () => {
    const clock = frozenClock()
    const a = createAuth({
      keys: { secret: SECRET },
      clock: clock.fn,
      tokenLocations: ['headers', 'cookies'],
      loadUser: (id) => (id === 'ghost' ? null : id),
      isActive: (u) => u !== 'banned',
    })
    const valid = a.createAccessToken('u1')
    const expired = a.createAccessToken('u1', { expiresIn: 1 })
    clock.advance(1000)
    const cases = [
      makeView({ headers: bearer(`${valid}x`) }),
      makeView({ headers: bearer(expired) }),
      makeView({ headers: { authorization: `Bearer ${valid} ${valid}` } }),
      makeView({ headers: bearer(a.createRefreshToken('u1')) }),
      makeView({ headers: bearer(a.createAccessToken('ghost')) }),
      makeView({ headers: bearer(a.createAccessToken('banned')) }),
      makeView({
        method: 'POST',
        cookies: { access_token_cookie: valid },
        headers: { 'x-csrf-token': valid },
      }),
    ]
    for (const preset of ['latchkey', 'flask-jwt-extended'] as const) {
      const render = createAuth({ keys: { secret: SECRET }, errors: { preset } })
      for (const view of cases) {
        const err = (await rejected(a.authenticate(view))) as AuthError
        expect(isAuthError(err)).toBe(true)
        const text = JSON.stringify(render.errorResponse(err))
        for (const token of [valid, expired]) {
          expect(text).not.toContain(token.split('.')[1]!)
          expect(text).not.toContain(token.split('.')[2]!)
        }
        expect(text).not.toContain(SECRET)
      }
    }
  })
})
