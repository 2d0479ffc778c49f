/**
 * The conformance suite: one table of behaviours, run over real HTTP (127.0.0.1, an ephemeral port,
 * `fetch`) against every adapter. An adapter joins the matrix with one small file that builds the
 * app below for a given auth object and calls `runConformance(name, start)`.
 *
 * The app every adapter builds (all JSON):
 * - `POST /login` `{username, remember}`: `findUser(username)` (404 when unknown), `auth.login`,
 *   the token response's headers, body `{access_token, refresh_token, csrf}`. An AuthError from
 *   `auth.login` (inactive user) is rendered by the adapter's latchkey error rendering.
 * - `GET /me`, `POST /me`: required guard; body `{user, sub, location, fresh, echo}` where `echo` is
 *   the `echo` key of the JSON body as the handler reads it (null without one).
 * - `OPTIONS /me`: required guard, then 204 (preflights pass the guard).
 * - `GET /maybe`: optional guard; body `{authenticated, user}`.
 * - `POST /settings`: fresh guard; body `{ok: true}`.
 * - `POST /refresh`: refresh guard, `auth.refresh`, headers, body `{access_token, refresh_token, csrf}`.
 * - `POST /logout`: required guard, `auth.logout`, headers, body `{ok: true}`.
 * - `GET /boom`: the handler throws a plain Error: the framework's own 500.
 * - `GET /swallow/me`: as `GET /me`, inside a scope whose error handler turns every error into
 *   `500 {swallowed: true}`.
 * - `GET /framework/me`: as `GET /me`, with `handleErrors: 'framework'` and the adapter's latchkey
 *   error handler installed at the app (the fetch adapter has no framework: same response).
 */
import { once } from 'node:events'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type Auth,
  type AuthErrorCode,
  type AuthOptions,
  createAuth,
  MemoryRevocationStore,
  type RevocationStore,
} from '../../src/index.js'
import { rawHttp } from '../helpers/raw-http.js'

/** The app's user type (the shape of the API sketch and the examples). */
export type User = { id: string; email: string; active: boolean }

const USERS: Readonly<Record<string, User>> = {
  alice: { id: 'alice', email: 'alice@example.com', active: true },
  bob: { id: 'bob', email: 'bob@example.com', active: false },
}

/** The user of a username (or id), or undefined. */
export function findUser(username: unknown): User | undefined {
  return typeof username === 'string' && Object.hasOwn(USERS, username) ? USERS[username] : undefined
}

/** A running app: its base URL (`http://127.0.0.1:<port>`) and how to stop it. */
export interface RunningApp {
  url: string
  close(): Promise<void>
  /**
   * How to reach an app that no socket of the test reaches (a Worker's handler, called through the
   * runtime's service binding): requests to `url` go here instead of to the global `fetch`.
   */
  fetch?: (request: Request) => Promise<Response>
}

/** What differs between the places the suite runs in. */
export interface ConformanceOptions {
  /**
   * Whether the app listens on a TCP socket the test can write raw HTTP to (default true). False
   * for a Worker reached through a service binding: the cases that need raw requests are not
   * generated there.
   */
  rawSockets?: boolean
}

/** Apps reached without a socket, by base URL (see `RunningApp.fetch`). */
const transports = new Map<string, (request: Request) => Promise<Response>>()

/** Starts a Node server on 127.0.0.1 and an ephemeral port. */
export async function listen(server: Server): Promise<RunningApp> {
  if (!server.listening) {
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
  }
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()))
        server.closeAllConnections() // fetch keeps connections alive
      }),
  }
}

/** Builds and starts the conformance app for one auth object. */
export type StartApp = (auth: Auth<User>) => Promise<RunningApp>

const SECRET = 'conformance-secret-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGH'

// biome-ignore lint/suspicious/noExplicitAny: response bodies are whatever JSON the app sent
type Json = Record<string, any>

interface ParsedCookie {
  name: string
  value: string
  /** Attributes by lower-case name; flags map to true. */
  attrs: Record<string, string | true>
}

function parseSetCookie(line: string): ParsedCookie {
  const [pair = '', ...rest] = line.split(';')
  const eq = pair.indexOf('=')
  const attrs: Record<string, string | true> = {}
  for (const part of rest) {
    const i = part.indexOf('=')
    const key = (i < 0 ? part : part.slice(0, i)).trim().toLowerCase()
    if (key) attrs[key] = i < 0 ? true : part.slice(i + 1).trim()
  }
  return { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), attrs }
}

