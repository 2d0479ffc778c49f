/**
 * Where the Express guard keeps `req.auth`: an accessor on Express's shared request prototype, the
 * context in a WeakMap, so no property is added to a request object (Express gives each one a hidden
 * class of its own, and adding one costs a new hidden class per request). Each case runs on Express
 * 5 and 4; the fallbacks (an own property) are checked where the accessor cannot be used.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { Express, NextFunction, Request, Response } from 'express'
import express5 from 'express'
import express4 from 'express4'
import { afterEach, describe, expect, it } from 'vitest'
import { latchkey } from '../../src/adapters/express.js'
import { createAuth } from '../../src/index.js'
import { listen, type RunningApp } from './suite.js'

const auth = createAuth<{ id: string }>({
  keys: { secret: 'express-context-secret-0123456789-abcdefghijklmnopqrstuvwxyz' },
  identify: (user) => user.id,
  loadUser: (id) => ({ id }),
})
const { requireAuth } = latchkey(auth)
const bearer = { authorization: `Bearer ${auth.createAccessToken('ada')}` }

let running: RunningApp | undefined
afterEach(async () => {
  await running?.close()
  running = undefined
})

async function get(app: Parameters<typeof createServer>[1], path: string): Promise<Record<string, unknown>> {
  running = await listen(createServer(app))
  const res = await fetch(`${running.url}${path}`, { headers: bearer })
  expect(res.status).toBe(200)
  return (await res.json()) as Record<string, unknown>
}

/** What a handler sees of `req.auth`, and whether it is a property of the request object itself. */
const seen = (req: Request, res: Response) =>
  void res.json({ sub: req.auth?.sub ?? null, own: Object.hasOwn(req, 'auth') })

describe.each([
  ['Express 5', express5 as unknown as () => Express],
  ['Express 4', express4 as unknown as () => Express],
])('req.auth on %s', (_name, express) => {
  it('is the context, read through the shared prototype: nothing is added to the request', async () => {
    const app = express()
    app.get('/me', requireAuth(), seen)
    expect(await get(app, '/me')).toEqual({ sub: 'ada', own: false })
  })

  it('is seen by the parent app after a mounted sub-app guarded the request', async () => {
    const sub = express()
    sub.get('/me', requireAuth(), (_req: Request, _res: Response, next: NextFunction) => next())
    const app = express()
    app.use('/api', sub)
    app.use(seen)
    expect(await get(app, '/api/me')).toEqual({ sub: 'ada', own: false })
  })

  it('replaces an own `auth` an earlier middleware put on the request (express-jwt does)', async () => {
    const app = express()
    app.use((req: Request, _res: Response, next: NextFunction) => {
      Object.defineProperty(req, 'auth', {
        value: { sub: 'other' },
        writable: true,
        enumerable: true,
        configurable: true,
      })
      next()
    })
    app.get('/me', requireAuth(), seen)
    expect(await get(app, '/me')).toEqual({ sub: 'ada', own: true })
  })

  it('is an own property where the app defines `auth` on its request prototype', async () => {
    const app = express()
    Object.defineProperty(app.request, 'auth', { value: undefined, writable: true, configurable: true })
    app.get('/me', requireAuth(), seen)
    expect(await get(app, '/me')).toEqual({ sub: 'ada', own: true })
  })
})

it('is an own property on a plain Node request (no Express prototype to hold the accessor)', async () => {
  const guard = requireAuth() as unknown as (
    req: IncomingMessage,
    res: ServerResponse,
    next: () => void,
  ) => void
  const body = await get(
    (req, res) =>
      guard(req, res, () => {
        const context = (req as IncomingMessage & { auth?: { sub: string } }).auth
        res.end(JSON.stringify({ sub: context?.sub ?? null, own: Object.hasOwn(req, 'auth') }))
      }),
    '/me',
  )
  expect(body).toEqual({ sub: 'ada', own: true })
})
