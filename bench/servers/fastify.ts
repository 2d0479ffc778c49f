/** Fastify 5 benchmark server: `MODE=bare|noop|latchkey|peer|ceiling (ALG=HS256|ES256|EdDSA|RS256) node --import tsx bench/servers/fastify.ts`. */
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
  SECRET,
  type User,
  userJson,
  users,
} from './common.js'

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
    const check = mode === 'noop' ? noopCheck : ceilingCheck
    app.decorateRequest('benchUser', null)
    app.get(
      '/me',
      {
        onRequest: (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
          const user = check(request.headers.authorization)
          if (!user) return void reply.code(401).send({ msg: 'Unauthorized' })
          ;(request as unknown as { benchUser: User }).benchUser = user
          done()
        },
      },
      async (request) => userJson((request as unknown as { benchUser: User }).benchUser),
    )
  } else {
    throw new Error(`unknown MODE ${mode}`)
  }
  await app.ready()
  // Fastify's own request listener, as it registers it on its server.
  return (req, res) => void app.server.emit('request', req, res)
}

if (isMain(import.meta.url)) listen(await build())
