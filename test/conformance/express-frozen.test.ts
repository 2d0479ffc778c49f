/**
 * An app that froze Express's request prototype (hardened set-ups do): the Express guard cannot put
 * its `auth` accessor there and keeps the context as an own property of the request. A file of its
 * own, as freezing the prototype lasts for the whole module graph.
 */
import { createServer } from 'node:http'
import express, { type Request, type Response } from 'express'
import { afterAll, expect, it } from 'vitest'
import { latchkey } from '../../src/adapters/express.js'
import { createAuth } from '../../src/index.js'
import { listen, type RunningApp } from './suite.js'

let running: RunningApp | undefined
afterAll(() => running?.close())

it('falls back to an own property when Express’s request prototype is frozen', async () => {
  Object.freeze(express.request)
  const auth = createAuth<{ id: string }>({
    keys: { secret: 'express-frozen-secret-0123456789-abcdefghijklmnopqrstuvwxyz' },
    identify: (user) => user.id,
    loadUser: (id) => ({ id }),
  })
  const app = express()
  app.get('/me', latchkey(auth).requireAuth(), (req: Request, res: Response) => {
    res.json({ sub: req.auth.sub, own: Object.hasOwn(req, 'auth') })
  })
  running = await listen(createServer(app))
  const res = await fetch(`${running.url}/me`, {
    headers: { authorization: `Bearer ${auth.createAccessToken('ada')}` },
  })
  expect(res.status).toBe(200)
  expect(await res.json()).toEqual({ sub: 'ada', own: true })
})
