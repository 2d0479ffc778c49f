/**
 * `latchkey/adapter-kit`: what an adapter author needs and an app does not. latchkey's own adapters
 * (Express, Fastify, Hono, fetch) are built from these and nothing else of the core.
 *
 * An adapter translates: it builds a {@link RequestView} over its framework's request, runs
 * {@link check}, puts the context where handlers find it, renders refusals with `auth.errorResponse`
 * (or {@link renderError}), and adds `context.responseHeaders` (implicit-refresh cookies) when the
 * response is sent, after the handler ran.
 *
 * @example
 * ```ts
 * import { check, type RequestView } from 'latchkey/adapter-kit'
 *
 * const result = check(auth, view, { fresh: true })
 * if (result instanceof Promise) result.then(proceed, refuse)
 * else proceed(result)
 * ```
 */
import type { Auth } from './core/auth.js'
import type { GuardOptions } from './core/guard.js'
import { locationsFor } from './core/locations.js'
import type { TokenLocation } from './core/options.js'
import type { AuthContext, RequestView } from './core/types.js'
import type { MaybePromise } from './internal/awaitable.js'

export { type CookieSpec, serializeCookie } from './core/cookies.js'
export type { GuardOptions } from './core/guard.js'
export { checkGuardOptions } from './core/guard-options.js'
export { cookieReader } from './core/locations.js'
export { type ErrorResponse, renderError } from './core/responses.js'
export type { AuthContext, RequestView } from './core/types.js'
export { type Awaitable, isThenable, type MaybePromise } from './internal/awaitable.js'

/**
 * The guard, as adapters run it: the context itself when nothing had to wait (a revocation store and
 * user loader that answered synchronously), a native `Promise` otherwise; throws or rejects with an
 * AuthError. `result instanceof Promise` tells the two apart, and a synchronous answer then costs no
 * promise and no microtask. The same as `auth.check(request, options)`.
 *
 * @example
 * ```ts
 * const result = check(auth, view)
 * if (result instanceof Promise) result.then(proceed, refuse)
 * else proceed(result)
 * ```
 */
export function check<User, Claims extends object>(
  auth: Auth<User, Claims>,
  request: RequestView,
  options?: GuardOptions,
): MaybePromise<AuthContext<User, Claims>> {
  return auth.check(request, options)
}

/**
 * The locations a guard with these options looks in, in order (as the core will). An adapter that
 * must read a request body to find a token (Hono, fetch) reads it only when `json` is among them.
 *
 * @example
 * ```ts
 * const readBody = guardLocations(auth, options).includes('json')
 * ```
 */
export function guardLocations(
  auth: Pick<Auth<unknown, object>, 'config'>,
  options?: Pick<GuardOptions, 'refresh' | 'locations'>,
): readonly TokenLocation[] {
  return locationsFor(auth.config, options)
}
