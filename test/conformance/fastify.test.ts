import Fastify, { type FastifyRequest } from 'fastify'
import { applyAuthHeaders, errorHandler, latchkeyPlugin } from '../../src/adapters/fastify.js'
import type { Auth } from '../../src/index.js'
import { findUser, type RunningApp, runConformance, type User } from './suite.js'

declare module '../../src/adapters/fastify.js' {
  interface Register {
    user: User
  }
}

const echoOf = (body: unknown) =>
  typeof body === 'object' && body !== null && 'echo' in body ? body.echo : null

async function start(auth: Auth<User>): Promise<RunningApp> {
  const app = Fastify()
  await app.register(latchkeyPlugin, { auth })
  app.setErrorHandler(errorHandler(auth))
  const me = async (request: FastifyRequest) => {
    const { user, sub, location, fresh } = request.auth
    return { user, sub, location, fresh, echo: echoOf(request.body) }
  }

  app.post<{ Body: { username?: string; remember?: boolean } }>('/login', async (request, reply) => {
    const user = findUser(request.body?.username)
    if (!user) return reply.code(404).send({ msg: 'no such user' })
    const tokens = await auth.login(user, { remember: request.body.remember === true })
    return reply.applyAuthHeaders(tokens).send({
      access_token: tokens.accessToken,
      refresh_token: tokens.refreshToken,
      csrf: tokens.csrf ?? null,
    })
  })
  // onRequest where the body cannot hold the token; preHandler where it can (the body is parsed by then).
  app.get('/me', { onRequest: app.requireAuth() }, me)
  app.post<{ Body: { echo?: string } }>('/me', { preHandler: app.requireAuth() }, me)
  app.options('/me', { onRequest: app.requireAuth() }, async (_request, reply) => reply.code(204).send())
  app.get('/maybe', { onRequest: app.optionalAuth() }, async (request) => ({
    authenticated: request.auth.isAuthenticated,
    user: request.auth.user,
  }))
  app.post('/settings', { preHandler: app.requireFresh() }, async () => ({ ok: true }))
  app.post('/refresh', { preHandler: app.requireRefresh() }, async (request, reply) => {
    const tokens = await auth.refresh(request.auth)
    return applyAuthHeaders(reply, tokens).send({
      access_token: tokens.accessToken,
      refresh_token: tokens.refreshToken,
      csrf: tokens.csrf ?? null,
    })
  })
  app.post('/logout', { preHandler: app.requireAuth() }, async (request, reply) => {
    return reply.applyAuthHeaders(await auth.logout(request.auth)).send({ ok: true })
  })
  app.get('/boom', async () => {
    throw new Error('boom')
  })
  await app.register(
    (scope, _options, done) => {
      scope.setErrorHandler((_error, _request, reply) => {
        reply.code(500).send({ swallowed: true })
      })
      scope.get('/me', { onRequest: scope.requireAuth() }, me)
      done()
    },
    { prefix: '/swallow' },
  )
  app.get('/framework/me', { onRequest: app.requireAuth({ handleErrors: 'framework' }) }, me)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  return { url: `http://127.0.0.1:${port}`, close: () => app.close() }
}

runConformance('fastify', start)
