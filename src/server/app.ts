/**
 * The reference server: a REST login API on Fastify and latchkey's Fastify adapter, as a user of the
 * library would write it. `buildServer(config)` opens the database (and Redis), runs migrations,
 * and returns a Fastify app whose `close()` finishes requests in flight and then closes the pools.
 */

import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyRequest,
} from 'fastify'
import type { Redis } from 'ioredis'
import pino, { type DestinationStream, type Logger } from 'pino'
import { latchkeyPlugin } from '../adapters/fastify.js'
import {
  type Auth,
  isAuthError,
  type KeyConfig,
  type RevocationStore,
  serializeCookie,
  type TokenResponse,
} from '../index.js'
import type { ServerConfig } from './config.js'
import type { ServerDatabase } from './db/connect.js'
import { EmailTakenError, type User, type UsersRepository } from './db/users.js'
import { registerDemoPage } from './demo.js'
import { emailProblem, normalizeEmail } from './email.js'
import { ApiError, invalidCredentials, serviceUnavailable, validationFailed } from './errors.js'
import { loadServerKeys } from './keys.js'
import { type LoginOutcome, ServerMetrics } from './metrics.js'
import { HasherBusyError, PasswordHasher } from './passwords.js'
import { type AttemptCounter, attemptKey } from './ratelimit.js'
import { routeSchemas } from './schemas.js'
import { type Backends, createServerAuth, openBackends } from './services.js'

/** Options of {@link buildServer} that are not configuration. */
export interface BuildServerOptions {
  /** Where log lines go (default: standard output). Tests capture them here. */
  logStream?: DestinationStream
  /** Base of relative paths in DATABASE_URL. Default `process.cwd()`. */
  cwd?: string
  /**
   * The clock of the auth object, in epoch milliseconds: token issue and expiry times and the
   * implicit-refresh window. Default `Date.now`. For tests that move time by hand; the revocation
   * store, the login rate limits and the logs keep the real time.
   */
  clock?: () => number
}

/** The server's services, for the CLI and tests that need more than HTTP. */
export interface ServerServices {
  config: ServerConfig
  auth: Auth<User>
  users: UsersRepository
  hasher: PasswordHasher
  database: ServerDatabase
  redis: Redis | undefined
  store: RevocationStore
  logger: Logger
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The reference server's services (set by buildServer). */
    latchkey: ServerServices
  }
}

const VERSION = (() => {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: string
    }
    return pkg.version ?? '0.0.0'
  } catch {
    return '0.0.0'
  }
})()

const REQUEST_ID = /^[\w.:-]{1,128}$/
/** Query parameters whose values never reach a log line (the `query` token location reads `jwt`). */
const SECRET_PARAMS = new Set(['jwt', 'token', 'access_token', 'refresh_token', 'password'])

/** A URL for the logs: the values of token-carrying query parameters replaced. */
export function redactUrl(url: string): string {
  const mark = url.indexOf('?')
  if (mark < 0) return url
  const params = new URLSearchParams(url.slice(mark + 1))
  let changed = false
  for (const name of new Set(params.keys())) {
    if (SECRET_PARAMS.has(name.toLowerCase())) {
      params.set(name, '[REDACTED]')
      changed = true
    }
  }
  return changed ? `${url.slice(0, mark)}?${params.toString()}` : url
}

/** The pino logger of the server: request ids, and no passwords, tokens or cookies, ever. */
export function createLogger(level: string, stream?: DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    // Belt and braces: nothing logs these on purpose, but any object that ever carries them is censored.
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'res.headers["set-cookie"]',
        'headers.authorization',
        'headers.cookie',
        'headers["set-cookie"]',
        'password',
        'current_password',
        'new_password',
        'access_token',
        'refresh_token',
        'token',
        'body',
        '*.password',
        '*.current_password',
        '*.new_password',
        '*.access_token',
        '*.refresh_token',
        '*.token',
        '*.body',
      ],
      censor: '[REDACTED]',
    },
    serializers: {
      req: (req: { method?: string; url?: string; ip?: string }) => ({
        method: req.method,
        url: redactUrl(req.url ?? ''),
        remoteAddress: req.ip,
      }),
      res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
    },
  }
  return stream ? pino(options, stream) : pino(options)
}

