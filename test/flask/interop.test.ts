/**
 * Interop both ways, so a team can run both side by side while it migrates: tokens minted by the
 * running Flask-JWT-Extended app verify in latchkey (configured from the same settings), and tokens
 * minted by latchkey verify in Flask-JWT-Extended, with the same claims. Token contents are compared
 * too: the same settings make the same claims and headers, but for the listed divergences.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConfigError } from '../../src/index.js'
import { app } from './cases/common.js'
import { send } from './exchange.js'
import { type Oracle, startOracle } from './oracle.js'
import type { AppSpec, Json } from './spec.js'
import { EC, pem, RSA } from './tokens.js'
import { twinAuth } from './twin.js'
import { requireFlask } from './venv.js'

const flask = await requireFlask()

const BOB_KEY = 'bob-own-secret-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJKL'
const APPS: Record<string, AppSpec> = {
  'HS256 (defaults)': app({}),
  HS512: app({ JWT_ALGORITHM: 'HS512' }),
  RS256: app({
    JWT_ALGORITHM: 'RS256',
    JWT_PRIVATE_KEY: pem(RSA.privateKey),
    JWT_PUBLIC_KEY: pem(RSA.publicKey),
  }),
  ES256: app({
    JWT_ALGORITHM: 'ES256',
    JWT_PRIVATE_KEY: pem(EC.privateKey),
    JWT_PUBLIC_KEY: pem(EC.publicKey),
  }),
  'audience and issuer': app({
    JWT_ENCODE_AUDIENCE: 'api',
    JWT_DECODE_AUDIENCE: ['api', 'admin'],
    JWT_ENCODE_ISSUER: 'https://auth.example.com',
    JWT_DECODE_ISSUER: 'https://auth.example.com',
  }),
  'identity claim, no nbf, lifetimes': app({
    JWT_IDENTITY_CLAIM: 'uid',
    JWT_ENCODE_NBF: false,
    JWT_ACCESS_TOKEN_EXPIRES: 60,
    JWT_REFRESH_TOKEN_EXPIRES: 3600,
  }),
  'tokens that never expire': app({ JWT_ACCESS_TOKEN_EXPIRES: false, JWT_REFRESH_TOKEN_EXPIRES: false }),
  'cookies (CSRF claims)': app({ JWT_TOKEN_LOCATION: ['headers', 'cookies'] }),
  'CSRF off': app({ JWT_TOKEN_LOCATION: ['cookies'], JWT_COOKIE_CSRF_PROTECT: false }),
  'additional claims and headers': app(
    {},
    { additionalClaims: { role: 'admin' }, additionalHeaders: { region: 'eu' } },
  ),
  'keys per identity': app({}, { keysByKid: { 'k-bob': BOB_KEY }, kidByIdentity: { bob: 'k-bob' } }),
}

const decode = (token: string) => ({
  header: JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as Json,
  claims: JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Json,
})

/** What two tokens made from the same request share: all but values that differ by nature. */
function shape(token: string): Json {
  const { header, claims } = decode(token)
  const out: Json = { header: { ...header }, claims: {} }
  delete out.header.kid // asymmetric latchkey keys carry their thumbprint (extra-claims)
  for (const [k, v] of Object.entries(claims)) {
    if (k === 'iat_ms' || k === 'fam') continue // extra-claims
    if (k === 'jti' || k === 'csrf') out.claims[k] = typeof v
    else if (k === 'exp' || k === 'nbf') out.claims[k] = (v as number) - (claims.iat as number)
    else if (k === 'iat') out.claims[k] = 'number'
    else if (k === 'fresh' && typeof v === 'number') out.claims[k] = Math.floor(v - (claims.iat as number))
    else out.claims[k] = v
  }
  return out
}

