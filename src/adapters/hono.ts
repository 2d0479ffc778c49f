/**
 * `latchkey/hono`: middleware for Hono 4, on Node and every web-standard runtime (Bun, Deno,
 * workers). A thin translation: the request becomes a RequestView, the core decides, the context is
 * set as `c.get('auth')`, and the context's response headers (implicit-refresh cookies) are added
 * after the handler ran, so a logout in the handler still cancels them.
 *
 * Type `c.get('auth').user` through the app's variables:
 * ```ts
 * const app = new Hono<{ Variables: AuthVariables<User> }>()
 * ```
 */
import type { Context, ErrorHandler, MiddlewareHandler } from 'hono'
import type { RequestView } from '../adapter-kit.js'
import { check } from '../adapter-kit.js'
import { type Auth, type AuthContext, isAuthError } from '../index.js'
import {
  type AdapterGuardOptions,
  coreOptions,
  type HeaderSource,
  isFormContentType,
  isJsonContentType,
  type NodeRequestLike,
  nodeRequestView,
  readFormBody,
  wantsFormBody,
  wantsJsonBody,
  webErrorResponse,
  webRequestView,
} from './http.js'

export type { AdapterGuardOptions, HandleErrors, HeaderSource } from './http.js'

/**
 * The context variables latchkey's middleware sets, for `new Hono<{ Variables: AuthVariables<User> }>()`.
 *
 * @example
 * ```ts
 * const app = new Hono<{ Variables: AuthVariables<User> }>()
 * app.get('/me', requireAuth(auth), (c) => c.json({ email: c.get('auth').user.email }))
 * ```
 */
export type AuthVariables<User = unknown, Claims extends object = Record<string, unknown>> = {
  auth: AuthContext<User, Claims>
}

/** The middleware type the guards return. */
export type AuthMiddleware<User, Claims extends object> = MiddlewareHandler<{
  Variables: AuthVariables<User, Claims>
}>

const nothing = (): undefined => undefined

/**
 * The Node request behind `c.req.raw`, when reading it is the same as reading the Request: on
 * @hono/node-server, whose lightweight Request is made from `c.env.incoming` and builds its Headers
 * only when asked. While it has built nothing (its own properties are just its two symbols: the Node
 * request and the URL), no middleware can have changed its headers, and reading Node's headers
 * skips building a Headers object (5–13 µs per request in the benchmark's Node servers).
 * Anything else (another runtime, a rewritten request, headers already built, another version of
 * node-server that keeps other properties) reads the Request itself.
 */
function nodeIncoming(raw: Request, env: unknown): NodeRequestLike | undefined {
  const incoming = (env as { incoming?: unknown } | null | undefined)?.incoming as NodeRequestLike | undefined
  if (typeof incoming !== 'object' || incoming === null || typeof incoming.headers !== 'object')
    return undefined
  const symbols = Object.getOwnPropertySymbols(raw)
  if (symbols.length !== 2) return undefined
  const [a, b] = symbols as [symbol, symbol]
  const key = a.description === 'incomingKey' && b.description === 'urlKey' ? a : undefined
  return key !== undefined && (raw as unknown as Record<symbol, unknown>)[key] === incoming
    ? incoming
    : undefined
}

/** The URL of a Request, for DPoP proofs: node-server's is the absolute URL it made of the Node request. */
const requestUrl = (raw: Request): string => raw.url

function viewOf(c: Context, body: unknown): RequestView {
  const raw = c.req.raw
  const incoming = nodeIncoming(raw, c.env)
  return incoming === undefined ? webRequestView(raw, body) : nodeRequestView(incoming, body, requestUrl, raw)
}

/**
 * Requires a valid access token (or what `options` ask for) and sets `c.get('auth')`. Auth errors are
 * answered here (so an `onError` that swallows errors never turns a 401 into a 500) unless
 * `handleErrors: 'framework'`, which throws them to `app.onError` (see {@link errorHandler}).
 *
 * The JSON body is read only when `json` is one of the guard's locations and the request says it is
 * JSON; it is read through `c.req.json()`, which caches it, so handlers and validators can read it again.
 *
 * @example
 * ```ts
 * app.get('/me', requireAuth(auth), (c) => c.json({ email: c.get('auth').user.email }))
 * app.post('/settings', requireAuth(auth, { fresh: true }), (c) => c.json({ ok: true }))
 * ```
 */