interface CallOptions {
  bearer?: string
  cookies?: Record<string, string | undefined>
  csrf?: string
  json?: unknown
  /** A raw body (with `contentType`). */
  body?: string
  contentType?: string
  headers?: Record<string, string>
}

interface Reply {
  status: number
  body: Json
  headers: Headers
  cookies: ParsedCookie[]
  /** Cookies by name (the last Set-Cookie of a name wins, as in a browser). */
  cookie(name: string): ParsedCookie | undefined
}

async function call(base: string, method: string, path: string, options: CallOptions = {}): Promise<Reply> {
  const headers = new Headers(options.headers)
  if (options.bearer !== undefined) headers.set('authorization', `Bearer ${options.bearer}`)
  if (options.cookies) {
    const pairs = Object.entries(options.cookies).filter(([, v]) => v !== undefined)
    if (pairs.length) headers.set('cookie', pairs.map(([k, v]) => `${k}=${v}`).join('; '))
  }
  if (options.csrf !== undefined) headers.set('x-csrf-token', options.csrf)
  let body: string | undefined
  if (options.json !== undefined) {
    body = JSON.stringify(options.json)
    headers.set('content-type', 'application/json')
  } else if (options.body !== undefined) {
    body = options.body
    headers.set('content-type', options.contentType ?? 'text/plain')
  }
  const send = transports.get(base) ?? fetch
  const response = await send(new Request(base + path, { method, headers, body, redirect: 'manual' }))
  const text = await response.text()
  let parsed: Json = {}
  try {
    parsed = text ? (JSON.parse(text) as Json) : {}
  } catch {
    parsed = { text }
  }
  const cookies = response.headers.getSetCookie().map(parseSetCookie)
  return {
    status: response.status,
    body: parsed,
    headers: response.headers,
    cookies,
    cookie: (name) => cookies.filter((c) => c.name === name).at(-1),
  }
}

const ACCESS = 'access_token_cookie'
const REFRESH = 'refresh_token_cookie'
const CSRF_ACCESS = 'csrf_access_token'
const CSRF_REFRESH = 'csrf_refresh_token'
const COOKIE_NAMES = [ACCESS, REFRESH, CSRF_ACCESS, CSRF_REFRESH]

type ConfigName = 'headers' | 'cookies' | 'all' | 'implicit' | 'broken' | 'async'

/** Sends raw request lines (a `Connection: close` request) and reads the status and body. */
async function rawRequest(base: string, lines: string[]): Promise<{ status: number; body: string }> {
  return rawHttp(Number(new URL(base).port), `${lines.join('\r\n')}\r\n\r\n`)
}

