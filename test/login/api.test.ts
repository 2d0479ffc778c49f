/**
 * The login API's pieces on their own: the fetch handler's edges (mount point, bodies), the Express
 * middleware behind another body parser, link lifetimes on a controlled clock, events, coarse
 * addresses, user agents, mail templates and the body validator.
 */
import type { AddressInfo } from 'node:net'
import express from 'express'
import { describe, expect, it } from 'vitest'
import { createAuth, MemoryRevocationStore } from '../../src/index.js'
import { loginRouter } from '../../src/login/express.js'
import {
  cleanUserAgent,
  coarseAddress,
  createLoginApi,
  defaultTemplates,
  fetchHandler,
  type LoginOutcome,
  loginAuthOptions,
  type MailMessage,
  MemoryLoginStore,
  PasswordHasher,
} from '../../src/login/index.js'
import { lifetimeInWords } from '../../src/login/mail.js'
import { schemaProblem } from '../../src/login/validate.js'

const CHEAP = { memoryCost: 1024, timeCost: 1, parallelism: 1 }

function setup(options: { clock?: () => number } = {}) {
  const store = new MemoryLoginStore()
  const mails: MailMessage[] = []
  const auth = createAuth({
    keys: { secret: 'a-test-secret-of-at-least-thirty-two-bytes!' },
    revocation: new MemoryRevocationStore(),
    ...loginAuthOptions(store),
  })
  const api = createLoginApi({
    auth,
    store,
    hasher: new PasswordHasher(CHEAP),
    mailer: { send: async (m) => void mails.push(m) },
    ...(options.clock ? { clock: options.clock } : {}),
  })
  const handler = fetchHandler(api, { basePath: '/auth' })
  const call = async (
    method: string,
    path: string,
    init: { body?: BodyInit; type?: string; token?: string } = {},
  ) => {
    const response = await handler(
      new Request(`http://localhost${path}`, {
        method,
        headers: {
          ...(init.type ? { 'content-type': init.type } : {}),
          ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
        },
        ...(init.body === undefined ? {} : { body: init.body }),
      }),
    )
    const text = await response.text()
    return {
      status: response.status,
      headers: response.headers,
      text,
      body: JSON.parse(text) as Record<string, unknown>,
    }
  }
  const json = (method: string, path: string, body: unknown, token?: string) =>
    call(method, path, { body: JSON.stringify(body), type: 'application/json', ...(token ? { token } : {}) })
  return { api, store, mails, call, json }
}

describe('fetchHandler', () => {
  it('answers 404 NOT_FOUND outside its base path and for unknown routes, as JSON that is never cached', async () => {
    const { call } = setup()
    for (const [method, path] of [
      ['GET', '/other'],
      ['GET', '/authx/me'],
      ['GET', '/auth/nothing'],
      ['GET', '/auth/login'],
      ['PUT', '/auth/sessions'],
    ] as const) {
      const reply = await call(method, path)
      expect({ path, status: reply.status, body: reply.body }).toEqual({
        path,
        status: 404,
        body: { msg: 'Not found', code: 'NOT_FOUND' },
      })
      expect(reply.headers.get('cache-control')).toBe('no-store')
      expect(reply.text.endsWith('}\n')).toBe(true)
    }
  })

  it('reads bodies strictly: JSON only (415), valid UTF-8 and JSON (400 INVALID_JSON), at most 64 KiB (413), no __proto__', async () => {
    const { call } = setup()
    const login = (body: BodyInit, type?: string) =>
      call('POST', '/auth/login', { body, ...(type ? { type } : {}) })
    expect((await login('email=a&password=b', 'application/x-www-form-urlencoded')).status).toBe(415)
    expect((await login('{"email":"a@b.c","password":"x"}', 'text/plain')).status).toBe(415)
    expect((await login('{"email":"a@b.c","password":"x"}')).status).toBe(415)
    expect((await login('{"email":', 'application/json')).body).toEqual({
      msg: 'Body is not valid JSON',
      code: 'INVALID_JSON',
    })
    const latin1 = new Uint8Array([
      ...Buffer.from('{"email":"a@b.c","password":"'),
      0xff,
      ...Buffer.from('"}'),
    ])
    expect((await login(latin1, 'application/json')).body).toEqual({
      msg: 'Body is not valid UTF-8',
      code: 'INVALID_JSON',
    })
    expect(
      (await login(`{"email":"a@b.c","password":"${'x'.repeat(70_000)}"}`, 'application/json')).status,
    ).toBe(413)
    expect(
      (await login('{"email":"a@b.c","password":"x","__proto__":{"admin":true}}', 'application/json')).body
        .code,
    ).toBe('INVALID_JSON')
    expect((await login('[]', 'application/json')).body).toEqual({
      msg: 'body must be object',
      code: 'VALIDATION_FAILED',
    })
    expect((await login('{"email":"a@b.c"}', 'application/json')).body).toEqual({
      msg: "body must have required property 'password'",
      code: 'VALIDATION_FAILED',
    })
  })
})

