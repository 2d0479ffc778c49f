/**
 * A real server on 127.0.0.1 (an ephemeral port) for the end-to-end tests, and a small HTTP client
 * over fetch that keeps what the tests look at: status, headers, Set-Cookie list and JSON body.
 */
import { Writable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { buildServer } from '../../src/server/app.js'
import { parseConfig, type RawSettings, type ServerConfig } from '../../src/server/config.js'

/** Cheap argon2 for tests, through the documented LATCHKEY_ARGON2 knob (defaults stay OWASP's). */
export const TEST_ARGON2 = 'm=1024,t=1,p=1'
/** A 64-character HS256 test secret. */
export const TEST_SECRET = 'test-secret-0123456789abcdefghijklmnopqrstuvwxyz-0123456789ABCDEF'

/** A running server. */
export interface TestServer {
  app: FastifyInstance
  config: ServerConfig
  base: string
  /** Every log line so far (JSON text). */
  logs: string[]
  client: Client
  close(): Promise<void>
}

/** Starts a server with test defaults overridden by `settings`. */
export async function startServer(settings: RawSettings, options: { cwd: string }): Promise<TestServer> {
  const logs: string[] = []
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(chunk.toString('utf8'))
      done()
    },
  })
  const config = parseConfig(
    {
      host: '127.0.0.1',
      port: '0',
      secret: TEST_SECRET,
      argon2: TEST_ARGON2,
      cookieSecure: 'false',
      trustProxy: 'true',
      loginMaxFailures: '3',
      loginWindow: '15m',
      logLevel: 'info',
      ...settings,
    },
    { cwd: options.cwd },
  )
  const app = await buildServer(config, { cwd: options.cwd, logStream: stream })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  const base = `http://127.0.0.1:${address.port}`
  return { app, config, base, logs, client: new Client(base), close: () => app.close() }
}

/** What a test sees of a response. */
export interface Reply<T = Record<string, unknown>> {
  status: number
  headers: Headers
  cookies: string[]
  body: T
  text: string
}

/** Options of one request. */
export interface RequestOptions {
  token?: string
  headers?: Record<string, string>
  /** A client address, through X-Forwarded-For (test servers trust the proxy header). */
  from?: string
  cookies?: string[]
}

/** Parses `name=value` of each Set-Cookie into a Cookie header value. */
export function cookieHeader(setCookies: string[]): string {
  return setCookies
    .map((c) => c.split(';', 1)[0]!)
    .filter((pair) => !pair.endsWith('='))
    .join('; ')
}

/** The value of one cookie in a Set-Cookie list. */
export function cookieValue(setCookies: string[], name: string): string | undefined {
  for (const c of setCookies) {
    const pair = c.split(';', 1)[0]!
    const eq = pair.indexOf('=')
    if (pair.slice(0, eq) === name) return pair.slice(eq + 1)
  }
  return undefined
}

/** The claims of a JWT, decoded without verification (tests only). */
export function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >
}

/** A fetch-based client for one server. */
export class Client {
  constructor(readonly base: string) {}

  async request<T = Record<string, unknown>>(
    method: string,
    path: string,
    init: RequestOptions & { body?: string; contentType?: string | null } = {},
  ): Promise<Reply<T>> {
    const headers: Record<string, string> = { ...init.headers }
    if (init.token) headers.authorization = `Bearer ${init.token}`
    if (init.from) headers['x-forwarded-for'] = init.from
    if (init.cookies) headers.cookie = cookieHeader(init.cookies)
    if (init.body !== undefined && init.contentType !== null)
      headers['content-type'] = init.contentType ?? 'application/json'
    const response = await fetch(this.base + path, {
      method,
      headers,
      ...(init.body === undefined ? {} : { body: init.body }),
    })
    const text = await response.text()
    let body: unknown = text
    try {
      body = JSON.parse(text)
    } catch {}
    return {
      status: response.status,
      headers: response.headers,
      cookies: response.headers.getSetCookie(),
      body: body as T,
      text,
    }
  }

  get<T = Record<string, unknown>>(path: string, options: RequestOptions = {}): Promise<Reply<T>> {
    return this.request<T>('GET', path, options)
  }

  post<T = Record<string, unknown>>(
    path: string,
    body?: unknown,
    options: RequestOptions = {},
  ): Promise<Reply<T>> {
    return this.request<T>('POST', path, {
      ...options,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
  }

  signup(email: string, password: string, name?: string) {
    return this.post<{ user: { id: string; email: string; name: string | null }; code?: string }>(
      '/auth/signup',
      {
        email,
        password,
        ...(name === undefined ? {} : { name }),
      },
    )
  }

  login(email: string, password: string, options: RequestOptions & { remember?: boolean } = {}) {
    const { remember, ...rest } = options
    return this.post<TokenBody>(
      '/auth/login',
      { email, password, ...(remember === undefined ? {} : { remember }) },
      rest,
    )
  }
}

/** The body of a token response. */
export interface TokenBody {
  msg: string
  access_token: string
  refresh_token: string
  token_type: string
  expires_in: number
  code?: string
}

let counter = 0
/** A fresh email and client address per test, so rate limits and accounts never collide. */
export function fresh(prefix = 'user'): { email: string; from: string } {
  counter++
  const n = `${Date.now().toString(36)}${counter}${Math.floor(Math.random() * 1e6)}`
  return {
    email: `${prefix}-${n}@example.com`,
    from: `10.${counter % 250}.${Math.floor(Math.random() * 250)}.${(counter * 7) % 250}`,
  }
}
