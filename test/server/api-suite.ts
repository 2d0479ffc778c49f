/**
 * The HTTP API of the reference server, end to end over real sockets: every endpoint and every error
 * of the issue. Defined once and run on each backend (SQLite, PostgreSQL, Redis as the store).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RawSettings } from '../../src/server/config.js'
import {
  claimsOf,
  cookieValue,
  fresh,
  type Reply,
  startServer,
  type TestServer,
  type TokenBody,
} from './harness.js'
import { tempDir } from './helpers.js'

/** What a backend gives the suite: settings (DATABASE_URL, REDIS_URL, ...) and a cleanup. */
export interface BackendSetup {
  settings: RawSettings
  cleanup(): Promise<void>
  /** Counts what the revocation store holds, to prove revocations land where they should. */
  countRevocations(server: TestServer): Promise<number>
}

const PASSWORD = 'correct horse battery'
const TOKEN_COOKIES = [
  'access_token_cookie',
  'refresh_token_cookie',
  'csrf_access_token',
  'csrf_refresh_token',
]

function names(cookies: string[]): string[] {
  return cookies.map((c) => c.slice(0, c.indexOf('=')))
}

/** Headers that must be identical between two answers meant to be indistinguishable. */
function comparable(reply: Reply<unknown>): Record<string, string> {
  const out: Record<string, string> = {}
  reply.headers.forEach((value, name) => {
    if (!['date', 'x-request-id', 'keep-alive', 'connection'].includes(name)) out[name] = value
  })
  return out
}

/**
 * Registers the suite. `setup` runs once (beforeAll) and returns the backend's settings.
 */
