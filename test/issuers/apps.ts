/**
 * One API, guarded by each adapter (Express, Fastify, Hono, fetch), for the identity-provider suite.
 * Routes (all JSON; each handler answers `{sub, issuer, scopes, user}` of its context):
 * - `GET /orders`: scope `read:orders`; `POST /orders`: scope `write:orders`;
 * - `GET /reports`: one of the scopes `admin`, `reports`;
 * - `GET /admin`: a claimCheck (`client_id` is `admin-client`);
 * - `GET /self`: only the app's own tokens; `GET /idp`: only identity providers' tokens;
 * - `POST /login` `{username}`: a first-party login, bound to the client's DPoP key when the request
 *   carries a DPoP proof (`auth.verifyDpopProof`);
 * - `POST /logout`: `auth.logout` of the presented token (an identity provider's one included).
 */
import { createServer } from 'node:http'
import { getRequestListener } from '@hono/node-server'
import express from 'express'
import Fastify from 'fastify'
import { Hono } from 'hono'
import { latchkey } from '../../src/adapters/express.js'
import { latchkeyPlugin } from '../../src/adapters/fastify.js'
import { verifyRequest } from '../../src/adapters/fetch.js'
import { type AuthVariables, requireAuth } from '../../src/adapters/hono.js'
import { type Auth, type AuthContext, type GuardOptions, isAuthError } from '../../src/index.js'
import { listen, type RunningApp } from '../conformance/suite.js'

export type User = { id: string; kind: 'staff' | 'client' }

/** The routes and the guard options of each. */
export const ROUTES: Record<string, { method: 'GET' | 'POST'; path: string; guard: GuardOptions }> = {
  orders: { method: 'GET', path: '/orders', guard: { scopes: ['read:orders'] } },
  placeOrder: { method: 'POST', path: '/orders', guard: { scopes: ['write:orders'] } },
  reports: { method: 'GET', path: '/reports', guard: { scopes: { any: ['admin', 'reports'] } } },
  admin: {
    method: 'GET',
    path: '/admin',
    guard: { claimCheck: (claims: { client_id?: string }) => claims.client_id === 'admin-client' },
  },
  self: { method: 'GET', path: '/self', guard: { accept: 'self' } },
  idp: { method: 'GET', path: '/idp', guard: { accept: 'issuers' } },
}

const describeContext = (ctx: AuthContext<User>) => ({
  sub: ctx.sub,
  issuer: ctx.issuer,
  scopes: ctx.scopes,
  user: ctx.user,
})

type LoginBody = { username?: string }

/** The first-party login: bound to the DPoP key of the proof the request carries, if any. */
async function login(auth: Auth<User>, body: LoginBody, proof: string | undefined, url: string) {
  const username = body.username ?? 'alice'
  const bound =
    proof === undefined ? {} : { dpopJkt: (await auth.verifyDpopProof(proof, { method: 'POST', url })).jkt }
  const tokens = await auth.login(
    { id: username, kind: 'staff' },
    { claims: { scope: 'read:orders' }, ...bound },
  )
  return { access_token: tokens.accessToken, refresh_token: tokens.refreshToken }
}

export type StartApp = (auth: Auth<User>) => Promise<RunningApp>

export const startExpress: StartApp = async (auth) => {
  const app = express()
  app.use(express.json())
  const { requireAuth: guard, errorHandler } = latchkey(auth)
  for (const route of Object.values(ROUTES)) {
    const add = route.method === 'GET' ? app.get.bind(app) : app.post.bind(app)
    add(
      route.path,
      guard(route.guard),
      (req, res) => void res.json(describeContext(req.auth as unknown as AuthContext<User>)),
    )
  }
  app.post('/login', (req, res, next) => {
    const url = `${req.protocol}://${req.get('host')}${req.originalUrl}`
    login(auth, req.body as LoginBody, req.get('dpop'), url).then((body) => res.json(body), next)
  })
  app.post('/logout', guard(), (req, res, next) => {
    auth.logout(req.auth as unknown as AuthContext<User>).then(() => res.json({ ok: true }), next)
  })
  app.use(errorHandler())
  return listen(createServer(app))
}

export const startFastify: StartApp = async (auth) => {
  const app = Fastify()
  await app.register(latchkeyPlugin, { auth: auth as unknown as Auth<unknown, object> })
  for (const route of Object.values(ROUTES)) {
    app.route({
      method: route.method,
      url: route.path,
      onRequest: app.requireAuth(route.guard),
      handler: async (request) => describeContext(request.auth as unknown as AuthContext<User>),
    })
  }
  app.post('/login', async (request) =>
    login(
      auth,
      request.body as LoginBody,
      request.headers.dpop as string | undefined,
      `${request.protocol}://${request.host}${request.url}`,
    ),
  )
  app.post('/logout', { onRequest: app.requireAuth() }, async (request) => {
    await auth.logout(request.auth as unknown as AuthContext<User>)
    return { ok: true }
  })
  app.setErrorHandler((error, _request, reply) => {
    if (isAuthError(error)) {
      const rendered = auth.errorResponse(error)
      return reply.code(rendered.status).headers(rendered.headers).send(rendered.body)
    }
    return reply.code(500).send({ msg: String(error) })
  })
  await app.ready()
  return listen(app.server)
}

export const startHono: StartApp = async (auth) => {
  const app = new Hono<{ Variables: AuthVariables<User> }>()
  for (const route of Object.values(ROUTES)) {
    const add = route.method === 'GET' ? app.get.bind(app) : app.post.bind(app)
    add(route.path, requireAuth(auth, route.guard), (c) => c.json(describeContext(c.get('auth'))))
  }
  app.post('/login', async (c) =>
    c.json(await login(auth, await c.req.json(), c.req.header('dpop'), c.req.url)),
  )
  app.post('/logout', requireAuth(auth), async (c) => {
    await auth.logout(c.get('auth'))
    return c.json({ ok: true })
  })
  app.onError((error, c) => {
    if (!isAuthError(error)) return c.json({ msg: String(error) }, 500)
    const rendered = auth.errorResponse(error)
    return new Response(JSON.stringify(rendered.body), {
      status: rendered.status,
      headers: rendered.headers as Record<string, string>,
    })
  })
  return listen(createServer(getRequestListener(app.fetch)))
}

export const startFetch: StartApp = async (auth) => {
  const handler = async (request: Request): Promise<Response> => {
    const { pathname } = new URL(request.url)
    try {
      if (request.method === 'POST' && pathname === '/login')
        return Response.json(
          await login(
            auth,
            (await request.json()) as LoginBody,
            request.headers.get('dpop') ?? undefined,
            request.url,
          ),
        )
      if (request.method === 'POST' && pathname === '/logout') {
        const result = await verifyRequest(auth, request)
        if (!result.ok) return result.response
        await auth.logout(result.auth)
        return Response.json({ ok: true })
      }
      const route = Object.values(ROUTES).find((r) => r.method === request.method && r.path === pathname)
      if (!route) return Response.json({ msg: 'not found' }, { status: 404 })
      const result = await verifyRequest(auth, request, route.guard)
      return result.ok ? Response.json(describeContext(result.auth)) : result.response
    } catch (error) {
      if (!isAuthError(error)) throw error
      const rendered = auth.errorResponse(error)
      return Response.json(rendered.body, {
        status: rendered.status,
        headers: rendered.headers as Record<string, string>,
      })
    }
  }
  return listen(createServer(getRequestListener(handler)))
}

export const ADAPTERS: Record<string, StartApp> = {
  express: startExpress,
  fastify: startFastify,
  hono: startHono,
  fetch: startFetch,
}