describe.skipIf(flask.skip)('interop with Flask-JWT-Extended 4.7.4', () => {
  let oracle: Oracle
  const ids = new Map<string, string>()
  beforeAll(async () => {
    oracle = await startOracle(flask.python)
    for (const [name, spec] of Object.entries(APPS)) ids.set(name, await oracle.createApp(spec))
  })
  afterAll(() => oracle?.close())

  const flaskMint = async (name: string, spec: Json) => {
    const reply = await send(oracle.port, { method: 'POST', path: '/tokens', json: spec }, ids.get(name)!)
    expect(reply.status, JSON.stringify(reply.body)).toBe(200)
    return reply.body.token as string
  }
  // In the header and in both cookies: each app reads the token where it looks.
  const flaskGet = (name: string, path: string, token: string) =>
    send(
      oracle.port,
      {
        path,
        headers: [['Authorization', `Bearer ${token}`]],
        cookies: { access_token_cookie: token, refresh_token_cookie: token },
      },
      ids.get(name)!,
    )
  const flaskDecode = (name: string, token: string) =>
    send(oracle.port, { method: 'POST', path: '/decode', json: { token } }, ids.get(name)!)

  const identity = (name: string) => (name === 'keys per identity' ? 'bob' : 'alice@example.com')
  const requests: Array<[string, Json]> = [
    ['an access token', {}],
    ['a fresh access token', { fresh: true }],
    ['an access token fresh for ten minutes', { fresh: 600 }],
    ['an access token with claims', { claims: { tenant: 't1', scopes: ['read'] } }],
    ['an access token of 120 seconds', { expires: 120 }],
    ['a refresh token', { type: 'refresh' }],
  ]

  for (const name of Object.keys(APPS)) {
    describe(name, () => {
      for (const [label, request] of requests) {
        it(`${label}: Flask-JWT-Extended's verifies in latchkey`, async () => {
          const auth = twinAuth(APPS[name]!)
          const token = await flaskMint(name, { identity: identity(name), ...request })
          const { claims, header } = auth.verifyTokenSync(token)
          expect({ header, claims }).toEqual(decode(token))
          const route = request.type === 'refresh' ? '/refresh' : request.fresh ? '/fresh' : '/protected'
          expect((await flaskGet(name, route, token)).status).toBe(200)
        })

        it(`${label}: latchkey's verifies in Flask-JWT-Extended, with the same claims`, async () => {
          const auth = twinAuth(APPS[name]!)
          const options = {
            ...(request.expires === undefined ? {} : { expiresIn: request.expires }),
            ...(request.claims ? { claims: request.claims } : {}),
          }
          const token =
            request.type === 'refresh'
              ? auth.createRefreshToken(identity(name), options)
              : auth.createAccessToken(identity(name), { ...options, fresh: request.fresh ?? false })
          const decoded = await flaskDecode(name, token)
          expect(decoded.status, JSON.stringify(decoded.body)).toBe(200)
          expect(decoded.body.claims).toEqual(decode(token).claims)
          const route = request.type === 'refresh' ? '/refresh' : request.fresh ? '/fresh' : '/protected'
          const guarded = await flaskGet(name, route, token)
          expect(guarded.status, JSON.stringify(guarded.body)).toBe(200)
          expect(guarded.body.header).toEqual(decode(token).header)
        })

        it(`${label}: both make the same token (but for extra-claims)`, async () => {
          const auth = twinAuth(APPS[name]!)
          const theirs = await flaskMint(name, { identity: identity(name), ...request })
          const options = {
            ...(request.expires === undefined ? {} : { expiresIn: request.expires }),
            ...(request.claims ? { claims: request.claims } : {}),
          }
          const ours =
            request.type === 'refresh'
              ? auth.createRefreshToken(identity(name), options)
              : auth.createAccessToken(identity(name), { ...options, fresh: request.fresh ?? false })
          expect(shape(ours)).toEqual(shape(theirs))
          // The divergence, asserted: latchkey's extra claim (and the kid of asymmetric keys).
          expect(decode(ours).claims.iat_ms).toBeTypeOf('number')
          expect(decode(theirs).claims.iat_ms).toBeUndefined()
          if (name === 'RS256' || name === 'ES256') expect(decode(ours).header.kid).toBeTypeOf('string')
        })
      }
    })
  }

  it('a latchkey login’s tokens (fam, iat_ms) verify in Flask-JWT-Extended', async () => {
    const name = 'cookies (CSRF claims)'
    const auth = twinAuth(APPS[name]!)
    const tokens = await auth.login('alice@example.com', { remember: true })
    expect(decode(tokens.accessToken).claims.fam).toBeTypeOf('string')
    for (const [token, path] of [
      [tokens.accessToken, '/fresh'],
      [tokens.refreshToken, '/refresh'],
    ] as const) {
      const reply = await flaskGet(name, path, token)
      expect(reply.status, JSON.stringify(reply.body)).toBe(200)
      expect(reply.body.claims).toEqual(decode(token).claims)
    }
  })

  it('a user object through user_identity_loader / identify', async () => {
    const spec = app({}, { identityOf: 'email' })
    const id = await oracle.createApp(spec)
    const auth = twinAuth(spec)
    const theirs = await send(
      oracle.port,
      { method: 'POST', path: '/tokens', json: { identity: { email: 'ann@example.com' } } },
      id,
    )
    const ours = auth.createAccessToken({ email: 'ann@example.com' })
    expect(shape(ours)).toEqual(shape(theirs.body.token))
    expect(auth.verifyTokenSync(theirs.body.token).claims.sub).toBe('ann@example.com')
  })

  it('reserved-claims: additional claims may override exp or type in Flask-JWT-Extended, never in latchkey', async () => {
    const name = 'HS256 (defaults)'
    const auth = twinAuth(APPS[name]!)
    for (const claims of [{ type: 'refresh' }, { exp: 1 }, { sub: 'mallory' }, { jti: 'fixed' }]) {
      const theirs = decode(await flaskMint(name, { identity: 'alice', claims }))
      expect(theirs.claims).toMatchObject(claims)
      expect(() => auth.createAccessToken('alice', { claims })).toThrow(ConfigError)
    }
    expect(() => auth.createAccessToken('alice', { headers: { alg: 'none' } })).toThrow(ConfigError)
    const theirs = decode(await flaskMint(name, { identity: 'alice', headers: { typ: 'at+jwt' } }))
    expect(theirs.header.typ).toBe('at+jwt')
    expect(() => auth.createAccessToken('alice', { headers: { typ: 'at+jwt' } })).toThrow(ConfigError)
  })

  it('extra-claims: Flask-JWT-Extended reads iat_ms and fam as extra claims, and ignores the kid', async () => {
    const name = 'RS256'
    const auth = twinAuth(APPS[name]!)
    const token = auth.createAccessToken('alice', { family: 'f1' })
    const reply = await flaskGet(name, '/protected', token)
    expect(reply.status).toBe(200)
    expect(reply.body.claims).toMatchObject({ iat_ms: expect.any(Number), fam: 'f1' })
    expect(reply.body.header.kid).toBe(decode(token).header.kid)
  })
})