function userView(user: User): { id: string; email: string; name: string | null } {
  return { id: user.id, email: user.email, name: user.name }
}

function tokenBody(msg: string, session: TokenResponse) {
  return {
    msg,
    access_token: session.accessToken,
    refresh_token: session.refreshToken,
    token_type: 'Bearer' as const,
    expires_in: session.expiresIn ?? 0,
  }
}

/**
 * Builds the reference server. Opens and migrates the database, connects to Redis when configured,
 * loads or generates the keys, and registers every route. Does not listen: call `app.listen()`.
 *
 * @example
 * ```ts
 * const app = await buildServer(parseConfig(settingsFromEnv(process.env)))
 * await app.listen({ host: app.latchkey.config.host, port: app.latchkey.config.port })
 * ```
 */
export async function buildServer(
  config: ServerConfig,
  options: BuildServerOptions = {},
): Promise<FastifyInstance> {
  const logger = createLogger(config.logLevel, options.logStream)
  const keys = loadServerKeys(config)
  if (keys.generated) {
    logger.warn(
      { path: keys.generated.path, created: keys.generated.created },
      'no LATCHKEY_SECRET or LATCHKEY_PRIVATE_KEY_FILE: using a key generated in the data folder. Fine for one instance; set a key for production and for several instances (see docs/deployment.md)',
    )
  }
  const backends = await openBackends(config, {
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    migrate: true,
    logger,
  })
  try {
    return await assemble(config, logger, keys.keys, backends, options.clock)
  } catch (error) {
    await backends.close()
    throw error
  }
}

