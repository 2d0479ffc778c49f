/**
 * Property-based tests of the request guard at the adapter level: the reference server (with probe
 * routes for every method) driven through Fastify's `inject`, so each run goes through the real
 * router, body parser, schema validation, latchkey's Fastify plugin and the server's error handler,
 * without sockets. The core-level properties (decoder and guard over a hand-built RequestView,
 * single-character changes, the jose differential) are in test/core/differential.test.ts.
 *
 * Seeded (42) and bounded (a few hundred runs each, well under 5 s) so a failure reproduces.
 */
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { newSession, type SecurityServer, type Session, startSecurityServer } from './helpers.js'

const SEED = 42

let server: SecurityServer
let alice: Session

beforeAll(async () => {
  server = await startSecurityServer({ loginMaxFailures: '1000000', logLevel: 'silent' }, { probes: true })
  alice = await newSession(server)
})

afterAll(async () => {
  await server?.close()
})

/** Status → the codes the server documents for it (docs/server.md, src/errors.ts). */
const DOCUMENTED: Record<number, string[]> = {
  400: ['VALIDATION_FAILED', 'INVALID_JSON', 'BAD_REQUEST', 'INVALID_LINK'],
  401: [
    'TOKEN_MISSING',
    'TOKEN_EXPIRED',
    'TOKEN_NOT_YET_VALID',
    'TOKEN_INVALID',
    'WRONG_TOKEN_TYPE',
    'FRESH_TOKEN_REQUIRED',
    'TOKEN_REVOKED',
    'USER_NOT_FOUND',
    'USER_INACTIVE',
    'INVALID_CREDENTIALS',
  ],
  403: ['CSRF_FAILED', 'CLAIMS_REJECTED', 'USER_UNVERIFIED'],
  404: ['NOT_FOUND', 'SESSION_NOT_FOUND'],
  409: ['EMAIL_TAKEN', 'CONFLICT'],
  413: ['PAYLOAD_TOO_LARGE'],
  415: ['UNSUPPORTED_MEDIA_TYPE'],
  429: ['TOO_MANY_ATTEMPTS'],
}

/** Printable ASCII and Latin-1 letters: what a client can put in a header value. */
const headerChar = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) },
  { weight: 1, arbitrary: fc.integer({ min: 0xa0, max: 0xff }) },
  { weight: 1, arbitrary: fc.constant(0x09) },
)
const headerText = (maxLength = 60) =>
  fc.array(headerChar, { maxLength }).map((codes) => String.fromCharCode(...codes).trim())

const base64urlChars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/**
 * A token to put somewhere: a real access or refresh token minted for this run (so that logout,
 * logout-all or a refresh rotation in an earlier run cannot turn every later one into a 401), the
 * same with one character changed, or text.
 */
type TokenSpec = { kind: 'access' | 'refresh'; mutate?: [number, string] } | { kind: 'text'; text: string }

function tokenArb(): fc.Arbitrary<TokenSpec> {
  const kind = fc.constantFrom('access' as const, 'refresh' as const)
  const mutation = fc.tuple(fc.nat(), fc.constantFrom(...`${base64urlChars}.=+/%`.split('')))
  const segments = fc
    .array(fc.stringMatching(/^[A-Za-z0-9_-]{0,40}$/), { minLength: 1, maxLength: 6 })
    .map((parts) => parts.join('.'))
  return fc.oneof(
    { weight: 3, arbitrary: kind.map((k): TokenSpec => ({ kind: k })) },
    { weight: 1, arbitrary: fc.tuple(kind, mutation).map(([k, m]): TokenSpec => ({ kind: k, mutate: m })) },
    {
      weight: 1,
      arbitrary: fc.oneof(segments, headerText()).map((text): TokenSpec => ({ kind: 'text', text })),
    },
  )
}

/** A fresh access/refresh pair of alice, carrying her CSRF value (so cookie runs can pass). */
function mint(): { access: string; refresh: string } {
  const auth = server.app.latchkey.auth
  return {
    access: auth.createAccessToken(alice.id, { csrf: alice.csrf }),
    refresh: auth.createRefreshToken(alice.id, { csrf: alice.csrfRefresh }),
  }
}

function render(spec: TokenSpec, tokens: { access: string; refresh: string }): string {
  if (spec.kind === 'text') return spec.text
  const token = tokens[spec.kind]
  if (!spec.mutate) return token
  const i = spec.mutate[0] % token.length
  return `${token.slice(0, i)}${spec.mutate[1]}${token.slice(i + 1)}`
}

