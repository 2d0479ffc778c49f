/**
 * What the four adapters share: building a RequestView from Node or web-standard requests, and
 * writing latchkey's headers and error responses back. No decisions are made here; the core decides,
 * this file only translates.
 *
 * Runs on every runtime and needs no Node types (the Node shapes below are structural), so the Hono
 * and fetch adapters load it on Bun, Deno and workers, and type-check there without @types/node.
 */
import {
  checkGuardOptions,
  cookieReader,
  type ErrorResponse,
  type GuardOptions,
  guardLocations,
  type RequestView,
} from '../adapter-kit.js'
import type { Auth } from '../index.js'

/**
 * Who answers an AuthError: `'respond'` (default) makes the guard send the error response itself, so
 * an error handler that swallows exceptions can never turn a 401 into a 500; `'framework'` hands the
 * error to the framework's error handling (Express `next(err)`, a Fastify throw, Hono's `onError`).
 */
export type HandleErrors = 'respond' | 'framework'

/** Guard options of every adapter: the core's guard options and, per guard, who answers errors. */
export interface AdapterGuardOptions extends GuardOptions {
  /** Overrides the adapter-wide `handleErrors` for this guard. */
  handleErrors?: HandleErrors
}

/** The user type an app registered through an adapter's `Register` interface, or `unknown`. */
export type UserOf<R> = R extends { user: infer U } ? U : unknown

/** The claims type an app registered through an adapter's `Register` interface, or plain records. */
export type ClaimsOf<R> = R extends { claims: infer C extends object } ? C : Record<string, unknown>

/** Anything that carries response headers: a TokenResponse (login, refresh) or a LogoutResult. */
export interface HeaderSource {
  headers: Record<string, string | string[]>
}

/**
 * The core's guard options of adapter guard options (drops `handleErrors`), checked: called where a
 * guard is made, so an unknown option or location is a ConfigError at start-up.
 */
export function coreOptions(options: AdapterGuardOptions | undefined): GuardOptions {
  if (!options) return {}
  checkGuardOptions(options, ['handleErrors'])
  const { handleErrors: _ignored, ...rest } = options
  return rest
}

const CHECKED = new WeakSet<object>()

/** {@link checkGuardOptions} for guards made per request (fetch): each options object is checked once. */
export function checkedOnce(options: GuardOptions): GuardOptions {
  if (!CHECKED.has(options)) {
    checkGuardOptions(options)
    CHECKED.add(options)
  }
  return options
}

/**
 * Whether a guard needs the parsed JSON body: only when `json` is one of its locations. Adapters that
 * parse bodies themselves (Hono, fetch) read the body only then, so other routes keep their streams.
 */
export function wantsJsonBody(
  auth: Pick<Auth<unknown, object>, 'config'>,
  options: GuardOptions | undefined,
): boolean {
  return guardLocations(auth, options).includes('json')
}

/**
 * Whether a guard may need a form body: for the CSRF value of a cookie token in a form field
 * (`csrf.formField`). Adapters that parse bodies themselves (Hono, fetch) read a form body only then.
 */
export function wantsFormBody(
  auth: Pick<Auth<unknown, object>, 'config'>,
  options: GuardOptions | undefined,
): boolean {
  const csrf = auth.config.csrf
  const field = options?.refresh ? csrf.refreshFormField : csrf.formField
  return csrf.enabled && field !== false && guardLocations(auth, options).includes('cookies')
}

/** True for the content types of HTML forms. */
export function isFormContentType(value: string | null | undefined): boolean {
  const type = (value?.split(';', 1)[0] ?? '').trim().toLowerCase()
  return type === 'application/x-www-form-urlencoded' || type === 'multipart/form-data'
}

/**
 * The fields of a form body of a web-standard Request (the first value of each, as text), read
 * from a clone so the handler can still read the original. Undefined for any other body.
 */
export async function readFormBody(request: Request): Promise<Record<string, string> | undefined> {
  if (!isFormContentType(request.headers.get('content-type')) || request.body === null) return undefined
  try {
    const out: Record<string, string> = Object.create(null)
    for (const [name, value] of await request.clone().formData()) {
      if (typeof value === 'string' && !Object.hasOwn(out, name)) out[name] = value
    }
    return out
  } catch {
    return undefined
  }
}

/** True for `application/json` and `application/*+json` content types. */
export function isJsonContentType(value: string | null | undefined): boolean {
  if (!value) return false
  const type = (value.split(';', 1)[0] ?? '').trim().toLowerCase()
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'))
}

/**
 * The query string of a request URL (absolute or path). Every adapter reads the raw URL rather than
 * the framework's parsed query, so `?jwt=a&jwt=b` means the same (a repeated parameter, refused by
 * the core) on every framework.
 */
