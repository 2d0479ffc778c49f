/** Hono 4 on @hono/node-server benchmark server: `MODE=bare|noop|latchkey|peer|ceiling (ALG=HS256|ES256|EdDSA|RS256) node --import tsx bench/servers/hono.ts`. */
import { getRequestListener } from '@hono/node-server'
import { Hono } from 'hono'
import { jwt } from 'hono/jwt'
import { type AuthVariables, requireAuth } from '../../src/adapters/hono.js'
import {
  BARE_USER,
  ceilingCheck,
  isMain,
  type Listener,
  listen,
  MODE,
  type Mode,
  makeAuth,
  noopCheck,
  SECRET,
  type User,
  userJson,
  users,
} from './common.js'

/** The app for one configuration, as a Node request listener (@hono/node-server's, as `serve` uses). */
export async function build(mode: Mode = MODE): Promise<Listener> {
  const app = new Hono<{
    Variables: AuthVariables<User> & { benchUser: User; jwtPayload: { sub: string } }
  }>()
  if (mode === 'bare') {
    app.get('/me', (c) => c.json(userJson(BARE_USER)))
  } else if (mode === 'latchkey') {
    app.get('/me', requireAuth(makeAuth()), (c) => c.json(userJson(c.get('auth').user)))
  } else if (mode === 'peer') {
    app.get('/me', jwt({ secret: SECRET, alg: 'HS256' }), (c) => {
      const user = users.get(c.get('jwtPayload').sub)
      if (!user) return c.json({ msg: 'Unauthorized' }, 401)
      return c.json(userJson(user))
    })
  } else if (mode === 'ceiling' || mode === 'noop') {
    const check = mode === 'noop' ? noopCheck : ceilingCheck
    app.get(
      '/me',
      (c, next) => {
        const user = check(c.req.raw.headers.get('authorization') ?? undefined)
        if (!user) return Promise.resolve(c.json({ msg: 'Unauthorized' }, 401))
        c.set('benchUser', user)
        return next()
      },
      (c) => c.json(userJson(c.get('benchUser'))),
    )
  } else {
    throw new Error(`unknown MODE ${mode}`)
  }
  return getRequestListener(app.fetch) as Listener
}

if (isMain(import.meta.url)) listen(await build())
