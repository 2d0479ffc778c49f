/**
 * The reference server: a REST login API on Fastify and latchkey's Fastify adapter, as a user of the
 * library would write it. `buildServer(config)` opens the database (and Redis), runs migrations,
 * and returns a Fastify app whose `close()` finishes requests in flight and then closes the pools.
 */

import { randomUUID } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { Redis } from 'ioredis'
import type { DestinationStream, Logger } from 'pino'
import { latchkeyPlugin } from '../adapters/fastify.js'
import type { Auth, KeyConfig, RevocationStore } from '../index.js'
import { loginPlugin } from '../login/fastify.js'
import { createLoginApi, type LoginApi, LogMailer, type Mailer, PasswordHasher } from '../login/index.js'
import type { KyselyLoginStore } from '../login/kysely/index.js'
import { SETTINGS, type ServerConfig, ServerConfigError } from './config.js'
import type { ServerDatabase } from './db/connect.js'
import { registerDemoPage } from './demo.js'
import { registerErrorHandling } from './error-handler.js'
import { ApiError } from './errors.js'
import { clientErrorHandler, frameworkErrorHandler, registerJsonNewline } from './http-shape.js'
import { loadServerKeys } from './keys.js'
import { createLogger } from './logger.js'
import { ServerMetrics } from './metrics.js'
import type { RouteDeps } from './routes/context.js'
import { healthRoutes } from './routes/health.js'
import { metaRoutes } from './routes/meta.js'
import { type Backends, createServerAuth, openBackends, type User } from './services.js'
import { registerGracefulShutdown } from './shutdown.js'
import { listeningUrls, logConfigWarnings } from './startup.js'
import { VERSION } from './version.js'

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
  /** Delivers mail instead of SMTP_URL's (or the log). */
  mailer?: Mailer
}

/** The server's services, for the CLI and tests that need more than HTTP. */
export interface ServerServices {
  config: ServerConfig
  auth: Auth<User>
  /** The auth routes (`latchkey/login`), mounted at /auth. */
  login: LoginApi<User>
  users: KyselyLoginStore
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

const REQUEST_ID = /^[\w.:-]{1,128}$/

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
  logConfigWarnings(config, logger)
  const backends = await openBackends(config, {
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    migrate: true,
    logger,
  })
  try {
    return await assemble(config, logger, keys.keys, backends, options.clock, options.mailer)
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
  givenMailer: Mailer | undefined,
): Promise<FastifyInstance> {
  const { database, redis, redisConnection, store, counter, users } = backends
  const hasher = new PasswordHasher(config.argon2)
  await hasher.warmUp()
  const mailer = givenMailer ?? (await openMailer(config, logger))
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
    // Slow clients: the whole request (headers and body) must arrive within the request timeout, or
    // it is answered 408 and its connection closed; Node checks every second rather than every 30.
    requestTimeout: config.requestTimeoutMs,
    keepAliveTimeout: config.keepAliveTimeoutMs,
    http: {
      headersTimeout: config.requestTimeoutMs,
      connectionsCheckingInterval: Math.min(1_000, config.requestTimeoutMs),
    },
    return503OnClosing: true,
    // Errors Fastify or Node answer before any route runs, in the server's {msg, code} shape.
    clientErrorHandler,
    frameworkErrors: frameworkErrorHandler,
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
  })
  const login = createLoginApi<User>({
    auth,
    store: users,
    counter,
    hasher,
    mailer,
    logger,
    // Links point where the server is reached; never where a request's Host header says.
    publicUrl: () => config.publicUrl ?? listeningUrl(app, config),
    appName: config.appName,
    emailVerification: config.emailVerification,
    loginLimits: {
      maxFailures: config.loginMaxFailures,
      windowMs: config.loginWindow * 1000,
      addressMaxFailures: config.loginAddressMaxFailures,
    },
    mailLimits: {
      perEmail: config.mailMaxPerEmail,
      perAddress: config.mailMaxPerAddress,
      windowMs: config.mailWindow * 1000,
    },
    resetTokenTtl: config.resetTtl,
    verificationTokenTtl: config.verifyTtl,
  })
  if (metrics) login.on('loginAttempt', ({ outcome }) => metrics.logins.inc({ outcome }))
  app.decorate('latchkey', { config, auth, login, users, hasher, database, redis, store, logger })

  // Only JSON bodies: no text/plain, so no "simple" cross-site POST can reach a route.
  app.removeContentTypeParser('text/plain')
  strictJsonBodies(app)
  app.server.maxConnections = config.maxConnections

  registerGracefulShutdown(app)
  app.addHook('onSend', async (request, reply) => {
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

  registerErrorHandling(app, auth as unknown as Auth<unknown, object>)
  registerJsonNewline(app)

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

  const deps: RouteDeps = { config, auth, metrics, database, redis, redisConnection }
  healthRoutes(app, deps)
  await app.register(loginPlugin, { api: login, prefix: '/auth' })
  metaRoutes(app, deps)
  if (config.demoPage) await registerDemoPage(app)

  // Runs after every request in flight has finished (Fastify's close waits for them): mail started
  // by a request is sent before the connections close.
  app.addHook('onClose', async () => {
    await login.close().catch((error: unknown) => logger.warn({ err: error }, 'closing the mailer failed'))
    await backends.close()
  })
  return app
}

/**
 * SMTP when SMTP_URL is set; else mail goes to the log, and the server says so. nodemailer is loaded
 * only then: a server that sends no mail does not need it installed.
 */
async function openMailer(config: ServerConfig, logger: Logger): Promise<Mailer> {
  if (config.smtpUrl !== undefined) {
    let smtp: typeof import('../login/smtp.js')
    try {
      smtp = await import('../login/smtp.js')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw error
      throw new ServerConfigError(
        `${SETTINGS.smtpUrl.env} (--${SETTINGS.smtpUrl.flag}) needs nodemailer: npm install nodemailer`,
      )
    }
    return new smtp.SmtpMailer({ url: config.smtpUrl, from: config.mailFrom ?? '' })
  }
  logger.warn(
    { setting: 'SMTP_URL' },
    'no SMTP_URL: mail is not sent; password reset and verification links are written to this log (development only: set SMTP_URL and MAIL_FROM)',
  )
  return new LogMailer(logger)
}

/** The URL the server is reached at, once it listens (mailed links point there without LATCHKEY_PUBLIC_URL). */
function listeningUrl(app: FastifyInstance, config: ServerConfig): string | undefined {
  const address = app.server.address() as AddressInfo | null
  if (address === null || typeof address !== 'object') return undefined
  return listeningUrls(config.host, address.port, false).url
}

const UTF8 = new TextDecoder('utf-8', { fatal: true })

/**
 * JSON bodies decoded strictly: invalid UTF-8 is refused (400 INVALID_JSON) rather than replaced by
 * U+FFFD, which would let two different passwords (or emails) collide. An empty body is no body for
 * routes that take none (`POST /auth/logout` from a client that always sends the JSON content type),
 * and still an error where a body is expected.
 */
function strictJsonBodies(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error')
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const bytes = body as Buffer
    if (bytes.length === 0 && request.routeOptions.schema?.body === undefined) return done(null, undefined)
    let text: string
    try {
      text = UTF8.decode(bytes)
    } catch {
      return done(new ApiError(400, 'INVALID_JSON', 'Body is not valid UTF-8'), undefined)
    }
    // Fastify's default JSON parser is synchronous and answers through `done`; its type also allows a promise.
    void parseJson(request, text, done)
  })
}
