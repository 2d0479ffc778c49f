/**
 * The examples run: each starts on an ephemeral port, and a client logs in, calls /me, refreshes and
 * logs out over real HTTP.
 */
import type { AddressInfo } from 'node:net'
import { describe, expect, it } from 'vitest'
import * as expressExample from '../examples/express.js'
import * as fastifyExample from '../examples/fastify.js'
import * as fetchExample from '../examples/fetch.js'
import * as honoExample from '../examples/hono.js'
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