export function requireAuth<User, Claims extends object>(
  auth: Auth<User, Claims>,
  options: AdapterGuardOptions = {},
): AuthMiddleware<User, Claims> {
  const mode = options.handleErrors ?? 'respond'
  const coreGuard = coreOptions(options)
  const readJson = wantsJsonBody(auth, coreGuard)
  const readForm = wantsFormBody(auth, coreGuard)
  type C = Parameters<AuthMiddleware<User, Claims>>[0]
  type Next = Parameters<AuthMiddleware<User, Claims>>[1]

  const refused = (error: unknown): Promise<Response> => {
    // Not ours (a failing user loader, say): app.onError, as for any other middleware.
    if (!isAuthError(error) || mode === 'framework') return Promise.reject(error)
    return Promise.resolve(webErrorResponse(auth.errorResponse(error)))
  }
  const accept = async (c: C, next: Next, context: AuthContext<User, Claims>): Promise<undefined> => {
    c.set('auth', context)
    await next()
    // Read after the handler: a logout has dropped them by then. When guards are nested, the
    // innermost (whose context the handler saw) adds them, once.
    if (c.get('auth') !== context) return
    const headers = context.responseHeaders
    if (headers) applyAuthHeaders(c, { headers })
  }
  const proceed = (c: C, next: Next, body: unknown): Promise<Response | undefined> => {
    let result: AuthContext<User, Claims> | Promise<AuthContext<User, Claims>>
    try {
      result = check(auth, viewOf(c, body), coreGuard)
    } catch (error) {
      return refused(error)
    }
    if (result instanceof Promise) return result.then((context) => accept(c, next, context), refused)
    // Only a context carrying headers (re-issued cookies: implicit refresh) needs a step after the
    // handler; every other request goes on without an async function's promise of its own.
    if (result.responseHeaders === undefined) {
      c.set('auth', result)
      // Not next() itself: it resolves to the Context, which Hono would take for this middleware's response.
      return next().then(nothing)
    }
    return accept(c, next, result)
  }
  const withBody = async (c: C, next: Next): Promise<Response | undefined> => {
    let body: unknown
    const type = c.req.header('content-type')
    if (readJson && isJsonContentType(type)) {
      try {
        body = await c.req.json()
      } catch {
        body = undefined // not JSON after all: no token there; the handler sees the parse error itself
      }
    } else if (readForm && isFormContentType(type)) {
      // The CSRF value may be a form field; Hono keeps the parsed body for the handler.
      body = await readFormBody(c.req.raw)
    }
    return proceed(c, next, body)
  }
  // The body is read only by guards that may find a token (or a CSRF value) in it.
  return readJson || readForm
    ? function latchkeyGuard(c, next) {
        return withBody(c, next)
      }
    : function latchkeyGuard(c, next) {
        return proceed(c, next, undefined)
      }
}

/**
 * Lets anonymous requests through (`c.get('auth').isAuthenticated` false); a bad token is still refused.
 *
 * @example
 * ```ts
 * app.get('/maybe', optionalAuth(auth), (c) => c.json({ signedIn: c.get('auth').isAuthenticated }))
 * ```
 */
export function optionalAuth<User, Claims extends object>(
  auth: Auth<User, Claims>,
  options: Omit<AdapterGuardOptions, 'optional'> = {},
): AuthMiddleware<User, Claims> {
  return requireAuth(auth, { ...options, optional: true })
}

/**
 * Requires a fresh access token (from a recent password login).
 *
 * @example
 * ```ts
 * app.post('/password', requireFresh(auth), handler)
 * ```
 */
export function requireFresh<User, Claims extends object>(
  auth: Auth<User, Claims>,
  options: Omit<AdapterGuardOptions, 'fresh'> = {},
): AuthMiddleware<User, Claims> {
  return requireAuth(auth, { ...options, fresh: true })
}

/**
 * Requires a refresh token; the handler then calls `auth.refresh(c.get('auth'))`.
 *
 * @example
 * ```ts
 * app.post('/refresh', requireRefresh(auth), async (c) => {
 *   const tokens = await auth.refresh(c.get('auth'))
 *   return applyAuthHeaders(c, tokens).json({ access_token: tokens.accessToken })
 * })
 * ```
 */
export function requireRefresh<User, Claims extends object>(
  auth: Auth<User, Claims>,
  options: Omit<AdapterGuardOptions, 'refresh'> = {},
): AuthMiddleware<User, Claims> {
  return requireAuth(auth, { ...options, refresh: true })
}

/**
 * An `app.onError` handler rendering latchkey's errors as JSON (`{msg, code}`, WWW-Authenticate). Any
 * other error goes to `fallback`, by default what Hono's own handler does (an HTTPException's
 * response, or a logged 500).
 *
 * @example
 * ```ts
 * app.onError(errorHandler(auth))
 * ```
 */
export function errorHandler(auth: Auth<unknown, object>, fallback?: ErrorHandler): ErrorHandler {
  const core = auth as unknown as Auth<never, never>
  return (error, c) => {
    if (isAuthError(error)) return webErrorResponse(core.errorResponse(error))
    if (fallback) return fallback(error, c)
    // Hono's default handler, which an onError replaces and cannot call.
    if ('getResponse' in error && typeof error.getResponse === 'function')
      return error.getResponse() as Response
    console.error(error)
    return c.text('Internal Server Error', 500)
  }
}

/**
 * Adds the headers of a login, refresh or logout (`Set-Cookie` only when cookies are a token location,
 * `Cache-Control: no-store`) to the response being built; returns `c` for chaining.
 *
 * @example
 * ```ts
 * const tokens = await auth.login(user)
 * return applyAuthHeaders(c, tokens).json({ access_token: tokens.accessToken })
 * ```
 */
export function applyAuthHeaders<C extends Context>(c: C, source: HeaderSource): C {
  for (const [name, value] of Object.entries(source.headers)) {
    if (name.toLowerCase() === 'set-cookie') {
      for (const v of Array.isArray(value) ? value : [value]) c.header('set-cookie', v, { append: true })
    } else {
      c.header(name, Array.isArray(value) ? value.join(', ') : value)
    }
  }
  return c
}