describe('loginRouter (Express)', () => {
  it('works mounted before or after express.json(), and refuses what another parser read that is not JSON', async () => {
    const { api } = setup()
    const app = express()
    app.use('/early', loginRouter(api))
    app.use(express.json(), express.urlencoded({ extended: false }))
    app.use('/late', loginRouter(api))
    app.get('/late/other', (_req, res) => void res.json({ mine: true }))
    const server = app.listen(0, '127.0.0.1')
    await new Promise((resolve) => server.once('listening', resolve))
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    try {
      const post = (path: string, body: string, type: string) =>
        fetch(base + path, { method: 'POST', headers: { 'content-type': type }, body })
      const signup = JSON.stringify({ email: 'router@example.com', password: 'a long password' })
      expect((await post('/early/signup', signup, 'application/json')).status).toBe(202)
      const login = JSON.stringify({ email: 'router@example.com', password: 'a long password' })
      expect((await post('/late/login', login, 'application/json')).status).toBe(200)
      expect((await post('/early/login', login, 'application/json')).status).toBe(200)
      const form = await post(
        '/late/login',
        'email=router%40example.com&password=x',
        'application/x-www-form-urlencoded',
      )
      expect({ status: form.status, body: await form.json() }).toEqual({
        status: 415,
        body: { msg: 'Send JSON (Content-Type: application/json)', code: 'UNSUPPORTED_MEDIA_TYPE' },
      })
      // Paths that are not the API's go on to the app.
      expect(await (await fetch(`${base}/late/other`)).json()).toEqual({ mine: true })
    } finally {
      await new Promise((resolve) => server.close(resolve))
      server.closeAllConnections()
    }
  })
})

describe('createLoginApi', () => {
  it('a reset link works within its lifetime only (30 minutes by default)', async () => {
    let now = Date.UTC(2026, 0, 1)
    const { api, mails, json } = setup({ clock: () => now })
    await json('POST', '/auth/signup', { email: 'clock@example.com', password: 'a long password' })
    const tokenOf = (m: MailMessage) => (/Your code: (\S+)/.exec(m.text) ?? [])[1]!
    await json('POST', '/auth/password/forgot', { email: 'clock@example.com' })
    await api.idle()
    const first = mails.find((m) => m.kind === 'reset-password')!
    // No public URL: the mail carries the token itself.
    expect(first.link).toBeUndefined()
    expect(first.text).toContain('within 30 minutes')
    now += 30 * 60_000
    const late = await json('POST', '/auth/password/reset', {
      token: tokenOf(first),
      new_password: 'new long password',
    })
    expect(late.body.code).toBe('INVALID_LINK')
    await json('POST', '/auth/password/forgot', { email: 'clock@example.com' })
    await api.idle()
    const second = mails.filter((m) => m.kind === 'reset-password')[1]!
    now += 30 * 60_000 - 1
    expect(
      (
        await json('POST', '/auth/password/reset', {
          token: tokenOf(second),
          new_password: 'new long password',
        })
      ).status,
    ).toBe(200)
  })

  it('reports login outcomes as events, for metrics', async () => {
    const { api, json } = setup()
    const outcomes: LoginOutcome[] = []
    api.on('loginAttempt', ({ outcome }) => outcomes.push(outcome))
    await json('POST', '/auth/signup', { email: 'events@example.com', password: 'a long password' })
    await json('POST', '/auth/login', { email: 'events@example.com', password: 'wrong password' })
    await json('POST', '/auth/login', { email: 'events@example.com', password: 'a long password' })
    await json('POST', '/auth/login', { email: 'a\u0000b@example.com', password: 'x' })
    const user = await api.users.findByEmail('events@example.com')
    await api.users.setActive(user!.id, false)
    await json('POST', '/auth/login', { email: 'events@example.com', password: 'a long password' })
    expect(outcomes).toEqual(['invalid_credentials', 'success', 'invalid_request', 'inactive'])
  })
})

