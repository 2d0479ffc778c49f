/**
 * The settings that shape verification: algorithms and keys, audience, issuer, leeway, the identity
 * claim, lifetimes, the error message key, Flask's SECRET_KEY. (Token locations, cookies and CSRF
 * have their own files; what the settings do to minted tokens is in interop.test.ts.)
 */
import type { Case } from '../harness.js'
import { craft, EC, fjeClaims, nowS, pem, RSA } from '../tokens.js'
import { app, bearer } from './common.js'

const area = 'settings'
const ok = { status: 200 }
const invalid = (msg: string) => ({ status: 422, body: { msg } })
const minted = { t: { mint: { identity: 'alice' } } }
const withClaims = (overrides: Record<string, unknown>) => ({
  t: { craft: { claims: fjeClaims(overrides) } },
})

const RS = app({
  JWT_ALGORITHM: 'RS256',
  JWT_PRIVATE_KEY: pem(RSA.privateKey),
  JWT_PUBLIC_KEY: pem(RSA.publicKey),
})
const RS_PUBLIC_ONLY = app({ JWT_ALGORITHM: 'RS256', JWT_PUBLIC_KEY: pem(RSA.publicKey) })
const ES = app({
  JWT_ALGORITHM: 'ES256',
  JWT_PRIVATE_KEY: pem(EC.privateKey),
  JWT_PUBLIC_KEY: pem(EC.publicKey),
})
const AUD = app({ JWT_DECODE_AUDIENCE: 'api', JWT_ENCODE_AUDIENCE: 'api' })
const AUDS = app({ JWT_DECODE_AUDIENCE: ['api', 'admin'] })
const ISS = app({
  JWT_DECODE_ISSUER: 'https://auth.example.com',
  JWT_ENCODE_ISSUER: 'https://auth.example.com',
})
const ISSS = app({ JWT_DECODE_ISSUER: ['a', 'b'] })
const IDENTITY = app({ JWT_IDENTITY_CLAIM: 'identity' })
const SHORT = 'short-secret'

