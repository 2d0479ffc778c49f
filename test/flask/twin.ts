/**
 * The latchkey twin of an oracle app: `createAuth({ ...fromFlaskConfig(config), ...callbacks })`
 * with the oracle's routes, served by two adapters (Express, and a plain fetch handler), each on
 * its own port. The compatibility lives in the core; these apps only translate, as an app would.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { getRequestListener } from '@hono/node-server'
import express, {
  type Request as ExpressRequest,
  type Response as ExpressResponse,
  type NextFunction,
} from 'express'
import { applyAuthHeaders as expressHeaders, latchkey } from '../../src/adapters/express.js'
import {
  errorResponse,
  errorHandler as fetchErrorHandler,
  applyAuthHeaders as fetchHeaders,
  verifyRequest,
} from '../../src/adapters/fetch.js'
import { fromFlaskConfig } from '../../src/flask.js'
import {
  type Auth,
  type AuthContext,
  type AuthError,
  type AuthOptions,
  createAuth,
  type ErrorResponse,
  type GuardOptions,
  isAuthError,
  type KeyConfig,
  type RevocationStore,
  type TokenLocation,
} from '../../src/index.js'
import type { AppSpec, Json } from './spec.js'

type Ctx = AuthContext<Json, Record<string, unknown>>

/** A store that answers only `isRevoked`, from a fixed list of jtis (token_in_blocklist_loader). */
function blocklistStore(jtis: readonly string[]): RevocationStore {
  const unused = () => Promise.reject(new Error('not used by these apps'))
  return {
    isRevoked: (ref) => jtis.includes(ref.jti),
    revokeToken: unused,
    revokeFamily: unused,
    revokeIdentity: unused,
    consumeRefreshToken: unused,
  }
}

const json = (status: number, body: Json): ErrorResponse => ({ status, body, headers: {} })

/** The custom loaders of the oracle (customErrors), as one error handler. */
function customErrors(error: AuthError, rendered: ErrorResponse): ErrorResponse | undefined {
  const claims = error.claims ?? {}
  const header = error.header ?? {}
  const get = (obj: Record<string, unknown>, key: string) => (Object.hasOwn(obj, key) ? obj[key] : null)
  const invalid = json(418, { error: 'invalid', reason: rendered.body.msg })
  const unauthorized = json(403, { error: 'unauthorized', reason: rendered.body.msg })
  switch (error.code) {
    case 'TOKEN_EXPIRED':
      return json(419, {
        error: 'expired',
        sub: get(claims, 'sub'),
        alg: get(header, 'alg'),
        type: get(claims, 'type'),
      })
    case 'TOKEN_INVALID':
    case 'TOKEN_NOT_YET_VALID':
    case 'WRONG_TOKEN_TYPE':
      return invalid
    case 'CSRF_FAILED':
      // A cookie token without a csrf claim is a decode error (422) to Flask-JWT-Extended.
      return rendered.status === 422 ? invalid : unauthorized
    case 'TOKEN_MISSING':
      return unauthorized
    case 'FRESH_TOKEN_REQUIRED':
      return json(403, {
        error: 'stale',
        sub: get(claims, 'sub'),
        fresh: get(claims, 'fresh'),
        typ: get(header, 'typ'),
      })
    case 'TOKEN_REVOKED':
      return json(410, { error: 'revoked', jti: get(claims, 'jti'), alg: get(header, 'alg') })
    case 'USER_NOT_FOUND':
      return json(404, { error: 'no user', sub: get(claims, 'sub'), alg: get(header, 'alg') })
    case 'CLAIMS_REJECTED':
      return json(409, { error: 'claims', role: get(claims, 'role'), alg: get(header, 'alg') })
    default:
      return undefined
  }
}

/** The auth object of a spec: Flask-JWT-Extended's settings through fromFlaskConfig, its callbacks as options. */
export function twinAuth(spec: AppSpec): Auth<Json, Record<string, unknown>> {
  const f = spec.features ?? {}
  const options: AuthOptions<Json, Record<string, unknown>> = { ...fromFlaskConfig(spec.config, f.fromFlask) }
  const users = f.users
  if (users) options.loadUser = (identity) => (Object.hasOwn(users, identity) ? users[identity] : null)
  if (f.blocklist) options.revocation = blocklistStore(f.blocklist)
  if (f.requireClaim) {
    const [name, value] = f.requireClaim
    options.checkClaims = (claims) => claims[name] === value
  }
  if (f.additionalClaims) {
    const claims = f.additionalClaims
    options.additionalClaims = () => ({ ...claims })
  }
  if (f.additionalHeaders) {
    const headers = f.additionalHeaders
    options.additionalHeaders = () => ({ ...headers })
  }
  if (f.keysByKid && f.kidByIdentity) {
    const keys = new Map<string, KeyConfig>(
      Object.entries(f.keysByKid).map(([kid, secret]) => [kid, { secret, kid }]),
    )
    const kidOf = f.kidByIdentity
    options.resolveKey = (header) => (typeof header.kid === 'string' ? keys.get(header.kid) : undefined)
    options.signingKey = (subject) => {
      const kid = typeof subject === 'string' && Object.hasOwn(kidOf, subject) ? kidOf[subject] : undefined
      return kid === undefined ? undefined : keys.get(kid)
    }
    // The kid goes in the header with the key that signs (additional_headers_loader's part).
  }
  if (f.identityOf) {
    const field = f.identityOf
    options.identify = (user) => (user as Record<string, string>)[field]!
  }
  if (f.customErrors) options.errors = { ...options.errors, handler: customErrors }
  return createAuth(options)
}

