/**
 * `latchkey/fastify`: a Fastify 5 plugin. A thin translation: the request becomes a RequestView, the
 * core decides, the context lands on `request.auth`, and the context's response headers
 * (implicit-refresh cookies) are added in an `onSend` hook, so a logout in the handler still cancels
 * them.
 *
 * Guards work as `onRequest`, `preValidation` or `preHandler` hooks. When `json` is a token location
 * (or a CSRF form field is configured), use `preValidation` or `preHandler`: the body is parsed only
 * after `onRequest`, so an `onRequest` guard never sees a token in it.
 *
 * Type `request.auth.user` once for the whole app by registering the user type:
 * ```ts
 * declare module 'latchkey/fastify' {
 *   interface Register { user: User }   // optional: claims: MyClaims
 * }
 * ```
 */
import type {
  FastifyInstance,
  FastifyPluginAsync,
  FastifyReply,
  FastifyRequest,
  HookHandlerDoneFunction,
} from 'fastify'
import fp from 'fastify-plugin'
import { check } from '../adapter-kit.js'
import { type Auth, type AuthContext, ConfigError, isAuthError } from '../index.js'
import {
  type AdapterGuardOptions,
  type ClaimsOf,
  coreOptions,
  type HandleErrors,
  type HeaderSource,
  nodeRequestView,
  type UserOf,
} from './http.js'

export type { AdapterGuardOptions, HandleErrors, HeaderSource } from './http.js'

/**
 * The app registers its user (and, optionally, claims) type here, by declaration merging, so
 * `request.auth.user` is typed everywhere without casts.
 *
 * @example
 * ```ts
 * declare module 'latchkey/fastify' {
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

/**
 * A guard: a callback hook for a route's `onRequest`, `preValidation` or `preHandler` (or
 * `app.addHook`). It answers auth errors itself (unless `handleErrors: 'framework'`), and otherwise
 * sets `request.auth` and calls `done`.
 */
export type AuthHook = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void

declare module 'fastify' {
  interface FastifyInstance {
    /** A guard requiring a valid access token (or what `options` ask for). */
    requireAuth(options?: AdapterGuardOptions): AuthHook
    /** A guard letting anonymous requests through (`request.auth.isAuthenticated` false). */
    optionalAuth(options?: Omit<AdapterGuardOptions, 'optional'>): AuthHook
    /** A guard requiring a fresh access token (from a recent password login). */
    requireFresh(options?: Omit<AdapterGuardOptions, 'fresh'>): AuthHook
    /** A guard requiring a refresh token (then call `auth.refresh(request.auth)`). */
    requireRefresh(options?: Omit<AdapterGuardOptions, 'refresh'>): AuthHook
  }
  interface FastifyRequest {
    /** Set by latchkey's guards; `null` on routes without one. */
    auth: AuthContext<RegisteredUser, RegisteredClaims>
  }
  interface FastifyReply {
    /** Adds the headers of a login, refresh or logout to the reply (cookies appended). */
    applyAuthHeaders(source: HeaderSource): FastifyReply
  }
}

/** Options of {@link latchkeyPlugin}. */
export interface LatchkeyPluginOptions {
  /** The auth object from `createAuth`. */
  auth: Auth<unknown, object>
  /**
   * Who answers auth errors: `'respond'` (default) replies from the guard; `'framework'` throws them
   * into Fastify's error handling (pair it with `app.setErrorHandler(errorHandler(auth))`).
   */
  handleErrors?: HandleErrors
}

function setReplyHeaders(reply: FastifyReply, headers: Record<string, string | string[]> | undefined): void {
  if (!headers) return
  // reply.header appends to an existing set-cookie list and replaces every other header.
  for (const [name, value] of Object.entries(headers)) reply.header(name, value)
}

function sendError(
  auth: Auth<never, never>,
  reply: FastifyReply,
  error: Parameters<Auth['errorResponse']>[0],
) {
  const rendered = auth.errorResponse(error)
  setReplyHeaders(reply, rendered.headers)
  return reply
    .code(rendered.status)
    .type('application/json; charset=utf-8')
    .send(JSON.stringify(rendered.body))
}

/** The URL as Fastify reads it (trustProxy decides whether X-Forwarded-* count), for DPoP proofs. */
const fastifyUrl = (request: FastifyRequest): string => `${request.protocol}://${request.host}${request.url}`

