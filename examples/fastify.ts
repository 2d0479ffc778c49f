/** A minimal Fastify app with latchkey: `npx tsx examples/fastify.ts`, then POST /login {"username":"alice"}. */
import { fileURLToPath } from 'node:url'
import Fastify from 'fastify'
import { errorHandler, latchkeyPlugin } from '../src/adapters/fastify.js'
import { createAuth, MemoryRevocationStore } from '../src/index.js'

export type User = { id: string; email: string; active: boolean }
// In an app: declare module 'latchkey/fastify'. Types request.auth.user everywhere.
declare module '../src/adapters/fastify.js' {
  interface Register {
    user: User
  }
}

const users = new Map<string, User>([['alice', { id: 'alice', email: 'alice@example.com', active: true }]])
export const auth = createAuth<User>({
  keys: { secret: process.env.LATCHKEY_SECRET ?? 'example-only-secret-change-me-0123456789abcdef' },
  revocation: new MemoryRevocationStore(),
  identify: (user) => user.id,
  loadUser: (id) => users.get(id),
  isActive: (user) => user.active,
})

export async function start(port = 3000, host = '127.0.0.1') {
  const app = Fastify()
  await app.register(latchkeyPlugin, { auth })
  app.setErrorHandler(errorHandler(auth)) // renders AuthErrors thrown in handlers (auth.login, auth.refresh)
  app.post<{ Body: { username?: string; remember?: boolean } }>('/login', async (request, reply) => {
    const user = users.get(request.body?.username ?? '') // check the password here
    if (!user) return reply.code(401).send({ msg: 'Bad username or password' })
    const tokens = await auth.login(user, { remember: request.body.remember === true })
    return reply
      .applyAuthHeaders(tokens)
      .send({ access_token: tokens.accessToken, refresh_token: tokens.refreshToken })
  })
  app.get('/me', { onRequest: app.requireAuth() }, async (request) => ({ email: request.auth.user.email }))
  app.post('/refresh', { preHandler: app.requireRefresh() }, async (request, reply) => {
    const tokens = await auth.refresh(request.auth)
    return reply
      .applyAuthHeaders(tokens)
      .send({ access_token: tokens.accessToken, refresh_token: tokens.refreshToken })
  })
  app.post('/logout', { preHandler: app.requireAuth() }, async (request, reply) => {
    return reply.applyAuthHeaders(await auth.logout(request.auth)).send({ ok: true })
  })
  await app.listen({ port, host })
  return app.server
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const server = await start(Number(process.env.PORT ?? 3000))
  console.log('listening on', server.address())
}