export function defineApiSuite(backend: string, setup: () => Promise<BackendSetup>): void {
  describe(`reference server API on ${backend}`, () => {
    let server: TestServer
    let backendSetup: BackendSetup | undefined
    const folder = tempDir()
    const secrets: string[] = [PASSWORD]

    beforeAll(async () => {
      backendSetup = await setup()
      server = await startServer(backendSetup.settings, { cwd: folder.dir })
    })
    afterAll(async () => {
      await server?.close()
      await backendSetup?.cleanup()
      folder.remove()
    })

    async function account(prefix = 'user', password = PASSWORD) {
      const who = fresh(prefix)
      const signup = await server.client.signup(who.email, password, 'Test User')
      expect(signup.status).toBe(202)
      const user = await server.app.latchkey.users.findByEmail(who.email)
      return { ...who, id: user!.id, password }
    }

    async function loggedIn(prefix = 'user', options: { remember?: boolean } = {}) {
      const who = await account(prefix)
      const login = await server.client.login(who.email, who.password, { from: who.from, ...options })
      expect(login.status).toBe(200)
      secrets.push(login.body.access_token, login.body.refresh_token)
      return { ...who, login, access: login.body.access_token, refresh: login.body.refresh_token }
    }

    describe('health: GET /livez, /readyz and /healthz', () => {
      it('answers 200 {"status":"ok"} when the backends answer, never cached', async () => {
        for (const path of ['/livez', '/readyz', '/healthz']) {
          const reply = await server.client.get(path)
          expect({ path, status: reply.status, body: reply.body }).toEqual({
            path,
            status: 200,
            body: { status: 'ok' },
          })
          expect(reply.headers.get('cache-control'), path).toBe('no-store')
        }
      })
    })

    describe('POST /auth/signup', () => {
      it('creates an account: 202 {msg}, email trimmed, lower-cased and NFC', async () => {
        const tag = fresh().email.split('@')[0]!
        // "e" + combining acute, upper-cased and padded: stored as "é", lower case, trimmed.
        const typed = `  CAFE\u0301-${tag.toUpperCase()}@Example.COM \t`
        const reply = await server.client.signup(typed, PASSWORD, 'Ada')
        expect(reply.status).toBe(202)
        expect(reply.body).toEqual({ msg: expect.stringMatching(/^Sign-up received/) })
        expect(reply.cookies).toEqual([])
        const email = `caf\u00e9-${tag}@example.com`
        const login = await server.client.login(email, PASSWORD, { from: fresh().from })
        expect(login.status).toBe(200)
        const me = await server.client.get<{ user: Record<string, unknown> }>('/auth/me', {
          token: login.body.access_token,
        })
        expect(me.body.user).toEqual({ id: expect.any(String), email, name: 'Ada', email_verified: false })
        expect(Object.keys(me.body.user).sort()).toEqual(['email', 'email_verified', 'id', 'name'])
      })

      it('stores a missing name as null', async () => {
        const who = fresh()
        expect((await server.client.signup(who.email, PASSWORD)).status).toBe(202)
        const login = await server.client.login(who.email, PASSWORD, { from: who.from })
        const me = await server.client.get<{ user: { name: unknown } }>('/auth/me', {
          token: login.body.access_token,
        })
        expect(me.body.user.name).toBeNull()
      })

      it('a taken email (any case or spacing) gets the very same 202 answer, and the account keeps its password', async () => {
        const who = await account()
        const fresh202 = await server.client.signup(fresh().email, 'another password')
        const again = await server.client.signup(` ${who.email.toUpperCase()}`, 'another password')
        expect(again.status).toBe(202)
        expect(again.text).toBe(fresh202.text)
        expect(comparable(again)).toEqual(comparable(fresh202))
        expect((await server.client.login(who.email, 'another password', { from: who.from })).status).toBe(
          401,
        )
        expect((await server.client.login(who.email, who.password, { from: who.from })).status).toBe(200)
      })

      it('of 8 concurrent signups with one email, all answer 202 and exactly one password logs in', async () => {
        const { email } = fresh('race')
        const replies = await Promise.all(
          Array.from({ length: 8 }, (_, i) => server.client.signup(email, `${PASSWORD} ${i}`)),
        )
        expect(replies.map((r) => r.status)).toEqual(Array(8).fill(202))
        const logins = await Promise.all(
          Array.from({ length: 8 }, (_, i) =>
            server.client.login(email, `${PASSWORD} ${i}`, { from: fresh().from }),
          ),
        )
        expect(logins.filter((r) => r.status === 200)).toHaveLength(1)
        expect(logins.filter((r) => r.status === 401)).toHaveLength(7)
      })

      it('accepts passwords of 8 and 1024 characters and refuses 7 and 1025 (400 VALIDATION_FAILED)', async () => {
        expect((await server.client.signup(fresh().email, '12345678')).status).toBe(202)
        expect((await server.client.signup(fresh().email, 'é'.repeat(1024))).status).toBe(202)
        for (const password of ['1234567', 'x'.repeat(1025)]) {
          const reply = await server.client.signup(fresh().email, password)
          expect(reply.status).toBe(400)
          expect(reply.body.code).toBe('VALIDATION_FAILED')
        }
      })

      it('refuses invalid bodies with 400 VALIDATION_FAILED', async () => {
        const bad: unknown[] = [
          {},
          { email: fresh().email },
          { password: PASSWORD },
          { email: fresh().email, password: 12345678 },
          { email: 'no-at-sign', password: PASSWORD },
          { email: 'a\u0000b@example.com', password: PASSWORD },
          { email: 'a\u200bb@example.com', password: PASSWORD },
          { email: 'a@example.com\u0007', password: PASSWORD },
          { email: fresh().email, password: PASSWORD, name: 'x'.repeat(201) },
          { email: fresh().email, password: 'bad \ud800 surrogate' },
          [],
          'text',
        ]
        for (const body of bad) {
          const reply = await server.client.post('/auth/signup', body)
          expect(reply.status, JSON.stringify(body)).toBe(400)
          expect(reply.body).toEqual({ msg: expect.any(String), code: 'VALIDATION_FAILED' })
        }
      })

      it('decodes bodies as strict UTF-8: invalid bytes are 400 INVALID_JSON, never replaced (no password or email collisions)', async () => {
        const send = (bytes: Buffer) =>
          fetch(`${server.client.base}/auth/signup`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: new Uint8Array(bytes),
          })
        const email = fresh().email
        const withByte = (byte: number) =>
          Buffer.concat([
            Buffer.from(`{"email":"${email}","password":"password-`),
            Buffer.from([byte]),
            Buffer.from('"}'),
          ])
        for (const byte of [0xff, 0xfe, 0xc0, 0x80]) {
          const reply = await send(withByte(byte))
          expect({ byte, status: reply.status, body: await reply.json() }).toEqual({
            byte,
            status: 400,
            body: { msg: 'Body is not valid UTF-8', code: 'INVALID_JSON' },
          })
        }
        // Nothing was created: the password with U+FFFD in the bad byte's place is a new signup.
        const replaced = await server.client.signup(email, 'password-\uFFFD')
        expect(replaced.status).toBe(202)
        expect((await server.client.login(email, 'password-\uFFFD', { from: fresh().from })).status).toBe(200)
        const login = await fetch(`${server.client.base}/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: new Uint8Array(withByte(0xff)),
        })
        expect(login.status).toBe(400)
      })

      it('refuses malformed JSON with 400 INVALID_JSON, without echoing it', async () => {
        for (const body of ['{"email":', '', '{"__proto__":{"x":1},"email":"a@b.c","password":"12345678"}']) {
          const reply = await server.client.request('POST', '/auth/signup', { body })
          expect(reply.status).toBe(400)
          expect(reply.body).toEqual({ msg: 'Body is not valid JSON', code: 'INVALID_JSON' })
        }
      })

      it('accepts only application/json: 415 for text/plain, forms and no content type', async () => {
        const json = JSON.stringify({ email: fresh().email, password: PASSWORD })
        for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', null]) {
          const reply = await server.client.request('POST', '/auth/signup', { body: json, contentType })
          expect(reply.status, String(contentType)).toBe(415)
          expect(reply.body).toEqual({ msg: expect.any(String), code: 'UNSUPPORTED_MEDIA_TYPE' })
        }
        const charset = await server.client.request('POST', '/auth/signup', {
          body: json,
          contentType: 'application/json; charset=utf-8',
        })
        expect(charset.status).toBe(202)
      })
    })

    describe('POST /auth/login', () => {
      it('returns the token response with no-store, and a fresh access token', async () => {
        const who = await loggedIn()
        const { login } = who
        expect(login.body).toEqual({
          msg: expect.any(String),
          access_token: expect.any(String),
          refresh_token: expect.any(String),
          token_type: 'Bearer',
          // exp has whole seconds; the lifetime from the millisecond of issue is 899.x to 900 s.
          expires_in: expect.toSatisfy((n: number) => n === 899 || n === 900),
        })
        expect(login.headers.get('cache-control')).toBe('no-store')
        const claims = claimsOf(who.access)
        expect(claims).toMatchObject({ sub: who.id, type: 'access', fresh: true })
        expect(claimsOf(who.refresh)).toMatchObject({ sub: who.id, type: 'refresh', fam: claims.fam })
      })

      it('sets HttpOnly token cookies, readable CSRF cookies and nothing else; session cookies without remember', async () => {
        const { login } = await loggedIn()
        expect(names(login.cookies).sort()).toEqual([...TOKEN_COOKIES].sort())
        for (const c of login.cookies) {
          expect(c).toContain('SameSite=Lax')
          expect(c).not.toContain('Max-Age')
          expect(c.includes('HttpOnly')).toBe(!c.startsWith('csrf_'))
        }
        expect(login.cookies.find((c) => c.startsWith('refresh_token_cookie='))).toContain(
          'Path=/auth/refresh',
        )
        expect(cookieValue(login.cookies, 'csrf_access_token')).toBe(claimsOf(login.body.access_token).csrf)
      })

      it('makes persistent cookies with remember: true', async () => {
        const { login } = await loggedIn('remember', { remember: true })
        const access = login.cookies.find((c) => c.startsWith('access_token_cookie='))!
        const refresh = login.cookies.find((c) => c.startsWith('refresh_token_cookie='))!
        expect(access).toMatch(/Max-Age=(899|900);/)
        expect(refresh).toMatch(/Max-Age=\d{7};/)
      })

      it('answers a wrong password and an unknown email identically: 401 INVALID_CREDENTIALS', async () => {
        const who = await account()
        const wrong = await server.client.login(who.email, 'not the password', { from: who.from })
        const unknown = await server.client.login(fresh().email, 'not the password', { from: who.from })
        for (const reply of [wrong, unknown]) {
          expect(reply.status).toBe(401)
          expect(reply.body).toEqual({ msg: 'Invalid email or password', code: 'INVALID_CREDENTIALS' })
        }
        expect(comparable(wrong)).toEqual(comparable(unknown))
        expect(wrong.headers.get('cache-control')).toBe('no-store')
        expect(wrong.cookies).toEqual([])
      })

      it('locks out (client address, email) after too many failures: 429 TOO_MANY_ATTEMPTS with Retry-After, even for the right password', async () => {
        const who = await account()
        for (let i = 0; i < 3; i++) {
          expect((await server.client.login(who.email, `wrong ${i}`, { from: who.from })).status).toBe(401)
        }
        const locked = await server.client.login(who.email, 'wrong again', { from: who.from })
        expect(locked.status).toBe(429)
        expect(locked.body).toEqual({ msg: expect.any(String), code: 'TOO_MANY_ATTEMPTS' })
        const retryAfter = Number(locked.headers.get('retry-after'))
        expect(retryAfter).toBeGreaterThan(0)
        expect(retryAfter).toBeLessThanOrEqual(900)
        // The right password gets the very same answer: a lock-out never reveals the password.
        const right = await server.client.login(who.email, who.password, { from: who.from })
        expect(right.status).toBe(429)
        expect(right.body).toEqual(locked.body)
        // Another address, or another email from this address, is not locked.
        expect((await server.client.login(who.email, who.password, { from: fresh().from })).status).toBe(200)
        const other = await account()
        expect((await server.client.login(other.email, other.password, { from: who.from })).status).toBe(200)
      })

      it('locks unknown emails out the same way', async () => {
        const who = fresh()
        const replies: number[] = []
        for (let i = 0; i < 4; i++)
          replies.push((await server.client.login(who.email, 'x', { from: who.from })).status)
        expect(replies).toEqual([401, 401, 401, 429])
      })

      it('forgets failures after a successful login', async () => {
        const who = await account()
        for (let i = 0; i < 2; i++) await server.client.login(who.email, 'wrong', { from: who.from })
        expect((await server.client.login(who.email, who.password, { from: who.from })).status).toBe(200)
        const after: number[] = []
        for (let i = 0; i < 3; i++)
          after.push((await server.client.login(who.email, 'wrong', { from: who.from })).status)
        expect(after).toEqual([401, 401, 401])
      })

      it('has no minimum length at login, but refuses over 1024 characters before hashing', async () => {
        const { email, from } = fresh('legacy')
        // An account from before the 8-character rule.
        const hash = await server.app.latchkey.hasher.hash('abc')
        await server.app.latchkey.users.create({ email, passwordHash: hash })
        expect((await server.client.login(email, 'abc', { from })).status).toBe(200)
        const long = await server.client.login(email, 'x'.repeat(1025), { from })
        expect(long.status).toBe(400)
        expect(long.body.code).toBe('VALIDATION_FAILED')
      })

      it('keeps a NUL inside a password (never truncates)', async () => {
        const who = await account('nul', 'before\u0000after-the-nul')
        expect((await server.client.login(who.email, 'before', { from: who.from })).status).toBe(401)
        expect((await server.client.login(who.email, 'before\u0000', { from: fresh().from })).status).toBe(
          401,
        )
        expect(
          (await server.client.login(who.email, 'before\u0000after-the-nul', { from: fresh().from })).status,
        ).toBe(200)
      })

      it('gives USER_INACTIVE to a disabled user only after the right password', async () => {
        const who = await loggedIn('disabled')
        await server.app.latchkey.users.setActive(who.id, false)
        const wrong = await server.client.login(who.email, 'wrong password', { from: who.from })
        expect(wrong.status).toBe(401)
        expect(wrong.body.code).toBe('INVALID_CREDENTIALS')
        const right = await server.client.login(who.email, who.password, { from: who.from })
        expect(right.status).toBe(401)
        expect(right.body.code).toBe('USER_INACTIVE')
        expect(right.cookies).toEqual([])
        // Tokens issued before are refused too.
        const me = await server.client.get('/auth/me', { token: who.access })
        expect(me.status).toBe(401)
        expect(me.body.code).toBe('USER_INACTIVE')
      })

      it('refuses bad bodies (400), malformed JSON (400 INVALID_JSON) and non-JSON (415)', async () => {
        expect((await server.client.post('/auth/login', { email: 'a@b.c' })).status).toBe(400)
        expect((await server.client.post('/auth/login', { email: 'a@b.c', password: true })).body.code).toBe(
          'VALIDATION_FAILED',
        )
        expect((await server.client.request('POST', '/auth/login', { body: '{"email"' })).body.code).toBe(
          'INVALID_JSON',
        )
        const form = await server.client.request('POST', '/auth/login', {
          body: 'email=a%40b.c&password=12345678',
          contentType: 'application/x-www-form-urlencoded',
        })
        expect(form.status).toBe(415)
        expect(form.body.code).toBe('UNSUPPORTED_MEDIA_TYPE')
      })

      it('a login right after logout-all works at once', async () => {
        const who = await loggedIn()
        expect((await server.client.post('/auth/logout-all', undefined, { token: who.access })).status).toBe(
          200,
        )
        const again = await server.client.login(who.email, who.password, { from: who.from })
        expect(again.status).toBe(200)
        expect((await server.client.get('/auth/me', { token: again.body.access_token })).status).toBe(200)
      })
    })

    describe('GET /auth/me', () => {
      it('returns the user for a valid access token (header or cookie)', async () => {
        const who = await loggedIn()
        const byHeader = await server.client.get('/auth/me', { token: who.access })
        expect(byHeader.status).toBe(200)
        expect(byHeader.body).toEqual({
          user: { id: who.id, email: who.email, name: 'Test User', email_verified: false },
        })
        const byCookie = await server.client.get('/auth/me', { cookies: who.login.cookies })
        expect(byCookie.status).toBe(200)
      })

      it('refuses missing, malformed, refresh and foreign tokens (401 with WWW-Authenticate)', async () => {
        const who = await loggedIn()
        const missing = await server.client.get('/auth/me')
        expect(missing.status).toBe(401)
        expect(missing.body.code).toBe('TOKEN_MISSING')
        expect(missing.headers.get('www-authenticate')).toBe('Bearer')
        const garbage = await server.client.get('/auth/me', { token: 'not.a.token' })
        expect(garbage.body.code).toBe('TOKEN_INVALID')
        expect(garbage.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/)
        expect((await server.client.get('/auth/me', { token: who.refresh })).body.code).toBe(
          'WRONG_TOKEN_TYPE',
        )
        const [h, p] = who.access.split('.')
        const forged = await server.client.get('/auth/me', { token: `${h}.${p}.${'A'.repeat(43)}` })
        expect(forged.body.code).toBe('TOKEN_INVALID')
      })
    })

    describe('POST /auth/refresh', () => {
      it('rotates with the refresh token in the header: new non-fresh access token, new refresh token', async () => {
        const who = await loggedIn()
        const reply = await server.client.post<TokenBody>('/auth/refresh', undefined, { token: who.refresh })
        expect(reply.status).toBe(200)
        expect(reply.headers.get('cache-control')).toBe('no-store')
        expect(reply.body.token_type).toBe('Bearer')
        expect(claimsOf(reply.body.access_token)).toMatchObject({ type: 'access', fresh: false })
        expect(reply.body.refresh_token).not.toBe(who.refresh)
        expect(claimsOf(reply.body.refresh_token).fam).toBe(claimsOf(who.refresh).fam)
        expect((await server.client.get('/auth/me', { token: reply.body.access_token })).status).toBe(200)
      })

      it('takes the refresh token from a JSON body', async () => {
        const who = await loggedIn()
        const reply = await server.client.post<TokenBody>('/auth/refresh', { refresh_token: who.refresh })
        expect(reply.status).toBe(200)
      })

      it('takes the refresh cookie, with the CSRF header only', async () => {
        const who = await loggedIn()
        const noCsrf = await server.client.post('/auth/refresh', undefined, { cookies: who.login.cookies })
        expect(noCsrf.status).toBe(403)
        expect(noCsrf.body.code).toBe('CSRF_FAILED')
        const reply = await server.client.post<TokenBody>('/auth/refresh', undefined, {
          cookies: who.login.cookies,
          headers: { 'x-csrf-token': cookieValue(who.login.cookies, 'csrf_refresh_token')! },
        })
        expect(reply.status).toBe(200)
        expect(names(reply.cookies).sort()).toEqual([...TOKEN_COOKIES].sort())
      })

      it('detects reuse of a rotated refresh token: 401 TOKEN_REVOKED and the whole family is revoked', async () => {
        const who = await loggedIn()
        const first = await server.client.post<TokenBody>('/auth/refresh', undefined, { token: who.refresh })
        expect(first.status).toBe(200)
        const reuse = await server.client.post('/auth/refresh', undefined, { token: who.refresh })
        expect(reuse.status).toBe(401)
        expect(reuse.body.code).toBe('TOKEN_REVOKED')
        // The thief's and the owner's new tokens are gone with it.
        const next = await server.client.post('/auth/refresh', undefined, { token: first.body.refresh_token })
        expect(next.body.code).toBe('TOKEN_REVOKED')
        expect((await server.client.get('/auth/me', { token: first.body.access_token })).body.code).toBe(
          'TOKEN_REVOKED',
        )
        expect((await server.client.get('/auth/me', { token: who.access })).body.code).toBe('TOKEN_REVOKED')
      })

      it('lets exactly one of several concurrent refreshes with one token win', async () => {
        const who = await loggedIn()
        const replies = await Promise.all(
          Array.from({ length: 5 }, () =>
            server.client.post('/auth/refresh', undefined, { token: who.refresh }),
          ),
        )
        expect(replies.filter((r) => r.status === 200)).toHaveLength(1)
        expect(replies.filter((r) => r.status === 401 && r.body.code === 'TOKEN_REVOKED')).toHaveLength(4)
      })

      it('refuses an access token (WRONG_TOKEN_TYPE) and no token (TOKEN_MISSING)', async () => {
        const who = await loggedIn()
        expect((await server.client.post('/auth/refresh', undefined, { token: who.access })).body.code).toBe(
          'WRONG_TOKEN_TYPE',
        )
        expect((await server.client.post('/auth/refresh')).body.code).toBe('TOKEN_MISSING')
      })
    })

    describe('POST /auth/fresh-login and POST /auth/password', () => {
      it('a refreshed (non-fresh) token gets FRESH_TOKEN_REQUIRED; fresh-login makes a fresh one', async () => {
        const who = await loggedIn()
        const refreshed = await server.client.post<TokenBody>('/auth/refresh', undefined, {
          token: who.refresh,
        })
        const stale = refreshed.body.access_token
        const denied = await server.client.post(
          '/auth/password',
          { current_password: who.password, new_password: 'a brand new password' },
          { token: stale },
        )
        expect(denied.status).toBe(401)
        expect(denied.body.code).toBe('FRESH_TOKEN_REQUIRED')

        const wrong = await server.client.post(
          '/auth/fresh-login',
          { password: 'nope' },
          { token: stale, from: who.from },
        )
        expect(wrong.status).toBe(401)
        expect(wrong.body.code).toBe('INVALID_CREDENTIALS')

        const freshLogin = await server.client.post<{
          access_token: string
          token_type: string
          expires_in: number
        }>('/auth/fresh-login', { password: who.password }, { token: stale, from: who.from })
        expect(freshLogin.status).toBe(200)
        expect(freshLogin.headers.get('cache-control')).toBe('no-store')
        expect(freshLogin.body.token_type).toBe('Bearer')
        expect([899, 900]).toContain(freshLogin.body.expires_in)
        expect(claimsOf(freshLogin.body.access_token)).toMatchObject({
          fresh: true,
          fam: claimsOf(stale).fam,
        })
        expect(names(freshLogin.cookies).sort()).toEqual(['access_token_cookie', 'csrf_access_token'])
        secrets.push(freshLogin.body.access_token)

        const changed = await server.client.post<TokenBody>(
          '/auth/password',
          { current_password: who.password, new_password: 'a brand new password' },
          { token: freshLogin.body.access_token, from: who.from },
        )
        expect(changed.status).toBe(200)
      })

      it('fresh-login needs an access token', async () => {
        const reply = await server.client.post('/auth/fresh-login', { password: PASSWORD })
        expect(reply.status).toBe(401)
        expect(reply.body.code).toBe('TOKEN_MISSING')
      })

      it("changing the password refuses every older token, the caller's included, and returns a working pair", async () => {
        const who = await loggedIn()
        const other = await server.client.login(who.email, who.password, { from: fresh().from })
        const newPassword = 'a completely new password'
        secrets.push(newPassword)
        const changed = await server.client.post<TokenBody>(
          '/auth/password',
          { current_password: who.password, new_password: newPassword },
          { token: who.access, from: who.from },
        )
        expect(changed.status).toBe(200)
        expect(changed.headers.get('cache-control')).toBe('no-store')
        expect(names(changed.cookies).sort()).toEqual([...TOKEN_COOKIES].sort())
        for (const old of [who.access, other.body.access_token]) {
          expect((await server.client.get('/auth/me', { token: old })).body.code).toBe('TOKEN_REVOKED')
        }
        for (const old of [who.refresh, other.body.refresh_token]) {
          expect((await server.client.post('/auth/refresh', undefined, { token: old })).body.code).toBe(
            'TOKEN_REVOKED',
          )
        }
        // The new pair works at once, and so does a new login with the new password only.
        expect((await server.client.get('/auth/me', { token: changed.body.access_token })).status).toBe(200)
        expect(
          (await server.client.post('/auth/refresh', undefined, { token: changed.body.refresh_token }))
            .status,
        ).toBe(200)
        expect((await server.client.login(who.email, who.password, { from: fresh().from })).status).toBe(401)
        expect((await server.client.login(who.email, newPassword, { from: fresh().from })).status).toBe(200)
      })

      it('refuses a wrong current password (401) and a short new one (400)', async () => {
        const who = await loggedIn()
        const wrong = await server.client.post(
          '/auth/password',
          { current_password: 'wrong', new_password: 'a brand new password' },
          { token: who.access, from: who.from },
        )
        expect(wrong.status).toBe(401)
        expect(wrong.body.code).toBe('INVALID_CREDENTIALS')
        const short = await server.client.post(
          '/auth/password',
          { current_password: who.password, new_password: 'short' },
          { token: who.access },
        )
        expect(short.status).toBe(400)
        expect(short.body.code).toBe('VALIDATION_FAILED')
        // Still the old password.
        expect((await server.client.get('/auth/me', { token: who.access })).status).toBe(200)
      })

      it('an unauthenticated request learns nothing about the body it should send', async () => {
        const reply = await server.client.post('/auth/password', { nonsense: true })
        expect(reply.status).toBe(401)
        expect(reply.body.code).toBe('TOKEN_MISSING')
      })
    })

    describe('POST /auth/logout and /auth/logout-all', () => {
      it('accept an empty body sent with Content-Type: application/json (clients that always send it)', async () => {
        const who = await loggedIn()
        for (const path of ['/auth/logout-all', '/auth/logout']) {
          const reply = await server.client.request('POST', path, { body: '', token: who.access })
          expect({ path, status: reply.status }).toEqual({ path, status: 200 })
          const fresher = await server.client.login(who.email, who.password, { from: fresh().from })
          who.access = fresher.body.access_token
        }
      })

      it('logout revokes that access token and its refresh family, and clears cookies', async () => {
        const who = await loggedIn()
        const other = await server.client.login(who.email, who.password, { from: fresh().from })
        const reply = await server.client.post('/auth/logout', undefined, { token: who.access })
        expect(reply.status).toBe(200)
        expect(reply.body).toEqual({ msg: expect.any(String) })
        expect(names(reply.cookies).sort()).toEqual([...TOKEN_COOKIES].sort())
        for (const c of reply.cookies) expect(c).toContain('Max-Age=0')
        expect((await server.client.get('/auth/me', { token: who.access })).body.code).toBe('TOKEN_REVOKED')
        expect((await server.client.post('/auth/refresh', undefined, { token: who.refresh })).body.code).toBe(
          'TOKEN_REVOKED',
        )
        // Another login of the same user is untouched.
        expect((await server.client.get('/auth/me', { token: other.body.access_token })).status).toBe(200)
      })

      it('logout with cookies needs the CSRF header', async () => {
        const who = await loggedIn()
        const noCsrf = await server.client.post('/auth/logout', undefined, { cookies: who.login.cookies })
        expect(noCsrf.status).toBe(403)
        expect(noCsrf.body.code).toBe('CSRF_FAILED')
        const ok = await server.client.post('/auth/logout', undefined, {
          cookies: who.login.cookies,
          headers: { 'x-csrf-token': cookieValue(who.login.cookies, 'csrf_access_token')! },
        })
        expect(ok.status).toBe(200)
      })

      it('logout-all refuses every token of the user issued before now', async () => {
        const who = await loggedIn()
        const other = await server.client.login(who.email, who.password, { from: fresh().from })
        const reply = await server.client.post('/auth/logout-all', undefined, { token: who.access })
        expect(reply.status).toBe(200)
        expect(names(reply.cookies).sort()).toEqual([...TOKEN_COOKIES].sort())
        for (const token of [who.access, other.body.access_token])
          expect((await server.client.get('/auth/me', { token })).body.code).toBe('TOKEN_REVOKED')
        for (const token of [who.refresh, other.body.refresh_token])
          expect((await server.client.post('/auth/refresh', undefined, { token })).body.code).toBe(
            'TOKEN_REVOKED',
          )
      })

      it('GET never changes state: GET /auth/logout is 404', async () => {
        const who = await loggedIn()
        expect((await server.client.get('/auth/logout', { token: who.access })).status).toBe(404)
        expect((await server.client.get('/auth/me', { token: who.access })).status).toBe(200)
      })
    })

    describe('revocation store', () => {
      it('keeps revocations in this backend', async () => {
        const before = await backendSetup!.countRevocations(server)
        const who = await loggedIn()
        await server.client.post('/auth/logout', undefined, { token: who.access })
        expect(await backendSetup!.countRevocations(server)).toBeGreaterThan(before)
      })
    })

    describe('documents and errors', () => {
      it('GET /.well-known/jwks.json lists no key for an HS256 secret', async () => {
        const reply = await server.client.get('/.well-known/jwks.json')
        expect(reply.status).toBe(200)
        expect(reply.body).toEqual({ keys: [] })
      })

      it('GET /openapi.json is an OpenAPI 3.1 document of every endpoint, from the route schemas', async () => {
        const reply = await server.client.get<{
          openapi: string
          paths: Record<
            string,
            Record<
              string,
              {
                requestBody?: {
                  content: Record<string, { schema: { properties: Record<string, { minLength?: number }> } }>
                }
              }
            >
          >
        }>('/openapi.json')
        expect(reply.status).toBe(200)
        expect(reply.body.openapi).toBe('3.1.0')
        expect(Object.keys(reply.body.paths).sort()).toEqual(
          [
            '/.well-known/jwks.json',
            '/auth/account',
            '/auth/email/resend',
            '/auth/email/verify',
            '/auth/password/forgot',
            '/auth/password/reset',
            '/auth/sessions',
            '/auth/sessions/{id}',
            '/auth/fresh-login',
            '/auth/login',
            '/auth/logout',
            '/auth/logout-all',
            '/auth/me',
            '/auth/password',
            '/auth/refresh',
            '/auth/signup',
            '/healthz',
            '/livez',
            '/readyz',
          ].sort(),
        )
        const signup =
          reply.body.paths['/auth/signup']!.post!.requestBody!.content['application/json']!.schema
        expect(signup.properties.password!.minLength).toBe(8)
      })

      it('GET /docs renders the reference page from assets served here (no CDN)', async () => {
        const page = await fetch(`${server.base}/docs`)
        expect(page.status).toBe(200)
        expect(page.headers.get('content-security-policy')).toMatch(/^default-src 'self';/)
        expect(page.headers.get('content-security-policy')).not.toMatch(/https?:|\*/)
        const html = await page.text()
        expect(html).toContain('swagger-ui')
        // Nothing is loaded from elsewhere: no absolute URL in a src, href, url() or fetch.
        const remote =
          /(src|href)\s*=\s*["']?(https?:)?\/\/|url\(\s*["']?(https?:)?\/\/|fetch\(\s*["'`]https?:/i
        expect(html).not.toMatch(remote)
        const init = await fetch(`${server.base}/docs/static/swagger-initializer.js`)
        expect(init.status).toBe(200)
        expect(await init.text()).not.toMatch(remote)
        const bundle = await fetch(`${server.base}/docs/static/swagger-ui-bundle.js`)
        expect(bundle.status).toBe(200)
        expect((await bundle.arrayBuffer()).byteLength).toBeGreaterThan(100_000)
      })

      it('unknown routes are 404 {msg, code: NOT_FOUND}; /metrics is off by default', async () => {
        for (const path of ['/nope', '/metrics']) {
          const reply = await server.client.get(path)
          expect(reply.status).toBe(404)
          expect(reply.body).toEqual({ msg: 'Not found', code: 'NOT_FOUND' })
        }
      })

      it('echoes a request id, or makes one', async () => {
        const given = await server.client.get('/healthz', { headers: { 'x-request-id': 'abc-123' } })
        expect(given.headers.get('x-request-id')).toBe('abc-123')
        const made = await server.client.get('/healthz', {
          headers: { 'x-request-id': 'bad id\twith spaces' },
        })
        expect(made.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
        expect(server.logs.join('')).toContain('"reqId":"abc-123"')
      })

      it('never sets a session cookie, and never logs passwords, tokens or cookies', async () => {
        const who = await loggedIn()
        await server.client.get('/auth/me', { cookies: who.login.cookies })
        const logs = server.logs.join('')
        expect(logs).toContain('"msg":"login"')
        for (const secret of secrets) expect(logs).not.toContain(secret)
        expect(logs).not.toMatch(/eyJ[\w-]+\.eyJ/)
        expect(logs).not.toContain('access_token_cookie=')
        expect(logs).not.toMatch(/set-cookie/i)
      })
    })
  })
}