const plugin: FastifyPluginAsync<LatchkeyPluginOptions> = async (app, options) => {
  if (!options?.auth || typeof options.auth.authenticate !== 'function') {
    throw new ConfigError('latchkey: register latchkeyPlugin with { auth } (the object from createAuth)')
  }
  const auth = options.auth as unknown as Auth<never, never>
  const adapterMode: HandleErrors = options.handleErrors ?? 'respond'

  // null, not an object: Fastify shares a decorator's initial value between requests.
  app.decorateRequest('auth', null as unknown as FastifyRequest['auth'])
  app.decorateReply('applyAuthHeaders', function (this: FastifyReply, source: HeaderSource) {
    setReplyHeaders(this, source.headers)
    return this
  })

  function guard(guardOptions: AdapterGuardOptions): AuthHook {
    const mode = guardOptions.handleErrors ?? adapterMode
    const coreGuard = coreOptions(guardOptions)
    const refuse = (error: unknown, reply: FastifyReply, done: HookHandlerDoneFunction) => {
      // Not ours (a failing user loader, say): Fastify's 500, as for any other hook.
      if (!isAuthError(error) || mode === 'framework') done(error as Error)
      // Answered here: Fastify runs nothing more of the route once the reply is sent.
      else sendError(auth, reply, error)
    }
    // A callback hook rather than an async one: a synchronous answer from the core (memory store,
    // synchronous loader) then goes on without a promise or a microtask.
    return function latchkeyGuard(request, reply, done) {
      let result: ReturnType<typeof auth.check>
      try {
        result = check(auth, nodeRequestView(request.raw, request.body, fastifyUrl, request), coreGuard)
      } catch (error) {
        refuse(error, reply, done)
        return
      }
      if (result instanceof Promise) {
        result.then(
          (context) => {
            request.auth = context as unknown as FastifyRequest['auth']
            done()
          },
          (error: unknown) => refuse(error, reply, done),
        )
      } else {
        request.auth = result as unknown as FastifyRequest['auth']
        done()
      }
    }
  }

  app.decorate('requireAuth', (opts: AdapterGuardOptions = {}) => guard(opts))
  app.decorate('optionalAuth', (opts: AdapterGuardOptions = {}) => guard({ ...opts, optional: true }))
  app.decorate('requireFresh', (opts: AdapterGuardOptions = {}) => guard({ ...opts, fresh: true }))
  app.decorate('requireRefresh', (opts: AdapterGuardOptions = {}) => guard({ ...opts, refresh: true }))

  // Headers are read at send time, after the handler: a logout has dropped them by then. A context
  // has such headers only with implicit refresh (re-issued access cookies); without it the hook,
  // which would run on every route of the app, is left out.
  if (auth.config.implicitRefreshWindowMs === false) return
  app.addHook('onSend', (request, reply, payload, done) => {
    const context = request.auth as AuthContext<never, never> | null
    setReplyHeaders(reply, context?.responseHeaders)
    done(null, payload)
  })
}

/**
 * The plugin. Register it once at the root (it is not encapsulated): it decorates `request.auth`,
 * `reply.applyAuthHeaders` and the guard factories on the instance.
 *
 * @example
 * ```ts
 * const app = Fastify()
 * await app.register(latchkeyPlugin, { auth })
 * app.get('/me', { onRequest: app.requireAuth() }, async (request) => ({ email: request.auth.user.email }))
 * app.post('/settings', { preHandler: app.requireFresh() }, async () => ({ ok: true }))
 * ```
 */
export const latchkeyPlugin = fp(plugin, { fastify: '5.x', name: 'latchkey' })

/**
 * An error handler for `app.setErrorHandler` rendering latchkey's errors as JSON (`{msg, code}`,
 * WWW-Authenticate). Any other error is rethrown, which Fastify hands to its parent (by default,
 * its own) error handler.
 *
 * @example
 * ```ts
 * await app.register(latchkeyPlugin, { auth, handleErrors: 'framework' })
 * app.setErrorHandler(errorHandler(auth))
 * ```
 */
export function errorHandler(
  auth: Auth<unknown, object>,
): (this: FastifyInstance, error: unknown, request: FastifyRequest, reply: FastifyReply) => FastifyReply {
  const core = auth as unknown as Auth<never, never>
  return function latchkeyErrorHandler(error, _request, reply) {
    if (!isAuthError(error)) throw error
    return sendError(core, reply, error)
  }
}

/**
 * Adds the headers of a login, refresh or logout (`Set-Cookie` only when cookies are a token location,
 * `Cache-Control: no-store`) to a reply, keeping cookies already set. Same as `reply.applyAuthHeaders`.
 *
 * @example
 * ```ts
 * const tokens = await auth.login(user)
 * return applyAuthHeaders(reply, tokens).send({ access_token: tokens.accessToken })
 * ```
 */
export function applyAuthHeaders(reply: FastifyReply, source: HeaderSource): FastifyReply {
  setReplyHeaders(reply, source.headers)
  return reply
}