type Part = string | TokenSpec
const renderParts = (parts: Part[], tokens: { access: string; refresh: string }) =>
  parts.map((p) => (typeof p === 'string' ? p : render(p, tokens))).join('')

function authorizationArb(): fc.Arbitrary<Part[]> {
  const scheme = fc.constantFrom('Bearer', 'bearer', 'BEARER', 'Basic', 'Token', '')
  return fc.oneof(
    { weight: 3, arbitrary: tokenArb().map((t): Part[] => ['Bearer ', t]) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(scheme, fc.constantFrom(' ', '  ', '\t', ''), tokenArb())
        .map(([s, sp, t]): Part[] => [s, sp, t]),
    },
    { weight: 1, arbitrary: headerText().map((text): Part[] => [text]) },
  )
}

function cookieArb(): fc.Arbitrary<Part[]> {
  const name = fc.oneof(
    fc.constantFrom('access_token_cookie', 'refresh_token_cookie', 'csrf_access_token', 'csrf_refresh_token'),
    fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/),
  )
  const value = fc.oneof(
    tokenArb(),
    headerText(30).map((t) => t.replace(/;/g, '')),
    fc.constant(alice.csrf),
  )
  return fc
    .array(fc.tuple(name, value), { maxLength: 4 })
    .map((pairs) => pairs.flatMap(([n, v], i): Part[] => [i === 0 ? '' : '; ', `${n}=`, v]))
}

function bodyArb(): fc.Arbitrary<Part[]> {
  const keys = fc.constantFrom(
    'refresh_token',
    'access_token',
    'email',
    'password',
    'current_password',
    'new_password',
    'remember',
    '__proto__',
    'constructor',
  )
  const value = fc.oneof(
    tokenArb().map((t): Part[] => ['"', t, '"']),
    fc.jsonValue({ maxDepth: 3 }).map((v): Part[] => [JSON.stringify(v) ?? 'null']),
  )
  return fc.oneof(
    fc
      .array(fc.tuple(keys, value), { maxLength: 4 })
      .map((entries): Part[] => [
        '{',
        ...entries.flatMap(([k, v], i): Part[] => [i === 0 ? '' : ',', JSON.stringify(k), ':', ...v]),
        '}',
      ]),
    fc.jsonValue({ maxDepth: 4 }).map((v): Part[] => [JSON.stringify(v) ?? 'null']),
    fc.string({ maxLength: 80 }).map((t): Part[] => [t]),
    fc.constant<Part[]>(['']),
    fc.integer({ min: 1, max: 20_000 }).map((n): Part[] => [`${'['.repeat(n)}${']'.repeat(n)}`]),
  )
}

function queryArb(): fc.Arbitrary<(tokens: { access: string; refresh: string }) => string> {
  const key = fc.oneof(fc.constantFrom('jwt', 'access_token', 'token'), fc.stringMatching(/^[a-z]{1,6}$/))
  const value = fc.oneof(tokenArb(), fc.string({ maxLength: 20 }))
  return fc.array(fc.tuple(key, value), { maxLength: 3 }).map((pairs) => (tokens) => {
    if (pairs.length === 0) return ''
    const text = pairs.map(
      ([k, v]) => `${k}=${encodeURIComponent(typeof v === 'string' ? v : render(v, tokens))}`,
    )
    return `?${text.join('&')}`
  })
}

