/** Hono 4 on @hono/node-server benchmark server: `MODE=bare|noop|latchkey|peer|ceiling|paired (ALG=HS256|ES256|EdDSA|RS256) node --import tsx bench/servers/hono.ts`. */
import { getRequestListener } from '@hono/node-server'
import { type Context, Hono, type MiddlewareHandler } from 'hono'
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
  type PairedKind,
  recordHook,
  SECRET,
  takeHookStats,
  type User,
  userJson,
  users,
} from './common.js'

type Env = { Variables: AuthVariables<User> & { benchUser: User; jwtPayload: { sub: string } } }

/** The hand-written hooks (ceiling, no-op) as middleware: the user on `benchUser`. */
function checkHook(check: (authorization: string | undefined) => User | undefined): MiddlewareHandler<Env> {
  return (c, next) => {
    const user = check(c.req.raw.headers.get('authorization') ?? undefined)
    if (!user) return Promise.resolve(c.json({ msg: 'Unauthorized' }, 401))
    c.set('benchUser', user)
    return next()
  }
}

const benchUserJson = (c: Context<Env>) => c.json(userJson(c.get('benchUser')))

/** The app for one configuration, as a Node request listener (@hono/node-server's, as `serve` uses). */
export async function build(mode: Mode = MODE): Promise<Listener> {
  const app = new Hono<Env>()
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
    app.get('/me', checkHook(mode === 'noop' ? noopCheck : ceilingCheck), benchUserJson)
  } else if (mode === 'paired') {
    // Each hook is timed until it calls `next` (the handler's time is not the hook's).
    const timed =
      (kind: PairedKind, hook: MiddlewareHandler<Env>): MiddlewareHandler<Env> =>
      (c, next) => {
        const start = performance.now()
        return hook(c, () => {
          recordHook(kind, start)
          return next()
        })
      }
    app.get(
      '/bare',
      timed('bare', (_c, next) => next()),
      (c) => c.json(userJson(BARE_USER)),
    )
    app.get('/noop', timed('noop', checkHook(noopCheck)), benchUserJson)
    app.get('/ceiling', timed('ceiling', checkHook(ceilingCheck)), benchUserJson)
    app.get(
      '/latchkey',
      timed('latchkey', requireAuth(makeAuth()) as unknown as MiddlewareHandler<Env>),
      (c) => c.json(userJson(c.get('auth').user)),
    )
    app.get('/stats', (c) => c.json(takeHookStats()))
  } else {
    throw new Error(`unknown MODE ${mode}`)
  }
  return getRequestListener(app.fetch) as Listener
}

if (isMain(import.meta.url)) listen(await build())