function parseQuery(url: string | undefined): URLSearchParams {
  const raw = url ?? ''
  const mark = raw.indexOf('?')
  return new URLSearchParams(mark < 0 ? '' : raw.slice(mark + 1).split('#', 1)[0])
}

function queryValue(params: URLSearchParams, name: string): string | string[] | undefined {
  const values = params.getAll(name)
  if (values.length === 0) return undefined
  return values.length === 1 ? values[0] : values
}

/** The parts of Node's IncomingMessage a RequestView needs (Express, Fastify and plain `node:http`). */
export interface NodeRequestLike {
  method?: string | undefined
  url?: string | undefined
  /** Express: the URL before mounting stripped its prefix (`req.url` is relative to the mount point). */
  originalUrl?: string | undefined
  /** Express: `http` or `https`, as the app's `trust proxy` setting reads it. */
  protocol?: string | undefined
  /** TLS sockets have `encrypted: true`. */
  socket?: unknown
  /** Lower-case names, as Node gives them (`IncomingHttpHeaders`). */
  headers: Record<string, string | string[] | undefined>
  /** Names and values as received, alternating (Node keeps every repeat here). */
  rawHeaders?: string[] | undefined
}

/**
 * Every value of a header as received. Node keeps only the first Authorization header (and joins or
 * drops other repeats) in `headers`, so a request with two of them would look like it has one; the
 * raw list shows the repeat, and the core refuses it.
 */
/** Whether a raw header name is `name` (lower case), without making a lower-case copy of it. */
function sameName(key: string, name: string): boolean {
  if (key.length !== name.length) return false
  for (let i = 0; i < name.length; i++) {
    const k = key.charCodeAt(i)
    const n = name.charCodeAt(i)
    if (k !== n && !(n >= 0x61 && n <= 0x7a && (k | 0x20) === n)) return false
  }
  return true
}

/** Every value of a header sent more than once, in order; undefined when it was sent once or never. */
function repeatedValues(raw: string[], name: string): string[] | undefined {
  let first = -1
  let all: string[] | undefined
  for (let i = 0; i < raw.length; i += 2) {
    if (!sameName(raw[i]!, name)) continue
    if (first < 0) {
      first = i
      continue
    }
    all ??= [raw[first + 1]!]
    all.push(raw[i + 1]!)
  }
  return all
}

/**
 * What the views over Node and web requests share: the method, the body, and cookies and query
 * parsed on first use. A class rather than closures: a view is made for every guarded request, and
 * one object with methods on its prototype is the cheapest thing to make.
 */
