/** decode_token and the cookie helpers (set_access_cookies and the rest), with the cookie settings. */
import type { Case } from '../harness.js'
import { craft, fjeClaims, nowS } from '../tokens.js'
import { app, COOKIES } from './common.js'

const minted = { t: { mint: { identity: 'alice' } } }
const refresh = { t: { mint: { identity: 'alice', type: 'refresh' as const } } }
const post = (path: string, json: unknown) => ({ method: 'POST', path, json })

const decode: Case[] = [
  {
    area: 'decode_token',
    name: 'a valid token',
    tokens: minted,
    request: ({ t }) => post('/decode', { token: t }),
    expect: { status: 200 },
  },
  {
    area: 'decode_token',
    name: 'a refresh token (no type check)',
    tokens: refresh,
    request: ({ t }) => post('/decode', { token: t }),
    expect: { status: 200 },
  },
  {
    area: 'decode_token',
    name: 'an expired token',
    tokens: { t: { craft: { claims: fjeClaims({ exp: nowS() - 5 }) } } },
    request: ({ t }) => post('/decode', { token: t }),
    expect: { status: 401 },
  },
  {
    area: 'decode_token',
    name: 'an expired token, allow_expired',
    tokens: { t: { craft: { claims: fjeClaims({ exp: nowS() - 5 }) } } },
    request: ({ t }) => post('/decode', { token: t, allowExpired: true }),
    expect: { status: 200 },
  },
  {
    area: 'decode_token',
    name: 'garbage',
    request: () => post('/decode', { token: 'x.y' }),
    expect: { status: 422, body: { msg: 'Not enough segments' } },
  },
  {
    area: 'decode_token',
    name: 'a bad signature',
    request: () => post('/decode', { token: craft({ secret: 'q'.repeat(64) }) }),
    expect: { status: 422 },
  },
  {
    area: 'decode_token',
    name: 'not yet valid',
    request: () => post('/decode', { token: craft({ claims: fjeClaims({ nbf: nowS() + 100 }) }) }),
    expect: { status: 422 },
  },
  {
    area: 'decode_token',
    name: 'no sub',
    request: () => post('/decode', { token: craft({ claims: fjeClaims({ sub: undefined }) }) }),
    expect: { status: 422, body: { msg: 'Missing claim: sub' } },
  },
  {
    area: 'decode_token',
    name: 'an expired token without sub, allow_expired',
    request: () => post('/decode', { token: craft({ claims: fjeClaims({ sub: undefined, exp: 5 }) }) }),
  },
  {
    area: 'decode_token',
    name: 'a payload that is not JSON',
    request: () => post('/decode', { token: craft({ claims: { raw: 'bm9wZQ' } }) }),
  },
]

/** The five helpers under one configuration (and one token, minted by Flask-JWT-Extended). */
function helpers(label: string, spec = COOKIES, extra: Record<string, unknown> = {}): Case[] {
  const area = 'cookie helpers'
  return [
    {
      area,
      name: `${label}: set_access_cookies`,
      app: spec,
      tokens: minted,
      request: ({ t }) => post('/cookies/set-access', { token: t, ...extra }),
      expect: { status: 200 },
    },
    {
      area,
      name: `${label}: set_refresh_cookies`,
      app: spec,
      tokens: refresh,
      request: ({ t }) => post('/cookies/set-refresh', { token: t, ...extra }),
      expect: { status: 200 },
    },
    {
      area,
      name: `${label}: unset_access_cookies`,
      app: spec,
      request: () => post('/cookies/unset-access', { ...extra }),
    },
    {
      area,
      name: `${label}: unset_refresh_cookies`,
      app: spec,
      request: () => post('/cookies/unset-refresh', { ...extra }),
    },
    {
      area,
      name: `${label}: unset_jwt_cookies`,
      app: spec,
      request: () => post('/cookies/unset-jwt', { ...extra }),
    },
  ]
}