/** Runs the whole suite against one adapter. */
export function runConformance(adapter: string, start: StartApp, options: ConformanceOptions = {}): void {
  describe(`conformance: ${adapter}`, () => {
    // One clock for every auth object and store of this adapter; tests only move it forward.
    const clock = { now: Date.now() }
    const tick = (ms: number) => {
      clock.now += ms
    }
    const memory = () => new MemoryRevocationStore({ now: () => clock.now, sweepIntervalMs: 0 })

    function makeAuth(extra: Partial<AuthOptions<User>>, store: RevocationStore = memory()): Auth<User> {
      return createAuth<User>({
        keys: { secret: SECRET },
        revocation: store,
        identify: (user) => user.id,
        loadUser: (id) => findUser(id) ?? null,
        isActive: (user) => user.active,
        checkClaims: (claims) => claims.blocked !== true,
        clock: () => clock.now,
        ...extra,
      })
    }

    const failing: RevocationStore = memory()
    failing.isRevoked = () => Promise.reject(new Error('store down'))
    // The other configurations answer synchronously (memory store, loader over a Map), which the
    // guard handles without a promise; this one makes every step wait, as a database would.
    const later = <T>(value: T) => new Promise<T>((resolve) => setTimeout(resolve, 0, value))
    const waitingMemory = memory()
    const answerNow = waitingMemory.isRevoked.bind(waitingMemory)
    const waiting: RevocationStore = waitingMemory
    waiting.isRevoked = (ref) => later(answerNow(ref))
    const auths: Record<ConfigName, Auth<User>> = {
      headers: makeAuth({ tokenLocations: ['headers'] }),
      cookies: makeAuth({
        tokenLocations: ['cookies'],
        cookies: { sameSite: 'Strict', domain: 'example.test', refreshPath: '/refresh' },
      }),
      all: makeAuth({ tokenLocations: ['headers', 'cookies', 'json', 'query'] }),
      implicit: makeAuth({
        tokenLocations: ['cookies', 'headers'],
        accessTokenTtl: '10m',
        implicitRefresh: { window: '5m' },
      }),
      broken: makeAuth({ tokenLocations: ['headers'] }, failing),
      async: makeAuth(
        {
          tokenLocations: ['headers'],
          loadUser: (id) => later(findUser(id) ?? null),
          checkClaims: (claims) => later(claims.blocked !== true),
        },
        waiting,
      ),
    }
    auths.broken.on('revocationUnavailable', () => {}) // expected here; keeps the default log quiet
    const apps = {} as Record<ConfigName, RunningApp>
    const url = (name: ConfigName) => apps[name].url
    const alice = findUser('alice')!

    beforeAll(async () => {
      for (const name of Object.keys(auths) as ConfigName[]) {
        apps[name] = await start(auths[name])
        const send = apps[name].fetch
        if (send) transports.set(apps[name].url, send)
      }
    })
    afterAll(async () => {
      for (const app of Object.values(apps)) transports.delete(app.url)
      await Promise.all(Object.values(apps).map((app) => app.close()))
    })

    async function login(name: ConfigName, remember = false): Promise<Reply> {
      const reply = await call(url(name), 'POST', '/login', { json: { username: 'alice', remember } })
      expect(reply.status).toBe(200)
      return reply
    }

    /** Cookie values a browser would send after `reply`. */
    function jar(reply: Reply): Record<string, string | undefined> {
      return Object.fromEntries(COOKIE_NAMES.map((n) => [n, reply.cookie(n)?.value]))
    }

    function expectError(reply: Reply, code: AuthErrorCode, status: number): void {
      expect({ status: reply.status, code: reply.body.code }).toEqual({ status, code })
      expect(typeof reply.body.msg).toBe('string')
      expect(reply.headers.get('content-type')).toMatch(/^application\/json/)
      expect(reply.headers.get('cache-control')).toBe('no-store')
      if (status === 401) expect(reply.headers.get('www-authenticate')).toMatch(/^Bearer\b/)
      else expect(reply.headers.get('www-authenticate')).toBeNull()
    }

    describe('login', () => {
      it('header mode: tokens in the body and no Set-Cookie on any response of a whole session', async () => {
        const base = url('headers')
        const seen: Reply[] = []
        const go = async (method: string, path: string, options?: CallOptions) => {
          const reply = await call(base, method, path, options)
          seen.push(reply)
          return reply
        }
        const tokens = (await go('POST', '/login', { json: { username: 'alice', remember: true } })).body
        expect(tokens.access_token).toEqual(expect.any(String))
        expect(tokens.refresh_token).toEqual(expect.any(String))
        expect(tokens.csrf ?? null).toBeNull()
        expect(seen[0]?.headers.get('cache-control')).toBe('no-store')
        expect((await go('GET', '/me', { bearer: tokens.access_token })).status).toBe(200)
        expect((await go('GET', '/maybe')).status).toBe(200)
        expect((await go('OPTIONS', '/me')).status).toBe(204)
        expect((await go('POST', '/settings', { bearer: tokens.access_token })).status).toBe(200)
        expect((await go('GET', '/me')).status).toBe(401)
        expect((await go('GET', '/me', { bearer: 'not-a-token' })).status).toBe(401)
        expect((await go('POST', '/login', { json: { username: 'bob' } })).status).toBe(401)
        const next = (await go('POST', '/refresh', { bearer: tokens.refresh_token })).body
        expect((await go('POST', '/logout', { bearer: next.access_token })).status).toBe(200)
        tick(60 * 60_000) // everything expired
        expect((await go('GET', '/me', { bearer: tokens.access_token })).status).toBe(401)
        for (const reply of seen) {
          expect(reply.headers.get('set-cookie')).toBeNull()
          expect(reply.cookies).toEqual([])
        }
      })

      it('cookie mode: HttpOnly token cookies and readable CSRF cookies, browser-session without remember', async () => {
        const reply = await login('cookies', false)
        expect(reply.cookies.map((c) => c.name).sort()).toEqual([...COOKIE_NAMES].sort())
        for (const name of [ACCESS, REFRESH]) expect(reply.cookie(name)?.attrs.httponly).toBe(true)
        for (const name of [CSRF_ACCESS, CSRF_REFRESH])
          expect(reply.cookie(name)?.attrs.httponly).toBeUndefined()
        for (const cookie of reply.cookies) {
          expect(cookie.attrs['max-age']).toBeUndefined()
          expect(cookie.attrs.expires).toBeUndefined()
          expect(cookie.attrs.secure).toBe(true)
          expect(cookie.attrs.samesite).toBe('Strict')
          expect(cookie.attrs.domain).toBe('example.test')
        }
        expect(reply.cookie(ACCESS)?.attrs.path).toBe('/')
        expect(reply.cookie(REFRESH)?.attrs.path).toBe('/refresh')
        expect(reply.cookie(CSRF_REFRESH)?.attrs.path).toBe('/refresh')
        expect(reply.cookie(CSRF_ACCESS)?.value).toBe(reply.body.csrf)
        expect(reply.cookie(ACCESS)?.value).toBe(reply.body.access_token)
        expect(reply.headers.get('cache-control')).toBe('no-store')
      })

      it('cookie mode with remember: persistent cookies, Max-Age = each token lifetime', async () => {
        const reply = await login('cookies', true)
        // The token's exp is a whole second, so the cookie ends with the token, at most a second early.
        const lifetime = (token: string) =>
          String(Math.floor((auths.cookies.decodeToken(token).claims.exp! * 1000 - clock.now) / 1000))
        const access = lifetime(reply.body.access_token)
        const refresh = lifetime(reply.body.refresh_token)
        expect(Number(access)).toBeGreaterThanOrEqual(899)
        expect(Number(refresh)).toBeGreaterThanOrEqual(30 * 86_400 - 1)
        expect(reply.cookie(ACCESS)?.attrs['max-age']).toBe(access)
        expect(reply.cookie(CSRF_ACCESS)?.attrs['max-age']).toBe(access)
        expect(reply.cookie(REFRESH)?.attrs['max-age']).toBe(refresh)
        expect(reply.cookie(CSRF_REFRESH)?.attrs['max-age']).toBe(refresh)
      })

      it('an inactive user is refused with USER_INACTIVE rendered as {msg, code}', async () => {
        const reply = await call(url('cookies'), 'POST', '/login', { json: { username: 'bob' } })
        expectError(reply, 'USER_INACTIVE', 401)
        expect(reply.cookies).toEqual([])
      })
    })

    // Not generated where no raw socket reaches the app (a Worker behind a service binding).
    if (options.rawSockets !== false)
      describe('repeated Authorization headers (raw socket: fetch would join them)', () => {
        it('two Authorization headers, even both valid, are refused with TOKEN_INVALID', async () => {
          const token = auths.headers.createAccessToken(alice)
          const { status, body } = await rawRequest(url('headers'), [
            'GET /me HTTP/1.1',
            'Host: 127.0.0.1',
            `Authorization: Bearer ${token}`,
            `Authorization: Bearer ${token}`,
            'Connection: close',
          ])
          expect(status).toBe(401)
          expect(JSON.parse(body).code).toBe('TOKEN_INVALID')
        })
        it('one Authorization header over the same raw socket is accepted (the test can tell)', async () => {
          const token = auths.headers.createAccessToken(alice)
          const { status } = await rawRequest(url('headers'), [
            'GET /me HTTP/1.1',
            'Host: 127.0.0.1',
            `Authorization: Bearer ${token}`,
            'Connection: close',
          ])
          expect(status).toBe(200)
        })
      })

    describe('token locations', () => {
      it('Authorization header', async () => {
        const { body } = await login('all')
        const reply = await call(url('all'), 'GET', '/me', { bearer: body.access_token })
        expect(reply.status).toBe(200)
        expect(reply.body).toMatchObject({ user: alice, sub: 'alice', location: 'headers', fresh: true })
      })

      it('cookie; a GET needs no CSRF value', async () => {
        const session = await login('all')
        const reply = await call(url('all'), 'GET', '/me', {
          cookies: { [ACCESS]: session.body.access_token },
        })
        expect(reply.status).toBe(200)
        expect(reply.body.location).toBe('cookies')
      })

      it('JSON body, and the handler can still read the body', async () => {
        const { body } = await login('all')
        const reply = await call(url('all'), 'POST', '/me', {
          json: { access_token: body.access_token, echo: 'still readable' },
        })
        expect(reply.status).toBe(200)
        expect(reply.body).toMatchObject({ location: 'json', echo: 'still readable', user: alice })
      })

      it('query string', async () => {
        const { body } = await login('all')
        const reply = await call(url('all'), 'GET', `/me?jwt=${body.access_token}`)
        expect(reply.status).toBe(200)
        expect(reply.body.location).toBe('query')
      })

      it('the configured order is the order of precedence', async () => {
        const { body } = await login('all')
        const reply = await call(url('all'), 'GET', '/me?jwt=garbage', {
          bearer: body.access_token,
          cookies: { [ACCESS]: 'garbage' },
        })
        expect(reply.status).toBe(200)
        expect(reply.body.location).toBe('headers')
      })

      it('a body that is not declared JSON is not read for a token', async () => {
        const { body } = await login('all')
        const raw = JSON.stringify({ access_token: body.access_token })
        const reply = await call(url('all'), 'POST', '/me', { body: raw, contentType: 'text/plain' })
        expectError(reply, 'TOKEN_MISSING', 401)
      })

      it('refresh token from a JSON body', async () => {
        const { body } = await login('all')
        const reply = await call(url('all'), 'POST', '/refresh', {
          json: { refresh_token: body.refresh_token },
        })
        expect(reply.status).toBe(200)
        expect(reply.body.access_token).toEqual(expect.any(String))
      })

      it('only configured locations are read', async () => {
        const session = await login('cookies')
        const reply = await call(url('cookies'), 'GET', `/me?jwt=${session.body.access_token}`, {
          bearer: session.body.access_token,
        })
        expectError(reply, 'TOKEN_MISSING', 401)
      })
    })

    describe('CSRF', () => {
      it('a POST with a cookie token and no CSRF value is refused', async () => {
        const session = await login('cookies')
        const reply = await call(url('cookies'), 'POST', '/settings', { cookies: jar(session) })
        expectError(reply, 'CSRF_FAILED', 403)
      })

      it('a POST with a mismatched CSRF value is refused', async () => {
        const session = await login('cookies')
        const other = await login('cookies')
        const reply = await call(url('cookies'), 'POST', '/settings', {
          cookies: jar(session),
          csrf: other.body.csrf,
        })
        expectError(reply, 'CSRF_FAILED', 403)
      })

      it('a POST with the matching CSRF value passes', async () => {
        const session = await login('cookies')
        const cookies = jar(session)
        const reply = await call(url('cookies'), 'POST', '/settings', { cookies, csrf: cookies[CSRF_ACCESS] })
        expect(reply.status).toBe(200)
        expect(reply.body).toEqual({ ok: true })
      })

      it('refresh from cookies takes the refresh CSRF value and sets new cookies', async () => {
        const session = await login('cookies')
        const cookies = jar(session)
        const refused = await call(url('cookies'), 'POST', '/refresh', { cookies })
        expectError(refused, 'CSRF_FAILED', 403)
        const reply = await call(url('cookies'), 'POST', '/refresh', { cookies, csrf: cookies[CSRF_REFRESH] })
        expect(reply.status).toBe(200)
        expect(reply.cookies.map((c) => c.name).sort()).toEqual([...COOKIE_NAMES].sort())
        expect(reply.cookie(ACCESS)?.value).not.toBe(cookies[ACCESS])
        expect(reply.cookie(REFRESH)?.attrs.httponly).toBe(true)
      })

      it('a token from a header needs no CSRF value', async () => {
        const { body } = await login('all')
        const reply = await call(url('all'), 'POST', '/settings', { bearer: body.access_token })
        expect(reply.status).toBe(200)
      })
    })

    describe('errors: each code with its status, {msg, code} body and WWW-Authenticate', () => {
      const headerToken = (token: string) => ({ bearer: token })
      const cases: Array<{
        code: AuthErrorCode
        status: number
        run: () => Promise<Reply>
      }> = [
        { code: 'TOKEN_MISSING', status: 401, run: () => call(url('headers'), 'GET', '/me') },
        {
          code: 'TOKEN_INVALID',
          status: 401,
          run: () => call(url('headers'), 'GET', '/me', headerToken('not.a.token')),
        },
        {
          code: 'TOKEN_EXPIRED',
          status: 401,
          run: async () => {
            const token = auths.headers.createAccessToken(alice)
            tick(16 * 60_000)
            return call(url('headers'), 'GET', '/me', headerToken(token))
          },
        },
        {
          code: 'TOKEN_NOT_YET_VALID',
          status: 401,
          run: async () => {
            tick(60 * 60_000)
            const token = auths.headers.createAccessToken(alice)
            clock.now -= 60 * 60_000
            const reply = await call(url('headers'), 'GET', '/me', headerToken(token))
            tick(60 * 60_000)
            return reply
          },
        },
        {
          code: 'WRONG_TOKEN_TYPE',
          status: 401,
          run: () => call(url('headers'), 'GET', '/me', headerToken(auths.headers.createRefreshToken(alice))),
        },
        {
          code: 'FRESH_TOKEN_REQUIRED',
          status: 401,
          run: () =>
            call(url('headers'), 'POST', '/settings', headerToken(auths.headers.createAccessToken(alice))),
        },
        {
          code: 'TOKEN_REVOKED',
          status: 401,
          run: async () => {
            const token = auths.headers.createAccessToken(alice)
            await auths.headers.revokeToken(auths.headers.decodeToken(token).claims)
            return call(url('headers'), 'GET', '/me', headerToken(token))
          },
        },
        {
          code: 'USER_NOT_FOUND',
          status: 401,
          run: () =>
            call(url('headers'), 'GET', '/me', headerToken(auths.headers.createAccessToken('ghost'))),
        },
        {
          code: 'USER_INACTIVE',
          status: 401,
          run: () => call(url('headers'), 'GET', '/me', headerToken(auths.headers.createAccessToken('bob'))),
        },
        {
          code: 'CLAIMS_REJECTED',
          status: 403,
          run: () =>
            call(
              url('headers'),
              'GET',
              '/me',
              headerToken(auths.headers.createAccessToken(alice, { claims: { blocked: true } })),
            ),
        },
        {
          code: 'CSRF_FAILED',
          status: 403,
          run: async () => call(url('cookies'), 'POST', '/logout', { cookies: jar(await login('cookies')) }),
        },
        {
          code: 'REVOCATION_UNAVAILABLE',
          status: 503,
          run: () => call(url('broken'), 'GET', '/me', headerToken(auths.broken.createAccessToken(alice))),
        },
      ]

      it.each(cases)('$code → $status', async ({ code, status, run }) => {
        const reply = await run()
        expectError(reply, code, status)
        if (code === 'TOKEN_MISSING') expect(reply.headers.get('www-authenticate')).toBe('Bearer')
        else if (status === 401)
          expect(reply.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/)
        if (code === 'REVOCATION_UNAVAILABLE') expect(reply.headers.get('retry-after')).toBe('1')
      })
    })

    describe('a store, claims check and user loader that answer with promises', () => {
      const bearer = (token: string) => ({ bearer: token })
      it('authenticates, and a login, refresh and logout cycle works', async () => {
        const base = url('async')
        const { body } = await login('async')
        const me = await call(base, 'GET', '/me', bearer(body.access_token))
        expect(me.status).toBe(200)
        expect(me.body).toMatchObject({ user: alice, sub: 'alice', location: 'headers' })
        const next = await call(base, 'POST', '/refresh', bearer(body.refresh_token))
        expect(next.status).toBe(200)
        expect((await call(base, 'POST', '/logout', bearer(next.body.access_token))).status).toBe(200)
        expectError(await call(base, 'GET', '/me', bearer(next.body.access_token)), 'TOKEN_REVOKED', 401)
      })

      it('refuses what the synchronous configuration refuses, with the same codes', async () => {
        const a = auths.async
        const base = url('async')
        const revoked = a.createAccessToken(alice)
        await a.revokeToken(a.decodeToken(revoked).claims)
        expectError(await call(base, 'GET', '/me', bearer(revoked)), 'TOKEN_REVOKED', 401)
        expectError(
          await call(base, 'GET', '/me', bearer(a.createAccessToken('ghost'))),
          'USER_NOT_FOUND',
          401,
        )
        expectError(await call(base, 'GET', '/me', bearer(a.createAccessToken('bob'))), 'USER_INACTIVE', 401)
        const blocked = a.createAccessToken(alice, { claims: { blocked: true } })
        expectError(await call(base, 'GET', '/me', bearer(blocked)), 'CLAIMS_REJECTED', 403)
        const swallowed = await call(base, 'GET', '/swallow/me', bearer(a.createAccessToken('ghost')))
        expectError(swallowed, 'USER_NOT_FOUND', 401)
      })
    })

    describe('optional route', () => {
      it('anonymous without a token', async () => {
        const reply = await call(url('headers'), 'GET', '/maybe')
        expect(reply.status).toBe(200)
        expect(reply.body).toEqual({ authenticated: false, user: null })
      })

      it('the user with a token', async () => {
        const { body } = await login('headers')
        const reply = await call(url('headers'), 'GET', '/maybe', { bearer: body.access_token })
        expect(reply.body).toEqual({ authenticated: true, user: alice })
      })

      it('a bad token is still refused', async () => {
        const reply = await call(url('headers'), 'GET', '/maybe', { bearer: 'not.a.token' })
        expectError(reply, 'TOKEN_INVALID', 401)
      })
    })

    describe('fresh route', () => {
      it('passes with the fresh token of a login', async () => {
        const { body } = await login('headers')
        const reply = await call(url('headers'), 'POST', '/settings', { bearer: body.access_token })
        expect(reply.status).toBe(200)
      })

      it('refuses the non-fresh token of a refresh', async () => {
        const { body } = await login('headers')
        const next = await call(url('headers'), 'POST', '/refresh', { bearer: body.refresh_token })
        expect(next.status).toBe(200)
        const me = await call(url('headers'), 'GET', '/me', { bearer: next.body.access_token })
        expect(me.body.fresh).toBe(false)
        const reply = await call(url('headers'), 'POST', '/settings', { bearer: next.body.access_token })
        expectError(reply, 'FRESH_TOKEN_REQUIRED', 401)
      })
    })

    describe('refresh', () => {
      it('rotates; reusing a rotated refresh token revokes the whole login', async () => {
        const base = url('headers')
        const first = (await login('headers')).body
        const second = await call(base, 'POST', '/refresh', { bearer: first.refresh_token })
        expect(second.status).toBe(200)
        expect(second.body.refresh_token).not.toBe(first.refresh_token)
        expect((await call(base, 'GET', '/me', { bearer: second.body.access_token })).status).toBe(200)
        tick(1000)
        expectError(
          await call(base, 'POST', '/refresh', { bearer: first.refresh_token }),
          'TOKEN_REVOKED',
          401,
        )
        expectError(
          await call(base, 'POST', '/refresh', { bearer: second.body.refresh_token }),
          'TOKEN_REVOKED',
          401,
        )
        expectError(
          await call(base, 'GET', '/me', { bearer: second.body.access_token }),
          'TOKEN_REVOKED',
          401,
        )
      })

      it('an access token is refused on the refresh route', async () => {
        const { body } = await login('headers')
        expectError(
          await call(url('headers'), 'POST', '/refresh', { bearer: body.access_token }),
          'WRONG_TOKEN_TYPE',
          401,
        )
      })
    })

    describe('logout', () => {
      it('revokes the access token and its refresh token', async () => {
        const base = url('headers')
        const { body } = await login('headers')
        const reply = await call(base, 'POST', '/logout', { bearer: body.access_token })
        expect(reply.status).toBe(200)
        expect(reply.body).toEqual({ ok: true })
        expect(reply.cookies).toEqual([])
        expectError(await call(base, 'GET', '/me', { bearer: body.access_token }), 'TOKEN_REVOKED', 401)
        expectError(
          await call(base, 'POST', '/refresh', { bearer: body.refresh_token }),
          'TOKEN_REVOKED',
          401,
        )
      })

      it('clears every cookie, repeating the attributes it was set with', async () => {
        const session = await login('cookies')
        const cookies = jar(session)
        const reply = await call(url('cookies'), 'POST', '/logout', { cookies, csrf: cookies[CSRF_ACCESS] })
        expect(reply.status).toBe(200)
        expect(reply.cookies.map((c) => c.name).sort()).toEqual([...COOKIE_NAMES].sort())
        for (const cleared of reply.cookies) {
          const set = session.cookie(cleared.name)!
          expect(cleared.value).toBe('')
          expect(cleared.attrs['max-age']).toBe('0')
          const { 'max-age': _a, expires: _b, ...kept } = cleared.attrs
          expect(kept).toEqual(set.attrs)
        }
        const after = await call(url('cookies'), 'GET', '/me', { cookies })
        expectError(after, 'TOKEN_REVOKED', 401)
      })
    })

    describe('implicit refresh', () => {
      it('nothing outside the window', async () => {
        const session = await login('implicit')
        tick(60_000)
        const reply = await call(url('implicit'), 'GET', '/me', { cookies: jar(session) })
        expect(reply.status).toBe(200)
        expect(reply.cookies).toEqual([])
      })

      it('a new HttpOnly access cookie inside the window', async () => {
        const session = await login('implicit')
        tick(6 * 60_000)
        const reply = await call(url('implicit'), 'GET', '/me', { cookies: jar(session) })
        expect(reply.status).toBe(200)
        // The access cookie, and its CSRF cookie again with the same value; nothing else.
        expect(reply.cookies.map((c) => c.name).sort()).toEqual([ACCESS, CSRF_ACCESS])
        expect(reply.cookie(CSRF_ACCESS)?.value).toBe(session.body.csrf)
        const fresh = reply.cookie(ACCESS)!
        expect(fresh.attrs.httponly).toBe(true)
        const before = auths.implicit.decodeToken(session.body.access_token).claims.exp!
        expect(auths.implicit.decodeToken(fresh.value).claims.exp!).toBeGreaterThan(before)
        tick(6 * 60_000) // the old token has expired; the new one works
        const again = await call(url('implicit'), 'GET', '/me', { cookies: { [ACCESS]: fresh.value } })
        expect(again.status).toBe(200)
      })

      it('never on the logout response', async () => {
        const session = await login('implicit')
        const cookies = jar(session)
        tick(6 * 60_000)
        const reply = await call(url('implicit'), 'POST', '/logout', { cookies, csrf: cookies[CSRF_ACCESS] })
        expect(reply.status).toBe(200)
        expect(reply.cookies.length).toBeGreaterThan(0)
        for (const cookie of reply.cookies) {
          expect(cookie.value).toBe('')
          expect(cookie.attrs['max-age']).toBe('0')
        }
      })

      it('never for a token from a header', async () => {
        const { body } = await login('implicit')
        tick(6 * 60_000)
        const reply = await call(url('implicit'), 'GET', '/me', { bearer: body.access_token })
        expect(reply.status).toBe(200)
        expect(reply.body.location).toBe('headers')
        expect(reply.cookies).toEqual([])
      })

      it('an expired access cookie is cleared', async () => {
        const session = await login('implicit')
        tick(11 * 60_000)
        const reply = await call(url('implicit'), 'GET', '/me', { cookies: jar(session) })
        expectError(reply, 'TOKEN_EXPIRED', 401)
        expect(reply.cookie(ACCESS)?.attrs['max-age']).toBe('0')
        expect(reply.cookie(ACCESS)?.value).toBe('')
      })
    })

    describe('the framework around the guards', () => {
      it('a CORS preflight passes the guard', async () => {
        const reply = await call(url('cookies'), 'OPTIONS', '/me', {
          headers: { origin: 'https://app.example.test', 'access-control-request-method': 'GET' },
        })
        expect(reply.status).toBe(204)
        expect(reply.cookies).toEqual([])
      })

      it("a handler's own error is the framework's 500", async () => {
        const reply = await call(url('headers'), 'GET', '/boom')
        expect(reply.status).toBe(500)
        expect(reply.body.code).not.toBe('TOKEN_MISSING')
      })

      it('an error handler that swallows errors cannot turn a 401 into a 500', async () => {
        const refused = await call(url('headers'), 'GET', '/swallow/me')
        expectError(refused, 'TOKEN_MISSING', 401)
        const { body } = await login('headers')
        const reply = await call(url('headers'), 'GET', '/swallow/me', { bearer: body.access_token })
        expect(reply.status).toBe(200)
        expect(reply.body.user).toEqual(alice)
      })

      it("handleErrors 'framework': the framework's error handling renders it with latchkey's handler", async () => {
        expectError(await call(url('headers'), 'GET', '/framework/me'), 'TOKEN_MISSING', 401)
        const { body } = await login('headers')
        const reply = await call(url('headers'), 'GET', '/framework/me', { bearer: body.access_token })
        expect(reply.status).toBe(200)
      })
    })
  })
}