async function assemble(
  config: ServerConfig,
  logger: Logger,
  keys: KeyConfig[],
  backends: Backends,
  clock: (() => number) | undefined,
): Promise<FastifyInstance> {
  const { database, redis, store, counter, users } = backends
  const hasher = new PasswordHasher(config.argon2)
  await hasher.warmUp()
  const auth = createServerAuth(config, keys, backends, logger, clock)
  auth.on('login', ({ sub, family }) => logger.info({ sub, family }, 'login'))
  auth.on('logout', ({ sub, claims, everywhere }) =>
    logger.info({ sub, jti: claims?.jti, everywhere }, everywhere ? 'logout everywhere' : 'logout'),
  )
  auth.on('refreshReuseDetected', ({ sub, family, jti }) =>
    logger.warn({ sub, family, jti }, 'refresh token reuse: every token of this login was revoked'),
  )
  auth.on('revocationUnavailable', ({ error }) =>
    logger.error({ err: error }, 'revocation store unavailable: refusing tokens (503)'),
  )
  const metrics = config.metrics ? new ServerMetrics() : undefined
  metrics?.observe(auth)

  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    genReqId: (req) => {
      const given = req.headers['x-request-id']
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID()
    },
    // A hop count means "trust the nearest n proxies" (proxy-addr's rule); Fastify types it as a function.
    trustProxy:
      typeof config.trustProxy === 'number'
        ? (
            (hops: number) => (_address: string, hop: number) =>
              hop < hops
          )(config.trustProxy)
        : config.trustProxy,
    // The largest legitimate body is a 1024-character password next to a token; 64 KiB is plenty.
    bodyLimit: 64 * 1024,
    return503OnClosing: true,
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
  })
  app.decorate('latchkey', { config, auth, users, hasher, database, redis, store, logger })

  // Only JSON bodies: no text/plain, so no "simple" cross-site POST can reach a route.
  app.removeContentTypeParser('text/plain')

  // Shutdown: a response finished after close() began says "Connection: close", so its client's
  // keep-alive connection ends with it and the server can stop as soon as the last request is done.
  let closing = false
  app.addHook('preClose', async () => {
    closing = true
  })
  app.addHook('onSend', async (request, reply) => {
    if (closing) reply.header('connection', 'close')
    // Nothing an auth endpoint answers (tokens, users, errors) belongs in a cache.
    if (request.url.startsWith('/auth/') && !reply.hasHeader('cache-control'))
      reply.header('cache-control', 'no-store')
    reply.header('x-request-id', request.id)
    reply.header('x-content-type-options', 'nosniff')
    reply.header('referrer-policy', 'no-referrer')
  })
  if (metrics) {
    app.addHook('onResponse', async (request, reply) => {
      metrics.requestDuration.observe(
        {
          method: request.method,
          route: request.routeOptions.url ?? 'unmatched',
          status: String(reply.statusCode),
        },
        reply.elapsedTime / 1000,
      )
    })
  }

  app.setNotFoundHandler((_request, reply) => {
    reply.code(404).send({ msg: 'Not found', code: 'NOT_FOUND' })
  })
  app.setErrorHandler((error: FastifyError | Error, request, reply) => {
    const send = (status: number, code: string, msg: string, headers: Record<string, string> = {}) =>
      reply.code(status).headers(headers).send({ msg, code })
    if (error instanceof ApiError) return send(error.status, error.code, error.message, error.headers)
    if (isAuthError(error)) {
      const rendered = auth.errorResponse(error)
      return reply.code(rendered.status).headers(rendered.headers).send(rendered.body)
    }
    if (error instanceof HasherBusyError)
      return send(503, 'SERVER_BUSY', 'Too many logins in progress; try again shortly', {
        'retry-after': '1',
      })
    const fastifyError = error as FastifyError
    if (fastifyError.validation) return send(400, 'VALIDATION_FAILED', fastifyError.message)
    switch (fastifyError.code) {
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        // Never echo the body: it may hold a password.
        return send(400, 'INVALID_JSON', 'Body is not valid JSON')
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return send(415, 'UNSUPPORTED_MEDIA_TYPE', 'Send JSON (Content-Type: application/json)')
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return send(413, 'PAYLOAD_TOO_LARGE', 'Body too large')
    }
    const status = fastifyError.statusCode ?? 500
    if (status >= 400 && status < 500) return send(status, 'BAD_REQUEST', 'Bad request')
    request.log.error({ err: error }, 'request failed')
    return send(500, 'INTERNAL_ERROR', 'Internal server error')
  })

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'latchkey reference server',
        version: VERSION,
        description:
          'JWT login API. Errors are {"msg", "code"}. Token responses are never cached (Cache-Control: no-store).',
      },
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          cookieAuth: {
            type: 'apiKey',
            in: 'cookie',
            name: auth.config.cookies.accessName,
            description: `Needs the ${auth.config.csrf.headerName} header on unsafe methods`,
          },
        },
      },
    },
  })
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    // Everything from this origin; unlike the plugin's default, no https: sources, no public
    // validator, and no upgrade-insecure-requests (which breaks the page on plain-HTTP hosts).
    staticCSP:
      "default-src 'self'; base-uri 'self'; font-src 'self' data:; frame-ancestors 'self'; img-src 'self' data:; object-src 'none'; script-src 'self'; script-src-attr 'none'; style-src 'self'",
    // No calls to the public validator service: the page talks to this server only.
    uiConfig: { validatorUrl: null, deepLinking: false },
  })
  await app.register(latchkeyPlugin, { auth: auth as unknown as Auth<unknown, object> })

  registerRoutes(app, { config, auth, users, hasher, counter, metrics, database, redis })
  if (config.demoPage) await registerDemoPage(app)

  // Runs after every request in flight has finished (Fastify's close waits for them).
  app.addHook('onClose', async () => backends.close())
  return app
}

interface RouteDeps {
  config: ServerConfig
  auth: Auth<User>
  users: UsersRepository
  hasher: PasswordHasher
  counter: AttemptCounter
  metrics: ServerMetrics | undefined
  database: ServerDatabase
  redis: Redis | undefined
}

