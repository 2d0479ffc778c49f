/**
 * The guards: jwt_required(optional, fresh, refresh, verify_type, skip_revocation_check) and
 * verify_jwt_in_request; user lookup, the blocklist and the claims check; and the order in which
 * their refusals win.
 */
import type { Case } from '../harness.js'
import { craft, fjeClaims, nowS } from '../tokens.js'
import { app, authorization, bearer, COOKIES } from './common.js'

const area = 'guards'
const ok = { status: 200 }
const access = { t: { mint: { identity: 'alice' } } }
const fresh = { t: { mint: { identity: 'alice', fresh: true } } }
const refresh = { t: { mint: { identity: 'alice', type: 'refresh' as const } } }
const USERS = { alice: { name: 'Alice', email: 'alice@example.com' }, '42': { name: 'Forty-two' } }
const WITH_USERS = app({}, { users: USERS })
const BLOCKED = '00000000-0000-4000-8000-00000000dead'
const blocked = (more: Record<string, unknown> = {}) => ({
  craft: { claims: fjeClaims({ jti: BLOCKED, ...more }) },
})
const ALL = app({}, { users: USERS, blocklist: [BLOCKED], requireClaim: ['role', 'admin'] })

export const guardCases: Case[] = [
  // fresh
  { area, name: 'fresh: a fresh token', tokens: fresh, request: ({ t }) => bearer(t!, '/fresh'), expect: ok },
  {
    area,
    name: 'fresh: a non-fresh token',
    tokens: access,
    request: ({ t }) => bearer(t!, '/fresh'),
    expect: { status: 401, body: { msg: 'Fresh token required' } },
  },
  {
    area,
    name: 'fresh: fresh for ten minutes',
    tokens: { t: { mint: { identity: 'alice', fresh: 600 } } },
    request: ({ t }) => bearer(t!, '/fresh'),
    expect: ok,
  },
  {
    area,
    name: 'fresh: freshness that has passed',
    tokens: { t: { craft: { claims: fjeClaims({ fresh: nowS() - 5 }) } } },
    request: ({ t }) => bearer(t!, '/fresh'),
    expect: { status: 401 },
  },
  {
    area,
    name: 'fresh: a refresh token (type first)',
    tokens: refresh,
    request: ({ t }) => bearer(t!, '/fresh'),
    expect: { status: 422 },
  },
  { area, name: 'fresh: no token', request: () => ({ path: '/fresh' }) },
  {
    area,
    name: 'fresh: a fresh token on a plain route',
    tokens: fresh,
    request: ({ t }) => bearer(t!),
    expect: ok,
  },
  // refresh and token types
  {
    area,
    name: 'refresh: a refresh token',
    tokens: refresh,
    request: ({ t }) => bearer(t!, '/refresh'),
    expect: ok,
  },
  {
    area,
    name: 'refresh: an access token',
    tokens: access,
    request: ({ t }) => bearer(t!, '/refresh'),
    expect: { status: 422, body: { msg: 'Only refresh tokens are allowed' } },
  },
  {
    area,
    name: 'access: a refresh token',
    tokens: refresh,
    request: ({ t }) => bearer(t!),
    expect: { status: 422, body: { msg: 'Only non-refresh tokens are allowed' } },
  },
  {
    area,
    name: 'verify_type=False: a refresh token',
    tokens: refresh,
    request: ({ t }) => bearer(t!, '/any'),
    expect: ok,
  },
  {
    area,
    name: 'verify_type=False: an access token',
    tokens: access,
    request: ({ t }) => bearer(t!, '/any'),
    expect: ok,
  },
  {
    area,
    name: 'verify_type=False: a refresh token in the access cookie',
    app: COOKIES,
    tokens: refresh,
    request: ({ t }) => ({ path: '/any', cookies: { access_token_cookie: t! } }),
    expect: ok,
  },
  {
    area,
    name: 'verify_type=False: a token without type',
    tokens: { t: { craft: { claims: fjeClaims({ type: undefined }) } } },
    request: ({ t }) => bearer(t!, '/any'),
    divergence: {
      id: 'jti-type-required',
      flask: ok,
      latchkey: { status: 422, body: { msg: 'Missing claim: type' } },
    },
  },
  // optional
  {
    area,
    name: 'optional: no token',
    request: () => ({ path: '/optional' }),
    expect: { status: 200, body: { identity: null, claims: {}, header: {}, location: null } },
  },
  {
    area,
    name: 'optional: a token',
    tokens: access,
    request: ({ t }) => bearer(t!, '/optional'),
    expect: ok,
  },
  {
    area,
    name: 'optional: another scheme',
    request: () => authorization('Basic eA==', '/optional'),
    expect: ok,
  },
  {
    area,
    name: 'optional: a bad header',
    request: () => authorization('Bearer', '/optional'),
    expect: { status: 422 },
  },
  { area, name: 'optional: garbage', request: () => bearer('junk', '/optional'), expect: { status: 422 } },
  {
    area,
    name: 'optional: an expired token',
    tokens: { t: { craft: { claims: fjeClaims({ exp: 1 }) } } },
    request: ({ t }) => bearer(t!, '/optional'),
    expect: { status: 401 },
  },
  {
    area,
    name: 'optional: a refresh token',
    tokens: refresh,
    request: ({ t }) => bearer(t!, '/optional'),
    expect: { status: 422 },
  },
  {
    area,
    name: 'optional: a cookie without its CSRF value',
    app: COOKIES,
    tokens: access,
    request: ({ t }) => ({ method: 'POST', path: '/optional', cookies: { access_token_cookie: t! } }),
    expect: { status: 401 },
  },
  {
    area,
    name: 'optional: no token, a user loader',
    app: WITH_USERS,
    request: () => ({ path: '/optional' }),
    expect: { status: 200, body: { user: null } },
  },
  // skip_revocation_check
  {
    area,
    name: 'blocklist: a revoked token',
    app: ALL,
    tokens: { t: blocked({ role: 'admin' }) },
    request: ({ t }) => bearer(t!),
    expect: { status: 401, body: { msg: 'Token has been revoked' } },
  },
  {
    area,
    name: 'blocklist: skip_revocation_check',
    app: ALL,
    tokens: { t: blocked({ role: 'admin' }) },
    request: ({ t }) => bearer(t!, '/skip'),
    expect: ok,
  },
  {
    area,
    name: 'blocklist: another token',
    app: ALL,
    tokens: { t: { craft: { claims: fjeClaims({ role: 'admin' }) } } },
    request: ({ t }) => bearer(t!),
    expect: ok,
  },
  // claims verification
  {
    area,
    name: 'claims: rejected',
    app: ALL,
    tokens: { t: { craft: { claims: fjeClaims({ role: 'user' }) } } },
    request: ({ t }) => bearer(t!),
    expect: { status: 400, body: { msg: 'User claims verification failed' } },
  },
  { area, name: 'claims: missing', app: ALL, tokens: access, request: ({ t }) => bearer(t!) },
  // user lookup
  {
    area,
    name: 'user: found',
    app: WITH_USERS,
    tokens: access,
    request: ({ t }) => bearer(t!),
    expect: { status: 200, body: { user: USERS.alice } },
  },
  {
    area,
    name: 'user: not found',
    app: WITH_USERS,
    tokens: { t: { mint: { identity: 'bob@example.com' } } },
    request: ({ t }) => bearer(t!),
    expect: { status: 401, body: { msg: 'Error loading the user bob@example.com' } },
  },
  {
    area,
    name: 'user: on an optional route',
    app: WITH_USERS,
    tokens: access,
    request: ({ t }) => bearer(t!, '/optional'),
    expect: { status: 200, body: { user: USERS.alice } },
  },
  {
    area,
    name: 'user: not found on an optional route',
    app: WITH_USERS,
    tokens: { t: { mint: { identity: 'zed' } } },
    request: ({ t }) => bearer(t!, '/optional'),
    expect: { status: 401 },
  },
  // The order in which refusals win.
  { area, name: 'order: wrong type before fresh', tokens: refresh, request: ({ t }) => bearer(t!, '/fresh') },
  {
    area,
    name: 'order: not fresh before revoked',
    app: ALL,
    tokens: { t: blocked({ role: 'admin' }) },
    request: ({ t }) => bearer(t!, '/fresh'),
    expect: { status: 401, body: { msg: 'Fresh token required' } },
  },
  {
    area,
    name: 'order: revoked before the claims check',
    app: ALL,
    tokens: { t: blocked({ role: 'user' }) },
    request: ({ t }) => bearer(t!),
    expect: { status: 401, body: { msg: 'Token has been revoked' } },
  },
  {
    area,
    name: 'order: the claims check before the user',
    app: ALL,
    tokens: { t: { craft: { claims: fjeClaims({ role: 'user', sub: 'nobody' }) } } },
    request: ({ t }) => bearer(t!),
    expect: { status: 400 },
  },
  {
    area,
    name: 'order: the user last',
    app: ALL,
    tokens: { t: { craft: { claims: fjeClaims({ role: 'admin', sub: 'nobody' }) } } },
    request: ({ t }) => bearer(t!),
    expect: { status: 401, body: { msg: 'Error loading the user nobody' } },
  },
  {
    area,
    name: 'order: wrong type before revoked',
    app: ALL,
    tokens: { t: blocked({ type: 'refresh', role: 'admin' }) },
    request: ({ t }) => bearer(t!),
    expect: { status: 422 },
  },
  {
    area,
    name: 'order: revoked refresh token on the refresh route',
    app: ALL,
    tokens: { t: blocked({ type: 'refresh', role: 'admin' }) },
    request: ({ t }) => bearer(t!, '/refresh'),
    expect: { status: 401 },
  },
  {
    area,
    name: 'order: expired before revoked',
    app: ALL,
    tokens: { t: blocked({ exp: 1, role: 'admin' }) },
    request: ({ t }) => bearer(t!),
    expect: { status: 401, body: { msg: 'Token has expired' } },
  },
  {
    area,
    name: 'order: signature before expiry',
    app: ALL,
    tokens: { t: { craft: { claims: fjeClaims({ exp: 1 }), secret: 'y'.repeat(64) } } },
    request: ({ t }) => bearer(t!),
    expect: { status: 422 },
  },
  {
    area,
    name: 'order: everything passes',
    app: ALL,
    tokens: { t: { craft: { claims: fjeClaims({ role: 'admin' }) } } },
    request: ({ t }) => bearer(t!, '/optional'),
    expect: { status: 200, body: { user: USERS.alice } },
  },
  // verify_jwt_in_request
  {
    area,
    name: 'verify_jwt_in_request()',
    tokens: access,
    request: ({ t }) => bearer(t!, '/verify'),
    expect: { status: 200, body: { verified: true } },
  },
  {
    area,
    name: 'verify_jwt_in_request(optional=True), no token',
    request: () => ({ path: '/verify?optional=1' }),
    expect: { status: 200, body: { verified: null, claims: {} } },
  },
  {
    area,
    name: 'verify_jwt_in_request(optional=True), a token',
    tokens: access,
    request: ({ t }) => bearer(t!, '/verify?optional=1'),
  },
  {
    area,
    name: 'verify_jwt_in_request(fresh=True)',
    tokens: access,
    request: ({ t }) => bearer(t!, '/verify?fresh=1'),
    expect: { status: 401 },
  },
  {
    area,
    name: 'verify_jwt_in_request(refresh=True)',
    tokens: refresh,
    request: ({ t }) => bearer(t!, '/verify?refresh=1'),
    expect: ok,
  },
  {
    area,
    name: 'verify_jwt_in_request(refresh=True, verify_type=False)',
    tokens: access,
    request: ({ t }) => bearer(t!, '/verify?refresh=1&verify_type=0'),
    expect: ok,
  },
  {
    area,
    name: 'verify_jwt_in_request(skip_revocation_check=True)',
    app: ALL,
    tokens: { t: blocked({ role: 'admin' }) },
    request: ({ t }) => bearer(t!, '/verify?skip_revocation_check=1'),
    expect: ok,
  },
  {
    area,
    name: 'verify_jwt_in_request(), a bad token',
    request: () => bearer(craft({ claims: { raw: 'e30' } }), '/verify'),
  },
  {
    area,
    name: 'verify_jwt_in_request(), no token',
    request: () => ({ path: '/verify' }),
    expect: { status: 401 },
  },
  // Numeric identities (JWT_VERIFY_SUB = False).
  {
    area,
    name: 'JWT_VERIFY_SUB False: a numeric sub',
    app: app({ JWT_VERIFY_SUB: false }, { users: USERS }),
    tokens: { t: { craft: { claims: fjeClaims({ sub: 42 }) } } },
    request: ({ t }) => bearer(t!),
    divergence: {
      id: 'string-identity',
      flask: { status: 200, body: { identity: 42, user: USERS['42'] } },
      latchkey: { status: 200, body: { identity: '42', user: USERS['42'] } },
    },
  },
  {
    area,
    name: 'JWT_VERIFY_SUB False: a string sub',
    app: app({ JWT_VERIFY_SUB: false }),
    tokens: access,
    request: ({ t }) => bearer(t!),
    expect: ok,
  },
  {
    area,
    name: 'JWT_VERIFY_SUB False: a sub that is an object',
    app: app({ JWT_VERIFY_SUB: false }),
    tokens: { t: { craft: { claims: fjeClaims({ sub: { id: 1 } }) } } },
    request: ({ t }) => bearer(t!),
    divergence: { id: 'string-identity', flask: ok, latchkey: { status: 422 } },
  },
  {
    area,
    name: 'JWT_VERIFY_SUB True: a numeric sub',
    app: app({ JWT_VERIFY_SUB: true }),
    tokens: { t: { craft: { claims: fjeClaims({ sub: 42 }) } } },
    request: ({ t }) => bearer(t!),
    expect: { status: 422, body: { msg: 'Subject must be a string' } },
  },
]