/** Flask-JWT-Extended's name of a location (`get_jwt_request_location()`). */
const flaskLocation = (location: TokenLocation | null) => (location === 'query' ? 'query_string' : location)
const latchkeyLocations = (list: string) =>
  list.split(',').map((l) => (l === 'query_string' ? 'query' : l)) as TokenLocation[]

function contextBody(ctx: Ctx, withUser: boolean): Json {
  return {
    identity: ctx.sub,
    claims: ctx.claims,
    header: ctx.header,
    location: flaskLocation(ctx.location),
    ...(withUser ? { user: ctx.user } : {}),
  }
}

/** `verify_jwt_in_request`'s arguments, from the query string as the oracle reads them. */
function verifyOptions(search: URLSearchParams): GuardOptions {
  const options: GuardOptions = {}
  if (search.get('optional') === '1') options.optional = true
  if (search.get('fresh') === '1') options.fresh = true
  if (search.get('refresh') === '1') options.refresh = true
  if (search.get('verify_type') === '0') options.verifyType = false
  if (search.get('skip_revocation_check') === '1') options.skipRevocation = true
  return options
}

interface TokenSpec {
  identity: Json
  type?: 'access' | 'refresh'
  fresh?: boolean | number
  expires?: number | false
  claims?: Record<string, unknown>
  headers?: Record<string, unknown>
}

function createToken(auth: Auth<Json, Record<string, unknown>>, spec: TokenSpec): string {
  const options = {
    ...(spec.expires === undefined ? {} : { expiresIn: spec.expires }),
    ...(spec.claims ? { claims: spec.claims } : {}),
    ...(spec.headers ? { headers: spec.headers } : {}),
  }
  return spec.type === 'refresh'
    ? auth.createRefreshToken(spec.identity, options)
    : auth.createAccessToken(spec.identity, { ...options, fresh: spec.fresh ?? false })
}

const GUARDS: Record<string, GuardOptions> = {
  '/protected': {},
  '/optional': { optional: true },
  '/fresh': { fresh: true },
  '/refresh': { refresh: true },
  '/any': { verifyType: false },
  '/skip': { skipRevocation: true },
}

/** The twin on Express 5. */
function expressTwin(auth: Auth<Json, Record<string, unknown>>, withUser: boolean): express.Express {
  const app = express()
  app.use(express.json({ type: ['application/json', 'application/*+json'] }))
  app.use(express.urlencoded({ extended: false }))
  // A body that does not parse is no body (Flask-JWT-Extended then reports the missing key).
  app.use((err: { type?: string }, req: ExpressRequest, _res: ExpressResponse, next: NextFunction) => {
    if (err.type === 'entity.parse.failed') {
      req.body = undefined
      next()
    } else next(err)
  })
  const { requireAuth, errorHandler } = latchkey(auth)
  const body = (req: ExpressRequest, res: ExpressResponse) => {
    res.json(contextBody(req.auth as Ctx, withUser))
  }
  for (const [path, options] of Object.entries(GUARDS)) app.all(path, requireAuth(options), body)
  app.all('/loc/:locations', (req, res, next) =>
    requireAuth({ locations: latchkeyLocations(String(req.params.locations)) })(
      req,
      res,
      (error?: unknown) => (error ? next(error) : body(req, res)),
    ),
  )
  app.all('/verify', (req, res, next) => {
    const options = verifyOptions(new URL(req.url, 'http://x').searchParams)
    requireAuth(options)(req, res, (error?: unknown) => {
      if (error) return next(error)
      const ctx = req.auth as Ctx
      res.json(
        ctx.isAuthenticated
          ? { verified: true, header: ctx.header, claims: ctx.claims }
          : { verified: null, claims: ctx.claims },
      )
    })
  })
  app.post('/decode', (req, res) => {
    const { token, allowExpired } = req.body as { token: string; allowExpired?: boolean }
    res.json({ claims: auth.verifyTokenSync(token, { allowExpired: allowExpired === true }).claims })
  })
  app.post('/tokens', (req, res) => {
    res.json({ token: createToken(auth, req.body as TokenSpec) })
  })
  app.post('/cookies/:operation', (req, res) => {
    expressHeaders(res, cookieOperation(auth, String(req.params.operation), req.body)).json({ ok: true })
  })
  app.use(errorHandler())
  return app
}