/** Rejects a body that is not `application/json` (login and signup only take JSON). */
async function requireJson(request: FastifyRequest): Promise<void> {
  const type = (request.headers['content-type'] ?? '').split(';', 1)[0]?.trim().toLowerCase()
  if (type !== 'application/json')
    throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Send JSON (Content-Type: application/json)')
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timed out')), ms)
    }),
  ])
}

function registerRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { config, auth, users, hasher, counter, metrics, database, redis } = deps
  const windowMs = config.loginWindow * 1000
  const userOf = (request: FastifyRequest): User => request.auth.user as User

  /**
   * Counter and user lookups of a login fail closed, with a 503 the client may retry: with the
   * counters unreachable nobody may guess passwords unthrottled.
   */
  async function available<T>(
    call: () => Promise<T>,
    message = 'Login temporarily unavailable; try again shortly',
  ): Promise<T> {
    try {
      return await call()
    } catch (error) {
      // Answers the route already chose (409 EMAIL_TAKEN, say) pass through.
      if (error instanceof ApiError) throw error
      app.log.error({ err: error }, 'backend unavailable')
      throw serviceUnavailable(message)
    }
  }

  function tooMany(resetAt: number): ApiError {
    const seconds = Math.max(1, Math.ceil((resetAt - Date.now()) / 1000))
    return new ApiError(429, 'TOO_MANY_ATTEMPTS', 'Too many failed logins; try again later', {
      'retry-after': String(seconds),
    })
  }

  /**
   * A password check under the rate limit of (client address, email): the attempt is counted first,
   * so during a lock-out even the right password gets 429 without being checked (a lock-out never
   * reveals the password), and the counter is forgotten after a success.
   */
  async function checkPassword(
    request: FastifyRequest,
    email: string,
    password: string,
    findUser: () => Promise<User | undefined>,
  ): Promise<User> {
    const address = request.ip
    const pairKey = attemptKey('login', address, email)
    const pair = await available(() => counter.hit(pairKey, windowMs))
    if (pair.count > config.loginMaxFailures) throw tooMany(pair.resetAt)
    const addressKey = attemptKey('address', address)
    if (config.loginAddressMaxFailures > 0) {
      const byAddress = await available(() => counter.peek(addressKey))
      if (byAddress && byAddress.count >= config.loginAddressMaxFailures) throw tooMany(byAddress.resetAt)
    }
    const user = await available(findUser)
    const ok = user ? await hasher.verify(user.passwordHash, password) : await hasher.verifyDummy(password)
    if (!ok || !user) {
      if (config.loginAddressMaxFailures > 0) await available(() => counter.hit(addressKey, windowMs))
      throw invalidCredentials()
    }
    await available(() => counter.reset(pairKey))
    if (hasher.needsRehash(user.passwordHash)) {
      try {
        const upgraded = await hasher.hash(password)
        // Only if unchanged meanwhile: a concurrent password change must win over an upgrade.
        if (await users.setPasswordHash(user.id, upgraded, { expected: user.passwordHash })) {
          request.log.info({ sub: user.id }, 'password hash upgraded to the current parameters')
          return { ...user, passwordHash: upgraded }
        }
      } catch (error) {
        request.log.warn(
          { err: error, sub: user.id },
          'password hash upgrade failed; will retry at next login',
        )
      }
    }
    return user
  }

  function checkNewPassword(password: string): void {
    // A lone surrogate has no UTF-8 form: two different strings would hash the same.
    if (/\p{Cs}/u.test(password)) throw validationFailed('password must be valid Unicode text')
  }

  /** Cookie for a fresh access token (fresh-login), mirroring the ones login sets. */
  function accessCookies(token: string, csrf: string | undefined, maxAge: number | undefined): string[] {
    const c = auth.config.cookies
    if (!auth.config.accessLocations.includes('cookies')) return []
    const base = { secure: c.secure, sameSite: c.sameSite, domain: c.domain, maxAge }
    const list = [
      serializeCookie({ ...base, name: c.accessName, value: token, httpOnly: true, path: c.accessPath }),
    ]
    if (csrf !== undefined && auth.config.csrf.enabled && auth.config.csrf.cookies)
      list.push(
        serializeCookie({
          ...base,
          name: c.csrfAccessName,
          value: csrf,
          httpOnly: false,
          path: c.csrfAccessPath,
        }),
      )
    return list
  }

  const countLogin = (outcome: LoginOutcome) => metrics?.logins.inc({ outcome })

  app.get('/healthz', { schema: routeSchemas.healthz }, async (_request, reply) => {
    reply.header('cache-control', 'no-store')
    const checks: [string, Promise<unknown>][] = [['database', database.ping()]]
    if (redis) checks.push(['redis', redis.ping()])
    for (const [name, check] of checks) {
      try {
        await withTimeout(check, 2_000)
      } catch {
        return reply
          .code(503)
          .send({ status: 'unavailable', msg: `${name} unavailable`, code: 'SERVICE_UNAVAILABLE' })
      }
    }
    return { status: 'ok' }
  })

  app.post(
    '/auth/signup',
    { schema: routeSchemas.signup, preValidation: requireJson },
    async (request, reply) => {
      const body = request.body as { email: string; password: string; name?: string }
      const email = normalizeEmail(body.email)
      const problem = emailProblem(email, { strict: true })
      if (problem) throw validationFailed(problem)
      checkNewPassword(body.password)
      const name = body.name?.trim() || null
      if (name !== null && /[\p{Cc}\p{Cs}]/u.test(name))
        throw validationFailed('name must not contain control characters')
      const passwordHash = await hasher.hash(body.password)
      const user = await available(async () => {
        try {
          return await users.create({ email, name, passwordHash })
        } catch (error) {
          if (error instanceof EmailTakenError)
            throw new ApiError(409, 'EMAIL_TAKEN', 'An account with this email already exists')
          throw error
        }
      }, 'Sign-up temporarily unavailable; try again shortly')
      request.log.info({ sub: user.id }, 'signup')
      return reply.code(201).send({ user: userView(user) })
    },
  )

  app.post(
    '/auth/login',
    { schema: routeSchemas.login, preValidation: requireJson },
    async (request, reply) => {
      const body = request.body as { email: string; password: string; remember?: boolean }
      const email = normalizeEmail(body.email)
      const problem = emailProblem(email, { strict: false })
      if (problem) {
        countLogin('invalid_request')
        throw validationFailed(problem)
      }
      let user: User
      try {
        user = await checkPassword(request, email, body.password, () => users.findByEmail(email))
      } catch (error) {
        if (error instanceof ApiError)
          countLogin(
            error.code === 'TOO_MANY_ATTEMPTS'
              ? 'rate_limited'
              : error.code === 'INVALID_CREDENTIALS'
                ? 'invalid_credentials'
                : 'error',
          )
        else countLogin('error')
        throw error
      }
      // Only now, after the right password: an inactive account is no secret to its owner.
      if (!user.active) {
        countLogin('inactive')
        throw new ApiError(401, 'USER_INACTIVE', 'User is inactive', { 'www-authenticate': 'Bearer' })
      }
      const session = await auth.login(user, { remember: body.remember === true })
      countLogin('success')
      reply.applyAuthHeaders(session)
      return tokenBody('Logged in', session)
    },
  )

  // Guards run in preValidation: after the body is parsed (the json location needs it) and before
  // the schema, so an unauthenticated request learns nothing about what its body should be.
  app.post(
    '/auth/refresh',
    { schema: routeSchemas.refresh, preValidation: app.requireRefresh() },
    async (request, reply) => {
      const session = await auth.refresh(request.auth as Parameters<typeof auth.refresh>[0])
      reply.applyAuthHeaders(session)
      return tokenBody('Token refreshed', session)
    },
  )

  app.post(
    '/auth/fresh-login',
    { schema: routeSchemas.freshLogin, preValidation: app.requireAuth() },
    async (request, reply) => {
      const body = request.body as { password: string; remember?: boolean }
      const current = userOf(request)
      const user = await checkPassword(request, current.email, body.password, async () => current)
      const claims = request.auth.claims
      const issued = auth.issueToken('access', user, {
        fresh: true,
        ...(claims?.fam === undefined ? {} : { family: claims.fam }),
        ...(claims?.csrf === undefined ? {} : { csrf: claims.csrf }),
      })
      const maxAge =
        body.remember === true && issued.expiresAt !== undefined
          ? Math.max(0, Math.floor((issued.expiresAt - Date.now()) / 1000))
          : undefined
      reply.header('cache-control', 'no-store')
      const cookies = accessCookies(issued.token, claims?.csrf, maxAge)
      if (cookies.length > 0) reply.header('set-cookie', cookies)
      return {
        msg: 'Fresh login',
        access_token: issued.token,
        token_type: 'Bearer' as const,
        expires_in:
          issued.expiresAt === undefined ? 0 : Math.round((issued.expiresAt - issued.claims.iat_ms) / 1000),
      }
    },
  )

  app.get('/auth/me', { schema: routeSchemas.me, preValidation: app.requireAuth() }, async (request) => ({
    user: userView(userOf(request)),
  }))

  app.post(
    '/auth/logout',
    { schema: routeSchemas.logout, preValidation: app.requireAuth() },
    async (request, reply) => {
      const result = await auth.logout(request.auth as Parameters<typeof auth.logout>[0])
      reply.applyAuthHeaders(result)
      return { msg: 'Logged out' }
    },
  )

  app.post(
    '/auth/logout-all',
    { schema: routeSchemas.logoutAll, preValidation: app.requireAuth() },
    async (request, reply) => {
      await auth.logoutEverywhere(userOf(request))
      reply.header('cache-control', 'no-store')
      if (auth.config.cookiesUsed) reply.header('set-cookie', auth.clearCookies())
      return { msg: 'Logged out everywhere' }
    },
  )

  app.post(
    '/auth/password',
    { schema: routeSchemas.password, preValidation: app.requireFresh() },
    async (request, reply) => {
      const body = request.body as { current_password: string; new_password: string; remember?: boolean }
      const current = userOf(request)
      checkNewPassword(body.new_password)
      const user = await checkPassword(request, current.email, body.current_password, async () => current)
      const passwordHash = await hasher.hash(body.new_password)
      // Compare-and-set against the hash just verified: of two concurrent changes, one wins.
      const changed = await available(
        () => users.setPasswordHash(user.id, passwordHash, { expected: user.passwordHash }),
        'Password change temporarily unavailable; try again shortly',
      )
      if (!changed) throw new ApiError(409, 'CONFLICT', 'The password changed meanwhile; try again')
      // Every token issued before this instant is refused, the caller's included; the new pair,
      // issued after it, works at once (cut-offs compare milliseconds).
      await auth.logoutEverywhere(user)
      const session = await auth.login({ ...user, passwordHash }, { remember: body.remember === true })
      request.log.info({ sub: user.id }, 'password changed')
      reply.applyAuthHeaders(session)
      return tokenBody('Password changed', session)
    },
  )

  app.get('/.well-known/jwks.json', { schema: routeSchemas.jwks }, async (_request, reply) => {
    // Short cache: verifiers pick up a new key within minutes of a rotation starting.
    reply.header('cache-control', 'public, max-age=300')
    return auth.jwks()
  })

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())

  if (metrics) {
    app.get('/metrics', { schema: routeSchemas.metrics }, async (_request, reply) => {
      reply.header('content-type', metrics.registry.contentType).header('cache-control', 'no-store')
      return metrics.registry.metrics()
    })
  }
}
