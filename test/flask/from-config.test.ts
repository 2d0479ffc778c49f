/**
 * fromFlaskConfig: every Flask-JWT-Extended setting to its latchkey option, Flask-JWT-Extended's
 * defaults, and a ConfigError naming the setting for what cannot be honoured. (What the options
 * then do is the differential suite's business; this file needs no Python.)
 */
import { generateKeyPairSync } from 'node:crypto'
import { describe, expect, it, vi } from 'vitest'
import { FLASK_JWT_DEFAULTS, type FlaskConfig, fromFlaskConfig } from '../../src/flask.js'
import { ConfigError, createAuth } from '../../src/index.js'

const SECRET = 'from-config-secret-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGHI'
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
const PRIVATE = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string
const PUBLIC = rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string

const from = (config: FlaskConfig) => fromFlaskConfig({ JWT_SECRET_KEY: SECRET, ...config })

describe('fromFlaskConfig', () => {
  it('gives Flask-JWT-Extended’s defaults, with its compatibility and its error bodies', () => {
    expect(from({})).toEqual({
      keys: [{ secret: SECRET, algorithm: 'HS256' }],
      tokenLocations: ['headers'],
      accessTokenTtl: 900,
      refreshTokenTtl: 2_592_000,
      sessionRefreshTokenTtl: 2_592_000,
      allowNonExpiring: false,
      identityClaim: 'sub',
      allowNumericIdentity: false,
      leeway: 0,
      notBefore: true,
      header: { name: 'Authorization', type: 'Bearer' },
      json: { accessKey: 'access_token', refreshKey: 'refresh_token' },
      query: { param: 'jwt', prefix: '' },
      cookies: {
        accessName: 'access_token_cookie',
        refreshName: 'refresh_token_cookie',
        csrfAccessName: 'csrf_access_token',
        csrfRefreshName: 'csrf_refresh_token',
        accessPath: '/',
        refreshPath: '/',
        csrfAccessPath: '/',
        csrfRefreshPath: '/',
        secure: false,
        sameSite: false,
      },
      csrf: {
        enabled: true,
        methods: ['POST', 'PUT', 'PATCH', 'DELETE'],
        headerName: 'X-CSRF-TOKEN',
        refreshHeaderName: 'X-CSRF-TOKEN',
        formField: false,
        refreshFormField: false,
        cookies: true,
      },
      errors: { preset: 'flask-jwt-extended', messageKey: 'msg' },
      compat: 'flask-jwt-extended',
    })
    expect(Object.keys(FLASK_JWT_DEFAULTS)).toHaveLength(43)
  })

  it.each([
    [{ JWT_ACCESS_TOKEN_EXPIRES: 3600 }, { accessTokenTtl: 3600 }],
    [{ JWT_ACCESS_TOKEN_EXPIRES: false }, { accessTokenTtl: false, allowNonExpiring: true }],
    [{ JWT_ACCESS_TOKEN_EXPIRES: 0 }, { accessTokenTtl: false, allowNonExpiring: true }],
    [{ JWT_REFRESH_TOKEN_EXPIRES: 86_400 }, { refreshTokenTtl: 86_400, sessionRefreshTokenTtl: 86_400 }],
    [{ JWT_REFRESH_TOKEN_EXPIRES: false }, { refreshTokenTtl: false, allowNonExpiring: true }],
    [{ JWT_ACCESS_COOKIE_NAME: 'at' }, { cookies: expect.objectContaining({ accessName: 'at' }) }],
    [{ JWT_ACCESS_COOKIE_PATH: '/api/' }, { cookies: expect.objectContaining({ accessPath: '/api/' }) }],
    [{ JWT_ACCESS_CSRF_COOKIE_NAME: 'ac' }, { cookies: expect.objectContaining({ csrfAccessName: 'ac' }) }],
    [{ JWT_ACCESS_CSRF_COOKIE_PATH: '/a' }, { cookies: expect.objectContaining({ csrfAccessPath: '/a' }) }],
    [
      { JWT_CSRF_CHECK_FORM: true, JWT_ACCESS_CSRF_FIELD_NAME: 'f' },
      { csrf: expect.objectContaining({ formField: 'f', refreshFormField: 'csrf_token' }) },
    ],
    [{ JWT_ACCESS_CSRF_HEADER_NAME: 'X-A' }, { csrf: expect.objectContaining({ headerName: 'X-A' }) }],
    [{ JWT_ALGORITHM: 'HS512' }, { keys: [{ secret: SECRET, algorithm: 'HS512' }] }],
    [{ JWT_COOKIE_CSRF_PROTECT: false }, { csrf: expect.objectContaining({ enabled: false }) }],
    [{ JWT_COOKIE_DOMAIN: 'example.com' }, { cookies: expect.objectContaining({ domain: 'example.com' }) }],
    [{ JWT_COOKIE_SAMESITE: 'lax' }, { cookies: expect.objectContaining({ sameSite: 'Lax' }) }],
    [
      { JWT_COOKIE_SAMESITE: 'None', JWT_COOKIE_SECURE: true },
      { cookies: expect.objectContaining({ sameSite: 'None', secure: true }) },
    ],
    [{ JWT_COOKIE_SECURE: true }, { cookies: expect.objectContaining({ secure: true }) }],
    [{ JWT_CSRF_IN_COOKIES: false }, { csrf: expect.objectContaining({ cookies: false }) }],
    [{ JWT_CSRF_METHODS: ['GET'] }, { csrf: expect.objectContaining({ methods: ['GET'] }) }],
    [
      { JWT_DECODE_ALGORITHMS: ['HS512', 'HS256'] },
      {
        keys: [
          { secret: SECRET, algorithm: 'HS256', kid: 'HS256' },
          { secret: SECRET, algorithm: 'HS512', kid: 'HS512', verifyOnly: true },
        ],
      },
    ],
    [{ JWT_DECODE_AUDIENCE: 'api' }, { audience: ['api'] }],
    [
      { JWT_DECODE_AUDIENCE: ['a', 'b'], JWT_ENCODE_AUDIENCE: 'a' },
      { audience: ['a', 'b'], tokenAudience: ['a'] },
    ],
    [{ JWT_DECODE_ISSUER: 'iss' }, { issuer: ['iss'] }],
    [{ JWT_ENCODE_ISSUER: 'me' }, { tokenIssuer: 'me' }],
    [{ JWT_DECODE_LEEWAY: 10 }, { leeway: 10 }],
    [{ JWT_ENCODE_NBF: false }, { notBefore: false }],
    [{ JWT_ERROR_MESSAGE_KEY: 'error' }, { errors: { preset: 'flask-jwt-extended', messageKey: 'error' } }],
    [{ JWT_HEADER_NAME: 'X-Token' }, { header: { name: 'X-Token', type: 'Bearer' } }],
    [{ JWT_HEADER_TYPE: '' }, { header: { name: 'Authorization', type: '' } }],
    [{ JWT_IDENTITY_CLAIM: 'uid' }, { identityClaim: 'uid', allowNumericIdentity: true }],
    [{ JWT_JSON_KEY: 'a' }, { json: { accessKey: 'a', refreshKey: 'refresh_token' } }],
    [{ JWT_QUERY_STRING_NAME: 'token' }, { query: { param: 'token', prefix: '' } }],
    [{ JWT_QUERY_STRING_VALUE_PREFIX: 'Bearer ' }, { query: { param: 'jwt', prefix: 'Bearer ' } }],
    [{ JWT_REFRESH_COOKIE_NAME: 'rt' }, { cookies: expect.objectContaining({ refreshName: 'rt' }) }],
    [{ JWT_REFRESH_COOKIE_PATH: '/r' }, { cookies: expect.objectContaining({ refreshPath: '/r' }) }],
    [{ JWT_REFRESH_CSRF_COOKIE_NAME: 'rc' }, { cookies: expect.objectContaining({ csrfRefreshName: 'rc' }) }],
    [
      { JWT_REFRESH_CSRF_COOKIE_PATH: '/rc' },
      { cookies: expect.objectContaining({ csrfRefreshPath: '/rc' }) },
    ],
    [
      { JWT_CSRF_CHECK_FORM: true, JWT_REFRESH_CSRF_FIELD_NAME: 'r' },
      { csrf: expect.objectContaining({ formField: 'csrf_token', refreshFormField: 'r' }) },
    ],
    [
      { JWT_REFRESH_CSRF_HEADER_NAME: 'X-R' },
      { csrf: expect.objectContaining({ headerName: 'X-CSRF-TOKEN', refreshHeaderName: 'X-R' }) },
    ],
    [{ JWT_REFRESH_JSON_KEY: 'r' }, { json: { accessKey: 'access_token', refreshKey: 'r' } }],
    [{ JWT_SESSION_COOKIE: false }, { cookies: expect.objectContaining({ maxAge: 31_540_000 }) }],
    [{ JWT_TOKEN_LOCATION: 'query_string' }, { tokenLocations: ['query'] }],
    [
      { JWT_TOKEN_LOCATION: ['cookies', 'json', 'headers', 'query_string'] },
      { tokenLocations: ['cookies', 'json', 'headers', 'query'] },
    ],
    [{ JWT_VERIFY_SUB: false }, { allowNumericIdentity: true }],
    [
      { JWT_COOKIE_DOMAIN: null, JWT_DECODE_AUDIENCE: null, JWT_PRIVATE_KEY: null },
      { tokenLocations: ['headers'] },
    ],
  ] as Array<[FlaskConfig, Record<string, unknown>]>)('%j', (config, expected) => {
    const options = from(config)
    expect(options).toMatchObject(expected)
    // What it makes, createAuth takes.
    expect(() => createAuth(options)).not.toThrow()
  })

  it('RS256 with the private key (the public key is derived), or the public key alone', () => {
    expect(
      fromFlaskConfig({ JWT_ALGORITHM: 'RS256', JWT_PRIVATE_KEY: PRIVATE, JWT_PUBLIC_KEY: PUBLIC }).keys,
    ).toEqual([{ privateKey: PRIVATE, algorithm: 'RS256' }])
    const verifier = fromFlaskConfig({ JWT_ALGORITHM: 'RS256', JWT_PUBLIC_KEY: PUBLIC })
    expect(verifier.keys).toEqual([{ publicKey: PUBLIC, algorithm: 'RS256' }])
    const signer = createAuth(fromFlaskConfig({ JWT_ALGORITHM: 'RS256', JWT_PRIVATE_KEY: PRIVATE }))
    expect(createAuth(verifier).verifyTokenSync(signer.createAccessToken('alice')).claims.sub).toBe('alice')
    expect(
      fromFlaskConfig({ JWT_ALGORITHM: 'RS256', JWT_DECODE_ALGORITHMS: ['PS256'], JWT_PRIVATE_KEY: PRIVATE })
        .keys,
    ).toEqual([
      { privateKey: PRIVATE, algorithm: 'RS256', kid: 'RS256' },
      { privateKey: PRIVATE, algorithm: 'PS256', kid: 'PS256', verifyOnly: true },
    ])
  })

  it('signs with Flask’s SECRET_KEY when JWT_SECRET_KEY is unset, as Flask-JWT-Extended does', () => {
    expect(fromFlaskConfig({ SECRET_KEY: SECRET, DEBUG: true }).keys).toEqual([
      { secret: SECRET, algorithm: 'HS256' },
    ])
    expect(fromFlaskConfig({ SECRET_KEY: 'other', JWT_SECRET_KEY: SECRET }).keys).toEqual([
      { secret: SECRET, algorithm: 'HS256' },
    ])
  })

  it('takes a short secret only with insecureShortSecretForMigration, and says so', () => {
    expect(() => fromFlaskConfig({ JWT_SECRET_KEY: 'short' })).toThrow(
      /^fromFlaskConfig: JWT_SECRET_KEY is 5 bytes; HS256 needs at least 32 random bytes \(RFC 7518 §3\.2\)/,
    )
    const options = fromFlaskConfig({ JWT_SECRET_KEY: 'short' }, { insecureShortSecretForMigration: true })
    expect(options.keys).toEqual([
      { secret: 'short', algorithm: 'HS256', insecureShortSecretForMigration: true },
    ])
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    try {
      const auth = createAuth(options)
      expect(auth.verifyTokenSync(auth.createAccessToken('alice')).claims.sub).toBe('alice')
      expect(warn).toHaveBeenCalledWith(expect.stringContaining('insecureShortSecretForMigration'))
    } finally {
      warn.mockRestore()
    }
    // A 32-byte secret is enough for HS256, not for HS512 beside it.
    expect(() => from({ JWT_SECRET_KEY: 'x'.repeat(32), JWT_DECODE_ALGORITHMS: ['HS512'] })).toThrow(
      /HS512 needs at least 64/,
    )
  })

  it.each([
    [{ JWT_BLACKLIST_ENABLED: true }, 'JWT_BLACKLIST_ENABLED is not a Flask-JWT-Extended 4 setting'],
    [{ JWT_ACESS_TOKEN_EXPIRES: 60 }, 'JWT_ACESS_TOKEN_EXPIRES is not a Flask-JWT-Extended 4 setting'],
    [{ JWT_SECRET_KEY: null, SECRET_KEY: null }, "JWT_SECRET_KEY (or Flask's SECRET_KEY) must be set"],
    [{ JWT_ALGORITHM: 'none' }, 'JWT_ALGORITHM must be one of the algorithms latchkey supports'],
    [{ JWT_ALGORITHM: 'RS256' }, 'JWT_PRIVATE_KEY or JWT_PUBLIC_KEY must be set'],
    [{ JWT_DECODE_ALGORITHMS: ['RS256'] }, 'JWT_DECODE_ALGORITHMS mixes HS and asymmetric algorithms'],
    [
      { JWT_DECODE_ALGORITHMS: ['HS999'] },
      'JWT_DECODE_ALGORITHMS lists an algorithm latchkey does not support',
    ],
    [{ JWT_ENCODE_AUDIENCE: 'api' }, 'JWT_ENCODE_AUDIENCE is set without JWT_DECODE_AUDIENCE'],
    [{ JWT_TOKEN_LOCATION: [] }, 'JWT_TOKEN_LOCATION must name at least one'],
    [{ JWT_TOKEN_LOCATION: ['header'] }, 'JWT_TOKEN_LOCATION can only contain'],
    [{ JWT_TOKEN_LOCATION: ['headers', 'headers'] }, 'JWT_TOKEN_LOCATION lists a location twice'],
    [{ JWT_COOKIE_SAMESITE: 'Sometimes' }, 'JWT_COOKIE_SAMESITE must be "Strict", "Lax", "None" or None'],
    [{ JWT_COOKIE_SAMESITE: 'None' }, 'JWT_COOKIE_SAMESITE "None" needs JWT_COOKIE_SECURE = True'],
    [{ JWT_CSRF_METHODS: [] }, 'JWT_CSRF_METHODS is empty'],
    [{ JWT_DECODE_LEEWAY: 3600 }, 'JWT_DECODE_LEEWAY is more than 5 minutes'],
    [{ JWT_DECODE_LEEWAY: '10' }, 'JWT_DECODE_LEEWAY must be a number of seconds'],
    [{ JWT_ACCESS_TOKEN_EXPIRES: true }, 'JWT_ACCESS_TOKEN_EXPIRES must be a number of seconds'],
    [{ JWT_REFRESH_TOKEN_EXPIRES: 0.5 }, 'JWT_REFRESH_TOKEN_EXPIRES must be at least one second'],
    [{ JWT_HEADER_NAME: '' }, 'JWT_HEADER_NAME must be a non-empty string'],
    [{ JWT_HEADER_TYPE: 'Bearer token' }, 'JWT_HEADER_TYPE must be one word'],
    [{ JWT_COOKIE_SECURE: 'yes' }, 'JWT_COOKIE_SECURE must be True or False'],
    [{ JWT_DECODE_AUDIENCE: [] }, 'JWT_DECODE_AUDIENCE must be a string, a list of strings, or None'],
    [{ JWT_ENCODE_ISSUER: '' }, 'JWT_ENCODE_ISSUER must be a non-empty string or None'],
  ] as Array<[FlaskConfig, string]>)('refuses %j, naming the setting', (config, message) => {
    const attempt = () => from(config)
    expect(attempt).toThrow(ConfigError)
    expect(attempt).toThrow(`fromFlaskConfig: ${message}`)
  })

  it('refuses what createAuth refuses, naming latchkey’s option', () => {
    // A cookie name Werkzeug would quote is refused by createAuth, which names the option.
    expect(() => createAuth(from({ JWT_ACCESS_COOKIE_NAME: 'access token' }))).toThrow(/cookies.accessName/)
  })

  it('spreads under the app’s callbacks', async () => {
    const users = new Map([['ann@example.com', { email: 'ann@example.com' }]])
    const auth = createAuth<{ email: string }>({
      ...from({ JWT_TOKEN_LOCATION: ['json'] }),
      identify: (user) => user.email,
      loadUser: (email) => users.get(email),
    })
    const token = auth.createAccessToken({ email: 'ann@example.com' })
    const context = await auth.authenticate({
      method: 'POST',
      header: (name) => (name === 'content-type' ? 'application/json' : undefined),
      cookie: () => undefined,
      query: () => undefined,
      body: { access_token: token },
    })
    expect(context.user).toEqual({ email: 'ann@example.com' })
  })
})
