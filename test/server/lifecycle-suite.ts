/**
 * The account lifecycle over HTTP, end to end, with a real SMTP server in process: email
 * verification (and the setting that requires it), password reset, the sessions list, account
 * deletion. Every link is followed from the mail that carried it. Defined once and run on each
 * backend (SQLite; PostgreSQL + Redis).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RawSettings } from '../../src/server/config.js'
import { linkOf, type ReceivedMail, startSmtp, type TestSmtp, tokenOf } from '../helpers/smtp.js'
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

/** What a backend gives the suite. */
export interface LifecycleBackend {
  settings: RawSettings
  cleanup(): Promise<void>
}

const PASSWORD = 'correct horse battery'
const NEW_PASSWORD = 'staple horse correct'
const MAIL_FROM = 'latchkey tests <no-reply@example.test>'

interface Session {
  email: string
  from: string
  access: string
  refresh: string
  cookies: string[]
  family: string
}

interface SessionView {
  id: string
  created_at: string
  last_used_at: string
  user_agent: string | null
  address: string | null
  current: boolean
}

/** Registers the suite; `setup` runs once and returns the backend's settings. */
export function defineLifecycleSuite(backend: string, setup: () => Promise<LifecycleBackend>): void {
  describe(`account lifecycle on ${backend}`, () => {
    let server: TestServer
    let required: TestServer
    let smtp: TestSmtp
    let backendSetup: LifecycleBackend | undefined
    const folder = tempDir('latchkey-lifecycle-')

    beforeAll(async () => {
      smtp = await startSmtp()
      backendSetup = await setup()
      const settings: RawSettings = {
        ...backendSetup.settings,
        smtpUrl: smtp.url,
        mailFrom: MAIL_FROM,
        publicUrl: 'http://app.example.test',
        appName: 'Lifecycle Test',
      }
      server = await startServer(settings, { cwd: folder.dir })
      // The same backend, with logins refused until the address is verified.
      required = await startServer({ ...settings, emailVerification: 'required' }, { cwd: folder.dir })
    })
    afterAll(async () => {
      await Promise.all([server?.close(), required?.close()])
      await smtp?.close()
      await backendSetup?.cleanup()
      folder.remove()
    })

    const mailTo = (email: string, subject: RegExp) =>
      smtp.waitFor((m) => m.to.includes(email) && subject.test(m.subject))

    async function signUp(s = server, prefix = 'life') {
      const who = fresh(prefix)
      expect((await s.client.signup(who.email, PASSWORD)).status).toBe(202)
      return who
    }

    async function logIn(
      who: { email: string; from: string },
      options: { password?: string; userAgent?: string; s?: TestServer } = {},
    ): Promise<Session> {
      const s = options.s ?? server
      const login = await s.client.login(who.email, options.password ?? PASSWORD, {
        from: who.from,
        ...(options.userAgent ? { headers: { 'user-agent': options.userAgent } } : {}),
      })
      expect(login.status, JSON.stringify(login.body)).toBe(200)
      return {
        email: who.email,
        from: who.from,
        access: login.body.access_token,
        refresh: login.body.refresh_token,
        cookies: login.cookies,
        family: claimsOf(login.body.access_token).fam as string,
      }
    }

    const sessions = (token: string, s = server) =>
      s.client.get<{ sessions: SessionView[] }>('/auth/sessions', { token })
    const me = (token: string, s = server) =>
      s.client.get<{ user: { email: string; email_verified: boolean }; code?: string }>('/auth/me', { token })
    const refresh = (token: string, s = server) =>
      s.client.post<TokenBody>('/auth/refresh', undefined, { token })

    describe('email verification', () => {
      it('a new account gets a verification mail (text and HTML) whose link verifies it, once', async () => {
        const who = await signUp()
        const mail = await mailTo(who.email, /^Confirm your email address for Lifecycle Test$/)
        expect(mail.from).toBe(`"latchkey tests" <no-reply@example.test>`)
        const link = linkOf(mail)
        expect(link).toMatch(/^http:\/\/app\.example\.test\/#verify-email=[\w-]{43}$/)
        expect(mail.html).toContain(`href="${link}"`)
        expect(mail.text).toContain('This works within 1 day.')
        const session = await logIn(who)
        expect((await me(session.access)).body.user.email_verified).toBe(false)

        const token = tokenOf(link, 'verify-email')
        const verified = await server.client.post('/auth/email/verify', { token })
        expect(verified.status).toBe(200)
        expect(verified.body).toEqual({ msg: 'Email address verified' })
        expect((await me(session.access)).body.user.email_verified).toBe(true)
        const again = await server.client.post('/auth/email/verify', { token })
        expect({ status: again.status, body: again.body }).toEqual({
          status: 400,
          body: { msg: expect.any(String), code: 'INVALID_LINK' },
        })
      })

      it('a made-up or malformed token is refused: 400 INVALID_LINK / VALIDATION_FAILED', async () => {
        expect((await server.client.post('/auth/email/verify', { token: 'x'.repeat(43) })).body.code).toBe(
          'INVALID_LINK',
        )
        expect((await server.client.post('/auth/email/verify', { token: 7 })).body.code).toBe(
          'VALIDATION_FAILED',
        )
        expect((await server.client.post('/auth/email/verify', {})).body.code).toBe('VALIDATION_FAILED')
        const text = await server.client.request('POST', '/auth/email/verify', {
          body: 'token=x',
          contentType: 'application/x-www-form-urlencoded',
        })
        expect(text.status).toBe(415)
      })

      it('resend: a new link (the earlier stops working); a verified account gets none; 202 either way', async () => {
        const who = await signUp()
        const first = await mailTo(who.email, /^Confirm/)
        const resent = await server.client.post(
          '/auth/email/resend',
          { email: who.email },
          { from: who.from },
        )
        expect(resent.status).toBe(202)
        const second = await smtp.waitFor(
          (m) => m.to.includes(who.email) && /^Confirm/.test(m.subject) && m !== first,
        )
        expect(linkOf(second)).not.toBe(linkOf(first))
        const stale = await server.client.post('/auth/email/verify', {
          token: tokenOf(linkOf(first), 'verify-email'),
        })
        expect(stale.body.code).toBe('INVALID_LINK')
        const fresh2 = await server.client.post('/auth/email/verify', {
          token: tokenOf(linkOf(second), 'verify-email'),
        })
        expect(fresh2.status).toBe(200)
        // Verified now: asking again answers the same, and sends nothing.
        const after = await server.client.post('/auth/email/resend', { email: who.email }, { from: who.from })
        expect({ status: after.status, text: after.text }).toEqual({
          status: resent.status,
          text: resent.text,
        })
        await server.app.latchkey.login.idle()
        expect(smtp.to(who.email).filter((m) => /^Confirm/.test(m.subject))).toHaveLength(2)
      })

      it('with LATCHKEY_EMAIL_VERIFICATION=required, login says USER_UNVERIFIED (after the right password only) until the link is used', async () => {
        const who = await signUp(required, 'required')
        const wrong = await required.client.login(who.email, 'not the password', { from: who.from })
        expect(wrong.body.code).toBe('INVALID_CREDENTIALS')
        const refused = await required.client.login(who.email, PASSWORD, { from: who.from })
        expect(refused.status).toBe(403)
        expect(refused.body).toEqual({
          msg: 'Email address not verified: open the link in the verification mail, or ask for a new one',
          code: 'USER_UNVERIFIED',
        })
        expect(refused.cookies).toEqual([])
        const mail = await mailTo(who.email, /^Confirm/)
        expect(
          (await required.client.post('/auth/email/verify', { token: tokenOf(linkOf(mail), 'verify-email') }))
            .status,
        ).toBe(200)
        expect((await required.client.login(who.email, PASSWORD, { from: who.from })).status).toBe(200)
      })

      it('signing up with a taken address mails its owner instead, and changes nothing', async () => {
        const who = await signUp()
        await mailTo(who.email, /^Confirm/)
        expect((await server.client.signup(who.email, 'an attacker password')).status).toBe(202)
        const notice = await mailTo(who.email, /^Sign-up attempt at Lifecycle Test$/)
        expect(notice.text).toContain('which already has an account')
        expect(linkOf(notice)).toBe('http://app.example.test/')
        await server.app.latchkey.login.idle()
        expect(smtp.to(who.email).filter((m) => /^Confirm/.test(m.subject))).toHaveLength(1)
        expect(
          (await server.client.login(who.email, 'an attacker password', { from: who.from })).status,
        ).toBe(401)
      })
    })

    describe('password reset', () => {
      it('forgot → mail → reset: the new password works, the old one and every earlier token do not, the link works once', async () => {
        const who = await signUp()
        const before = await logIn(who)
        const other = await logIn(who, { userAgent: 'Other device' })
        const forgot = await server.client.post(
          '/auth/password/forgot',
          { email: who.email },
          { from: who.from },
        )
        expect(forgot.status).toBe(202)
        expect(forgot.body).toEqual({
          msg: 'If an account has this email, a link to reset its password is on its way',
        })
        const mail = await mailTo(who.email, /^Reset your Lifecycle Test password$/)
        const link = linkOf(mail)
        expect(link).toMatch(/^http:\/\/app\.example\.test\/#reset-password=[\w-]{43}$/)
        expect(mail.html).toContain(`href="${link}"`)
        expect(mail.text).toContain('within 30 minutes')

        const reset = await server.client.post('/auth/password/reset', {
          token: tokenOf(link, 'reset-password'),
          new_password: NEW_PASSWORD,
        })
        expect(reset.status).toBe(200)
        expect(reset.body.msg).toMatch(/every session was logged out/)
        for (const token of [before.access, other.access])
          expect((await me(token)).body.code).toBe('TOKEN_REVOKED')
        expect((await refresh(before.refresh)).body.code).toBe('TOKEN_REVOKED')
        expect((await server.client.login(who.email, PASSWORD, { from: who.from })).status).toBe(401)
        const after = await logIn(who, { password: NEW_PASSWORD })
        // Only the new login is listed; the link proved the address, so it is verified too.
        expect((await sessions(after.access)).body.sessions.map((s) => s.id)).toEqual([after.family])
        expect((await me(after.access)).body.user.email_verified).toBe(true)

        const again = await server.client.post('/auth/password/reset', {
          token: tokenOf(link, 'reset-password'),
          new_password: 'yet another password',
        })
        expect({ status: again.status, code: again.body.code }).toEqual({ status: 400, code: 'INVALID_LINK' })
      })

      it('a newer request invalidates the earlier link', async () => {
        const who = await signUp()
        await server.client.post('/auth/password/forgot', { email: who.email }, { from: who.from })
        const first = await mailTo(who.email, /^Reset/)
        await server.client.post('/auth/password/forgot', { email: who.email }, { from: who.from })
        const second = await smtp.waitFor(
          (m) => m.to.includes(who.email) && /^Reset/.test(m.subject) && m !== first,
        )
        const stale = await server.client.post('/auth/password/reset', {
          token: tokenOf(linkOf(first), 'reset-password'),
          new_password: NEW_PASSWORD,
        })
        expect(stale.body.code).toBe('INVALID_LINK')
        const current = await server.client.post('/auth/password/reset', {
          token: tokenOf(linkOf(second), 'reset-password'),
          new_password: NEW_PASSWORD,
        })
        expect(current.status).toBe(200)
      })

      it('a password change invalidates a pending link', async () => {
        const who = await signUp()
        const session = await logIn(who)
        await server.client.post('/auth/password/forgot', { email: who.email }, { from: who.from })
        const mail = await mailTo(who.email, /^Reset/)
        const changed = await server.client.post(
          '/auth/password',
          { current_password: PASSWORD, new_password: NEW_PASSWORD },
          { token: session.access },
        )
        expect(changed.status).toBe(200)
        const stale = await server.client.post('/auth/password/reset', {
          token: tokenOf(linkOf(mail), 'reset-password'),
          new_password: 'an attacker password',
        })
        expect(stale.body.code).toBe('INVALID_LINK')
        expect((await server.client.login(who.email, NEW_PASSWORD, { from: who.from })).status).toBe(200)
      })

      it('an unknown address gets the same answer and no mail; a short new password is 400 and keeps the link', async () => {
        const known = await signUp()
        const unknown = fresh('nobody')
        const a = await server.client.post(
          '/auth/password/forgot',
          { email: known.email },
          { from: known.from },
        )
        const b = await server.client.post(
          '/auth/password/forgot',
          { email: unknown.email },
          { from: unknown.from },
        )
        expect({ status: b.status, text: b.text }).toEqual({ status: a.status, text: a.text })
        const mail = await mailTo(known.email, /^Reset/)
        await server.app.latchkey.login.idle()
        expect(smtp.to(unknown.email)).toEqual([])
        const token = tokenOf(linkOf(mail), 'reset-password')
        const short = await server.client.post('/auth/password/reset', { token, new_password: 'short' })
        expect(short.body.code).toBe('VALIDATION_FAILED')
        expect(
          (await server.client.post('/auth/password/reset', { token, new_password: NEW_PASSWORD })).status,
        ).toBe(200)
      })

      it('is rate limited per email and per client address: 429 with Retry-After', async () => {
        const who = await signUp()
        const ask = (email: string, from: string) =>
          server.client.post('/auth/password/forgot', { email }, { from })
        // Three per email per hour (from any address), then 429.
        for (let i = 0; i < 3; i++) expect((await ask(who.email, fresh().from)).status).toBe(202)
        const limited = await ask(who.email, fresh().from)
        expect(limited.status).toBe(429)
        expect(limited.body.code).toBe('TOO_MANY_ATTEMPTS')
        expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(3000)
        // Twenty per address per hour (any emails), then 429.
        const { from } = fresh()
        for (let i = 0; i < 20; i++) expect((await ask(fresh().email, from)).status).toBe(202)
        expect((await ask(fresh().email, from)).status).toBe(429)
        // Resend has limits of its own.
        expect(
          (await server.client.post('/auth/email/resend', { email: fresh().email }, { from })).status,
        ).toBe(202)
      })
    })

    describe('sessions', () => {
      it('lists each login with created/last used, user agent, coarse address and the current one', async () => {
        const who = await signUp()
        const phone = await logIn({ ...who, from: '203.0.113.77' }, { userAgent: 'Phone/1.0' })
        const laptop = await logIn({ ...who, from: '2001:db8:85a3:1234::7' }, { userAgent: 'Laptop/2.0' })
        const list = await sessions(laptop.access)
        expect(list.status).toBe(200)
        expect(list.headers.get('cache-control')).toBe('no-store')
        expect(list.body.sessions).toEqual([
          {
            id: laptop.family,
            created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
            last_used_at: expect.any(String),
            user_agent: 'Laptop/2.0',
            address: '2001:db8:85a3::/48',
            current: true,
          },
          expect.objectContaining({
            id: phone.family,
            user_agent: 'Phone/1.0',
            address: '203.0.113.0/24',
            current: false,
          }),
        ])
        // A refresh moves "last used" and keeps the login (and its id).
        const before = list.body.sessions[1]!.last_used_at
        await new Promise((r) => setTimeout(r, 20))
        const rotated = await refresh(phone.refresh)
        expect(rotated.status).toBe(200)
        const now = (await sessions(rotated.body.access_token)).body.sessions
        expect(now[0]).toMatchObject({ id: phone.family, current: true })
        expect(Date.parse(now[0]!.last_used_at)).toBeGreaterThan(Date.parse(before))
        expect(now).toHaveLength(2)
      })

      it('ending one revokes its tokens (access and refresh) and leaves the others', async () => {
        const who = await signUp()
        const a = await logIn(who)
        const b = await logIn(who)
        const ended = await server.client.request('DELETE', `/auth/sessions/${b.family}`, { token: a.access })
        expect(ended.status).toBe(200)
        expect(ended.body).toEqual({ msg: 'Session ended' })
        expect(ended.cookies).toEqual([])
        expect((await me(b.access)).body.code).toBe('TOKEN_REVOKED')
        expect((await refresh(b.refresh)).body.code).toBe('TOKEN_REVOKED')
        expect((await me(a.access)).status).toBe(200)
        expect((await sessions(a.access)).body.sessions.map((s) => s.id)).toEqual([a.family])
      })

      it("another user's session, or a made-up id, is 404 SESSION_NOT_FOUND and stays alive", async () => {
        const mine = await logIn(await signUp())
        const theirs = await logIn(await signUp())
        for (const id of [theirs.family, 'no-such-session', '%E2%9C%93']) {
          const reply = await server.client.request('DELETE', `/auth/sessions/${id}`, { token: mine.access })
          expect({ id, status: reply.status, code: reply.body.code }).toEqual({
            id,
            status: 404,
            code: 'SESSION_NOT_FOUND',
          })
        }
        expect((await me(theirs.access)).status).toBe(200)
        expect((await server.client.request('DELETE', `/auth/sessions/${theirs.family}`)).status).toBe(401)
      })

      it('ending the current one clears its cookies; with cookies the CSRF header is needed', async () => {
        const who = await signUp()
        const s = await logIn(who)
        const csrf = cookieValue(s.cookies, 'csrf_access_token')!
        const noCsrf = await server.client.request('DELETE', `/auth/sessions/${s.family}`, {
          cookies: s.cookies,
        })
        expect(noCsrf.body.code).toBe('CSRF_FAILED')
        const ended = await server.client.request('DELETE', `/auth/sessions/${s.family}`, {
          cookies: s.cookies,
          headers: { 'x-csrf-token': csrf },
        })
        expect(ended.status).toBe(200)
        expect(ended.cookies.map((c) => c.split('=', 1)[0]).sort()).toEqual([
          'access_token_cookie',
          'csrf_access_token',
          'csrf_refresh_token',
          'refresh_token_cookie',
        ])
        expect(ended.cookies.every((c) => /Max-Age=0/i.test(c))).toBe(true)
        expect((await me(s.access)).body.code).toBe('TOKEN_REVOKED')
      })

      it('logout, reuse detection and logout-all take logins off the list', async () => {
        const who = await signUp()
        const keep = await logIn(who)
        const out = await logIn(who)
        const stolen = await logIn(who)
        expect((await server.client.post('/auth/logout', undefined, { token: out.access })).status).toBe(200)
        // Rotate, then present the rotated token again: the whole login is revoked.
        expect((await refresh(stolen.refresh)).status).toBe(200)
        expect((await refresh(stolen.refresh)).body.code).toBe('TOKEN_REVOKED')
        expect((await sessions(keep.access)).body.sessions.map((s) => s.id)).toEqual([keep.family])
        expect((await server.client.post('/auth/logout-all', undefined, { token: keep.access })).status).toBe(
          200,
        )
        const fresh2 = await logIn(who)
        expect((await sessions(fresh2.access)).body.sessions.map((s) => s.id)).toEqual([fresh2.family])
      })
    })

    describe('account deletion', () => {
      it('needs a fresh token; then revokes every token, clears cookies and frees the address', async () => {
        const who = await signUp()
        const other = await logIn(who)
        const s = await logIn(who)
        const refreshed = await refresh(s.refresh)
        const stale = await server.client.request('DELETE', '/auth/account', {
          token: refreshed.body.access_token,
        })
        expect(stale.body.code).toBe('FRESH_TOKEN_REQUIRED')
        const deleted = await server.client.request('DELETE', '/auth/account', { token: s.access })
        expect(deleted.status).toBe(200)
        expect(deleted.body).toEqual({ msg: 'Account deleted' })
        expect(deleted.cookies.length).toBeGreaterThan(0)
        for (const token of [s.access, other.access, refreshed.body.access_token])
          expect([401]).toContain((await me(token)).status)
        expect((await refresh(other.refresh)).status).toBe(401)
        expect((await server.client.login(who.email, PASSWORD, { from: who.from })).body.code).toBe(
          'INVALID_CREDENTIALS',
        )
        // The address is free: a new sign-up makes a new account (a new verification mail).
        expect((await server.client.signup(who.email, NEW_PASSWORD)).status).toBe(202)
        await smtp.waitFor(
          (m) => m.to.includes(who.email) && /^Confirm/.test(m.subject) && smtp.to(who.email).indexOf(m) > 0,
        )
        expect((await server.client.login(who.email, NEW_PASSWORD, { from: who.from })).status).toBe(200)
      })
    })
  })
}

export type { ReceivedMail, Reply }
