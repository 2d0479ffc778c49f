import { createPublicKey, generateKeyPairSync } from 'node:crypto'
import { jwtVerify } from 'jose'
import { describe, expect, it } from 'vitest'
import {
  type AuthOptions,
  ConfigError,
  createAuth,
  TokenExpiredError,
  TokenInvalidError,
  TokenNotYetValidError,
  WrongTokenTypeError,
} from '../../src/index.js'
import {
  b64,
  claimsAt,
  decodeSegment,
  expectAuthError,
  forge,
  frozenClock,
  keyPairs,
  NOW,
  NOW_S,
  SECRET,
  signWith,
  thrown,
} from './helpers.js'

const K = keyPairs()

function setup(extra: Partial<AuthOptions<unknown>> = {}) {
  const clock = frozenClock()
  const auth = createAuth<unknown>({ keys: { secret: SECRET }, clock: clock.fn, ...extra })
  return { auth, clock }
}

const payloadOf = (token: string) => decodeSegment(token.split('.')[1]!)
const headerOf = (token: string) => decodeSegment(token.split('.')[0]!)
/** A token with these claims, correctly signed with SECRET (HS256, no kid). */
const hs = (claims: unknown, header: unknown = { alg: 'HS256', typ: 'JWT' }) =>
  forge('HS256', SECRET, header, claims)

