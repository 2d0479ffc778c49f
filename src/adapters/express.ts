/**
 * `latchkey/express`: guards for Express 5 and 4. A thin translation: the request becomes a
 * RequestView, the core decides, the context lands on `req.auth`, and the context's response headers
 * (implicit-refresh cookies) are added when the response headers are written.
 *
 * Type `req.auth.user` once for the whole app by registering the user type:
 * ```ts
 * declare module 'latchkey/express' {
 *   interface Register { user: User }   // optional: claims: MyClaims
 * }
 * ```
 */
import type { ServerResponse } from 'node:http'
import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express'
import { check } from '../adapter-kit.js'
import { type Auth, type AuthContext, isAuthError } from '../index.js'
import {
  type AdapterGuardOptions,
  type ClaimsOf,
  coreOptions,
  type HandleErrors,
  type HeaderSource,
  nodeRequestView,
  sendNodeError,
  setNodeHeaders,
  type UserOf,
  wantsFormBody,
  wantsJsonBody,
} from './http.js'
import { setRequestContext } from './node-context.js'

export type { AdapterGuardOptions, HandleErrors, HeaderSource } from './http.js'

/**
 * The app registers its user (and, optionally, claims) type here, by declaration merging, so
 * `req.auth.user` is typed everywhere without casts.
 *
 * @example
 * ```ts
 * declare module 'latchkey/express' {
 *   interface Register { user: User }
 * }
 * ```
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled in by the app through declaration merging
export interface Register {}

/** The registered user type (`unknown` until the app registers one). */
export type RegisteredUser = UserOf<Register>
/** The registered claims type (plain records until the app registers one). */
export type RegisteredClaims = ClaimsOf<Register>

declare global {
  namespace Express {
    interface Request {
      /**
       * Set by latchkey's guards (`requireAuth`, `optionalAuth`, ...): who is calling and with which
       * token. Present only on routes behind a guard.
       */
      auth: AuthContext<RegisteredUser, RegisteredClaims>
    }
  }
}

/** Options of {@link latchkey}. */
export interface ExpressOptions {
  /**
   * Who answers auth errors: `'respond'` (default) sends them from the guard; `'framework'` (or its
   * Express spelling `'next'`) calls `next(err)` so your error middleware (or `errorHandler()`) sees them.
   */
  handleErrors?: HandleErrors | 'next'
}

/** The middleware factories {@link latchkey} returns. */
export interface ExpressGuards {
  /** Requires a valid access token (or what `options` ask for). */
  requireAuth(options?: AdapterGuardOptions): RequestHandler
  /** Lets anonymous requests through (`req.auth.isAuthenticated` false); a bad token is still refused. */
  optionalAuth(options?: Omit<AdapterGuardOptions, 'optional'>): RequestHandler
  /** Requires a fresh access token (from a recent password login). */
  requireFresh(options?: Omit<AdapterGuardOptions, 'fresh'>): RequestHandler
  /** Requires a refresh token (for the refresh route: then call `auth.refresh(req.auth)`). */
  requireRefresh(options?: Omit<AdapterGuardOptions, 'refresh'>): RequestHandler
  /** Error middleware rendering latchkey's errors as JSON; every other error is passed on. */
  errorHandler(): ErrorRequestHandler
}

const HOOKED = Symbol('latchkey.hooked')

/**
 * Adds the context's response headers (implicit-refresh cookies) when the headers are written, not
 * when the guard runs, so a logout in the handler (which drops them from the context) still cancels
 * them. `res.end()` without an explicit `writeHead` goes through `writeHead` too, so every way of
 * answering is covered. Installed only on a response whose guard re-issued a cookie: every other
 * request keeps Node's own `writeHead`.
 */
function hookResponse(req: Request, res: Response): void {
  const target = res as Response & { [HOOKED]?: true }
  if (target[HOOKED]) return
  target[HOOKED] = true
  const writeHead = res.writeHead
  res.writeHead = function (this: ServerResponse, ...args: unknown[]) {
    // req.auth is read now: the latest guard's context, after the handler ran.
    const context = req.auth as AuthContext<never, never> | undefined
    setNodeHeaders(res, context?.responseHeaders)
    return (writeHead as (...a: unknown[]) => ServerResponse).apply(this, args)
  } as typeof res.writeHead
}

