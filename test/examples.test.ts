/**
 * The examples run: each starts on an ephemeral port, and a client logs in, calls /me, refreshes and
 * logs out over real HTTP.
 */
import { readFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { describe, expect, it } from 'vitest'
import * as expressExample from '../examples/express.js'
import * as fastifyExample from '../examples/fastify.js'
import * as fetchExample from '../examples/fetch.js'
import * as honoExample from '../examples/hono.js'
import * as loginExpress from '../examples/login-express.js'
import * as loginFastify from '../examples/login-fastify.js'
import * as loginFetch from '../examples/login-fetch.js'
import * as loginHono from '../examples/login-hono.js'
import * as nestjsExample from '../examples/nestjs.js'

interface Started {
  address(): AddressInfo | string | null
  close(callback?: (err?: Error) => void): unknown
  closeAllConnections?(): void
}

const examples: Array<[string, (port: number) => Promise<Started>]> = [
  ['express', (port) => expressExample.start(port)],
  ['fastify', (port) => fastifyExample.start(port)],
  ['hono', (port) => honoExample.start(port)],
  ['fetch', (port) => fetchExample.start(port)],
  ['nestjs', (port) => nestjsExample.start(port)],
]

describe.each(examples)('examples/%s.ts', (_name, start) => {
  it('logs in, calls /me, refreshes and logs out', async () => {
    const server = await start(0)
    const { port } = server.address() as AddressInfo
    const base = `http://127.0.0.1:${port}`
    const post = (path: string, init: { json?: unknown; bearer?: string } = {}) =>
      fetch(base + path, {
        method: 'POST',
        headers: {
          ...(init.json === undefined ? {} : { 'content-type': 'application/json' }),
          ...(init.bearer ? { authorization: `Bearer ${init.bearer}` } : {}),
        },
        body: init.json === undefined ? undefined : JSON.stringify(init.json),
      })
    try {
      const login = await post('/login', { json: { username: 'alice' } })
      expect(login.status).toBe(200)
      expect(login.headers.get('set-cookie')).toBeNull()
      const tokens = (await login.json()) as { access_token: string; refresh_token: string }

      const me = await fetch(`${base}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } })
      expect(me.status).toBe(200)
      expect(await me.json()).toEqual({ email: 'alice@example.com' })

      const anonymous = await fetch(`${base}/me`)
      expect(anonymous.status).toBe(401)
      expect(await anonymous.json()).toMatchObject({ code: 'TOKEN_MISSING' })

      const refreshed = await post('/refresh', { bearer: tokens.refresh_token })
      expect(refreshed.status).toBe(200)
      const next = (await refreshed.json()) as { access_token: string }

      expect((await post('/logout', { bearer: next.access_token })).status).toBe(200)
      const after = await fetch(`${base}/me`, { headers: { authorization: `Bearer ${next.access_token}` } })
      expect(await after.json()).toMatchObject({ code: 'TOKEN_REVOKED' })

      const bad = await post('/login', { json: { username: 'mallory' } })
      expect(bad.status).toBe(401)
    } finally {
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections?.()
      })
    }
  })
})

/**
 * The login API mounted on each adapter (examples/login-*.ts): under 15 lines of code up to the
 * `login API: end` mark, imports included, and working over real HTTP: sign-up, login, the app's
 * own guarded route, sessions, refresh, logout.
 */
const loginExamples: Array<[string, () => Promise<Started>]> = [
  [
    'login-express',
    async () => {
      const server = loginExpress.app.listen(0, '127.0.0.1')
      await new Promise((resolve) => server.once('listening', resolve))
      return server
    },
  ],
  [
    'login-fastify',
    async () => {
      await loginFastify.app.listen({ port: 0, host: '127.0.0.1' })
      return loginFastify.app.server
    },
  ],
  ['login-hono', () => bridge(loginHono.app.fetch)],
  [
    'login-fetch',
    () => bridge((request, env) => loginFetch.handler(request, env.incoming.socket.remoteAddress)),
  ],
]

function bridge(fetch: Parameters<typeof serve>[0]['fetch']): Promise<Started> {
  return new Promise((resolve) => {
    const server = serve({ fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(server as Started))
  })
}

/** Lines of code (no blank or comment lines) from the top of a file to its `login API: end` mark. */
function mountLines(file: string): string[] {
  const text = readFileSync(new URL(`../examples/${file}.ts`, import.meta.url), 'utf8')
  const end = text.indexOf('// login API: end')
  expect(end, `${file} has a "login API: end" mark`).toBeGreaterThan(0)
  return text
    .slice(0, end)
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('//'))
}

describe.each(loginExamples)('examples/%s.ts', (name, start) => {
  it('mounts the login API in under 15 lines, imports included', () => {
    const lines = mountLines(name)
    expect(lines.length, lines.join('\n')).toBeLessThan(15)
  })

  it('signs up, logs in, calls the app and the login API, lists sessions, refreshes and logs out', async () => {
    const server = await start()
    const { port } = server.address() as AddressInfo
    const base = `http://127.0.0.1:${port}`
    const call = async (method: string, path: string, init: { json?: unknown; bearer?: string } = {}) => {
      const response = await fetch(base + path, {
        method,
        headers: {
          ...(init.json === undefined ? {} : { 'content-type': 'application/json' }),
          ...(init.bearer ? { authorization: `Bearer ${init.bearer}` } : {}),
          'user-agent': `example-test/${name}`,
        },
        body: init.json === undefined ? undefined : JSON.stringify(init.json),
      })
      return { status: response.status, body: (await response.json()) as Record<string, unknown> }
    }
    try {
      const email = `${name}@example.com`
      expect(
        (await call('POST', '/auth/signup', { json: { email, password: 'a long password' } })).status,
      ).toBe(202)
      const login = await call('POST', '/auth/login', { json: { email, password: 'a long password' } })
      expect(login.status).toBe(200)
      const access = login.body.access_token as string
      expect((await call('GET', '/auth/me', { bearer: access })).body).toMatchObject({ user: { email } })
      expect(await call('GET', '/hello', { bearer: access })).toEqual({ status: 200, body: { hello: email } })
      expect((await call('GET', '/hello')).status).toBe(401)
      const sessions = await call('GET', '/auth/sessions', { bearer: access })
      expect(sessions.body.sessions).toEqual([
        expect.objectContaining({
          user_agent: `example-test/${name}`,
          address: '127.0.0.0/24',
          current: true,
        }),
      ])
      const refreshed = await call('POST', '/auth/refresh', { bearer: login.body.refresh_token as string })
      expect(refreshed.status).toBe(200)
      const next = refreshed.body.access_token as string
      expect((await call('POST', '/auth/logout', { bearer: next })).status).toBe(200)
      expect((await call('GET', '/hello', { bearer: next })).body).toMatchObject({ code: 'TOKEN_REVOKED' })
      expect(
        (await call('POST', '/auth/login', { json: { email, password: 'wrong password' } })).status,
      ).toBe(401)
    } finally {
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections?.()
      })
    }
  })
})
