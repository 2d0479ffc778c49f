/**
 * Helpers of the security suite: the reference server started in process (as test/server/harness.ts
 * does) with optional probe routes, a raw-socket HTTP client for what fetch cannot send, a token
 * forger for the server's HS256 test secret, and assertions that every answer has the exact status
 * and code, is never a 500 and comes within a bounded time.
 */
import { createHmac } from 'node:crypto'
import { Writable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { expect } from 'vitest'
import { buildServer } from '../../src/server/app.js'
import { parseConfig, type RawSettings } from '../../src/server/config.js'
import { type RawReply, rawHttp } from '../helpers/raw-http.js'
import {
  Client,
  cookieValue,
  fresh,
  type Reply,
  TEST_ARGON2,
  TEST_SECRET,
  type TestServer,
  type TokenBody,
} from '../server/harness.js'
import { tempDir } from '../server/helpers.js'

/** The longest any single hostile request may take: a robustness bound, not a benchmark. */
export const BOUND_MS = 1_000

export const PASSWORD = 'correct horse battery staple'

/** A running server with its temporary folder (removed by close) and its port. */
export interface SecurityServer extends TestServer {
  dir: string
  port: number
}

/** Options of {@link startSecurityServer}. */
export interface StartOptions {
  /**
   * Adds `/probe` on GET, HEAD, POST, PUT, PATCH and DELETE behind the server's own access guard
   * (`app.requireAuth()`, as its routes use it): the reference server has only POST routes with a
   * guard, and the checklist needs every unsafe method.
   */
  probes?: boolean
  /** More routes or hooks before the server starts listening. */
  extend?: (app: FastifyInstance) => void
  /** Working folder (default: a new temporary one, removed on close). */
  dir?: string
}

/**
 * Starts the reference server on 127.0.0.1 with the harness's test defaults (HS256 test secret,
 * cheap argon2 through LATCHKEY_ARGON2, SQLite in a temporary folder), overridden by `settings`.
 */
export async function startSecurityServer(
  settings: RawSettings = {},
  options: StartOptions = {},
): Promise<SecurityServer> {
  const folder = options.dir === undefined ? tempDir('latchkey-security-') : undefined
  const dir = options.dir ?? folder!.dir
  const logs: string[] = []
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(chunk.toString('utf8'))
      done()
    },
  })
  let config: ReturnType<typeof parseConfig>
  let app: FastifyInstance
  try {
    config = parseConfig(
      {
        host: '127.0.0.1',
        port: '0',
        databaseUrl: `file:${dir}/latchkey.db`,
        ...(settings.privateKeyFile === undefined ? { secret: TEST_SECRET } : {}),
        argon2: TEST_ARGON2,
        cookieSecure: 'false',
        trustProxy: 'true',
        loginMaxFailures: '3',
        loginWindow: '15m',
        logLevel: 'info',
        ...settings,
      },
      { cwd: dir },
    )
    app = await buildServer(config, { cwd: dir, logStream: stream })
  } catch (error) {
    // A configuration the test expects to be refused must not leave its temporary folder behind.
    folder?.remove()
    throw error
  }
  if (options.probes) {
    const handler = async (request: { auth: { user: unknown } }) => ({
      ok: true,
      id: (request.auth.user as { id: string }).id,
    })
    const guard = { preValidation: app.requireAuth() }
    app.get('/probe', guard, handler)
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE'] as const)
      app.route({ method, url: '/probe', ...guard, handler })
  }
  options.extend?.(app)
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  const base = `http://127.0.0.1:${address.port}`
  return {
    app,
    config,
    base,
    logs,
    dir,
    port: address.port,
    client: new Client(base),
    async close() {
      await app.close()
      folder?.remove()
    },
  }
}

/** An account with a logged-in session (header tokens and the cookies of the same login). */
export interface Session {
  id: string
  email: string
  from: string
  password: string
  access: string
  refresh: string
  cookies: string[]
  /** The readable CSRF cookie of the access token (the X-CSRF-TOKEN value). */
  csrf: string
  csrfRefresh: string
}

/** Signs up a fresh account and logs it in. */
export async function newSession(server: TestServer, prefix = 'sec'): Promise<Session> {
  const who = fresh(prefix)
  const signup = await server.client.signup(who.email, PASSWORD)
  expect(signup.status).toBe(202)
  const user = await server.app.latchkey.users.findByEmail(who.email)
  return loginSession(server, { id: user!.id, email: who.email, from: who.from })
}

