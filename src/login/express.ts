/**
 * `latchkey/login/express`: the login API as Express middleware (Express 4 and 5, and anything
 * Connect-shaped). Mount it with a path; requests for other paths go on to `next()`. It reads request
 * bodies itself (JSON only, strict UTF-8, 64 KiB), so mount it before `express.json()` or on its own
 * path; a body another parser already read is taken as parsed.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { LoginApi } from './api.js'
import { LoginError, type LoginLogger } from './errors.js'
import {
  isJson,
  type LoginRequest,
  type LoginResponse,
  MAX_BODY_BYTES,
  mediaType,
  nodeHeader,
  readLimited,
} from './http.js'
import type { LoginUser } from './store.js'

/** Options of {@link loginRouter}. */
export interface LoginRouterOptions {
  /** Where to log (per request); default the API's logger. */
  logger?: LoginLogger
}

/** What the middleware reads of Express's request (plain Node requests work too). */
type ExpressLikeRequest = IncomingMessage & {
  /** Express: the path below the mount point. */
  path?: string
  /** Express: the client address (honouring `trust proxy`). */
  ip?: string
  body?: unknown
  /** body-parser's mark for a body it consumed. */
  _body?: boolean
}

type Next = (error?: unknown) => void

function sendAnswer(res: ServerResponse, answer: LoginResponse): void {
  res.statusCode = answer.status
  for (const [name, value] of Object.entries(answer.headers)) {
    const existing = name === 'set-cookie' ? res.getHeader('set-cookie') : undefined
    res.setHeader(name, existing === undefined ? value : [existing, value].flat().map(String))
  }
  if (answer.body === undefined) {
    res.end()
    return
  }
  res.setHeader('content-type', 'application/json; charset=utf-8')
  res.end(`${JSON.stringify(answer.body)}\n`)
}

async function readBody(req: ExpressLikeRequest): Promise<LoginRequest['body']> {
  const view = { header: (name: string) => req.headers[name] }
  // Another body parser ran first: take its result when it read JSON, refuse anything else it read.
  if (req._body === true || req.readableEnded) {
    if (req.body === undefined) return { kind: 'none' }
    if (!isJson(mediaType(view)))
      throw new LoginError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Send JSON (Content-Type: application/json)')
    return { kind: 'parsed', value: req.body }
  }
  const declared = Number(req.headers['content-length'])
  if (declared > MAX_BODY_BYTES) throw new LoginError(413, 'PAYLOAD_TOO_LARGE', 'Body too large')
  if (req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined)
    return { kind: 'none' }
  return { kind: 'bytes', bytes: await readLimited(req) }
}

/**
 * The login API as Express middleware.
 *
 * @example
 * ```ts
 * app.use('/auth', loginRouter(api))
 * app.use(express.json()) // your own routes' parser, after it
 * ```
 */
export function loginRouter<User extends LoginUser>(
  api: LoginApi<User>,
  options: LoginRouterOptions = {},
): (req: IncomingMessage, res: ServerResponse, next: Next) => void {
  return function latchkeyLogin(req, res, next) {
    const request = req as ExpressLikeRequest
    const url = new URL(request.url ?? '/', 'http://localhost')
    const path = request.path ?? url.pathname
    const found = api.match(request.method ?? 'GET', path)
    if (!found) {
      next()
      return
    }
    const run = async () => {
      let body: LoginRequest['body']
      try {
        body = await readBody(request)
      } catch (error) {
        if (!(error instanceof LoginError)) throw error
        sendAnswer(res, {
          status: error.status,
          headers: { 'cache-control': 'no-store' },
          body: { msg: error.message, code: error.code },
        })
        return
      }
      const answer = await api.handleRoute(
        found.route,
        {
          method: request.method ?? 'GET',
          path,
          header: (name) => nodeHeader(request, name),
          query: (name) => {
            const all = url.searchParams.getAll(name)
            return all.length === 0 ? undefined : all.length === 1 ? all[0] : all
          },
          body,
          clientAddress: request.ip ?? request.socket.remoteAddress ?? '',
          ...(options.logger ? { log: options.logger } : {}),
        },
        found.params,
      )
      sendAnswer(res, answer)
    }
    run().catch(next)
  }
}