interface CookieSpec {
  token?: string
  maxAge?: number | null
  domain?: string | null
}

function cookieOperation(auth: Auth<Json, Record<string, unknown>>, operation: string, spec: CookieSpec) {
  const domain = spec.domain ?? undefined
  const set = { ...(spec.maxAge ? { maxAge: spec.maxAge } : {}), ...(domain ? { domain } : {}) }
  const unset = domain ? { domain } : {}
  switch (operation) {
    case 'set-access':
      return auth.accessCookies(spec.token!, set)
    case 'set-refresh':
      return auth.refreshCookies(spec.token!, set)
    case 'unset-access':
      return auth.unsetAccessCookies(unset)
    case 'unset-refresh':
      return auth.unsetRefreshCookies(unset)
    default:
      return auth.unsetCookies(unset)
  }
}

/** The twin as a plain fetch handler. */
function fetchTwin(auth: Auth<Json, Record<string, unknown>>, withUser: boolean) {
  const guarded = async (request: Request, options: GuardOptions, answer: (ctx: Ctx) => Json) => {
    const result = await verifyRequest(auth, request, options)
    if (!result.ok) return result.response
    return fetchHeaders(Response.json(answer(result.auth as Ctx)), result)
  }
  return fetchErrorHandler(auth, async (request: Request): Promise<Response> => {
    const url = new URL(request.url)
    const path = url.pathname
    const guard = GUARDS[path]
    if (guard) return guarded(request, guard, (ctx) => contextBody(ctx, withUser))
    if (path.startsWith('/loc/'))
      return guarded(request, { locations: latchkeyLocations(decodeURIComponent(path.slice(5))) }, (ctx) =>
        contextBody(ctx, withUser),
      )
    if (path === '/verify')
      return guarded(request, verifyOptions(url.searchParams), (ctx) =>
        ctx.isAuthenticated
          ? { verified: true, header: ctx.header, claims: ctx.claims }
          : { verified: null, claims: ctx.claims },
      )
    const input = (await request.json()) as Json
    if (path === '/decode') {
      const claims = auth.verifyTokenSync(input.token, { allowExpired: input.allowExpired === true }).claims
      return Response.json({ claims })
    }
    if (path === '/tokens') return Response.json({ token: createToken(auth, input) })
    if (path.startsWith('/cookies/'))
      return fetchHeaders(Response.json({ ok: true }), cookieOperation(auth, path.slice(9), input))
    return Response.json({ msg: 'not found' }, { status: 404 })
  })
}

/** A twin server: the twins of every spec, picked by the request's `X-Oracle-App` header. */
export interface TwinServer {
  port: number
  add(id: string, spec: AppSpec): void
  close(): Promise<void>
}

async function listen(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ server: Server; port: number }> {
  const server = createServer(handler)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, port: (server.address() as AddressInfo).port }
}

/** Starts the twin servers of both adapters. */
export async function startTwins(): Promise<Record<'express' | 'fetch', TwinServer>> {
  const make = async (
    build: (
      auth: Auth<Json, Record<string, unknown>>,
      withUser: boolean,
    ) => (req: IncomingMessage, res: ServerResponse) => void,
  ): Promise<TwinServer> => {
    const apps = new Map<string, (req: IncomingMessage, res: ServerResponse) => void>()
    const { server, port } = await listen((req, res) => {
      const app = apps.get(String(req.headers['x-oracle-app']))
      if (!app) {
        res.statusCode = 404
        res.end('no such twin')
        return
      }
      try {
        app(req, res)
      } catch (error) {
        res.statusCode = 500
        res.end(String(error))
      }
    })
    return {
      port,
      add(id, spec) {
        // A configuration fromFlaskConfig refuses answers every request with a 500 naming why.
        let app: (req: IncomingMessage, res: ServerResponse) => void
        try {
          app = build(twinAuth(spec), spec.features?.users !== undefined)
        } catch (error) {
          app = (_req, res) => {
            res.statusCode = 500
            res.end(`twin refused the configuration: ${String(error)}`)
          }
        }
        apps.set(id, app)
      },
      close: () =>
        new Promise((resolve) => {
          server.close(() => resolve())
          server.closeAllConnections()
        }),
    }
  }
  return {
    express: await make((auth, withUser) => expressTwin(auth, withUser) as never),
    fetch: await make((auth, withUser) => {
      const handler = fetchTwin(auth, withUser)
      return getRequestListener(async (request) => {
        try {
          return await handler(request)
        } catch (error) {
          if (isAuthError(error)) return errorResponse(auth, error)
          return new Response(String(error), { status: 500 })
        }
      })
    }),
  }
}
