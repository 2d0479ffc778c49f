/**
 * The loaders: every error loader answering with its own body built from the token's header and
 * claims (latchkey: one `errors.handler`, the error carrying them), decode_key_loader and
 * encode_key_loader (`resolveKey`, `signingKey`), user_identity_loader, additional claims and headers.
 */
import type { Case } from '../harness.js'
import { craft, fjeClaims, nowS, OTHER_SECRET, SECRET } from '../tokens.js'
import { app, authorization, bearer, COOKIES, csrfOf } from './common.js'

const area = 'callbacks'
const BLOCKED = '00000000-0000-4000-8000-0000000b10cc'
const CUSTOM = app(
  { JWT_TOKEN_LOCATION: ['headers', 'cookies'] },
  {
    customErrors: true,
    users: { alice: { name: 'Alice' } },
    blocklist: [BLOCKED],
    requireClaim: ['role', 'admin'],
  },
)
const good = (more: Record<string, unknown> = {}) => ({
  craft: { claims: fjeClaims({ role: 'admin', ...more }) },
})
const BOB_KEY = 'bob-own-secret-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJKL'
const KEYS = app({}, { keysByKid: { 'k-bob': BOB_KEY }, kidByIdentity: { bob: 'k-bob' } })

export const callbackCases: Case[] = [
  {
    area,
    name: 'custom: all is well',
    app: CUSTOM,
    tokens: { t: good() },
    request: ({ t }) => bearer(t!),
    expect: { status: 200 },
  },
  {
    area,
    name: 'custom: expired_token_loader(header, claims)',
    app: CUSTOM,
    tokens: { t: good({ exp: nowS() - 5 }) },
    request: ({ t }) => bearer(t!),
    expect: { status: 419, body: { error: 'expired', sub: 'alice', alg: 'HS256', type: 'access' } },
  },
  {
    area,
    name: 'custom: expired refresh token',
    app: CUSTOM,
    tokens: { t: good({ exp: nowS() - 5, type: 'refresh' }) },
    request: ({ t }) => bearer(t!, '/refresh'),
    expect: { status: 419, body: { type: 'refresh' } },
  },
  {
    area,
    name: 'custom: invalid_token_loader(reason)',
    app: CUSTOM,
    request: () => bearer('junk'),
    expect: { status: 418, body: { error: 'invalid', reason: 'Not enough segments' } },
  },
  {
    area,
    name: 'custom: invalid_token_loader for the signature',
    app: CUSTOM,
    tokens: { t: { craft: { secret: OTHER_SECRET } } },
    request: ({ t }) => bearer(t!),
    expect: { status: 418 },
  },
  {
    area,
    name: 'custom: invalid_token_loader for a bad header',
    app: CUSTOM,
    request: () => authorization('Bearer a b'),
    expect: { status: 418 },
  },
  {
    area,
    name: 'custom: invalid_token_loader for the type',
    app: CUSTOM,
    tokens: { t: good({ type: 'refresh' }) },
    request: ({ t }) => bearer(t!),
    expect: { status: 418, body: { reason: 'Only non-refresh tokens are allowed' } },
  },
  {
    area,
    name: 'custom: invalid_token_loader for nbf',
    app: CUSTOM,
    tokens: { t: good({ nbf: nowS() + 900 }) },
    request: ({ t }) => bearer(t!),
    expect: { status: 418 },
  },
  {
    area,
    name: 'custom: invalid_token_loader for a missing csrf claim',
    app: CUSTOM,
    tokens: { t: good({ csrf: undefined }) },
    request: ({ t }) => ({
      method: 'POST',
      path: '/protected',
      cookies: { access_token_cookie: t! },
      headers: [['X-CSRF-TOKEN', 'x']],
    }),
    expect: { status: 418, body: { reason: 'Missing claim: csrf' } },
  },
  {
    area,
    name: 'custom: unauthorized_loader(reason)',
    app: CUSTOM,
    request: () => ({ path: '/protected' }),
    expect: { status: 403, body: { error: 'unauthorized' } },
  },
  {
    area,
    name: 'custom: unauthorized_loader for a missing CSRF value',
    app: CUSTOM,
    tokens: { t: good() },
    request: ({ t }) => ({ method: 'POST', path: '/protected', cookies: { access_token_cookie: t! } }),
    expect: { status: 403, body: { reason: 'Missing CSRF token' } },
  },
  {
    area,
    name: 'custom: unauthorized_loader for a CSRF mismatch',
    app: CUSTOM,
    tokens: { t: good() },
    request: ({ t }) => ({
      method: 'POST',
      path: '/protected',
      cookies: { access_token_cookie: t! },
      headers: [['X-CSRF-TOKEN', 'nope']],
    }),
    expect: { status: 403 },
  },
  {
    area,
    name: 'custom: needs_fresh_token_loader(header, claims)',
    app: CUSTOM,
    tokens: { t: good() },
    request: ({ t }) => bearer(t!, '/fresh'),
    expect: { status: 403, body: { error: 'stale', sub: 'alice', fresh: false, typ: 'JWT' } },
  },
  {
    area,
    name: 'custom: revoked_token_loader(header, claims)',
    app: CUSTOM,
    tokens: { t: good({ jti: BLOCKED }) },
    request: ({ t }) => bearer(t!),
    expect: { status: 410, body: { error: 'revoked', jti: BLOCKED, alg: 'HS256' } },
  },
  {
    area,
    name: 'custom: user_lookup_error_loader(header, claims)',
    app: CUSTOM,
    tokens: { t: good({ sub: 'mallory' }) },
    request: ({ t }) => bearer(t!),
    expect: { status: 404, body: { error: 'no user', sub: 'mallory' } },
  },
  {
    area,
    name: 'custom: token_verification_failed_loader(header, claims)',
    app: CUSTOM,
    tokens: { t: good({ role: 'guest' }) },
    request: ({ t }) => bearer(t!),
    expect: { status: 409, body: { error: 'claims', role: 'guest', alg: 'HS256' } },
  },
  {
    area,
    name: 'custom: token_verification_failed_loader, no such claim',
    app: CUSTOM,
    tokens: { t: { craft: { claims: fjeClaims() } } },
    request: ({ t }) => bearer(t!),
    expect: { status: 409, body: { role: null } },
  },
  {
    area,
    name: 'custom: expired and a CSRF mismatch (the mismatch is reported)',
    app: CUSTOM,
    tokens: { t: good({ exp: 1 }) },
    request: ({ t }) => ({
      method: 'DELETE',
      path: '/protected',
      cookies: { access_token_cookie: t! },
      headers: [['X-CSRF-TOKEN', `${csrfOf(t!)}x`]],
    }),
    expect: { status: 403 },
  },
  // decode_key_loader (resolveKey) and encode_key_loader (signingKey).
  {
    area,
    name: 'decode_key_loader: a token of bob’s key',
    app: KEYS,
    tokens: {
      t: {
        craft: {
          header: { alg: 'HS256', typ: 'JWT', kid: 'k-bob' },
          claims: fjeClaims({ sub: 'bob' }),
          secret: BOB_KEY,
        },
      },
    },
    request: ({ t }) => bearer(t!),
    expect: { status: 200 },
  },
  {
    area,
    name: 'decode_key_loader: bob’s kid, another key',
    app: KEYS,
    tokens: {
      t: {
        craft: { header: { alg: 'HS256', kid: 'k-bob' }, claims: fjeClaims({ sub: 'bob' }), secret: SECRET },
      },
    },
    request: ({ t }) => bearer(t!),
    expect: { status: 422, body: { msg: 'Signature verification failed' } },
  },
  {
    area,
    name: 'decode_key_loader: no kid, the app’s key',
    app: KEYS,
    tokens: { t: { craft: {} } },
    request: ({ t }) => bearer(t!),
    expect: { status: 200 },
  },
  {
    area,
    name: 'encode_key_loader: a token minted for bob',
    app: KEYS,
    tokens: { t: { mint: { identity: 'bob' } } },
    request: ({ t }) => bearer(t!),
    expect: { status: 200, body: { header: { kid: 'k-bob' } } },
  },
  {
    area,
    name: 'encode_key_loader: a token minted for alice',
    app: KEYS,
    tokens: { t: { mint: { identity: 'alice' } } },
    request: ({ t }) => bearer(t!),
    expect: { status: 200 },
  },
  // additional claims and headers, user_identity_loader: minted by Flask-JWT-Extended, read by both.
  {
    area,
    name: 'additional_claims_loader',
    app: app({}, { additionalClaims: { role: 'admin', scopes: ['a', 'b'] } }),
    tokens: { t: { mint: { identity: 'alice' } } },
    request: ({ t }) => bearer(t!),
    expect: { status: 200, body: { claims: { role: 'admin', scopes: ['a', 'b'] } } },
  },
  {
    area,
    name: 'additional_claims (per token)',
    tokens: { t: { mint: { identity: 'alice', claims: { tenant: 't1' } } } },
    request: ({ t }) => bearer(t!),
    expect: { status: 200, body: { claims: { tenant: 't1' } } },
  },
  {
    area,
    name: 'additional_headers_loader',
    app: app({}, { additionalHeaders: { region: 'eu' } }),
    tokens: { t: { mint: { identity: 'alice' } } },
    request: ({ t }) => bearer(t!),
    expect: { status: 200, body: { header: { region: 'eu' } } },
  },
  {
    area,
    name: 'additional_headers (per token)',
    tokens: { t: { mint: { identity: 'alice', headers: { cty: 'x' } } } },
    request: ({ t }) => bearer(t!),
    expect: { status: 200, body: { header: { cty: 'x' } } },
  },
  {
    area,
    name: 'user_identity_loader',
    app: app({}, { identityOf: 'email' }),
    tokens: { t: { mint: { identity: { email: 'ann@example.com' } } } },
    request: ({ t }) => bearer(t!),
    expect: { status: 200, body: { identity: 'ann@example.com' } },
  },
  {
    area,
    name: 'a token with a kid, minted by the app',
    tokens: { t: { mint: { identity: 'alice', headers: { kid: 'v1' } } } },
    request: ({ t }) => bearer(t!),
    divergence: { id: 'key-id', flask: { status: 200 }, latchkey: { status: 422 } },
  },
  {
    area,
    name: 'a cookie made with a crafted CSRF value',
    app: COOKIES,
    tokens: { t: { craft: { claims: fjeClaims({ csrf: 'c' }) } } },
    request: ({ t }) => ({
      method: 'POST',
      path: '/protected',
      cookies: { access_token_cookie: t! },
      headers: [['X-CSRF-TOKEN', 'c']],
    }),
    expect: { status: 200 },
  },
  {
    area,
    name: 'a raw token under the preset',
    request: () => bearer(craft({ header: { raw: 'e30' }, signature: 'x' })),
  },
]
