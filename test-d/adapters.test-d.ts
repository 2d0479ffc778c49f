/**
 * Compile-only: pins the typed surface of the adapters. `tsc -p tsconfig.json` checks it; nothing
 * here runs. The Express, Fastify and NestJS user types come from the examples' `Register` declarations
 * (registration is program-wide, as it is in an app); Hono and fetch infer them from the auth object.
 */
import type { RequestHandler } from 'express'
import Fastify, { type FastifyRequest } from 'fastify'
import { Hono } from 'hono'
import { expectTypeOf } from 'vitest'
import type { User as ExpressUser } from '../examples/express.js'
import type { User as FastifyUser } from '../examples/fastify.js'
import type { User as NestUser } from '../examples/nestjs.js'
import { latchkey } from '../src/adapters/express.js'
import { errorHandler as fastifyErrorHandler, latchkeyPlugin } from '../src/adapters/fastify.js'
import { verifyRequest } from '../src/adapters/fetch.js'
import { type AuthVariables, errorHandler as honoErrorHandler, requireAuth } from '../src/adapters/hono.js'
import {
  type AuthenticatedRequest,
  LatchkeyModule,
  type AuthContext as NestAuthContext,
  type RegisteredUser as NestRegisteredUser,
  applyAuthHeaders as nestApplyAuthHeaders,
  RequireAuth,
} from '../src/adapters/nestjs.js'
import { type AuthContext, createAuth, type TokenLocation } from '../src/index.js'

type Member = { id: number; name: string; roles: string[] }
const memberAuth = createAuth<Member>({ keys: { secret: 'x'.repeat(32) }, identify: (m) => m.id })

// Express: req.auth is the registered user's context on every handler, without casts.
const { requireAuth: expressGuard } = latchkey(memberAuth)
expectTypeOf(expressGuard()).toEqualTypeOf<RequestHandler>()
const expressHandler: RequestHandler = (req, res) => {
  expectTypeOf(req.auth.user).toEqualTypeOf<ExpressUser>()
  expectTypeOf(req.auth.user.email).toEqualTypeOf<string>()
  expectTypeOf(req.auth).toEqualTypeOf<AuthContext<ExpressUser>>()
  expectTypeOf(req.auth.location).toEqualTypeOf<TokenLocation | null>()
  // @ts-expect-error not a property of the registered user
  req.auth.user.password
  res.end()
}
void expressHandler

// Fastify: request.auth likewise; guards fit onRequest and preHandler, also with route generics.
expectTypeOf<FastifyRequest['auth']['user']>().toEqualTypeOf<FastifyUser>()
const app = Fastify()
app.post<{ Body: { name: string } }>(
  '/x',
  {
    onRequest: app.requireAuth(),
    preHandler: [app.requireFresh(), app.optionalAuth({ locations: ['json'] })],
  },
  async (request) => {
    expectTypeOf(request.auth.user.email).toEqualTypeOf<string>()
    expectTypeOf(request.body.name).toEqualTypeOf<string>()
    return { ok: true }
  },
)
// @ts-expect-error handleErrors takes 'respond' or 'framework'
app.requireAuth({ handleErrors: 'next' })

// Hono: the app's Variables give c.get('auth') the user type of AuthVariables ...
const hono = new Hono<{ Variables: AuthVariables<Member> }>()
hono.get('/me', requireAuth(memberAuth), (c) => {
  expectTypeOf(c.get('auth').user).toEqualTypeOf<Member>()
  expectTypeOf(c.get('auth').user.roles).toEqualTypeOf<string[]>()
  return c.json({ name: c.get('auth').user.name })
})
// ... and a route behind a guard is typed even when the app declares no Variables.
new Hono().get('/me', requireAuth(memberAuth), (c) => {
  expectTypeOf(c.get('auth').user).toEqualTypeOf<Member>()
  return c.body(null)
})

// fetch: the result narrows on ok; the user type comes from the auth object.
async function fetchHandler(request: Request): Promise<Response> {
  const result = await verifyRequest(memberAuth, request, { fresh: true })
  if (!result.ok) {
    expectTypeOf(result.response).toEqualTypeOf<Response>()
    return result.response
  }
  expectTypeOf(result.auth.user).toEqualTypeOf<Member>()
  expectTypeOf(result.headers).toEqualTypeOf<Record<string, string[]>>()
  return Response.json({ id: result.auth.user.id })
}
void fetchHandler

// Custom claims: every adapter takes an auth object whatever its user and claims types.
const tenantAuth = createAuth<Member, { tenant: string }>({ keys: { secret: 'x'.repeat(32) } })
void app.register(latchkeyPlugin, { auth: tenantAuth })
app.setErrorHandler(fastifyErrorHandler(tenantAuth))
hono.onError(honoErrorHandler(tenantAuth))
new Hono().get('/t', requireAuth(tenantAuth), (c) => {
  expectTypeOf(c.get('auth').claims?.tenant).toEqualTypeOf<string | undefined>()
  return c.body(null)
})
latchkey(tenantAuth, { handleErrors: 'next' })

// Identity providers' tokens: the guard options of every adapter, and the context's scopes and issuer.
latchkey(memberAuth).requireAuth({
  scopes: ['read:orders'],
  accept: 'issuers',
  claimCheck: (claims) => claims.client_id === 'svc',
})
latchkey(memberAuth).requireAuth({
  scopes: { any: ['a', 'b'] },
  claimCheck: (c: { azp?: string }) => c.azp === 'x',
})
new Hono().get('/orders', requireAuth(memberAuth, { scopes: ['read:orders'], accept: ['self'] }), (c) => {
  expectTypeOf(c.get('auth').scopes).toEqualTypeOf<readonly string[]>()
  expectTypeOf(c.get('auth').issuer).toEqualTypeOf<string | null>()
  return c.body(null)
})
void verifyRequest(memberAuth, new Request('http://x/'), { scopes: { all: ['x'] }, accept: 'any' })
// NestJS: the registered user types AuthContext and the request; the module takes any auth object
// or createAuth's options; route decorators take the guard options.
expectTypeOf<NestRegisteredUser>().toEqualTypeOf<NestUser>()
expectTypeOf<NestAuthContext['user']>().toEqualTypeOf<NestUser>()
expectTypeOf<AuthenticatedRequest['auth']>().toEqualTypeOf<AuthContext<NestUser>>()
LatchkeyModule.forRoot({ auth: tenantAuth, handleErrors: 'framework', isGlobal: false })
LatchkeyModule.forRoot({ auth: { keys: { secret: 'x'.repeat(32) } } })
LatchkeyModule.forRootAsync({ useFactory: () => ({ auth: memberAuth }) })
// @ts-expect-error the auth object (or its options) is required
LatchkeyModule.forRoot({})
RequireAuth({ locations: ['cookies'], fresh: true, handleErrors: 'respond' })
// @ts-expect-error not a token location
RequireAuth({ locations: ['session'] })
expectTypeOf(nestApplyAuthHeaders({ reply: true }, { headers: {} })).toEqualTypeOf<{ reply: boolean }>()