describe('claims of createAccessToken and createRefreshToken', () => {
  it('access token: sub, iat, iat_ms, nbf, exp (15 min), jti, type, fresh; header alg and typ', () => {
    const { auth } = setup()
    const token = auth.createAccessToken('u1')
    const claims = payloadOf(token)
    expect(claims).toEqual({
      sub: 'u1',
      iat: NOW_S,
      iat_ms: NOW,
      nbf: NOW_S,
      exp: NOW_S + 900,
      jti: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
      type: 'access',
      fresh: false,
    })
    expect(headerOf(token)).toEqual({ alg: 'HS256', typ: 'JWT' })
  })

  it('refresh token: 30 days, type refresh, no fresh claim', () => {
    const { auth } = setup()
    const claims = payloadOf(auth.createRefreshToken('u1'))
    expect(claims.type).toBe('refresh')
    expect(claims.exp).toBe(NOW_S + 30 * 86_400)
    expect(claims).not.toHaveProperty('fresh')
  })

  it('iat is the second, iat_ms the millisecond', () => {
    const { auth, clock } = setup()
    clock.advance(999)
    const claims = payloadOf(auth.createAccessToken('u1'))
    expect(claims.iat).toBe(NOW_S)
    expect(claims.iat_ms).toBe(NOW + 999)
    expect(claims.exp).toBe(NOW_S + 900)
  })

  it('notBefore: false leaves nbf out', () => {
    const { auth } = setup({ notBefore: false })
    const token = auth.createAccessToken('u1')
    expect(payloadOf(token)).not.toHaveProperty('nbf')
    expect(auth.decodeToken(token).claims.sub).toBe('u1')
  })

  it('lifetimes per token type and per call', () => {
    const { auth } = setup({ accessTokenTtl: '1h', refreshTokenTtl: 7 * 86_400 })
    expect(payloadOf(auth.createAccessToken('u1')).exp).toBe(NOW_S + 3600)
    expect(payloadOf(auth.createRefreshToken('u1')).exp).toBe(NOW_S + 7 * 86_400)
    expect(payloadOf(auth.createAccessToken('u1', { expiresIn: '30s' })).exp).toBe(NOW_S + 30)
    expect(payloadOf(auth.createRefreshToken('u1', { expiresIn: 120 })).exp).toBe(NOW_S + 120)
    const issued = auth.issueToken('access', 'u1', { expiresIn: '2m' })
    expect(issued.expiresAt).toBe((NOW_S + 120) * 1000)
    expect(() => auth.createAccessToken('u1', { expiresIn: '10 parsecs' })).toThrow(ConfigError)
  })

  it('jti is unique', () => {
    const { auth } = setup()
    const ids = new Set(Array.from({ length: 2000 }, () => payloadOf(auth.createAccessToken('u1')).jti))
    expect(ids.size).toBe(2000)
  })

  it.each([
    ['undefined', undefined, false],
    ['true', true, true],
    ['false', false, false],
    ['a duration string', '10m', NOW_S + 600],
    ['a number of seconds', 300, NOW_S + 300],
    ['a Date', new Date(NOW + 42_500), NOW_S + 42],
  ])('fresh as %s', (_what, fresh, expected) => {
    const { auth } = setup()
    expect(payloadOf(auth.createAccessToken('u1', fresh === undefined ? {} : { fresh })).fresh).toBe(expected)
  })

  it('csrf claim only when cookies are a location (and CSRF is on)', () => {
    expect(payloadOf(setup().auth.createAccessToken('u1'))).not.toHaveProperty('csrf')
    const cookies = setup({ tokenLocations: ['headers', 'cookies'] }).auth
    const a = payloadOf(cookies.createAccessToken('u1'))
    const r = payloadOf(cookies.createRefreshToken('u1'))
    expect(a.csrf).toMatch(/^[A-Za-z0-9_-]{22}$/)
    expect(r.csrf).toMatch(/^[A-Za-z0-9_-]{22}$/)
    expect(a.csrf).not.toBe(r.csrf)
    expect(payloadOf(cookies.createAccessToken('u1', { csrf: 'chosen' })).csrf).toBe('chosen')
    const off = setup({ tokenLocations: ['cookies'], csrf: { enabled: false } }).auth
    expect(payloadOf(off.createAccessToken('u1'))).not.toHaveProperty('csrf')
  })

  it('aud and iss when configured (iss is the first issuer)', () => {
    expect(payloadOf(setup({ audience: 'api' }).auth.createAccessToken('u1')).aud).toBe('api')
    expect(payloadOf(setup({ audience: ['a', 'b'] }).auth.createAccessToken('u1')).aud).toEqual(['a', 'b'])
    expect(payloadOf(setup({ issuer: ['i1', 'i2'] }).auth.createAccessToken('u1')).iss).toBe('i1')
    const plain = payloadOf(setup().auth.createAccessToken('u1'))
    expect(plain).not.toHaveProperty('aud')
    expect(plain).not.toHaveProperty('iss')
  })

  it('additionalClaims receives the user object (or the identity) and adds its claims', () => {
    const seen: unknown[] = []
    type User = { id: number; role: string }
    const clock = frozenClock()
    const auth = createAuth<User>({
      keys: { secret: SECRET },
      clock: clock.fn,
      identify: (u) => u.id,
      additionalClaims: (u) => {
        seen.push(u)
        return typeof u === 'object' ? { role: u.role } : { role: 'unknown' }
      },
    })
    const user = { id: 7, role: 'admin' }
    const claims = payloadOf(auth.createAccessToken(user))
    expect(claims.sub).toBe('7')
    expect(claims.role).toBe('admin')
    expect(seen[0]).toBe(user)
    expect(payloadOf(auth.createRefreshToken('8')).role).toBe('unknown')
    expect(seen[1]).toBe('8')
    // Per-call claims come after the loader's and win.
    expect(
      payloadOf(auth.createAccessToken(user, { claims: { role: 'guest', scope: 'read' } })),
    ).toMatchObject({
      role: 'guest',
      scope: 'read',
    })
  })

  it('extra protected headers', () => {
    const { auth } = setup()
    const token = auth.createAccessToken('u1', { headers: { cty: 'session', 'x-trace': 7 } })
    expect(headerOf(token)).toEqual({ alg: 'HS256', typ: 'JWT', cty: 'session', 'x-trace': 7 })
    expect(auth.decodeToken(token).header).toEqual({ alg: 'HS256', typ: 'JWT', cty: 'session', 'x-trace': 7 })
  })

  it.each(['sub', 'iat', 'iat_ms', 'nbf', 'exp', 'jti', 'type', 'fresh', 'csrf', 'fam', 'aud', 'iss'])(
    'the reserved claim %s cannot be set per call or by the claims loader',
    (name) => {
      const { auth } = setup()
      expect(() => auth.createAccessToken('u1', { claims: { [name]: 'x' } })).toThrow(
        new RegExp(`claims may not set the reserved claim "${name}"`),
      )
      const loader = setup({ additionalClaims: () => ({ [name]: 'x' }) }).auth
      expect(() => loader.createRefreshToken('u1')).toThrow(/additionalClaims may not set the reserved claim/)
    },
  )

  it('the configured identity claim is reserved too, and is set alongside sub', () => {
    const { auth } = setup({ identityClaim: 'uid' })
    expect(() => auth.createAccessToken('u1', { claims: { uid: 'u2' } })).toThrow(/reserved claim "uid"/)
    const token = auth.createAccessToken('u1')
    expect(payloadOf(token)).toMatchObject({ uid: 'u1', sub: 'u1' })
    expect(auth.decodeToken(token).claims.uid).toBe('u1')
  })

  it.each(['alg', 'kid', 'typ', 'crit', 'b64'])('the reserved header %s cannot be set', (name) => {
    const { auth } = setup()
    expect(() => auth.createAccessToken('u1', { headers: { [name]: 'x' } })).toThrow(
      new RegExp(`header parameter "${name}" is reserved`),
    )
  })

  it('a number identity is stored as a string and decodes', () => {
    const { auth } = setup()
    const token = auth.createAccessToken(42)
    expect(payloadOf(token).sub).toBe('42')
    expect(auth.decodeToken(token).claims.sub).toBe('42')
    expect(payloadOf(auth.createAccessToken(0)).sub).toBe('0')
  })

  it.each([
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['an empty string', ''],
    ['null', null],
    ['a boolean', true],
  ])('refuses %s as identity', (_what, identity) => {
    const { auth } = setup()
    expect(() => auth.createAccessToken(identity as string)).toThrow(/identity must be a non-empty string/)
  })

  it('a user object needs identify(); identify may return a number', () => {
    expect(() => setup().auth.createAccessToken({ id: 1 })).toThrow(/no identify\(user\) option/)
    const { auth } = setup({ identify: (u) => (u as { id: number }).id })
    expect(payloadOf(auth.createAccessToken({ id: 1 })).sub).toBe('1')
    const bad = setup({ identify: () => '' }).auth
    expect(() => bad.createAccessToken({ id: 1 })).toThrow(/non-empty string/)
  })

  it('non-expiring tokens only with allowNonExpiring', () => {
    expect(() => setup().auth.createAccessToken('u1', { expiresIn: false })).toThrow(/allowNonExpiring: true/)
    const { auth, clock } = setup({ allowNonExpiring: true })
    const issued = auth.issueToken('access', 'u1', { expiresIn: false })
    expect(issued.claims).not.toHaveProperty('exp')
    expect(issued.expiresAt).toBeUndefined()
    clock.advance(10 * 365 * 86_400_000)
    expect(auth.decodeToken(issued.token).claims.sub).toBe('u1')
    const never = setup({ allowNonExpiring: true, accessTokenTtl: false }).auth
    expect(payloadOf(never.createAccessToken('u1'))).not.toHaveProperty('exp')
  })

  it('a __proto__ claim stays a plain data property and pollutes nothing', () => {
    const { auth } = setup()
    const claims = JSON.parse(
      '{"__proto__": {"polluted": "yes"}, "constructor": {"prototype": {"polluted": "yes"}}}',
    )
    const token = auth.createAccessToken('u1', { claims })
    expect(Buffer.from(token.split('.')[1]!, 'base64url').toString()).toContain(
      '"__proto__":{"polluted":"yes"}',
    )
    const decoded = auth.decodeToken(token).claims as Record<string, unknown>
    expect(Object.hasOwn(decoded, '__proto__')).toBe(true)
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(decoded.polluted).toBeUndefined()
    // Its object value is frozen like any nested member (the only nested member here).
    const member = Object.getOwnPropertyDescriptor(decoded, '__proto__')!.value as Record<string, unknown>
    expect(Object.isFrozen(member)).toBe(true)
    expect(Object.isFrozen(decoded.constructor)).toBe(true)
  })
})