export const helperCases: Case[] = [
  ...decode,
  ...helpers('defaults'),
  ...helpers('JWT_SESSION_COOKIE False', app({ JWT_TOKEN_LOCATION: ['cookies'], JWT_SESSION_COOKIE: false })),
  ...helpers('JWT_COOKIE_SECURE', app({ JWT_TOKEN_LOCATION: ['cookies'], JWT_COOKIE_SECURE: true })),
  ...helpers('JWT_COOKIE_SAMESITE Lax', app({ JWT_TOKEN_LOCATION: ['cookies'], JWT_COOKIE_SAMESITE: 'Lax' })),
  ...helpers(
    'JWT_COOKIE_SAMESITE strict',
    app({ JWT_TOKEN_LOCATION: ['cookies'], JWT_COOKIE_SAMESITE: 'strict' }),
  ),
  ...helpers(
    'JWT_COOKIE_SAMESITE None',
    app({ JWT_TOKEN_LOCATION: ['cookies'], JWT_COOKIE_SAMESITE: 'None', JWT_COOKIE_SECURE: true }),
  ),
  ...helpers('JWT_COOKIE_DOMAIN', app({ JWT_TOKEN_LOCATION: ['cookies'], JWT_COOKIE_DOMAIN: 'example.com' })),
  ...helpers('a domain per call', COOKIES, { domain: 'api.example.com' }),
  ...helpers(
    'a domain per call over JWT_COOKIE_DOMAIN',
    app({ JWT_TOKEN_LOCATION: ['cookies'], JWT_COOKIE_DOMAIN: 'example.com' }),
    { domain: 'api.example.com' },
  ),
  ...helpers('a max_age per call', COOKIES, { maxAge: 120 }).slice(0, 2),
  ...helpers(
    'a max_age per call over JWT_SESSION_COOKIE False',
    app({ JWT_TOKEN_LOCATION: ['cookies'], JWT_SESSION_COOKIE: false }),
    { maxAge: 60 },
  ).slice(0, 2),
  ...helpers(
    'names and paths',
    app({
      JWT_TOKEN_LOCATION: ['cookies'],
      JWT_ACCESS_COOKIE_NAME: 'at',
      JWT_REFRESH_COOKIE_NAME: 'rt',
      JWT_ACCESS_CSRF_COOKIE_NAME: 'at_csrf',
      JWT_REFRESH_CSRF_COOKIE_NAME: 'rt_csrf',
      JWT_ACCESS_COOKIE_PATH: '/api/',
      JWT_REFRESH_COOKIE_PATH: '/auth/refresh',
      JWT_ACCESS_CSRF_COOKIE_PATH: '/',
      JWT_REFRESH_CSRF_COOKIE_PATH: '/auth/',
    }),
  ),
  ...helpers(
    'JWT_CSRF_IN_COOKIES False',
    app({ JWT_TOKEN_LOCATION: ['cookies'], JWT_CSRF_IN_COOKIES: false }),
  ),
  ...helpers(
    'JWT_COOKIE_CSRF_PROTECT False',
    app({ JWT_TOKEN_LOCATION: ['cookies'], JWT_COOKIE_CSRF_PROTECT: false }),
  ),
  ...helpers(
    'cookies and headers',
    app({
      JWT_TOKEN_LOCATION: ['headers', 'cookies'],
      JWT_COOKIE_SECURE: true,
      JWT_COOKIE_SAMESITE: 'Strict',
      JWT_SESSION_COOKIE: false,
      JWT_COOKIE_DOMAIN: 'example.org',
    }),
  ),
  {
    area: 'cookie helpers',
    name: 'set_access_cookies with an expired token',
    app: COOKIES,
    tokens: { t: { craft: { claims: fjeClaims({ exp: nowS() - 5 }) } } },
    request: ({ t }) => post('/cookies/set-access', { token: t }),
    expect: { status: 401 },
  },
  {
    area: 'cookie helpers',
    name: 'set_access_cookies with a badly signed token',
    app: COOKIES,
    tokens: { t: { craft: { secret: 'z'.repeat(64) } } },
    request: ({ t }) => post('/cookies/set-access', { token: t }),
    expect: { status: 422 },
  },
  {
    area: 'cookie helpers',
    name: 'set_access_cookies with a token without a csrf claim',
    app: COOKIES,
    tokens: { t: { craft: { claims: fjeClaims({ csrf: undefined }) } } },
    request: ({ t }) => post('/cookies/set-access', { token: t }),
    expect: { status: 500 },
  },
  {
    area: 'cookie helpers',
    name: 'set_access_cookies without CSRF cookies does not decode the token',
    app: app({ JWT_TOKEN_LOCATION: ['cookies'], JWT_CSRF_IN_COOKIES: false }),
    request: () => post('/cookies/set-access', { token: 'not-even-a-token' }),
    expect: { status: 200 },
  },
]