describe('pieces', () => {
  it('coarse addresses: an IPv4 /24, an IPv6 /48, nothing else', () => {
    expect(coarseAddress('203.0.113.77')).toBe('203.0.113.0/24')
    expect(coarseAddress('::ffff:198.51.100.9')).toBe('198.51.100.0/24')
    expect(coarseAddress('2001:db8:85a3:1234::7')).toBe('2001:db8:85a3::/48')
    expect(coarseAddress('2001:DB8::1')).toBe('2001:db8:0::/48')
    expect(coarseAddress('::1')).toBe('0:0:0::/48')
    expect(coarseAddress('fe80::1%eth0')).toBe('fe80:0:0::/48')
    for (const bad of ['', undefined, 'localhost', '1.2.3', 'not an address'])
      expect(coarseAddress(bad)).toBeNull()
  })

  it('user agents: control and invisible characters dropped, at most 256 characters', () => {
    expect(cleanUserAgent('Mozilla/5.0\u0000\u200b (X11)')).toBe('Mozilla/5.0 (X11)')
    expect(cleanUserAgent('x'.repeat(300))).toHaveLength(256)
    expect(cleanUserAgent('🔑'.repeat(300))).toBe('🔑'.repeat(256))
    expect(cleanUserAgent(['first', 'second'])).toBe('first')
    expect(cleanUserAgent('  ')).toBeNull()
    expect(cleanUserAgent(undefined)).toBeNull()
  })

  it('mail templates escape what they show in HTML, and carry the link in both parts', () => {
    const mail = defaultTemplates.resetPassword({
      appName: '<b>Shop</b>',
      email: 'a"b@example.com',
      link: 'https://x.test/#reset-password=a&b',
      token: 't',
      validFor: '30 minutes',
    })
    expect(mail.subject).toBe('Reset your <b>Shop</b> password')
    expect(mail.html).toContain('&lt;b&gt;Shop&lt;/b&gt;')
    expect(mail.html).not.toContain('<b>Shop</b>')
    expect(mail.html).toContain('a&quot;b@example.com')
    expect(mail.html).toContain('href="https://x.test/#reset-password=a&amp;b"')
    expect(mail.text).toContain('https://x.test/#reset-password=a&b')
  })

  it('lifetimes in words', () => {
    expect(lifetimeInWords(30 * 60_000)).toBe('30 minutes')
    expect(lifetimeInWords(3_600_000)).toBe('1 hour')
    expect(lifetimeInWords(86_400_000)).toBe('1 day')
    expect(lifetimeInWords(90_000)).toBe('90 seconds')
  })

  it('the body validator: types, required properties, lengths in code points', () => {
    const schema = {
      type: 'object',
      properties: {
        password: { type: 'string', minLength: 8, maxLength: 10 },
        remember: { type: 'boolean' },
      },
      required: ['password'],
    } as const
    expect(schemaProblem(schema, { password: '🔑'.repeat(8) })).toBeUndefined()
    expect(schemaProblem(schema, { password: '🔑'.repeat(11) })).toBe(
      'body/password must NOT have more than 10 characters',
    )
    expect(schemaProblem(schema, { password: 'short' })).toBe(
      'body/password must NOT have fewer than 8 characters',
    )
    expect(schemaProblem(schema, { password: 12345678 })).toBe('body/password must be string')
    expect(schemaProblem(schema, { password: 'abcdefghij', remember: 'yes' })).toBe(
      'body/remember must be boolean',
    )
    expect(schemaProblem(schema, null)).toBe('body must be object')
    expect(schemaProblem(schema, {})).toBe("body must have required property 'password'")
  })
})