describe('decodeToken', () => {
  it('returns header and claims of a valid token', () => {
    const { auth } = setup()
    const issued = auth.issueToken('access', 'u1', { claims: { role: 'x' } })
    const decoded = auth.decodeToken(issued.token)
    expect(decoded.header).toEqual({ alg: 'HS256', typ: 'JWT' })
    expect(decoded.claims).toEqual(issued.claims)
  })

  describe('exp', () => {
    it('expires at exp exactly, not a millisecond before', () => {
      const { auth, clock } = setup()
      const token = auth.createAccessToken('u1', { expiresIn: 60 })
      clock.advance(60_000 - 1)
      expect(auth.decodeToken(token).claims.sub).toBe('u1')
      clock.advance(1)
      const err = expectAuthError(() => auth.decodeToken(token), TokenExpiredError, 'TOKEN_EXPIRED')
      expect(err.expiredAt).toBe(NOW + 60_000)
      expect(err.message).toBe('Token has expired')
    })

    it('leeway extends exp', () => {
      const { auth, clock } = setup({ leeway: '30s' })
      const token = auth.createAccessToken('u1', { expiresIn: 60 })
      clock.advance(60_000 + 30_000 - 1)
      expect(auth.decodeToken(token).claims.sub).toBe('u1')
      clock.advance(1)
      expectAuthError(() => auth.decodeToken(token), TokenExpiredError, 'TOKEN_EXPIRED')
    })

    it('allowExpired returns the claims of an expired token, still checking the signature', () => {
      const { auth, clock } = setup()
      const token = auth.createAccessToken('u1', { expiresIn: 60 })
      clock.advance(3_600_000)
      expect(auth.decodeToken(token, { allowExpired: true }).claims.sub).toBe('u1')
      const tampered = `${token.slice(0, -2)}${token.endsWith('AA') ? 'BA' : 'AA'}`
      expectAuthError(
        () => auth.decodeToken(tampered, { allowExpired: true }),
        TokenInvalidError,
        'TOKEN_INVALID',
      )
    })

    it('a missing exp is refused unless allowNonExpiring', () => {
      const token = hs(claimsAt({ exp: undefined }))
      const err = expectAuthError(() => setup().auth.decodeToken(token), TokenInvalidError, 'TOKEN_INVALID')
      expect(err.message).toBe('Invalid token: missing exp')
      expect(setup({ allowNonExpiring: true }).auth.decodeToken(token).claims.sub).toBe('u1')
    })
  })

  describe('nbf', () => {
    it('refuses a token before nbf, accepts it from nbf on', () => {
      const { auth, clock } = setup()
      const token = hs(claimsAt({ nbf: NOW_S + 60 }))
      const err = expectAuthError(() => auth.decodeToken(token), TokenNotYetValidError, 'TOKEN_NOT_YET_VALID')
      expect(err.message).toBe('Token is not yet valid')
      clock.advance(60_000 - 1)
      expectAuthError(() => auth.decodeToken(token), TokenNotYetValidError, 'TOKEN_NOT_YET_VALID')
      clock.advance(1)
      expect(auth.decodeToken(token).claims.sub).toBe('u1')
    })

    it('leeway applies to nbf', () => {
      const { auth } = setup({ leeway: 60 })
      expect(auth.decodeToken(hs(claimsAt({ nbf: NOW_S + 60 }))).claims.sub).toBe('u1')
      expectAuthError(
        () => auth.decodeToken(hs(claimsAt({ nbf: NOW_S + 61 }))),
        TokenNotYetValidError,
        'TOKEN_NOT_YET_VALID',
      )
    })

    it('exp is checked before nbf', () => {
      const { auth } = setup()
      expectAuthError(
        () => auth.decodeToken(hs(claimsAt({ nbf: NOW_S + 60, exp: NOW_S - 1 }))),
        TokenExpiredError,
        'TOKEN_EXPIRED',
      )
    })
  })

  describe('aud', () => {
    it('a token with aud is refused by a verifier without an audience', () => {
      const token = setup({ audience: 'api' }).auth.createAccessToken('u1')
      const err = expectAuthError(() => setup().auth.decodeToken(token), TokenInvalidError, 'TOKEN_INVALID')
      expect(err.message).toBe('Invalid token: audience not accepted')
      expectAuthError(
        () => setup().auth.decodeToken(hs(claimsAt({ aud: [] }))),
        TokenInvalidError,
        'TOKEN_INVALID',
      )
    })

    it.each([
      ['the audience', 'api', true],
      ['a list containing it', ['other', 'api'], true],
      ['another audience', 'other', false],
      ['a list without it', ['other', 'more'], false],
      ['an empty list', [], false],
      ['a number', 5, false],
      ['a list with a non-string', ['api', 5], false],
      ['null', null, false],
      ['a case variant', 'API', false],
    ])('verifier with audience "api", token aud = %s', (_what, aud, ok) => {
      const { auth } = setup({ audience: 'api' })
      const token = hs(claimsAt({ aud }))
      if (ok) expect(auth.decodeToken(token).claims.aud).toEqual(aud)
      else expectAuthError(() => auth.decodeToken(token), TokenInvalidError, 'TOKEN_INVALID')
    })

    it('a verifier with an audience refuses a token without aud', () => {
      const err = expectAuthError(
        () => setup({ audience: 'api' }).auth.decodeToken(hs(claimsAt())),
        TokenInvalidError,
        'TOKEN_INVALID',
      )
      expect(err.message).toBe('Invalid token: missing audience')
    })

    it('a verifier with several audiences accepts any of them', () => {
      const { auth } = setup({ audience: ['a', 'b'] })
      expect(auth.decodeToken(hs(claimsAt({ aud: 'b' }))).claims.aud).toBe('b')
      expectAuthError(() => auth.decodeToken(hs(claimsAt({ aud: 'c' }))), TokenInvalidError, 'TOKEN_INVALID')
    })
  })

  describe('iss', () => {
    it.each([
      ['the issuer', 'i1', true],
      ['the second issuer', 'i2', true],
      ['another issuer', 'evil', false],
      ['no issuer', undefined, false],
      ['a number', 1, false],
      ['a list', ['i1'], false],
    ])('verifier with issuers i1, i2; token iss = %s', (_what, iss, ok) => {
      const { auth } = setup({ issuer: ['i1', 'i2'] })
      const token = hs(claimsAt({ iss }))
      if (ok) expect(auth.decodeToken(token).claims.iss).toBe(iss)
      else expectAuthError(() => auth.decodeToken(token), TokenInvalidError, 'TOKEN_INVALID')
    })

    it('a verifier without issuer does not require iss but refuses a non-string one', () => {
      const { auth } = setup()
      expect(auth.decodeToken(hs(claimsAt({ iss: 'anyone' }))).claims.iss).toBe('anyone')
      expectAuthError(() => auth.decodeToken(hs(claimsAt({ iss: 7 }))), TokenInvalidError, 'TOKEN_INVALID')
    })
  })

  it('the type option refuses the other kind', () => {
    const { auth } = setup()
    const access = auth.createAccessToken('u1')
    const refresh = auth.createRefreshToken('u1')
    expect(auth.decodeToken(access, { type: 'access' }).claims.type).toBe('access')
    expect(auth.decodeToken(refresh, { type: 'refresh' }).claims.type).toBe('refresh')
    const e1 = expectAuthError(
      () => auth.decodeToken(access, { type: 'refresh' }),
      WrongTokenTypeError,
      'WRONG_TOKEN_TYPE',
    )
    expect(e1.expected).toBe('refresh')
    expect(e1.message).toBe('Only refresh tokens are allowed')
    const e2 = expectAuthError(
      () => auth.decodeToken(refresh, { type: 'access' }),
      WrongTokenTypeError,
      'WRONG_TOKEN_TYPE',
    )
    expect(e2.message).toBe('Only access tokens are allowed')
  })

  describe('claims of the wrong shape', () => {
    it.each([
      ['missing sub', { sub: undefined }],
      ['numeric sub', { sub: 5 }],
      ['empty sub', { sub: '' }],
      ['null sub', { sub: null }],
      ['array sub', { sub: ['u1'] }],
      ['object sub', { sub: { id: 'u1' } }],
      ['missing type', { type: undefined }],
      ['unknown type', { type: 'id' }],
      ['type in another case', { type: 'Access' }],
      ['missing jti', { jti: undefined }],
      ['numeric jti', { jti: 5 }],
      ['empty jti', { jti: '' }],
      ['string exp', { exp: String(NOW_S + 900) }],
      ['array exp', { exp: [NOW_S + 900] }],
      ['null exp', { exp: null }],
      ['boolean exp', { exp: true }],
      ['object exp', { exp: {} }],
      ['string nbf', { nbf: String(NOW_S) }],
      ['array nbf', { nbf: [NOW_S] }],
      ['null nbf', { nbf: null }],
      ['string iat', { iat: String(NOW_S) }],
      ['array iat', { iat: [NOW_S] }],
      ['null iat', { iat: null }],
      ['string iat_ms', { iat_ms: String(NOW) }],
      ['string fresh', { fresh: 'true' }],
      ['numeric csrf', { csrf: 1 }],
      ['numeric fam', { fam: 1 }],
    ])('%s is TOKEN_INVALID', (_what, override) => {
      expectAuthError(
        () => setup().auth.decodeToken(hs(claimsAt(override))),
        TokenInvalidError,
        'TOKEN_INVALID',
      )
    })

    it.each([
      ['exp', `"exp":1e999`],
      ['exp', `"exp":-1e999`],
      ['nbf', `"nbf":1e999`],
      ['iat', `"iat":-1e999`],
    ])('an infinite %s (%s in the JSON) is TOKEN_INVALID, not expired or valid', (_claim, member) => {
      const base = JSON.stringify(claimsAt({ exp: undefined, nbf: undefined, iat: undefined }))
      const raw = `${base.slice(0, -1)},${member}${member.startsWith('"exp"') ? '' : `,"exp":${NOW_S + 60}`}}`
      const err = expectAuthError(() => setup().auth.decodeToken(hs(raw)), TokenInvalidError, 'TOKEN_INVALID')
      expect(err.message).toMatch(/must be a number/)
    })

    it.each(['NaN', 'Infinity', '-Infinity', '0x10', '1_000', "'1'", 'undefined'])(
      'exp written as %s is not JSON: TOKEN_INVALID',
      (value) => {
        const raw = `{"sub":"u1","jti":"j","type":"access","exp":${value}}`
        expectAuthError(() => setup().auth.decodeToken(hs(raw)), TokenInvalidError, 'TOKEN_INVALID')
      },
    )

    it('fractional and negative numeric dates are numbers: compared, not refused for their type', () => {
      const { auth } = setup()
      expect(
        auth.decodeToken(hs(claimsAt({ exp: NOW_S + 0.5, nbf: NOW_S - 0.5, iat: 1.5 }))).claims.sub,
      ).toBe('u1')
      expectAuthError(() => auth.decodeToken(hs(claimsAt({ exp: -1 }))), TokenExpiredError, 'TOKEN_EXPIRED')
      expectAuthError(
        () => auth.decodeToken(hs(claimsAt({ exp: NOW_S }))),
        TokenExpiredError,
        'TOKEN_EXPIRED',
      )
    })
  })

  describe('header attacks', () => {
    const base = () => setup().auth.createAccessToken('u1')

    it('refuses any crit header, even one naming a registered parameter', () => {
      for (const crit of [['exp'], ['b64'], [], 'exp', ['x-unknown']]) {
        const header = { alg: 'HS256', crit, exp: 1, b64: true, 'x-unknown': 1 }
        const err = expectAuthError(
          () => setup().auth.decodeToken(hs(claimsAt(), header)),
          TokenInvalidError,
          'TOKEN_INVALID',
        )
        expect(err.message).toBe('Invalid token: unsupported critical header parameters')
      }
    })

    for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
      it(`refuses alg "${alg}" with an empty and with a kept signature`, () => {
        const [, p, s] = base().split('.')
        const h = b64({ alg, typ: 'JWT' })
        for (const token of [`${h}.${p}.`, `${h}.${p}.${s}`, `${h}.${p}`]) {
          expectAuthError(() => setup().auth.decodeToken(token), TokenInvalidError, 'TOKEN_INVALID')
        }
      })
    }

    it.each([
      ['missing', undefined],
      ['empty', ''],
      ['lower case', 'hs256'],
      ['padded', 'HS256 '],
      ['a number', 256],
      ['a list', ['HS256']],
      ['null', null],
    ])('refuses alg %s', (_what, alg) => {
      const header = alg === undefined ? { typ: 'JWT' } : { alg, typ: 'JWT' }
      // Signed with the real secret: only the header check can refuse it.
      const token = hs(claimsAt(), header)
      const err = expectAuthError(() => setup().auth.decodeToken(token), TokenInvalidError, 'TOKEN_INVALID')
      expect(err.message).toBe('Invalid token: algorithm not allowed')
    })

    it('refuses an algorithm that is not in the key set, even with the same secret', () => {
      const long = SECRET // 64 bytes: a valid HS512 secret as well
      const auth = createAuth({ keys: { secret: long }, clock: frozenClock().fn })
      const token = forge('HS512', long, { alg: 'HS512', typ: 'JWT' }, claimsAt())
      expectAuthError(() => auth.decodeToken(token), TokenInvalidError, 'TOKEN_INVALID')
      const rs = createAuth({
        keys: { privateKey: K.rsa.privateKey, algorithm: 'RS256' },
        clock: frozenClock().fn,
      })
      const ps = forge('PS256', K.rsa.privateKey, { alg: 'PS256' }, claimsAt())
      expectAuthError(() => rs.decodeToken(ps), TokenInvalidError, 'TOKEN_INVALID')
      const es = createAuth({
        keys: { privateKey: K.p256.privateKey, algorithm: 'ES256' },
        clock: frozenClock().fn,
      })
      const es384 = forge('ES384', K.p384.privateKey, { alg: 'ES384' }, claimsAt())
      expectAuthError(() => es.decodeToken(es384), TokenInvalidError, 'TOKEN_INVALID')
    })

    describe('key confusion: HS256 signed with the server public key as the HMAC secret', () => {
      const rsaPub = K.rsa.publicKey
      const ecPub = K.p256.publicKey
      const spki = (k: typeof rsaPub) => k.export({ type: 'spki', format: 'pem' }) as string
      const secrets: [string, string | Buffer][] = [
        ['RSA spki PEM', spki(rsaPub)],
        ['RSA spki PEM without white space', spki(rsaPub).replace(/\s+/g, '')],
        ['RSA spki PEM without the trailing newline', spki(rsaPub).trimEnd()],
        ['RSA PKCS#1 PEM', rsaPub.export({ type: 'pkcs1', format: 'pem' }) as string],
        ['RSA DER', rsaPub.export({ type: 'spki', format: 'der' })],
        ['RSA JWK text', JSON.stringify(rsaPub.export({ format: 'jwk' }))],
        ['EC spki PEM', spki(ecPub)],
        ['EC JWK text', JSON.stringify(ecPub.export({ format: 'jwk' }))],
      ]
      const verifiers = {
        'private RS256': createAuth({ keys: { privateKey: K.rsa.privateKey, algorithm: 'RS256' } }),
        'public RS256': createAuth({ keys: { publicKey: spki(rsaPub), algorithm: 'RS256' } }),
        'public ES256': createAuth({ keys: { publicKey: spki(ecPub), algorithm: 'ES256' } }),
      }
      const kids = [undefined, ...Object.values(verifiers).map((v) => v.jwks().keys[0]!.kid)]

      it.each(secrets)('%s', (_what, secret) => {
        for (const [name, verifier] of Object.entries(verifiers)) {
          for (const kid of kids) {
            const header =
              kid === undefined ? { alg: 'HS256', typ: 'JWT' } : { alg: 'HS256', typ: 'JWT', kid }
            const token = forge('HS256', secret, header, claimsAt())
            const err = thrown(() => verifier.decodeToken(token))
            expect(err, `${name} kid=${kid}`).toBeInstanceOf(TokenInvalidError)
            expect((err as TokenInvalidError).code).toBe('TOKEN_INVALID')
          }
        }
      })

      it('also with allowMixedAlgorithms: the HS key is never the public key', () => {
        const mixed = createAuth({
          keys: [
            { secret: SECRET, kid: 'hs' },
            { publicKey: rsaPub, algorithm: 'RS256', kid: 'rs' },
          ],
          allowMixedAlgorithms: true,
        })
        for (const [, secret] of secrets) {
          for (const header of [{ alg: 'HS256' }, { alg: 'HS256', kid: 'rs' }, { alg: 'HS256', kid: 'hs' }]) {
            expectAuthError(
              () => mixed.decodeToken(forge('HS256', secret, header, claimsAt({ exp: 2e9 }))),
              TokenInvalidError,
              'TOKEN_INVALID',
            )
          }
        }
      })
    })

    it.each([
      ['ES256', K.p256, 64],
      ['ES384', K.p384, 96],
      ['ES512', K.p521, 132],
    ] as const)('%s signature of all zeros is refused (CVE-2022-21449)', (alg, pair, length) => {
      const auth = createAuth({
        keys: { publicKey: pair.publicKey, algorithm: alg },
        clock: frozenClock().fn,
      })
      const input = `${b64({ alg })}.${b64(claimsAt())}`
      const good = `${input}.${signWith(alg, pair.privateKey, input).toString('base64url')}`
      expect(auth.decodeToken(good).claims.sub).toBe('u1')
      for (const sig of [
        Buffer.alloc(length),
        Buffer.from('3006020100020100', 'hex'),
        Buffer.alloc(length + 1),
      ]) {
        expectAuthError(
          () => auth.decodeToken(`${input}.${sig.toString('base64url')}`),
          TokenInvalidError,
          'TOKEN_INVALID',
        )
      }
    })

    it('refuses a stripped signature and the signature of another token', () => {
      const { auth } = setup()
      const a = auth.createAccessToken('u1')
      const b = auth.createAccessToken('admin')
      const [ah, ap] = a.split('.')
      const bs = b.split('.')[2]
      for (const token of [
        `${ah}.${ap}.`,
        `${ah}.${ap}.${bs}`,
        `${ah}.${ap}.${a.split('.')[2]!.slice(0, 20)}`,
      ]) {
        const err = expectAuthError(() => auth.decodeToken(token), TokenInvalidError, 'TOKEN_INVALID')
        expect(err.message).toMatch(/signature/)
      }
    })

    describe('jku, x5u, jwk and x5c are never a source of keys', () => {
      const server = createAuth({
        keys: { privateKey: K.p256.privateKey, algorithm: 'ES256' },
        clock: frozenClock().fn,
      })
      const attacker = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
      const attackerJwk = createPublicKey(attacker.privateKey).export({ format: 'jwk' })
      const serverKid = server.jwks().keys[0]!.kid

      it.each([
        ['jwk', { jwk: attackerJwk }],
        ['jwk with the server kid', { jwk: { ...attackerJwk, kid: serverKid }, kid: serverKid }],
        ['jku', { jku: 'https://attacker.example/jwks.json', kid: 'attacker' }],
        ['jku with the server kid', { jku: 'https://attacker.example/jwks.json', kid: serverKid }],
        ['x5u', { x5u: 'https://attacker.example/cert.pem' }],
        ['x5c', { x5c: [b64('not really a certificate')] }],
      ])('a token signed by an attacker key named in %s fails', (_what, extra) => {
        const token = forge('ES256', attacker.privateKey, { alg: 'ES256', ...extra }, claimsAt())
        expectAuthError(() => server.decodeToken(token), TokenInvalidError, 'TOKEN_INVALID')
      })

      it('the same headers on a token signed by the server key are simply ignored', () => {
        const token = forge(
          'ES256',
          K.p256.privateKey,
          { alg: 'ES256', kid: serverKid, jwk: attackerJwk, jku: 'https://attacker.example' },
          claimsAt(),
        )
        expect(server.decodeToken(token).claims.sub).toBe('u1')
      })
    })
  })

  describe('encoding', () => {
    /** A valid token whose segments contain "-" or "_" somewhere, so alphabet swaps change it. */
    function tokenWithUrlChars(): { auth: ReturnType<typeof setup>['auth']; token: string } {
      const { auth } = setup()
      for (let i = 0; i < 200; i++) {
        // "?>" and "~" encode to "_" and "-" in the payload; the signature is random.
        const token = auth.createAccessToken('u1', { claims: { n: i, k: '??>>~~' } })
        const [, p, s] = token.split('.')
        if (/[-_]/.test(s!) && /[-_]/.test(p!)) return { auth, token }
      }
      throw new Error('no token with - or _ found')
    }

    it('refuses padding, the standard alphabet and white space in every segment', () => {
      const { auth, token } = tokenWithUrlChars()
      expect(auth.decodeToken(token).claims.sub).toBe('u1')
      const parts = token.split('.')
      for (let i = 0; i < 3; i++) {
        const variants = [
          `${parts[i]}=`,
          `${parts[i]}==`,
          parts[i]!.replace(/-/g, '+').replace(/_/g, '/'),
          `${parts[i]!.slice(0, 5)} ${parts[i]!.slice(5)}`,
          `${parts[i]!.slice(0, 5)}\n${parts[i]!.slice(5)}`,
          `${parts[i]!.slice(0, 5)}\t${parts[i]!.slice(5)}`,
          ` ${parts[i]}`,
          `${parts[i]!.slice(0, 5)}%${parts[i]!.slice(5)}`,
          `${parts[i]!.slice(0, 5)}é${parts[i]!.slice(5)}`,
        ]
        for (const v of variants) {
          if (v === parts[i]) continue
          const mutated = parts.map((p, j) => (j === i ? v : p)).join('.')
          const err = thrown(() => auth.decodeToken(mutated))
          expect(err, `segment ${i}: ${JSON.stringify(v)}`).toBeInstanceOf(TokenInvalidError)
          expect((err as TokenInvalidError).code).toBe('TOKEN_INVALID')
        }
      }
    })

    it('refuses non-canonical trailing bits that Buffer decodes to the same bytes', () => {
      const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
      const { auth } = setup()
      let checked = 0
      for (let n = 0; n < 8; n++) {
        const token = auth.createAccessToken('u1', { claims: { pad: 'x'.repeat(n) } })
        const parts = token.split('.')
        for (let i = 0; i < 3; i++) {
          const seg = parts[i]!
          const spare = seg.length % 4 === 2 ? 4 : seg.length % 4 === 3 ? 2 : 0
          if (spare === 0) continue
          const last = ALPHABET.indexOf(seg.at(-1)!)
          for (let bits = 1; bits < 1 << spare; bits++) {
            const variant = seg.slice(0, -1) + ALPHABET[last | bits]
            expect(Buffer.from(variant, 'base64url').equals(Buffer.from(seg, 'base64url'))).toBe(true)
            const mutated = parts.map((p, j) => (j === i ? variant : p)).join('.')
            const err = expectAuthError(() => auth.decodeToken(mutated), TokenInvalidError, 'TOKEN_INVALID')
            // The header and signature are refused for their encoding; a payload's other spelling
            // already breaks the signature, which covers the encoded text.
            expect(err.message).toMatch(
              i === 0
                ? /header is not canonical/
                : i === 1
                  ? /signature verification failed/
                  : /bad signature encoding/,
            )
            checked++
          }
        }
      }
      // The HS256 signature alone (43 chars) gives three spellings per token.
      expect(checked).toBeGreaterThanOrEqual(24)
    })

    it.each([
      ['one segment', (t: string) => t.split('.')[0]!],
      ['two segments', (t: string) => t.split('.').slice(0, 2).join('.')],
      ['four segments', (t: string) => `${t}.${t.split('.')[2]}`],
      ['a trailing dot', (t: string) => `${t}.`],
      ['a leading dot', (t: string) => `.${t}`],
      [
        'five segments (JWE-shaped)',
        (t: string) =>
          `${b64({ alg: 'RSA-OAEP', enc: 'A256GCM' })}.${t.split('.').slice(1).join('.')}.AAAA.BBBB`,
      ],
      ['only dots', () => '..'],
      ['an empty string', () => ''],
      ['white space', () => ' '],
      ['surrounding white space', (t: string) => ` ${t} `],
      ['the Bearer prefix', (t: string) => `Bearer ${t}`],
    ])('refuses %s', (_what, make) => {
      const { auth } = setup()
      expectAuthError(
        () => auth.decodeToken(make(auth.createAccessToken('u1'))),
        TokenInvalidError,
        'TOKEN_INVALID',
      )
    })

    it.each([
      ['a number', 123],
      ['null', null],
      ['undefined', undefined],
      ['an object', { token: 'x' }],
      ['a Buffer', Buffer.from('a.b.c')],
    ])('refuses %s instead of a string', (_what, input) => {
      expectAuthError(
        () => setup().auth.decodeToken(input as unknown as string),
        TokenInvalidError,
        'TOKEN_INVALID',
      )
    })

    it.each([
      ['not JSON', 'hello'],
      ['truncated JSON', '{"sub":"u1"'],
      ['a JSON array', '[1,2]'],
      ['a JSON string', '"u1"'],
      ['JSON null', 'null'],
      ['a JSON number', '42'],
      ['JSON true', 'true'],
      ['an empty payload', ''],
      ['a UTF-8 BOM before the object', `\uFEFF${JSON.stringify(claimsAt())}`],
    ])('refuses a signed payload that is %s', (_what, payload) => {
      const err = expectAuthError(
        () => setup().auth.decodeToken(hs(payload)),
        TokenInvalidError,
        'TOKEN_INVALID',
      )
      expect(err.message).toMatch(/^Invalid token: payload is not/)
    })

    it('refuses a signed payload that is not valid UTF-8 (jose refuses it too)', async () => {
      const json = JSON.stringify(claimsAt({ sub: 'u~' }))
      const bytes = Buffer.from(json)
      bytes[bytes.indexOf('~')] = 0xff // an invalid UTF-8 byte inside the sub string
      const token = hs(bytes)
      expectAuthError(() => setup().auth.decodeToken(token), TokenInvalidError, 'TOKEN_INVALID')
      await expect(
        jwtVerify(token, Buffer.from(SECRET), { algorithms: ['HS256'], currentDate: new Date(NOW) }),
      ).rejects.toThrow()
    })

    it.each([
      ['a JSON array', '[{"alg":"HS256"}]'],
      ['JSON null', 'null'],
      ['not JSON', 'alg=HS256'],
      ['invalid UTF-8', Buffer.from([0x7b, 0xff, 0x7d])],
    ])('refuses a header that is %s', (_what, header) => {
      expectAuthError(
        () => setup().auth.decodeToken(hs(claimsAt(), header)),
        TokenInvalidError,
        'TOKEN_INVALID',
      )
    })
  })

  describe('JSON edge cases', () => {
    it('__proto__ and constructor claims are data, not prototypes', () => {
      const raw = `{"__proto__":{"polluted":"yes","type":"refresh"},"constructor":{"prototype":{"polluted":"yes"}},${JSON.stringify(claimsAt()).slice(1)}`
      const decoded = setup().auth.decodeToken(hs(raw)).claims as Record<string, unknown>
      expect(decoded.type).toBe('access')
      expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype)
      expect(decoded.polluted).toBeUndefined()
      expect(({} as Record<string, unknown>).polluted).toBeUndefined()
      expect(Object.hasOwn(decoded, '__proto__')).toBe(true)
    })

    it('a __proto__ member cannot stand in for a missing claim', () => {
      const raw = `{"__proto__":{"sub":"admin","jti":"j","type":"access","exp":${NOW_S + 60}},"iat":${NOW_S}}`
      expectAuthError(() => setup().auth.decodeToken(hs(raw)), TokenInvalidError, 'TOKEN_INVALID')
    })

    it('a __proto__ header member does not change the algorithm', () => {
      const token = hs(claimsAt(), '{"__proto__":{"alg":"HS256"},"typ":"JWT"}')
      expectAuthError(() => setup().auth.decodeToken(token), TokenInvalidError, 'TOKEN_INVALID')
    })

    it('duplicate JSON keys: the last one wins, as in jose', async () => {
      const raw = `{"sub":"admin","type":"refresh",${JSON.stringify(claimsAt()).slice(1)}`
      const token = hs(raw)
      const ours = setup().auth.decodeToken(token).claims
      const theirs = (
        await jwtVerify(token, Buffer.from(SECRET), { algorithms: ['HS256'], currentDate: new Date(NOW) })
      ).payload
      expect(ours.sub).toBe('u1')
      expect(ours.type).toBe('access')
      expect(theirs.sub).toBe(ours.sub)
      expect(theirs.type).toBe(ours.type)
    })

    it('deeply nested claims decode or fail with an AuthError, never a crash', () => {
      const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`
      const raw = `{"deep":${deep},${JSON.stringify(claimsAt()).slice(1)}`
      const auth = createAuth({ keys: { secret: SECRET }, clock: frozenClock().fn, maxTokenLength: 100_000 })
      expect(Array.isArray(auth.decodeToken(hs(raw)).claims.deep)).toBe(true)
    })
  })

  describe('verified-token cache', () => {
    it('a repeated token still has its exp checked, and its type', () => {
      const { auth, clock } = setup()
      const token = auth.createAccessToken('u1', { expiresIn: 60 })
      expect(auth.decodeToken(token).claims.sub).toBe('u1')
      expectAuthError(
        () => auth.decodeToken(token, { type: 'refresh' }),
        WrongTokenTypeError,
        'WRONG_TOKEN_TYPE',
      )
      clock.advance(60_000)
      expectAuthError(() => auth.decodeToken(token), TokenExpiredError, 'TOKEN_EXPIRED')
      expect(auth.decodeToken(token, { allowExpired: true }).claims.sub).toBe('u1')
    })

    it('a token first read with allowExpired is not accepted later without it', () => {
      const { auth, clock } = setup()
      const token = auth.createAccessToken('u1', { expiresIn: 60 })
      clock.advance(120_000)
      expect(auth.decodeToken(token, { allowExpired: true }).claims.sub).toBe('u1')
      expectAuthError(() => auth.decodeToken(token), TokenExpiredError, 'TOKEN_EXPIRED')
    })

    it('claims and header are frozen, nested values too, so no request changes what the next one sees', () => {
      const { auth } = setup()
      const token = auth.createAccessToken('u1', {
        claims: { roles: ['user'], profile: { tier: 'free' } },
        headers: { meta: { a: [1] } },
      })
      const first = auth.decodeToken(token) as unknown as {
        claims: { sub: string; roles: string[]; profile: { tier: string } }
        header: { meta: { a: number[] } }
      }
      expect(() => {
        first.claims.sub = 'admin'
      }).toThrow(TypeError)
      expect(() => first.claims.roles.push('admin')).toThrow(TypeError)
      expect(() => {
        first.claims.profile.tier = 'pro'
      }).toThrow(TypeError)
      expect(() => first.header.meta.a.push(2)).toThrow(TypeError)
      const again = auth.decodeToken(token).claims as Record<string, unknown>
      expect(again).toMatchObject({ sub: 'u1', roles: ['user'], profile: { tier: 'free' } })
      // The same without the cache.
      const uncached = setup({ verifiedTokenCache: false }).auth.decodeToken(token).claims as unknown as {
        roles: string[]
      }
      expect(() => uncached.roles.push('admin')).toThrow(TypeError)
    })

    it('works the same with the cache off', () => {
      const { auth, clock } = setup({ verifiedTokenCache: false })
      const token = auth.createAccessToken('u1', { expiresIn: 60 })
      expect(auth.decodeToken(token).claims.sub).toBe('u1')
      expect(auth.decodeToken(token).claims.sub).toBe('u1')
      clock.advance(60_000)
      expectAuthError(() => auth.decodeToken(token), TokenExpiredError, 'TOKEN_EXPIRED')
    })

    it('admits a token on its second verification and serves it from the third (counted by resolveKey calls)', () => {
      const issuer = createAuth({ keys: { secret: SECRET, kid: 'remote' }, clock: frozenClock().fn })
      let calls = 0
      const make = (verifiedTokenCache?: false) =>
        createAuth({
          keys: { secret: `${SECRET}-local`, kid: 'local' },
          resolveKey: (header) => {
            calls++
            return header.kid === 'remote' ? remoteKey : undefined
          },
          clock: frozenClock().fn,
          ...(verifiedTokenCache === false ? { verifiedTokenCache } : {}),
        })
      const remoteKey = { secret: SECRET, kid: 'remote' }
      const token = issuer.createAccessToken('u1')
      const cached = make()
      for (let i = 0; i < 4; i++) expect(cached.decodeToken(token).claims.sub).toBe('u1')
      // 1st: verified, remembered as seen; 2nd: verified, admitted; 3rd and 4th: cache hits.
      expect(calls).toBe(2)
      calls = 0
      const uncached = make(false)
      for (let i = 0; i < 4; i++) uncached.decodeToken(token)
      expect(calls).toBe(4)
      // One-off tokens are each verified once and never admitted.
      calls = 0
      for (let i = 0; i < 3; i++) cached.decodeToken(issuer.createAccessToken(`once-${i}`))
      expect(calls).toBe(3)
    })

    it('another spelling of a cached token is not a cache hit', () => {
      const { auth } = setup()
      const token = auth.createAccessToken('u1')
      auth.decodeToken(token)
      for (const variant of [`${token}=`, ` ${token}`, token.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'))]) {
        expectAuthError(() => auth.decodeToken(variant), TokenInvalidError, 'TOKEN_INVALID')
      }
    })
  })

  describe('maximum token length', () => {
    it('refuses a token over maxTokenLength before any parsing, even a valid one', () => {
      const auth = createAuth({ keys: { secret: SECRET }, clock: frozenClock().fn, maxTokenLength: 300 })
      const token = auth.createAccessToken('u1', { claims: { pad: 'x'.repeat(300) } })
      expect(token.length).toBeGreaterThan(300)
      const err = expectAuthError(() => auth.decodeToken(token), TokenInvalidError, 'TOKEN_INVALID')
      expect(err.message).toBe('Invalid token: too long')
    })

    it('defaults to 8 KiB and refuses a huge input fast', () => {
      const { auth } = setup()
      const ok = auth.createAccessToken('u1', { claims: { pad: 'x'.repeat(5000) } })
      expect(ok.length).toBeLessThanOrEqual(8192)
      expect(auth.decodeToken(ok).claims.sub).toBe('u1')
      expectAuthError(() => auth.decodeToken('a'.repeat(8193)), TokenInvalidError, 'TOKEN_INVALID')
      const huge = `${'e'.repeat(20_000_000)}.${'e'.repeat(10)}.${'e'.repeat(10)}`
      const started = performance.now()
      const err = expectAuthError(() => auth.decodeToken(huge), TokenInvalidError, 'TOKEN_INVALID')
      expect(performance.now() - started).toBeLessThan(50)
      expect(err.message).toBe('Invalid token: too long')
    })
  })

  it('error messages never contain the token', () => {
    const { auth, clock } = setup({ audience: 'api' })
    const token = auth.createAccessToken('u1')
    const [h, p, s] = token.split('.')
    const attempts = [
      token.slice(0, -3),
      `${h}.${p}`,
      `${h}.${p}.${s}=`,
      hs(claimsAt({ aud: 'other' })),
      `${b64({ alg: 'none' })}.${p}.`,
    ]
    clock.advance(3_600_000)
    attempts.push(token)
    for (const t of attempts) {
      const err = thrown(() => auth.decodeToken(t)) as Error
      for (const part of t.split('.')) if (part.length > 8) expect(err.message).not.toContain(part)
      expect(err.message).not.toContain(SECRET)
    }
  })
})
