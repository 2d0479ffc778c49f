/** Fastify 5 benchmark server: `MODE=bare|noop|latchkey|peer|ceiling|paired (ALG=HS256|ES256|EdDSA|RS256) node --import tsx bench/servers/fastify.ts`. */
import fastifyJwt from '@fastify/jwt'
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify'
import { latchkeyPlugin } from '../../src/adapters/fastify.js'
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
  SECRET,
  takeHookStats,
  timedCallbackHook,
  type User,
  userJson,
  users,
} from './common.js'

type Hook = (request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => void

/** The hand-written hooks (ceiling, no-op) as onRequest callback hooks: the user on `benchUser`. */
function checkHook(check: (authorization: string | undefined) => User | undefined): Hook {
  return (request, reply, done) => {
    const user = check(request.headers.authorization)
    if (!user) return void reply.code(401).send({ msg: 'Unauthorized' })
    ;(request as unknown as { benchUser: User }).benchUser = user
    done()
  }
}

const benchUserJson = async (request: FastifyRequest) =>
  userJson((request as unknown as { benchUser: User }).benchUser)

/** The app for one configuration, as a Node request listener. */
export async function build(mode: Mode = MODE): Promise<Listener> {
  const app = Fastify({ logger: false })
  if (mode === 'bare') {
    app.get('/me', async () => userJson(BARE_USER))
  } else if (mode === 'latchkey') {
    await app.register(latchkeyPlugin, { auth: makeAuth() })
    app.get('/me', { onRequest: app.requireAuth() }, async (request) => userJson(request.auth.user as User))
  } else if (mode === 'peer') {
    await app.register(fastifyJwt, { secret: SECRET, verify: { algorithms: ['HS256'] } })
    // The documented pattern: an onRequest hook awaiting request.jwtVerify(); the user from the same Map.
    app.get(
      '/me',
      {
        onRequest: async (request, reply) => {
          try {
            await request.jwtVerify()
          } catch {
            return reply.code(401).send({ msg: 'Unauthorized' })
          }
        },
      },
      async (request) => {
        const user = users.get((request.user as { sub: string }).sub)
        if (!user) throw Object.assign(new Error('Unauthorized'), { statusCode: 401 })
        return userJson(user)
      },
    )
  } else if (mode === 'ceiling' || mode === 'noop') {
    app.decorateRequest('benchUser', null)
    app.get('/me', { onRequest: checkHook(mode === 'noop' ? noopCheck : ceilingCheck) }, benchUserJson)
  } else if (mode === 'paired') {
    await app.register(latchkeyPlugin, { auth: makeAuth() })
    app.decorateRequest('benchUser', null)
    const timed = (kind: PairedKind, hook: Hook): Hook => timedCallbackHook(kind, hook)
    const nothing: Hook = (_request, _reply, done) => done()
    app.get('/bare', { onRequest: timed('bare', nothing) }, async () => userJson(BARE_USER))
    app.get('/noop', { onRequest: timed('noop', checkHook(noopCheck)) }, benchUserJson)
    app.get('/ceiling', { onRequest: timed('ceiling', checkHook(ceilingCheck)) }, benchUserJson)
    app.get('/latchkey', { onRequest: timed('latchkey', app.requireAuth() as Hook) }, async (request) =>
      userJson(request.auth.user as User),
    )
    app.get('/stats', async () => takeHookStats())
  } else {
    throw new Error(`unknown MODE ${mode}`)
  }
  await app.ready()
  // Fastify's own request listener, as it registers it on its server.
  return (req, res) => void app.server.emit('request', req, res)
}

if (isMain(import.meta.url)) listen(await build())
