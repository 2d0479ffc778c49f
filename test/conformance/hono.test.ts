import { createServer } from 'node:http'
import { getRequestListener } from '@hono/node-server'
import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { type AuthVariables, requireAuth } from '../../src/adapters/hono.js'
import { createAuth } from '../../src/index.js'
import { honoApp } from './hono-app.js'
import { listen, runConformance } from './suite.js'

runConformance('hono', (auth) => listen(createServer(getRequestListener(honoApp(auth).fetch))))

describe('hono on @hono/node-server: the Node request behind the Request', () => {
  const auth = createAuth({ keys: { secret: 'hono-node-request-secret-0123456789-abcdefghijkl' } })
  const token = auth.createAccessToken('ada')

  async function serve(app: Hono<{ Variables: AuthVariables }>) {
    const running = await listen(createServer(getRequestListener(app.fetch)))
    return { running, get: (headers: Record<string, string>) => fetch(`${running.url}/me`, { headers }) }
  }

  it('reads the Node request without building Headers, and answers as from the Request', async () => {
    const app = new Hono<{ Variables: AuthVariables }>()
    app.get('/me', requireAuth(auth), (c) =>
      // node-server builds a Request's Headers on first use, as an own symbol property
      c.json({ sub: c.get('auth').sub, headersBuilt: Object.getOwnPropertySymbols(c.req.raw).length > 2 }),
    )
    const { running, get } = await serve(app)
    try {
      const ok = await get({ authorization: `Bearer ${token}` })
      expect(await ok.json()).toEqual({ sub: 'ada', headersBuilt: false })
      const forged = await get({ authorization: `Bearer ${token.slice(0, -2)}AA` })
      expect(forged.status).toBe(401)
      expect((await forged.json()).code).toBe('TOKEN_INVALID')
    } finally {
      await running.close()
    }
  })

  it('a middleware that changed the Request headers before the guard is what the guard sees', async () => {
    const app = new Hono<{ Variables: AuthVariables }>()
    app.use('/me', async (c, next) => {
      c.req.raw.headers.delete('authorization')
      await next()
    })
    app.get('/me', requireAuth(auth), (c) => c.json({ sub: c.get('auth').sub }))
    const { running, get } = await serve(app)
    try {
      const res = await get({ authorization: `Bearer ${token}` })
      expect(res.status).toBe(401)
      expect((await res.json()).code).toBe('TOKEN_MISSING')
    } finally {
      await running.close()
    }
  })

  it('a rewritten Request (a sub-app fetched with new headers and the same env) is read as such', async () => {
    const inner = new Hono<{ Variables: AuthVariables }>()
    inner.get('/me', requireAuth(auth), (c) => c.json({ sub: c.get('auth').sub }))
    const outer = new Hono()
    outer.get('/me', (c) => {
      const headers = new Headers(c.req.raw.headers)
      headers.set('authorization', `Bearer ${auth.createAccessToken('grace')}`)
      return inner.fetch(new Request(c.req.raw.url, { headers }), c.env)
    })
    const { running, get } = await serve(outer as unknown as Hono<{ Variables: AuthVariables }>)
    try {
      const res = await get({ authorization: `Bearer ${token}` })
      expect(await res.json()).toEqual({ sub: 'grace' })
    } finally {
      await running.close()
    }
  })
})
