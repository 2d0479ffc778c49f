import { describe, expect, it } from 'vitest'
import { type AuthOptions, ConfigError, createAuth, MemoryRevocationStore } from '../../src/index.js'
import { SECRET, thrown } from './helpers.js'

/** createAuth with these options (on top of a valid key) must throw ConfigError matching `message`. */
function refused(options: Record<string, unknown>, message: RegExp): void {
  const err = thrown(() => createAuth({ keys: { secret: SECRET }, ...options } as AuthOptions))
  expect(err).toBeInstanceOf(ConfigError)
  expect((err as Error).name).toBe('ConfigError')
  expect((err as Error).message).toMatch(message)
}

function accepted(options: Record<string, unknown>): void {
  expect(() => createAuth({ keys: { secret: SECRET }, ...options } as AuthOptions)).not.toThrow()
}

describe('CSRF opt-out must be explicit', () => {
  it('an empty csrf.methods list (CSRF off in effect) is refused unless csrf.enabled is false', () => {
    refused({ tokenLocations: ['cookies'], csrf: { methods: [] } }, /csrf\.enabled: false/)
    accepted({ tokenLocations: ['cookies'], csrf: { enabled: false, methods: [] } })
  })
})

describe('createAuth configuration', () => {
  it('a minimal configuration works and has the documented defaults', () => {
    const { config } = createAuth({ keys: { secret: SECRET } })
    expect(config).toMatchObject({
      accessLocations: ['headers'],
      refreshLocations: ['headers'],
      cookiesUsed: false,
      accessTtlMs: 900_000,
      refreshTtlMs: 30 * 86_400_000,
      sessionRefreshTtlMs: 86_400_000,
      allowNonExpiring: false,
      identityClaim: 'sub',
      audience: undefined,
      issuer: undefined,
      leewayMs: 0,
      notBefore: true,
      maxTokenLength: 8192,
      headerName: 'Authorization',
      headerType: 'Bearer',
      queryParam: 'jwt',
      refreshReuseGraceMs: 0,
      implicitRefreshWindowMs: false,
      json: { accessKey: 'access_token', refreshKey: 'refresh_token' },
      verifiedTokenCache: 1000,
    })
    expect(config.cookies).toMatchObject({
      secure: true,
      sameSite: 'Lax',
      hostPrefix: false,
      accessPath: '/',
    })
    expect(config.csrf.enabled).toBe(false)
    expect([...config.csrf.methods]).toEqual(['POST', 'PUT', 'PATCH', 'DELETE'])
    expect(createAuth({ keys: { secret: SECRET }, tokenLocations: ['cookies'] }).config.csrf.enabled).toBe(
      true,
    )
  })

  it('refuses a missing options object or missing keys', () => {
    expect(() => createAuth(undefined as unknown as AuthOptions)).toThrow(ConfigError)
    const err = thrown(() => createAuth({} as AuthOptions))
    expect(err).toBeInstanceOf(ConfigError)
    expect((err as Error).message).toMatch(/keys is required/)
  })

  describe('unknown options, named in the message', () => {
    it.each([
      [{ tokenLocation: ['headers'] }, /^createAuth: unknown option "tokenLocation" \(known: keys, /],
      [{ secret: SECRET }, /createAuth: unknown option "secret"/],
      [{ accessTokenExpires: 60 }, /unknown option "accessTokenExpires"/],
      [{ cookies: { sameSIte: 'Lax' } }, /^cookies: unknown option "sameSIte" \(known: accessName, /],
      [{ cookies: { httpOnly: false } }, /cookies: unknown option "httpOnly"/],
      [{ csrf: { header: 'X' } }, /^csrf: unknown option "header"/],
      [{ header: { scheme: 'Bearer' } }, /^header: unknown option "scheme"/],
      [{ json: { access: 'a' } }, /^json: unknown option "access"/],
      [{ query: { name: 'jwt' } }, /^query: unknown option "name"/],
      [
        { tokenLocations: ['cookies'], implicitRefresh: { windw: '5m' } },
        /^implicitRefresh: unknown option "windw"/,
      ],
      [{ errors: { status: {} } }, /^errors: unknown option "status"/],
    ])('%j', (options, message) => refused(options, message))

    it('refuses nested options that are not objects', () => {
      refused({ cookies: 'yes' }, /^cookies must be an object/)
      refused({ csrf: null }, /^csrf must be an object/)
      refused({ header: true }, /^header must be an object/)
    })

    it('refuses unknown error codes and presets, which would silently change responses', () => {
      refused(
        { errors: { preset: 'flask' } },
        /errors.preset must be 'latchkey' or 'flask-jwt-extended' \(got "flask"\)/,
      )
      refused(
        { errors: { statuses: { TOKEN_EXPIRD: 419 } } },
        /errors.statuses: unknown error code "TOKEN_EXPIRD"/,
      )
      refused({ errors: { messages: { EXPIRED: 'x' } } }, /errors.messages: unknown error code "EXPIRED"/)
      refused(
        { errors: { statuses: { TOKEN_EXPIRED: 'teapot' } } },
        /errors.statuses.TOKEN_EXPIRED must be an HTTP status/,
      )
      refused({ errors: { statuses: { TOKEN_EXPIRED: 99 } } }, /must be an HTTP status/)
      refused(
        { errors: { messages: { TOKEN_EXPIRED: 5 } } },
        /errors.messages.TOKEN_EXPIRED must be a string/,
      )
      refused({ errors: { messageKey: '' } }, /errors.messageKey must be a non-empty string/)
      refused({ errors: { handler: 'x' } }, /errors.handler must be a function/)
      accepted({
        errors: { preset: 'flask-jwt-extended', statuses: { TOKEN_EXPIRED: 419 }, messageKey: 'message' },
      })
    })
  })

  describe('durations', () => {
    it.each([
      ['accessTokenTtl', '15 minutes'],
      ['accessTokenTtl', -5],
      ['accessTokenTtl', Number.NaN],
      ['accessTokenTtl', Number.POSITIVE_INFINITY],
      ['accessTokenTtl', '1y'],
      ['accessTokenTtl', ''],
      ['accessTokenTtl', true],
      ['refreshTokenTtl', 'abc'],
      ['sessionRefreshTokenTtl', '-1d'],
      ['leeway', '1x'],
      ['refreshReuseGrace', 'soon'],
    ])('%s = %j is refused, naming the option', (option, value) => {
      refused(
        { [option]: value },
        new RegExp(`^${option} must be a duration such as 900, '15m', '2s' or '30d'`),
      )
    })

    it('implicitRefresh.window is a duration too', () => {
      refused(
        { tokenLocations: ['cookies'], implicitRefresh: { window: 'later' } },
        /^implicitRefresh.window must be a duration/,
      )
    })

    it.each([
      ['accessTokenTtl', 0],
      ['accessTokenTtl', 0.5],
      ['refreshTokenTtl', '0s'],
      ['sessionRefreshTokenTtl', 0],
    ])('%s = %j is under a second', (option, value) => {
      refused({ [option]: value }, new RegExp(`^${option} must be at least one second`))
    })

    it('accepts the documented forms', () => {
      for (const v of [900, '900', '15m', '2s', '12h', '30d', '1w', '1.5h']) accepted({ accessTokenTtl: v })
      expect(createAuth({ keys: { secret: SECRET }, accessTokenTtl: '1.5h' }).config.accessTtlMs).toBe(
        5_400_000,
      )
    })

    it('a leeway over 5 minutes is refused', () => {
      refused({ leeway: '10m' }, /^leeway is more than 5 minutes/)
      accepted({ leeway: '5m' })
    })

    it('never-expiring tokens need allowNonExpiring; the session refresh lifetime never may be false', () => {
      refused(
        { accessTokenTtl: false },
        /^accessTokenTtl: false makes tokens that never expire; set allowNonExpiring: true/,
      )
      refused({ refreshTokenTtl: false }, /^refreshTokenTtl: false makes tokens that never expire/)
      accepted({ accessTokenTtl: false, refreshTokenTtl: false, allowNonExpiring: true })
      refused(
        { sessionRefreshTokenTtl: false, allowNonExpiring: true },
        /^sessionRefreshTokenTtl: false makes tokens/,
      )
    })
  })

  describe('contradictions', () => {
    it('implicitRefresh without cookies', () => {
      refused({ implicitRefresh: {} }, /^implicitRefresh only works when cookies are a token location/)
      refused(
        { tokenLocations: ['headers', 'json'], implicitRefresh: { window: '5m' } },
        /implicitRefresh only works/,
      )
      accepted({ implicitRefresh: false })
      accepted({ tokenLocations: ['cookies'], implicitRefresh: {} })
      accepted({ refreshTokenLocations: ['cookies'], implicitRefresh: {} })
    })

    it('SameSite None without Secure', () => {
      refused(
        { cookies: { sameSite: 'None', secure: false } },
        /^cookies.sameSite None requires cookies.secure true/,
      )
      accepted({ cookies: { sameSite: 'None' } })
      refused({ cookies: { sameSite: 'lax' } }, /cookies.sameSite must be 'Strict', 'Lax', 'None' or false/)
    })

    it.each([
      [{ secure: false }],
      [{ domain: 'example.com' }],
      [{ accessPath: '/api' }],
      [{ refreshPath: '/auth/refresh' }],
      [{ csrfAccessPath: '/x' }],
      [{ csrfRefreshPath: '/x' }],
    ])('hostPrefix with %j', (cookies) => {
      refused(
        { cookies: { hostPrefix: true, ...cookies } },
        /^cookies.hostPrefix needs secure: true, no domain and every path "\/"/,
      )
    })

    it('cookies with CSRF off is an explicit opt-out only', () => {
      const on = createAuth({ keys: { secret: SECRET }, tokenLocations: ['cookies'] })
      expect(on.config.csrf.enabled).toBe(true)
      const off = createAuth({
        keys: { secret: SECRET },
        tokenLocations: ['cookies'],
        csrf: { enabled: false },
      })
      expect(off.config.csrf.enabled).toBe(false)
    })
  })

  describe('token locations', () => {
    it.each([
      ['tokenLocations', [], /^tokenLocations must be a non-empty list of headers, cookies, json, query/],
      ['tokenLocations', 'headers', /^tokenLocations must be a non-empty list/],
      [
        'tokenLocations',
        ['header'],
        /^tokenLocations: unknown location "header" \(use headers, cookies, json, query\)/,
      ],
      ['tokenLocations', ['query_string'], /unknown location "query_string"/],
      ['tokenLocations', ['headers', 'headers'], /^tokenLocations lists a location twice/],
      ['accessTokenLocations', ['cookie'], /^accessTokenLocations: unknown location "cookie"/],
      ['refreshTokenLocations', [], /^refreshTokenLocations must be a non-empty list/],
    ])('%s = %j', (option, value, message) => refused({ [option]: value }, message))
  })

  describe('names, paths and other values', () => {
    it.each([
      [{ cookies: { accessName: 'a b' } }, /^cookies.accessName must be a valid header\/cookie token/],
      [{ cookies: { refreshName: 'a;b' } }, /^cookies.refreshName must be a valid/],
      [{ cookies: { csrfAccessName: '' } }, /^cookies.csrfAccessName must be a valid/],
      [{ cookies: { accessPath: 'api' } }, /^cookies.accessPath must be a path starting with \//],
      [{ cookies: { refreshPath: '/a;b' } }, /^cookies.refreshPath must be a path/],
      [{ cookies: { domain: 'a b' } }, /^cookies.domain must be a domain name/],
      [{ cookies: { domain: 5 } }, /^cookies.domain must be a domain name/],
      [{ header: { name: 'Auth orization' } }, /^header.name must be a valid header\/cookie token/],
      [{ header: { type: 'Bearer x' } }, /^header.type must be a single word, or "" for a bare token/],
      [{ header: { type: 5 } }, /^header.type must be a single word/],
      [{ csrf: { headerName: 'X CSRF' } }, /^csrf.headerName must be a valid/],
      [{ csrf: { methods: 'POST' } }, /^csrf.methods must be a list of HTTP methods/],
      [{ identityClaim: '' }, /^identityClaim must be a non-empty string/],
      [{ maxTokenLength: 100 }, /^maxTokenLength must be an integer of at least 256/],
      [{ maxTokenLength: 1000.5 }, /^maxTokenLength must be an integer/],
      [{ audience: [] }, /^audience must be a non-empty string or a list of them/],
      [{ audience: '' }, /^audience must be a non-empty string/],
      [{ issuer: [5] }, /^issuer must be a non-empty string or a list of them/],
      [{ loadUser: 'db' }, /^loadUser must be a function/],
      [{ identify: {} }, /^identify must be a function/],
      [{ checkClaims: true }, /^checkClaims must be a function/],
      [{ clock: 5 }, /^clock must be a function/],
      [{ resolveKey: 'https://example.com/jwks' }, /^resolveKey must be a function/],
      [{ verifiedTokenCache: -1 }, /^verifiedTokenCache must be a whole number of tokens, or false/],
      [{ verifiedTokenCache: 1.5 }, /^verifiedTokenCache must be a whole number/],
      [{ verifiedTokenCache: '1000' }, /^verifiedTokenCache must be a whole number/],
      [{ verifiedTokenCache: true }, /^verifiedTokenCache must be a whole number/],
    ])('%j', (options, message) => refused(options, message))

    it('a revocation store must implement the interface', () => {
      refused({ revocation: {} }, /^revocation must implement RevocationStore \(missing isRevoked\)/)
      const partial = {
        isRevoked: async () => false,
        revokeToken: async () => {},
        revokeFamily: async () => {},
      }
      refused({ revocation: partial }, /missing revokeIdentity/)
      accepted({ revocation: new MemoryRevocationStore({ sweepIntervalMs: 0 }) })
    })
  })
})