describe('fuzz: the request guard over the reference server (Fastify inject)', () => {
  it('any header, cookie, JSON body and query string → 200/201/202 or a documented 4xx {msg, code}; never a 500 or a throw', async () => {
    const method = fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS')
    const path = fc.constantFrom(
      '/auth/me',
      '/auth/refresh',
      '/auth/logout',
      '/auth/logout-all',
      '/auth/password',
      '/auth/fresh-login',
      '/auth/login',
      '/auth/sessions',
      '/auth/sessions/x',
      '/auth/password/forgot',
      '/auth/password/reset',
      '/auth/email/verify',
      '/auth/email/resend',
      '/probe',
    )
    // Mostly routes that exist (so the guard runs), sometimes any method on any path.
    const route = fc.oneof(
      {
        weight: 9,
        arbitrary: fc.constantFrom<[string, string]>(
          ['GET', '/auth/me'],
          ['HEAD', '/auth/me'],
          ['POST', '/auth/refresh'],
          ['POST', '/auth/logout'],
          ['POST', '/auth/logout-all'],
          ['POST', '/auth/password'],
          ['POST', '/auth/fresh-login'],
          ['POST', '/auth/login'],
          ['GET', '/auth/sessions'],
          ['DELETE', '/auth/sessions/x'],
          ['POST', '/auth/password/forgot'],
          ['POST', '/auth/password/reset'],
          ['POST', '/auth/email/verify'],
          ['POST', '/auth/email/resend'],
          ['GET', '/probe'],
          ['POST', '/probe'],
          ['PUT', '/probe'],
          ['PATCH', '/probe'],
          ['DELETE', '/probe'],
        ),
      },
      { weight: 1, arbitrary: fc.tuple(method, path) },
    )
    const contentType = fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom('application/json', 'application/json; charset=utf-8') },
      {
        weight: 1,
        arbitrary: fc.oneof(
          fc.constantFrom(
            'text/plain',
            'application/x-www-form-urlencoded',
            'application/merge-patch+json',
            'multipart/form-data; boundary=x',
          ),
          headerText(30),
        ),
      },
    )
    const seen = new Map<number, number>()
    const started = performance.now()
    await fc.assert(
      fc.asyncProperty(
        route,
        fc.option(authorizationArb(), { nil: undefined, freq: 2 }),
        fc.option(cookieArb(), { nil: undefined, freq: 2 }),
        fc.option(fc.oneof(headerText(30), fc.constant(alice.csrf)), { nil: undefined }),
        fc.option(contentType, { nil: undefined, freq: 8 }),
        fc.option(bodyArb(), { nil: undefined }),
        queryArb(),
        async ([m, p], authorization, cookie, csrf, type, body, query) => {
          const tokens = mint()
          const headers: Record<string, string> = {}
          if (authorization !== undefined) headers.authorization = renderParts(authorization, tokens)
          if (cookie !== undefined) headers.cookie = renderParts(cookie, tokens)
          if (csrf !== undefined) headers['x-csrf-token'] = csrf
          if (type !== undefined) headers['content-type'] = type
          const hasBody = body !== undefined && m !== 'GET' && m !== 'HEAD'
          const response = await server.app.inject({
            method: m as 'GET',
            url: `${p}${query(tokens)}`,
            headers,
            ...(hasBody ? { payload: renderParts(body, tokens) } : {}),
          })
          const status = response.statusCode
          seen.set(status, (seen.get(status) ?? 0) + 1)
          if (status === 200 || status === 201 || status === 202 || status === 204) return
          expect(DOCUMENTED[status], `status ${status}: ${response.body}`).toBeDefined()
          if (m === 'HEAD') return
          const parsed = JSON.parse(response.body) as { msg: unknown; code: unknown }
          expect(parsed.msg).toBeTypeOf('string')
          expect(DOCUMENTED[status]).toContain(parsed.code)
        },
      ),
      { seed: SEED, numRuns: 400 },
    )
    // The runs reached past the guard (200) as well as being refused by it, in every way.
    for (const status of [200, 400, 401, 403, 404, 415])
      expect(seen.get(status), `${status}`).toBeGreaterThan(0)
    expect(performance.now() - started).toBeLessThan(15_000)
  })

  it('any single-character change to a valid access token in the Authorization header → 401 TOKEN_INVALID', async () => {
    const token = alice.access
    const replacement = fc.constantFrom(...`${base64urlChars}.=+/%~!`.split(''))
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: token.length - 1 }),
        replacement,
        fc.constantFrom('substitute', 'insert', 'delete'),
        async (i, c, how) => {
          const changed =
            how === 'substitute'
              ? `${token.slice(0, i)}${c}${token.slice(i + 1)}`
              : how === 'insert'
                ? `${token.slice(0, i)}${c}${token.slice(i)}`
                : `${token.slice(0, i)}${token.slice(i + 1)}`
          fc.pre(changed !== token)
          const response = await server.app.inject({
            method: 'GET',
            url: '/auth/me',
            headers: { authorization: `Bearer ${changed}` },
          })
          expect({ status: response.statusCode, code: JSON.parse(response.body).code }).toEqual({
            status: 401,
            code: 'TOKEN_INVALID',
          })
        },
      ),
      { seed: SEED, numRuns: 300 },
    )
  })
})
