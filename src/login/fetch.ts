/**
 * The login API as a web-standard fetch handler, `(request: Request) => Promise<Response>`: mounts in
 * Hono, Next.js route handlers, Bun, Deno, Cloudflare workers, and Node through any fetch bridge.
 */
import type { LoginApi } from './api.js'
import { LoginError } from './errors.js'
import { type LoginRequest, type LoginResponse, MAX_BODY_BYTES, readLimited } from './http.js'
import type { LoginUser } from './store.js'

/** Options of {@link fetchHandler}. */
export interface FetchHandlerOptions {
  /** Where the API is mounted: `/auth` serves `/auth/login`, ... Default `''` (the root). */
  basePath?: string
  /**
   * The client's address, for rate limits and the sessions list. A fetch Request does not carry it:
   * pass it per call (`handler(request, { clientAddress })`, from Bun's `server.requestIP(request)`,
   * Deno's `info.remoteAddr`, Node's socket) or compute it here, say from a header your proxy sets.
   * Never trust `X-Forwarded-For` from the open internet. Without either, every client counts as one.
   */
  clientAddress?: (request: Request) => string | undefined
}

/** What a caller may pass with each request. */
export interface FetchRequestInfo {
  clientAddress?: string
}

function toResponse(reply: LoginResponse): Response {
  const headers = new Headers()
  for (const [name, value] of Object.entries(reply.headers)) {
    if (Array.isArray(value)) for (const v of value) headers.append(name, v)
    else headers.set(name, value)
  }
  if (reply.body === undefined) return new Response(null, { status: reply.status, headers })
  headers.set('content-type', 'application/json; charset=utf-8')
  return new Response(`${JSON.stringify(reply.body)}\n`, { status: reply.status, headers })
}

async function readBody(request: Request): Promise<LoginRequest['body']> {
  if (!request.body) return { kind: 'none' }
  const declared = Number(request.headers.get('content-length'))
  if (declared > MAX_BODY_BYTES) throw new LoginError(413, 'PAYLOAD_TOO_LARGE', 'Body too large')
  return { kind: 'bytes', bytes: await readLimited(request.body as unknown as AsyncIterable<Uint8Array>) }
}

/**
 * The login API as a fetch handler. Paths outside `basePath`, and unknown routes, answer 404
 * `NOT_FOUND`. Every answer is JSON (`{msg, code}` for errors) with `Cache-Control: no-store`.
 *
 * @example
 * ```ts
 * const handler = fetchHandler(api, { basePath: '/auth' })
 * Bun.serve({ fetch: (request, server) => handler(request, { clientAddress: server.requestIP(request)?.address }) })
 * // Hono: app.all('/auth/*', (c) => handler(c.req.raw))
 * ```
 */
export function fetchHandler<User extends LoginUser>(
  api: LoginApi<User>,
  options: FetchHandlerOptions = {},
): (request: Request, info?: FetchRequestInfo) => Promise<Response> {
  const base = (options.basePath ?? '').replace(/\/+$/, '')
  return async (request, info = {}) => {
    const url = new URL(request.url)
    let path = url.pathname
    if (base !== '') {
      if (path !== base && !path.startsWith(`${base}/`))
        return toResponse({
          status: 404,
          headers: { 'cache-control': 'no-store' },
          body: { msg: 'Not found', code: 'NOT_FOUND' },
        })
      path = path.slice(base.length) || '/'
    }
    let body: LoginRequest['body']
    try {
      body = await readBody(request)
    } catch (error) {
      if (!(error instanceof LoginError)) throw error
      return toResponse({
        status: error.status,
        headers: { 'cache-control': 'no-store' },
        body: { msg: error.message, code: error.code },
      })
    }
    const loginRequest: LoginRequest = {
      method: request.method,
      path,
      header: (name) => request.headers.get(name) ?? undefined,
      query: (name) => {
        const all = url.searchParams.getAll(name)
        return all.length === 0 ? undefined : all.length === 1 ? all[0] : all
      },
      body,
      clientAddress: info.clientAddress ?? options.clientAddress?.(request) ?? '',
    }
    return toResponse(await api.handle(loginRequest))
  }
}
