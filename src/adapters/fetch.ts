/**
 * `latchkey/fetch`: for plain web-standard handlers, `(request: Request) => Response` (Bun, Deno,
 * Cloudflare workers, Node with any fetch bridge). There is no middleware chain to hook into, so the
 * handler asks and then builds its response with the headers it is given.
 */
import { check } from '../adapter-kit.js'
import { type Auth, type AuthContext, type AuthError, type GuardOptions, isAuthError } from '../index.js'
import {
  checkedOnce,
  type HeaderSource,
  readFormBody,
  readJsonBody,
  wantsFormBody,
  wantsJsonBody,
  webErrorResponse,
  webRequestView,
  withWebHeaders,
} from './http.js'

export type { HeaderSource } from './http.js'

/** A verified request: the context and the headers its response must carry. */
export interface VerifiedRequest<User, Claims extends object> {
  ok: true
  auth: AuthContext<User, Claims>
  /**
   * Headers for the response (implicit-refresh cookies), computed when read: build the response
   * after any `auth.logout(result.auth)`, and a logout response carries none. Pass the whole result
   * to {@link applyAuthHeaders}.
   */
  readonly headers: Record<string, string[]>
}

/** A refused request: the response to return (401/403/503 JSON with WWW-Authenticate on 401s). */
export interface RefusedRequest {
  ok: false
  response: Response
}

/** What {@link verifyRequest} returns. */
export type VerifyResult<User, Claims extends object> = VerifiedRequest<User, Claims> | RefusedRequest

/**
 * Runs a guard over a web-standard Request. Never throws an AuthError: a refusal comes back as
 * `{ ok: false, response }`. Any other error (a failing user loader, say) is thrown, for the
 * handler's own 500.
 *
 * The JSON body is read only when `json` is one of the guard's locations and the request says it is
 * JSON (a form body only when a CSRF form field may be needed), from a clone, so the handler can
 * still call `request.json()`.
 *
 * @example
 * ```ts
 * const result = await verifyRequest(auth, request)
 * if (!result.ok) return result.response
 * return applyAuthHeaders(Response.json({ email: result.auth.user.email }), result)
 * ```
 */
export async function verifyRequest<User, Claims extends object>(
  auth: Auth<User, Claims>,
  request: Request,
  options: GuardOptions = {},
): Promise<VerifyResult<User, Claims>> {
  checkedOnce(options)
  const body =
    (wantsJsonBody(auth, options) ? await readJsonBody(request) : undefined) ??
    (wantsFormBody(auth, options) ? await readFormBody(request) : undefined)
  let context: AuthContext<User, Claims>
  try {
    const result = check(auth, webRequestView(request, body), options)
    context = result instanceof Promise ? await result : result
  } catch (error) {
    if (!isAuthError(error)) throw error
    return { ok: false, response: webErrorResponse(auth.errorResponse(error)) }
  }
  return {
    ok: true,
    auth: context,
    get headers() {
      return context.responseHeaders ?? {}
    },
  }
}

/**
 * Renders an AuthError (from `auth.login`, say) as a Response: `{msg, code}` JSON, status, headers.
 *
 * @example
 * ```ts
 * try { tokens = await auth.login(user) } catch (err) {
 *   if (isAuthError(err)) return errorResponse(auth, err)
 *   throw err
 * }
 * ```
 */
export function errorResponse(auth: Auth<unknown, object>, error: AuthError): Response {
  return webErrorResponse((auth as unknown as Auth<never, never>).errorResponse(error))
}

/**
 * Wraps a fetch handler so that an AuthError thrown anywhere in it (by `auth.login` for an inactive
 * user, `auth.refresh` for a reused refresh token, ...) becomes its `{msg, code}` response. Every
 * other error is rethrown, for the runtime's own 500. The fetch counterpart of the other adapters'
 * `errorHandler`.
 *
 * @example
 * ```ts
 * export default {
 *   fetch: errorHandler(auth, async (request) => {
 *     const tokens = await auth.login(await checkPassword(request))
 *     return applyAuthHeaders(Response.json({ access_token: tokens.accessToken }), tokens)
 *   }),
 * }
 * ```
 */
export function errorHandler<Args extends unknown[]>(
  auth: Auth<unknown, object>,
  handler: (request: Request, ...rest: Args) => Response | Promise<Response>,
): (request: Request, ...rest: Args) => Promise<Response> {
  return async (request, ...rest) => {
    try {
      return await handler(request, ...rest)
    } catch (error) {
      if (isAuthError(error)) return errorResponse(auth, error)
      throw error
    }
  }
}

/**
 * Adds the headers of a verified request, a login, a refresh or a logout to a Response (`Set-Cookie`
 * appended; only present when cookies are a token location). Responses with immutable headers (from
 * `fetch()`) are copied first; use the returned Response.
 *
 * @example
 * ```ts
 * const tokens = await auth.login(user)
 * return applyAuthHeaders(Response.json({ access_token: tokens.accessToken }), tokens)
 * ```
 */
export function applyAuthHeaders(response: Response, ...sources: HeaderSource[]): Response {
  let out = response
  for (const source of sources) out = withWebHeaders(out, source.headers)
  return out
}