/**
 * Creates the Express guards for one auth object.
 *
 * @example
 * ```ts
 * const { requireAuth, optionalAuth, requireFresh, requireRefresh, errorHandler } = latchkey(auth)
 * app.use(express.json())
 * app.get('/me', requireAuth(), (req, res) => res.json({ email: req.auth.user.email }))
 * app.post('/refresh', requireRefresh(), async (req, res) => {
 *   const tokens = await auth.refresh(req.auth)
 *   applyAuthHeaders(res, tokens).json({ access_token: tokens.accessToken })
 * })
 * app.use(errorHandler())
 * ```
 */
export function latchkey<User, Claims extends object>(
  auth: Auth<User, Claims>,
  options: ExpressOptions = {},
): ExpressGuards {
  const core = auth as unknown as Auth<never, never>
  const adapterMode: HandleErrors =
    options.handleErrors === 'respond' || !options.handleErrors ? 'respond' : 'framework'

  function guard(guardOptions: AdapterGuardOptions): RequestHandler {
    const mode = guardOptions.handleErrors ?? adapterMode
    const coreGuard = coreOptions(guardOptions)
    // The parsed body only for guards that may find a token (or a form's CSRF value) in it: without
    // a body parser `req.body` is a property the request lacks, looked up along the prototype chain
    // Express gives each request.
    const readsBody = wantsJsonBody(core, coreGuard) || wantsFormBody(core, coreGuard)
    const accept = (context: AuthContext<never, never>, req: Request, res: Response, next: NextFunction) => {
      setRequestContext(req, context)
      // Only when the guard re-issued a cookie: wrapping writeHead on every request (a closure and
      // two new properties on each response object) measurably slowed every guarded request.
      if (context.responseHeaders !== undefined) hookResponse(req, res)
      next()
    }
    const refuse = (error: unknown, res: Response, next: NextFunction) => {
      // Not ours (a failing user loader, say): the framework's 500, as for any other handler.
      if (!isAuthError(error) || mode === 'framework' || res.headersSent) next(error)
      else sendNodeError(res, core.errorResponse(error))
    }
    return function latchkeyGuard(req: Request, res: Response, next: NextFunction): void {
      let result: ReturnType<typeof core.check>
      try {
        result = check(core, nodeRequestView(req, readsBody ? req.body : undefined), coreGuard)
      } catch (error) {
        refuse(error, res, next)
        return
      }
      // A synchronous answer (memory store, synchronous loader) goes on without a promise.
      if (result instanceof Promise)
        result.then(
          (context: AuthContext<never, never>) => accept(context, req, res, next),
          (error: unknown) => refuse(error, res, next),
        )
      else accept(result as AuthContext<never, never>, req, res, next)
    }
  }

  return {
    requireAuth: (opts = {}) => guard(opts),
    optionalAuth: (opts = {}) => guard({ ...opts, optional: true }),
    requireFresh: (opts = {}) => guard({ ...opts, fresh: true }),
    requireRefresh: (opts = {}) => guard({ ...opts, refresh: true }),
    errorHandler: () =>
      function latchkeyErrorHandler(error: unknown, _req: Request, res: Response, next: NextFunction): void {
        if (isAuthError(error) && !res.headersSent) sendNodeError(res, core.errorResponse(error))
        else next(error)
      },
  }
}

/**
 * Adds the headers of a login, refresh or logout (`Set-Cookie` only when cookies are a token location,
 * `Cache-Control: no-store`) to the response, keeping cookies already set. Returns `res` for chaining.
 *
 * @example
 * ```ts
 * const tokens = await auth.login(user, { remember: true })
 * applyAuthHeaders(res, tokens).json({ access_token: tokens.accessToken })
 * ```
 */
export function applyAuthHeaders<R extends Response>(res: R, source: HeaderSource): R {
  setNodeHeaders(res, source.headers)
  return res
}