export const configCases: Case[] = [
  // Algorithms and keys.
  {
    area,
    name: 'JWT_ALGORITHM HS512',
    app: app({ JWT_ALGORITHM: 'HS512' }),
    tokens: minted,
    request: ({ t }) => bearer(t!),
    expect: { status: 200, body: { header: { alg: 'HS512' } } },
  },
  {
    area,
    name: 'JWT_ALGORITHM HS512: an HS256 token',
    app: app({ JWT_ALGORITHM: 'HS512' }),
    tokens: { t: { craft: {} } },
    request: ({ t }) => bearer(t!),
    expect: invalid('The specified alg value is not allowed'),
  },
  {
    area,
    name: 'JWT_ALGORITHM HS384',
    app: app({ JWT_ALGORITHM: 'HS384' }),
    tokens: minted,
    request: ({ t }) => bearer(t!),
    expect: ok,
  },
  {
    area,
    name: 'JWT_DECODE_ALGORITHMS: the other algorithm',
    app: app({ JWT_DECODE_ALGORITHMS: ['HS512'] }),
    tokens: { t: { craft: { header: { alg: 'HS512', typ: 'JWT' } } } },
    request: ({ t }) => bearer(t!),
    expect: ok,
  },
  {
    area,
    name: 'JWT_DECODE_ALGORITHMS: JWT_ALGORITHM still verifies',
    app: app({ JWT_DECODE_ALGORITHMS: ['HS512'] }),
    tokens: minted,
    request: ({ t }) => bearer(t!),
    expect: ok,
  },
  {
    area,
    name: 'JWT_DECODE_ALGORITHMS: another one still not',
    app: app({ JWT_DECODE_ALGORITHMS: ['HS512'] }),
    tokens: { t: { craft: { header: { alg: 'HS384' } } } },
    request: ({ t }) => bearer(t!),
    expect: invalid('The specified alg value is not allowed'),
  },
  {
    area,
    name: 'RS256: minted by the app',
    app: RS,
    tokens: minted,
    request: ({ t }) => bearer(t!),
    expect: ok,
  },
  {
    area,
    name: 'RS256: crafted with the key',
    app: RS,
    tokens: { t: { craft: { header: { alg: 'RS256', typ: 'JWT' }, key: RSA.privateKey } } },
    request: ({ t }) => bearer(t!),
    expect: ok,
  },
  {
    area,
    name: 'RS256: signed with an HMAC of the public key',
    app: RS,
    tokens: { t: { craft: { header: { alg: 'HS256' }, secret: pem(RSA.publicKey) } } },
    request: ({ t }) => bearer(t!),
    expect: invalid('The specified alg value is not allowed'),
  },
  {
    area,
    name: 'RS256: a bad signature',
    app: RS,
    tokens: { t: { craft: { header: { alg: 'RS256' }, signature: 'AAAA' } } },
    request: ({ t }) => bearer(t!),
    expect: invalid('Signature verification failed'),
  },
  {
    area,
    name: 'RS256: the public key alone verifies',
    app: RS_PUBLIC_ONLY,
    tokens: { t: { craft: { header: { alg: 'RS256', typ: 'JWT' }, key: RSA.privateKey } } },
    request: ({ t }) => bearer(t!),
    expect: ok,
  },
  {
    area,
    name: 'ES256: minted by the app',
    app: ES,
    tokens: minted,
    request: ({ t }) => bearer(t!),
    expect: ok,
  },
  {
    area,
    name: 'ES256: a signature of the wrong length',
    app: ES,
    tokens: { t: { craft: { header: { alg: 'ES256' }, signature: 'AAAA' } } },
    request: ({ t }) => bearer(t!),
    expect: invalid('Signature verification failed'),
  },
  // Secrets.
  {
    area,
    name: 'SECRET_KEY when JWT_SECRET_KEY is unset',
    app: { config: { SECRET_KEY: 'flask-secret-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJKLMN' } },
    tokens: minted,
    request: ({ t }) => bearer(t!),
    expect: ok,
  },
  {
    area,
    name: 'a short JWT_SECRET_KEY',
    app: { config: { JWT_SECRET_KEY: SHORT } },
    tokens: minted,
    request: ({ t }) => bearer(t!),
    divergence: {
      id: 'short-secret',
      flask: ok,
      latchkey: (reply) => {
        if (reply.status !== 500 || !String(reply.body).includes('JWT_SECRET_KEY is 12 bytes'))
          throw new Error(`the twin took a short secret: ${JSON.stringify(reply)}`)
      },
    },
  },
  {
    area,
    name: 'a short JWT_SECRET_KEY, accepted for the migration',
    app: {
      config: { JWT_SECRET_KEY: SHORT },
      features: { fromFlask: { insecureShortSecretForMigration: true } },
    },
    tokens: minted,
    request: ({ t }) => bearer(t!),
    expect: ok,
  },
  // Audience.
  {
    area,
    name: 'audience: minted by the app',
    app: AUD,
    tokens: minted,
    request: ({ t }) => bearer(t!),
    expect: { status: 200, body: { claims: { aud: 'api' } } },
  },
  {
    area,
    name: 'audience: another',
    app: AUD,
    tokens: withClaims({ aud: 'web' }),
    request: ({ t }) => bearer(t!),
    expect: invalid("Audience doesn't match"),
  },
  {
    area,
    name: 'audience: missing',
    app: AUD,
    tokens: withClaims({}),
    request: ({ t }) => bearer(t!),
    expect: invalid('Token is missing the "aud" claim'),
  },
  {
    area,
    name: 'audience: empty',
    app: AUD,
    tokens: withClaims({ aud: '' }),
    request: ({ t }) => bearer(t!),
    expect: invalid('Token is missing the "aud" claim'),
  },
  {
    area,
    name: 'audience: an empty list',
    app: AUD,
    tokens: withClaims({ aud: [] }),
    request: ({ t }) => bearer(t!),
  },
  {
    area,
    name: 'audience: a list with it',
    app: AUD,
    tokens: withClaims({ aud: ['web', 'api'] }),
    request: ({ t }) => bearer(t!),
    expect: ok,
  },
  {
    area,
    name: 'audience: a list without it',
    app: AUD,
    tokens: withClaims({ aud: ['web', 'ios'] }),
    request: ({ t }) => bearer(t!),
  },
  {
    area,
    name: 'audience: a number',
    app: AUD,
    tokens: withClaims({ aud: 5 }),
    request: ({ t }) => bearer(t!),
    expect: invalid('Invalid claim format in token'),
  },
  {
    area,
    name: 'audience: a list with a number',
    app: AUD,
    tokens: withClaims({ aud: ['api', 5] }),
    request: ({ t }) => bearer(t!),
    expect: invalid('Invalid claim format in token'),
  },
  {
    area,
    name: 'audience: one of several accepted',
    app: AUDS,
    tokens: withClaims({ aud: 'admin' }),
    request: ({ t }) => bearer(t!),
    expect: ok,
  },
  {
    area,
    name: 'audience: none of several',
    app: AUDS,
    tokens: withClaims({ aud: 'web' }),
    request: ({ t }) => bearer(t!),
  },
  {
    area,
    name: 'audience: expired and another audience (the second decode reports it)',
    app: AUD,
    tokens: withClaims({ aud: 'web', exp: nowS() - 5 }),
    request: ({ t }) => bearer(t!),
    expect: invalid("Audience doesn't match"),
  },
  {
    area,
    name: 'audience: only JWT_DECODE_AUDIENCE',
    app: app({ JWT_DECODE_AUDIENCE: 'api' }),
    tokens: withClaims({ aud: 'api' }),
    request: ({ t }) => bearer(t!),
    expect: ok,
  },
  // Issuer.
  {
    area,
    name: 'issuer: minted by the app',
    app: ISS,
    tokens: minted,
    request: ({ t }) => bearer(t!),
    expect: ok,
  },
  {
    area,
    name: 'issuer: another',
    app: ISS,
    tokens: withClaims({ iss: 'https://evil.example.com' }),
    request: ({ t }) => bearer(t!),
    expect: invalid('Invalid issuer'),
  },
  {
    area,
    name: 'issuer: missing',
    app: ISS,
    tokens: withClaims({}),
    request: ({ t }) => bearer(t!),
    expect: invalid('Token is missing the "iss" claim'),
  },
  {
    area,
    name: 'issuer: a number',
    app: ISS,
    tokens: withClaims({ iss: 1 }),
    request: ({ t }) => bearer(t!),
    expect: invalid('Payload Issuer (iss) must be a string'),
  },
  {
    area,
    name: 'issuer: one of several',
    app: ISSS,
    tokens: withClaims({ iss: 'b' }),
    request: ({ t }) => bearer(t!),
    expect: ok,
  },
  {
    area,
    name: 'issuer: none of several',
    app: ISSS,
    tokens: withClaims({ iss: 'c' }),
    request: ({ t }) => bearer(t!),
  },
  {
    area,
    name: 'issuer: before the audience',
    app: app({ JWT_DECODE_ISSUER: 'a', JWT_DECODE_AUDIENCE: 'x' }),
    tokens: withClaims({ iss: 'b', aud: 'y' }),
    request: ({ t }) => bearer(t!),
    expect: invalid('Invalid issuer'),
  },
  {
    area,
    name: 'issuer: only JWT_ENCODE_ISSUER, any issuer',
    app: app({ JWT_ENCODE_ISSUER: 'me' }),
    tokens: withClaims({ iss: 'someone' }),
    request: ({ t }) => bearer(t!),
    expect: ok,
  },
  // Leeway.
  {
    area,
    name: 'JWT_DECODE_LEEWAY: expired within it',
    app: app({ JWT_DECODE_LEEWAY: 30 }),
    tokens: withClaims({ exp: nowS() - 10 }),
    request: ({ t }) => bearer(t!),
    expect: ok,
  },
  {
    area,
    name: 'JWT_DECODE_LEEWAY: expired beyond it',
    app: app({ JWT_DECODE_LEEWAY: 30 }),
    tokens: withClaims({ exp: nowS() - 60 }),
    request: ({ t }) => bearer(t!),
    expect: { status: 401 },
  },
  {
    area,
    name: 'JWT_DECODE_LEEWAY: nbf within it',
    app: app({ JWT_DECODE_LEEWAY: 30 }),
    tokens: withClaims({ nbf: nowS() + 10 }),
    request: ({ t }) => bearer(t!),
    expect: ok,
  },
  {
    area,
    name: 'JWT_DECODE_LEEWAY: iat within it',
    app: app({ JWT_DECODE_LEEWAY: 30 }),
    tokens: withClaims({ iat: nowS() + 10, nbf: undefined }),
    request: ({ t }) => bearer(t!),
    expect: ok,
  },
  {
    area,
    name: 'JWT_DECODE_LEEWAY: iat beyond it',
    app: app({ JWT_DECODE_LEEWAY: 30 }),
    tokens: withClaims({ iat: nowS() + 90 }),
    request: ({ t }) => bearer(t!),
    expect: invalid('The token is not yet valid (iat)'),
  },
  // The identity claim.
  {
    area,
    name: 'JWT_IDENTITY_CLAIM: minted by the app',
    app: IDENTITY,
    tokens: minted,
    request: ({ t }) => bearer(t!),
    expect: { status: 200, body: { identity: 'alice' } },
  },
  {
    area,
    name: 'JWT_IDENTITY_CLAIM: missing',
    app: IDENTITY,
    tokens: withClaims({}),
    request: ({ t }) => bearer(t!),
    expect: invalid('Missing claim: identity'),
  },
  {
    area,
    name: 'JWT_IDENTITY_CLAIM: sub is still checked',
    app: IDENTITY,
    tokens: withClaims({ identity: 'a', sub: 5 }),
    request: ({ t }) => bearer(t!),
    expect: invalid('Subject must be a string'),
  },
  {
    area,
    name: 'JWT_IDENTITY_CLAIM: a numeric identity',
    app: IDENTITY,
    tokens: withClaims({ identity: 7, sub: undefined }),
    request: ({ t }) => bearer(t!),
    divergence: {
      id: 'string-identity',
      flask: { status: 200, body: { identity: 7 } },
      latchkey: { status: 200, body: { identity: '7' } },
    },
  },
  // Lifetimes.
  {
    area,
    name: 'JWT_ACCESS_TOKEN_EXPIRES: a token of the app',
    app: app({ JWT_ACCESS_TOKEN_EXPIRES: 60 }),
    tokens: minted,
    request: ({ t }) => bearer(t!),
    expect: ok,
  },
  {
    area,
    name: 'JWT_ACCESS_TOKEN_EXPIRES False: a token of the app',
    app: app({ JWT_ACCESS_TOKEN_EXPIRES: false }),
    tokens: minted,
    request: ({ t }) => bearer(t!),
    expect: ok,
  },
  {
    area,
    name: 'JWT_REFRESH_TOKEN_EXPIRES False: a refresh token without exp',
    app: app({ JWT_REFRESH_TOKEN_EXPIRES: false }),
    tokens: { t: { mint: { identity: 'alice', type: 'refresh' } } },
    request: ({ t }) => bearer(t!, '/refresh'),
    expect: ok,
  },
  {
    area,
    name: 'JWT_ENCODE_NBF False: a token of the app',
    app: app({ JWT_ENCODE_NBF: false }),
    tokens: minted,
    request: ({ t }) => bearer(t!),
    expect: ok,
  },
  // Error bodies.
  {
    area,
    name: 'JWT_ERROR_MESSAGE_KEY',
    app: app({ JWT_ERROR_MESSAGE_KEY: 'message' }),
    request: () => ({ path: '/protected' }),
    expect: { status: 401, body: { message: 'Missing Authorization Header' } },
  },
  {
    area,
    name: 'JWT_ERROR_MESSAGE_KEY, an invalid token',
    app: app({ JWT_ERROR_MESSAGE_KEY: 'error' }),
    request: () => bearer(craft({ secret: 'w'.repeat(64) })),
    expect: { status: 422, body: { error: 'Signature verification failed' } },
  },
]