/** Logs an existing account in again: a new, separate session (another refresh family). */
export async function loginSession(
  server: TestServer,
  who: { id: string; email: string; from: string; password?: string },
): Promise<Session> {
  const password = who.password ?? PASSWORD
  const login = await server.client.login(who.email, password, { from: who.from })
  expect(login.status).toBe(200)
  return {
    id: who.id,
    email: who.email,
    from: who.from,
    password,
    access: login.body.access_token,
    refresh: login.body.refresh_token,
    cookies: login.cookies,
    csrf: cookieValue(login.cookies, 'csrf_access_token') ?? '',
    csrfRefresh: cookieValue(login.cookies, 'csrf_refresh_token') ?? '',
  }
}

/** Unpadded base64url of text (UTF-8), bytes, or a value as JSON. */
export function b64(value: unknown): string {
  if (typeof value === 'string') return Buffer.from(value, 'utf8').toString('base64url')
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64url')
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url')
}

/** HS256 over `header.payload` (each an object, or raw JSON text) with the server's secret (or another). */
export function forgeHS(header: unknown, payload: unknown, secret: string | Buffer = TEST_SECRET): string {
  const input = `${b64(header)}.${b64(payload)}`
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`
}

/** Claims the reference server accepts for user `sub` right now, with overrides (`undefined` removes). */
export function claimsFor(sub: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Date.now()
  const iat = Math.floor(now / 1000)
  const claims: Record<string, unknown> = {
    sub,
    iat,
    iat_ms: now,
    nbf: iat,
    exp: iat + 900,
    jti: `forged-${now}-${Math.random().toString(36).slice(2)}`,
    type: 'access',
    fresh: false,
  }
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete claims[key]
    else claims[key] = value
  }
  return claims
}

/** The header of the server's own HS256 tokens (with its kid), from a real token. */
export function headerOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >
}

/** A reply and how long it took. */
export type Timed<T = Record<string, unknown>> = Reply<T> & { ms: number }

/** Sends one request through the client and times it. */
export async function timed<T = Record<string, unknown>>(call: () => Promise<Reply<T>>): Promise<Timed<T>> {
  const start = performance.now()
  const reply = await call()
  return { ...reply, ms: performance.now() - start }
}

/**
 * The reply has exactly this status and `code`, is no 500, and came within {@link BOUND_MS}. A 401
 * also carries `WWW-Authenticate: Bearer` (RFC 6750 §3).
 */
export function expectRefused(
  reply: { status: number; headers: Headers; body: unknown; ms?: number },
  status: number,
  code: string,
  what = '',
): void {
  const body = reply.body as { code?: unknown }
  expect({ what, status: reply.status, code: body?.code }).toEqual({ what, status, code })
  if (reply.ms !== undefined)
    expect(reply.ms, `${what} took ${Math.round(reply.ms)} ms`).toBeLessThan(BOUND_MS)
  if (status === 401 && code !== 'INVALID_CREDENTIALS')
    expect(reply.headers.get('www-authenticate') ?? '', what).toMatch(/^Bearer\b/)
}

/** GET /auth/me with a raw Authorization value (no "Bearer " added), timed. */
export function me(server: TestServer, authorization?: string, headers: Record<string, string> = {}) {
  return timed(() =>
    server.client.get('/auth/me', {
      headers: authorization === undefined ? headers : { ...headers, authorization },
    }),
  )
}

/** GET /auth/me with `Bearer <token>`, timed. */
export function meWith(server: TestServer, token: string) {
  return me(server, `Bearer ${token}`)
}

export { type RawReply, rawHttp }

/** A GET over a raw socket with the given header lines. */
export function rawGet(port: number, path: string, headerLines: string[]): Promise<RawReply> {
  return rawHttp(
    port,
    [`GET ${path} HTTP/1.1`, 'Host: 127.0.0.1', ...headerLines, 'Connection: close', '', ''].join('\r\n'),
  )
}

/** The JSON `code` of a raw reply's body, if any. */
export function rawCode(reply: RawReply): unknown {
  try {
    return (JSON.parse(reply.body) as { code?: unknown }).code
  } catch {
    return undefined
  }
}

/** Median of a list of numbers. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

export { Client, cookieValue, fresh, TEST_ARGON2, TEST_SECRET, type TokenBody }
