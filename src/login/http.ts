/**
 * The login API's own view of HTTP, which every adapter translates to and from: a {@link LoginRequest}
 * in, a {@link LoginResponse} out. Bodies are read here, one way for every adapter: JSON only,
 * decoded as strict UTF-8 (invalid bytes are refused rather than replaced by U+FFFD, which would let
 * two different passwords collide), at most {@link MAX_BODY_BYTES}.
 */
import { cookieReader, type RequestView } from '../adapter-kit.js'
import { LoginError, type LoginLogger } from './errors.js'

/** The largest body accepted: a 1024-character password next to a token fits many times over. */
export const MAX_BODY_BYTES = 64 * 1024

/** A request body as an adapter hands it over. */
export type RequestBody =
  /** No body at all. */
  | { kind: 'none' }
  /** The raw bytes, to be checked and parsed here (fetch, Express). */
  | { kind: 'bytes'; bytes: Uint8Array }
  /** A body the framework parsed already, with the same strict rules (the Fastify plugin's parser). */
  | { kind: 'parsed'; value: unknown }

/** A request as the login API sees it. */
export interface LoginRequest {
  method: string
  /** The path below the mount point, starting with `/` (`/login`, `/sessions/abc`), without the query. */
  path: string
  /** A header by lower-case name. */
  header(name: string): string | string[] | undefined
  /** A query-string parameter (the `query` token location reads `jwt`). */
  query(name: string): string | string[] | undefined
  body: RequestBody
  /** The client's address (for rate limits and the sessions list), as the framework determined it. */
  clientAddress: string
  /** The request's logger; default the API's. */
  log?: LoginLogger
}

/** A response of the login API: JSON `body` (undefined: none), headers to add. */
export interface LoginResponse {
  status: number
  headers: Record<string, string | string[]>
  body: unknown
}

/** The media type of a request, lower-cased, without parameters. */
export function mediaType(request: Pick<LoginRequest, 'header'>): string | undefined {
  const raw = request.header('content-type')
  const value = Array.isArray(raw) ? raw[0] : raw
  return value?.split(';', 1)[0]?.trim().toLowerCase() || undefined
}

/** True for `application/json` and `application/*+json`. */
export function isJson(type: string | undefined): boolean {
  return type !== undefined && /^application\/(?:[\w.+-]+\+)?json$/.test(type)
}

const UTF8 = new TextDecoder('utf-8', { fatal: true })

/**
 * JSON.parse refusing `__proto__` and `constructor.prototype` keys, as Fastify's parser does. The
 * keys are checked without recursion: a body nested 30 000 levels deep is fine, not a stack overflow.
 */
function parseJson(text: string): unknown {
  const value: unknown = JSON.parse(text)
  const pending: unknown[] = [value]
  while (pending.length > 0) {
    const node = pending.pop()
    if (node === null || typeof node !== 'object') continue
    if (Array.isArray(node)) {
      for (const item of node) if (item !== null && typeof item === 'object') pending.push(item)
      continue
    }
    for (const [key, child] of Object.entries(node)) {
      if (key === '__proto__') throw new SyntaxError('__proto__ key')
      const isObject = child !== null && typeof child === 'object'
      if (key === 'constructor' && isObject && Object.hasOwn(child, 'prototype'))
        throw new SyntaxError('constructor.prototype key')
      if (isObject) pending.push(child)
    }
  }
  return value
}

/**
 * A header of a Node request by lower-case name. Node keeps only the first of some repeated headers
 * (Authorization among them); the raw list shows every one, so a request with two Authorization
 * headers is seen as such (and refused by the guard) rather than as the first.
 */
export function nodeHeader(
  request: { headers: Record<string, string | string[] | undefined>; rawHeaders?: string[] },
  name: string,
): string | string[] | undefined {
  const value = request.headers[name]
  const raw = request.rawHeaders
  if (typeof value !== 'string' || !raw) return value
  const all: string[] = []
  for (let i = 0; i < raw.length; i += 2) {
    const key = raw[i]!
    if (key.length === name.length && key.toLowerCase() === name) all.push(raw[i + 1]!)
  }
  return all.length > 1 ? all : value
}

/**
 * The parsed JSON body of a request, or undefined when it has none. `expectsBody`: whether the route
 * reads a body (an empty JSON body is then an error, else no body). Throws LoginError 400
 * `INVALID_JSON` or 415 `UNSUPPORTED_MEDIA_TYPE`.
 */
export function parseBody(request: LoginRequest, expectsBody: boolean): unknown {
  const body = request.body
  if (body.kind === 'parsed') return body.value
  if (body.kind === 'none') return undefined
  const type = mediaType(request)
  if (body.bytes.length === 0 && !(expectsBody && isJson(type))) return undefined
  if (!isJson(type)) throw unsupportedMediaType()
  if (body.bytes.length > MAX_BODY_BYTES) throw new LoginError(413, 'PAYLOAD_TOO_LARGE', 'Body too large')
  let text: string
  try {
    text = UTF8.decode(body.bytes)
  } catch {
    throw new LoginError(400, 'INVALID_JSON', 'Body is not valid UTF-8')
  }
  try {
    return parseJson(text)
  } catch {
    // Never echo the body: it may hold a password.
    throw new LoginError(400, 'INVALID_JSON', 'Body is not valid JSON')
  }
}

/** 415: the login API reads only JSON. */
export function unsupportedMediaType(): LoginError {
  return new LoginError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Send JSON (Content-Type: application/json)')
}

/** The guard's view of a login request (headers, cookies, the parsed body, the query). */
export function requestView(request: LoginRequest, body: unknown): RequestView {
  const header = (name: string) => request.header(name)
  const cookie = cookieReader(request.header('cookie'))
  return { method: request.method, header, cookie, body, query: (name) => request.query(name) }
}

/** Reads a stream of chunks into one buffer, refusing more than `limit` bytes (413). */
export async function readLimited(
  chunks: AsyncIterable<Uint8Array>,
  limit = MAX_BODY_BYTES,
): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  let size = 0
  for await (const chunk of chunks) {
    size += chunk.byteLength
    if (size > limit) throw new LoginError(413, 'PAYLOAD_TOO_LARGE', 'Body too large')
    parts.push(chunk)
  }
  const out = new Uint8Array(size)
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.byteLength
  }
  return out
}
