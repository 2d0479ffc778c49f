/**
 * The ported example, side by side: examples/flask-port/app.py (Flask, Flask-JWT-Extended,
 * Flask-Login) and its latchkey twin examples/flask-port/latchkey.ts answer the same requests alike,
 * and each accepts the other's tokens.
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { start } from '../../examples/flask-port/latchkey.js'
import { type Reply, type Req, send } from './exchange.js'
import { craft, fjeClaims, nowS } from './tokens.js'
import { ROOT, requireFlask } from './venv.js'

const flask = await requireFlask()
const SECRET = 'example-only-secret-change-me-0123456789abcdefghijklmnop'

const json = (path: string, body?: unknown): Req => ({
  method: 'POST',
  path,
  ...(body === undefined ? {} : { json: body }),
})
const claims = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString())

describe.skipIf(flask.skip)('examples/flask-port: the Flask app and its latchkey twin', () => {
  let flaskPort = 0
  let twin: Server
  let stop: () => void
  beforeAll(async () => {
    const child = spawn(flask.python, [join(ROOT, 'examples/flask-port/app.py'), '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    stop = () => child.kill()
    const [line] = await once(createInterface({ input: child.stdout! }), 'line')
    flaskPort = (JSON.parse(line as string) as { port: number }).port
    twin = await start(0)
  })
  afterAll(async () => {
    stop?.()
    await new Promise<void>((resolve) => {
      twin?.close(() => resolve())
      twin?.closeAllConnections()
    })
  })

  /** The same request to both; their replies, with tokens masked. */
  async function both(req: Req): Promise<{ flask: Reply; latchkey: Reply }> {
    const [f, l] = await Promise.all([
      send(flaskPort, req, ''),
      send((twin.address() as AddressInfo).port, req, ''),
    ])
    return { flask: f, latchkey: l }
  }
  const masked = (reply: Reply) => ({
    status: reply.status,
    body: reply.body?.access_token ? { ...reply.body, access_token: '<token>' } : reply.body,
  })
  async function alike(req: Req, expected?: { status: number; body?: unknown }) {
    const r = await both(req)
    expect(masked(r.latchkey)).toEqual(masked(r.flask))
    if (expected) expect(masked(r.flask)).toMatchObject(expected)
    return r
  }

  const login = async (remember = false) => {
    const r = await alike(json('/login', { email: 'ann@example.com', password: 'correct horse', remember }), {
      status: 200,
      body: { access_token: '<token>', expires_in: 3600 },
    })
    return { flask: r.flask.body.access_token as string, latchkey: r.latchkey.body.access_token as string, r }
  }

  it('logs in with JSON credentials; the token’s sub is the email; no session cookie', async () => {
    const { flask: f, latchkey: l, r } = await login()
    expect(claims(f).sub).toBe('ann@example.com')
    expect(claims(l).sub).toBe('ann@example.com')
    expect(claims(l).fresh).toBe(true)
    expect(r.flask.cookies).toEqual([])
    expect(r.latchkey.cookies).toEqual([])
  })

  it('remember=True: the same answer (Flask-Login’s remember cookie is its own, and unused here)', async () => {
    const { r } = await login(true)
    expect(r.flask.cookies.map((c) => c.name)).toEqual(['remember_token'])
    expect(r.latchkey.cookies).toEqual([])
  })

  it.each([
    ['a wrong password', { email: 'ann@example.com', password: 'nope' }, 401],
    ['an unknown email', { email: 'eve@example.com', password: 'x' }, 401],
    ['a password that is not a string', { email: 'ann@example.com', password: 5 }, 401],
    ['an inactive user', { email: 'bob@example.com', password: 'battery staple' }, 403],
    ['no credentials', {}, 401],
  ])('refuses %s alike', async (_label, body, status) => {
    await alike(json('/login', body), { status })
  })

  it('serves the current user from a token in the JSON body, its own or the other’s', async () => {
    const { flask: f, latchkey: l } = await login()
    for (const token of [f, l])
      await alike(json('/me', { access_token: token }), {
        status: 200,
        body: { email: 'ann@example.com', name: 'Ann' },
      })
  })

  it.each([
    ['no body', undefined, 401, 'Login required'],
    ['a body without a token', {}, 401, 'Login required'],
    ['garbage', { access_token: 'junk' }, 422, 'Not enough segments'],
    [
      'a badly signed token',
      { access_token: craft({ secret: 'x'.repeat(64), claims: fjeClaims({ sub: 'ann@example.com' }) }) },
      422,
      'Signature verification failed',
    ],
    [
      'an expired token',
      {
        access_token: craft({
          secret: SECRET,
          claims: fjeClaims({ sub: 'ann@example.com', exp: nowS() - 5 }),
        }),
      },
      401,
      'Token has expired',
    ],
    [
      'the token of a user who is gone',
      { access_token: craft({ secret: SECRET, claims: fjeClaims({ sub: 'ghost@example.com' }) }) },
      401,
      'Login required',
    ],
    [
      'a refresh token',
      {
        access_token: craft({
          secret: SECRET,
          claims: fjeClaims({ sub: 'ann@example.com', type: 'refresh' }),
        }),
      },
      422,
      'Only non-refresh tokens are allowed',
    ],
  ])('refuses %s alike', async (_label, body, status, msg) => {
    await alike(json('/me', body), { status, body: { msg } })
  })

  it('does not read a token from the Authorization header or a form', async () => {
    const { flask: f } = await login()
    await alike({ method: 'POST', path: '/me', headers: [['Authorization', `Bearer ${f}`]] }, { status: 401 })
    await alike({ method: 'POST', path: '/me', form: { access_token: f } }, { status: 401 })
  })

  it('logs out alike; without a blocklist the token stays valid in both', async () => {
    const { flask: f } = await login()
    await alike(json('/logout', { access_token: f }), { status: 200, body: { msg: 'Logged out' } })
    await alike(json('/me', { access_token: f }), { status: 200 })
    await alike(json('/logout'), { status: 401, body: { msg: 'Login required' } })
  })
})