abstract class LazyView implements RequestView {
  readonly method: string
  readonly body: unknown
  #cookie: ((name: string) => string | undefined) | undefined
  #query: URLSearchParams | undefined
  constructor(method: string | undefined, body: unknown) {
    this.method = method === undefined ? 'GET' : upperCase(method)
    this.body = body
  }
  abstract header(name: string): string | string[] | undefined
  protected abstract cookieHeader(): string | string[] | undefined
  /** The request target (path and query, or the whole URL), read only when a query is asked for. */
  protected abstract target(): string | undefined
  cookie(name: string): string | undefined {
    this.#cookie ??= cookieReader(this.cookieHeader())
    return this.#cookie(name)
  }
  query(name: string): string | string[] | undefined {
    this.#query ??= parseQuery(this.target())
    return queryValue(this.#query, name)
  }
  abstract url(): string
}

/**
 * A method in upper case. Parsers already give upper case (Node's always does), so the string itself
 * comes back without a call to toUpperCase, which goes through ICU and made a new string per request.
 */
function upperCase(method: string): string {
  for (let i = 0; i < method.length; i++) {
    const c = method.charCodeAt(i)
    if (c >= 0x61 && c <= 0x7a) return method.toUpperCase()
    if (c > 0x7f) return method.toUpperCase()
  }
  return method
}

class NodeView extends LazyView {
  constructor(
    private readonly request: NodeRequestLike,
    body: unknown,
    private readonly absoluteUrl: ((owner: never) => string) | undefined,
    private readonly owner: unknown,
  ) {
    super(request.method, body)
  }
  protected target(): string | undefined {
    return this.request.url
  }
  url(): string {
    if (this.absoluteUrl) return this.absoluteUrl(this.owner as never)
    const r = this.request
    const tls = (r.socket as { encrypted?: boolean } | null | undefined)?.encrypted === true
    const protocol = typeof r.protocol === 'string' ? r.protocol : tls ? 'https' : 'http'
    const host = r.headers.host
    return `${protocol}://${typeof host === 'string' ? host : 'localhost'}${r.originalUrl ?? r.url ?? '/'}`
  }
  header(name: string): string | string[] | undefined {
    const value = this.request.headers[name]
    const raw = this.request.rawHeaders
    if (typeof value !== 'string' || !raw) return value
    return repeatedValues(raw, name) ?? value
  }
  protected cookieHeader(): string | string[] | undefined {
    return this.request.headers.cookie
  }
}

class WebView extends LazyView {
  constructor(
    private readonly request: Request,
    body: unknown,
  ) {
    super(request.method, body)
  }
  protected target(): string {
    return this.request.url
  }
  url(): string {
    return this.request.url
  }
  header(name: string): string | undefined {
    return this.request.headers.get(name) ?? undefined
  }
  protected cookieHeader(): string | undefined {
    return this.request.headers.get('cookie') ?? undefined
  }
}

/**
 * A RequestView over a Node request. Node gives header names in lower case, so lookups are direct.
 * Cookies come from the raw Cookie header (not a framework's cookie parser, whose decoding differs
 * between frameworks); `body` is whatever the framework's body parser produced, if anything.
 * `url(owner)` gives the absolute request URL (for DPoP proofs) when the framework knows it better than
 * the request does (Fastify's `trustProxy`); by default it is made of the protocol (Express's
 * `req.protocol`, else the socket's), the Host header and the path (`originalUrl`, else `url`).
 */
export function nodeRequestView<Owner>(
  request: NodeRequestLike,
  body?: unknown,
  url?: (owner: Owner) => string,
  owner?: Owner,
): RequestView {
  // The URL function takes its owner (the framework's request) rather than closing over it: no
  // closure is made per request.
  return new NodeView(request, body, url as ((owner: never) => string) | undefined, owner)
}

/** A RequestView over a web-standard Request (Hono, fetch handlers). */
export function webRequestView(request: Request, body?: unknown): RequestView {
  return new WebView(request, body)
}

/**
 * The JSON body of a web-standard Request, read from a clone so the handler can still read the
 * original. Undefined unless the content type is JSON; a body that does not parse counts as none
 * (the core then reports a missing token, not a parse error that belongs to the app).
 */
export async function readJsonBody(request: Request): Promise<unknown> {
  if (!isJsonContentType(request.headers.get('content-type')) || request.body === null) return undefined
  try {
    return await request.clone().json()
  } catch {
    return undefined
  }
}

/** The smallest response interface of Node (ServerResponse, and so Express's `res`). */
export interface NodeResponseLike {
  getHeader(name: string): number | string | string[] | undefined
  setHeader(name: string, value: number | string | readonly string[]): unknown
  statusCode: number
  end(chunk?: unknown): unknown
}

/**
 * Adds headers to a Node response. `set-cookie` values are appended to those already set (a login
 * may happen on a response that carries other cookies); other headers replace.
 */
export function setNodeHeaders(
  response: NodeResponseLike,
  headers: Record<string, string | string[]> | undefined,
): void {
  if (!headers) return
  for (const [name, value] of Object.entries(headers)) {
    if (name.toLowerCase() === 'set-cookie') {
      const before = response.getHeader('set-cookie')
      const list = before === undefined ? [] : Array.isArray(before) ? before : [String(before)]
      response.setHeader('set-cookie', [...list, ...(Array.isArray(value) ? value : [value])])
    } else {
      response.setHeader(name, value)
    }
  }
}

const JSON_TYPE = 'application/json; charset=utf-8'

/** Sends a rendered error on a Node response: status, headers, JSON body. */
export function sendNodeError(response: NodeResponseLike, rendered: ErrorResponse): void {
  response.statusCode = rendered.status
  setNodeHeaders(response, rendered.headers)
  response.setHeader('content-type', JSON_TYPE)
  response.end(JSON.stringify(rendered.body))
}

/** Appends headers to web-standard Headers (`set-cookie` appended, others replaced). */
export function appendWebHeaders(
  target: Headers,
  headers: Record<string, string | string[]> | undefined,
): void {
  if (!headers) return
  for (const [name, value] of Object.entries(headers)) {
    if (name.toLowerCase() === 'set-cookie') {
      for (const v of Array.isArray(value) ? value : [value]) target.append('set-cookie', v)
    } else {
      target.set(name, Array.isArray(value) ? value.join(', ') : value)
    }
  }
}

/** A rendered error as a web-standard Response. */
export function webErrorResponse(rendered: ErrorResponse): Response {
  const headers = new Headers()
  appendWebHeaders(headers, rendered.headers)
  headers.set('content-type', JSON_TYPE)
  return new Response(JSON.stringify(rendered.body), { status: rendered.status, headers })
}

/**
 * Adds headers to a web Response. Responses from `fetch()` have immutable headers; those are copied
 * into a new Response (same body, status and headers) first.
 */
export function withWebHeaders(
  response: Response,
  headers: Record<string, string | string[]> | undefined,
): Response {
  if (!headers || Object.keys(headers).length === 0) return response
  try {
    appendWebHeaders(response.headers, headers)
    return response
  } catch {
    const copy = new Response(response.body, response)
    appendWebHeaders(copy.headers, headers)
    return copy
  }
}
