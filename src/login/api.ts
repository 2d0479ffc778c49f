/**
 * `createLoginApi`: the reference server's auth routes as a piece of any app. One implementation
 * over a plain request/response view (`LoginRequest` → `LoginResponse`); the fetch handler, the
 * Fastify plugin (`latchkey/login/fastify`) and the Express router (`latchkey/login/express`) only
 * translate to and from it.
 */
import { type Auth, type Duration, isAuthError, parseDurationMs } from '../index.js'
import { type AttemptCounter, MemoryAttemptCounter } from './counters.js'
import { LoginError, type LoginLogger, silentLogger } from './errors.js'
import {
  type LoginRequest,
  type LoginResponse,
  parseBody,
  requestView,
  unsupportedMediaType,
} from './http.js'
import { type LinkOptions, linksFor } from './links.js'
import { defaultTemplates, LogMailer, type Mailer, type MailTemplates } from './mail.js'
import { HasherBusyError, PasswordHasher } from './passwords.js'
import { changePassword, deleteAccount, signup } from './routes/account.js'
import type { EmailVerification, LoginDeps, LoginEvents, MailLimits, RouteContext } from './routes/context.js'
import { forgotPassword, resendVerification, resetPassword, verifyEmail } from './routes/recovery.js'
import { freshLogin, login, logout, logoutAll, me, refresh } from './routes/session.js'
import { endSession, listSessions } from './routes/sessions.js'
import { type LoginRouteName, loginSchemas } from './schemas.js'
import { TouchThrottle } from './sessions.js'
import type { LoginStore, LoginUser, UserStore } from './store.js'
import { type LoginLimits, LoginThrottle } from './throttle.js'
import { schemaProblem } from './validate.js'

/** Where the users live: in the store itself, or in a user store of their own. */
export type LoginStores<User extends LoginUser> =
  | { store: LoginStore & UserStore<User>; users?: UserStore<User> }
  | { store: LoginStore; users: UserStore<User> }

/** Options of {@link createLoginApi}. */
export type LoginApiOptions<
  User extends LoginUser = LoginUser,
  Claims extends object = Record<string, unknown>,
> = LoginStores<User> & {
  /**
   * The app's auth object. Its users must be this API's: spread {@link loginAuthOptions} into
   * `createAuth` (identify by id, load from the user store, refuse inactive users). It needs a
   * revocation store for logout, sessions and password changes.
   */
  auth: Auth<User, Claims>
  /** Rate-limit counters shared by every instance (Redis, the database). Default: the store when it counts, else memory. */
  counter?: AttemptCounter
  /** The password hasher. Default `new PasswordHasher()` (argon2id, OWASP parameters). */
  hasher?: PasswordHasher
  /** Delivers mail. Default a {@link LogMailer} on `logger` or the console, said once (development only). */
  mailer?: Mailer
  /** Where the API logs (pino, Fastify's logger, ...). Adapters pass their request's logger when they have one. */
  logger?: LoginLogger
  /**
   * The app's public address: mailed links point to `${publicUrl}/#reset-password=TOKEN` and
   * `#verify-email=TOKEN`. Never taken from a request's Host header (which a client chooses).
   * Without it (and without `links`) a mail carries the token itself.
   */
  publicUrl?: string | (() => string | undefined)
  /** Links of your own pages, overriding `publicUrl`'s. */
  links?: LinkOptions
  /** The product name in mails. Default `'latchkey'`. */
  appName?: string
  /** Replaces some or all mail templates. */
  templates?: Partial<MailTemplates>
  /** `optional` (default): a verification mail at sign-up; `required`: no login before (USER_UNVERIFIED); `off`: no mail. */
  emailVerification?: EmailVerification
  /** Login rate limits. Default 5 failures per (address, email) per 15 minutes. */
  loginLimits?: LoginLimits
  /** Limits on reset and verification mails. Default 3 per email and 20 per address per hour. */
  mailLimits?: Partial<MailLimits>
  /** How long a reset link works. Default `'30m'`. */
  resetTokenTtl?: Duration
  /** How long a verification link works. Default `'24h'`. */
  verificationTokenTtl?: Duration
  /** Clock in epoch milliseconds. Default `Date.now`. */
  clock?: () => number
}

/** One route of the API: what adapters register. */
export interface LoginRoute {
  name: LoginRouteName
  method: 'GET' | 'POST' | 'DELETE'
  /** Below the mount point; `:id` is a parameter. */
  path: string
  /** JSON Schema (body, params, responses) and OpenAPI metadata. */
  schema: (typeof loginSchemas)[LoginRouteName]
}

type Guard = 'access' | 'fresh' | 'refresh'
type Handler = (deps: LoginDeps, ctx: RouteContext) => Promise<LoginResponse>

interface RouteDef extends LoginRoute {
  guard?: Guard
  /** Refuses anything but `application/json` (415), even without a body: no cross-site "simple" POST. */
  jsonOnly?: boolean
  run: Handler
}

const ROUTES: readonly RouteDef[] = [
  { name: 'signup', method: 'POST', path: '/signup', jsonOnly: true, run: signup },
  { name: 'login', method: 'POST', path: '/login', jsonOnly: true, run: login },
  { name: 'refresh', method: 'POST', path: '/refresh', guard: 'refresh', run: refresh },
  { name: 'freshLogin', method: 'POST', path: '/fresh-login', guard: 'access', run: freshLogin },
  { name: 'me', method: 'GET', path: '/me', guard: 'access', run: me },
  { name: 'logout', method: 'POST', path: '/logout', guard: 'access', run: logout },
  { name: 'logoutAll', method: 'POST', path: '/logout-all', guard: 'access', run: logoutAll },
  { name: 'password', method: 'POST', path: '/password', guard: 'fresh', run: changePassword },
  { name: 'forgotPassword', method: 'POST', path: '/password/forgot', jsonOnly: true, run: forgotPassword },
  { name: 'resetPassword', method: 'POST', path: '/password/reset', jsonOnly: true, run: resetPassword },
  { name: 'verifyEmail', method: 'POST', path: '/email/verify', jsonOnly: true, run: verifyEmail },
  {
    name: 'resendVerification',
    method: 'POST',
    path: '/email/resend',
    jsonOnly: true,
    run: resendVerification,
  },
  { name: 'sessions', method: 'GET', path: '/sessions', guard: 'access', run: listSessions },
  { name: 'endSession', method: 'DELETE', path: '/sessions/:id', guard: 'access', run: endSession },
  { name: 'deleteAccount', method: 'DELETE', path: '/account', guard: 'fresh', run: deleteAccount },
].map((r) => Object.freeze({ ...r, schema: loginSchemas[r.name as LoginRouteName] }) as RouteDef)

/** The mounted login API. */
export interface LoginApi<User extends LoginUser = LoginUser> {
  /** The routes, for adapters: method, path below the mount point, schema. */
  readonly routes: readonly LoginRoute[]
  /** Answers a request (routing by method and path; 404 `NOT_FOUND` for anything else). Never rejects. */
  handle(request: LoginRequest): Promise<LoginResponse>
  /** Answers a request for a route the adapter's own router matched, with its path parameters. Never rejects. */
  handleRoute(
    route: LoginRoute,
    request: LoginRequest,
    params?: Record<string, string>,
  ): Promise<LoginResponse>
  /** Which route a method and path (below the mount point) name, and its parameters. */
  match(method: string, path: string): { route: LoginRoute; params: Record<string, string> } | undefined
  /** Subscribes to an event; returns the unsubscribe function. */
  on<K extends keyof LoginEvents>(event: K, listener: (payload: LoginEvents[K]) => void): () => void
  readonly users: UserStore<User>
  readonly store: LoginStore
  readonly hasher: PasswordHasher
  readonly throttle: LoginThrottle
  readonly auth: Auth<User, object>
  /**
   * Deletes a user as `DELETE /account` does (every token revoked, sessions and links forgotten), for
   * administration (`latchkey users delete`). Resolves with whether the user existed.
   */
  deleteUser(id: string): Promise<boolean>
  /** Resolves once the work started after answers (mail) has finished. */
  idle(): Promise<void>
  /** Waits for that work, then closes the mailer. */
  close(): Promise<void>
}

/**
 * Spread into `createAuth` so its users are the login API's: identified by id, loaded from the user
 * store, refused when inactive.
 *
 * @example
 * ```ts
 * const auth = createAuth({ keys, revocation, ...loginAuthOptions(store) })
 * ```
 */
export function loginAuthOptions<User extends LoginUser>(users: Pick<UserStore<User>, 'findById'>) {
  return {
    identify: (user: User) => user.id,
    loadUser: (id: string) => users.findById(id),
    isActive: (user: User) => user.active,
  }
}

function durationOption(value: Duration | undefined, fallback: number, what: string): number {
  if (value === undefined) return fallback
  const ms = parseDurationMs(value)
  if (ms === undefined || ms < 1000) throw new RangeError(`${what} must be a duration of at least 1s`)
  return ms
}

function splitPath(path: string): string[] {
  return path.split('/').filter((s) => s !== '')
}

/**
 * Builds the login API: signup, login, refresh, fresh login, me, logout, logout everywhere, password
 * change, password reset, email verification, sessions and account deletion, over your stores and
 * your auth object. Mount it with `fetchHandler`, `latchkey/login/fastify` or `latchkey/login/express`.
 *
 * @example
 * ```ts
 * const store = new MemoryLoginStore() // or KyselyLoginStore from 'latchkey/login/kysely'
 * const auth = createAuth({ keys, revocation: new MemoryRevocationStore(), ...loginAuthOptions(store) })
 * const api = createLoginApi({ auth, store })
 * export default { fetch: fetchHandler(api, { basePath: '/auth' }) }
 * ```
 */
export function createLoginApi<User extends LoginUser, Claims extends object = Record<string, unknown>>(
  options: LoginApiOptions<User, Claims>,
): LoginApi<User> {
  const users = (options.users ?? options.store) as UserStore<User>
  if (typeof users?.findByEmail !== 'function')
    throw new TypeError('createLoginApi needs a user store: `users`, or a `store` that is one')
  const store = options.store
  const logger = options.logger ?? silentLogger
  const counter =
    options.counter ??
    (typeof (store as Partial<AttemptCounter>).hit === 'function'
      ? (store as unknown as AttemptCounter)
      : new MemoryAttemptCounter())
  const hasher = options.hasher ?? new PasswordHasher()
  const throttle = new LoginThrottle({
    counter,
    hasher,
    users,
    ...(options.loginLimits ? { limits: options.loginLimits } : {}),
  })
  const mailer: Mailer = options.mailer ?? logMailer(options.logger)
  const publicUrl = options.publicUrl
  const listeners = new Map<keyof LoginEvents, Set<(payload: never) => void>>()
  const pending = new Set<Promise<void>>()
  const auth = options.auth as unknown as Auth<LoginUser, object>
  const verification = options.emailVerification ?? 'optional'
  if (!['optional', 'required', 'off'].includes(verification))
    throw new RangeError("emailVerification must be 'optional', 'required' or 'off'")

  const deps: LoginDeps = {
    auth,
    users: users as unknown as UserStore<LoginUser>,
    store,
    counter,
    hasher,
    throttle,
    mailer,
    templates: { ...defaultTemplates, ...options.templates },
    links: linksFor(typeof publicUrl === 'function' ? publicUrl : () => publicUrl, options.links),
    appName: options.appName ?? 'latchkey',
    verification,
    mailLimits: { perEmail: 3, perAddress: 20, windowMs: 3_600_000, ...options.mailLimits },
    resetTtlMs: durationOption(options.resetTokenTtl, 30 * 60_000, 'resetTokenTtl'),
    verifyTtlMs: durationOption(options.verificationTokenTtl, 24 * 3_600_000, 'verificationTokenTtl'),
    clock: options.clock ?? Date.now,
    logger,
    touches: new TouchThrottle(),
    emit(event, payload) {
      for (const listener of listeners.get(event) ?? []) {
        try {
          ;(listener as (p: typeof payload) => void)(payload)
        } catch (error) {
          logger.error({ err: error, event }, 'login API event listener failed')
        }
      }
    },
    background(what, task) {
      // Started once the event loop has written this request's answer and had a turn for other I/O.
      // Run at once, its synchronous part (a SQLite lookup and write, the mail's template) ran before
      // the answer was written; on the next check phase, before I/O that was already waiting (in a
      // test, the client reading the answer in the same process). How long an answer takes must not
      // tell whether an account exists.
      const done: Promise<void> = new Promise<void>((resolve) => setImmediate(() => setImmediate(resolve)))
        .then(task)
        .catch((error: unknown) => logger.error({ err: error }, `${what} failed`))
        .finally(() => pending.delete(done))
      pending.add(done)
    },
  }

  async function guard(route: RouteDef, request: LoginRequest, body: unknown) {
    const view = requestView(request, body)
    const result = auth.check(
      view,
      route.guard === 'refresh' ? { refresh: true } : { fresh: route.guard === 'fresh' },
    )
    return result instanceof Promise ? await result : result
  }

  function render(error: unknown, log: LoginLogger): LoginResponse {
    if (error instanceof LoginError)
      return {
        status: error.status,
        headers: { ...error.headers },
        body: { msg: error.message, code: error.code },
      }
    if (isAuthError(error)) {
      const rendered = auth.errorResponse(error)
      return { status: rendered.status, headers: { ...rendered.headers }, body: rendered.body }
    }
    if (error instanceof HasherBusyError)
      return {
        status: 503,
        headers: { 'retry-after': '1' },
        body: { msg: 'Too many logins in progress; try again shortly', code: 'SERVER_BUSY' },
      }
    log.error({ err: error }, 'request failed')
    return { status: 500, headers: {}, body: { msg: 'Internal server error', code: 'INTERNAL_ERROR' } }
  }

  async function run(
    route: RouteDef,
    request: LoginRequest,
    params: Record<string, string>,
  ): Promise<LoginResponse> {
    const log = request.log ?? logger
    let ctx: RouteContext | undefined
    let response: LoginResponse
    try {
      const schema = route.schema as { body?: object; params?: object }
      const parsed = parseBody(request, schema.body !== undefined)
      // Guards come before validation: an unauthenticated request learns nothing about the body.
      const context = route.guard ? await guard(route, request, parsed) : undefined
      if (route.jsonOnly && !/^application\/json$/.test(mediaTypeOf(request))) throw unsupportedMediaType()
      for (const [part, value] of [
        ['body', parsed],
        ['params', params],
      ] as const) {
        const partSchema = schema[part]
        if (partSchema === undefined) continue
        const problem = schemaProblem(partSchema, value, part)
        if (problem !== undefined) throw new LoginError(400, 'VALIDATION_FAILED', problem)
      }
      ctx = { request, body: parsed, params, auth: context, log }
      response = await route.run(deps, ctx)
      // A re-issued access cookie (implicit refresh) travels with the answer, unless the route dropped it.
      const implicit = ctx.auth?.responseHeaders
      if (implicit) response = { ...response, headers: mergeHeaders(response.headers, implicit) }
    } catch (error) {
      response = render(error, log)
    }
    // Nothing the login API answers (tokens, users, errors) belongs in a cache.
    if (response.headers['cache-control'] === undefined)
      response = { ...response, headers: { ...response.headers, 'cache-control': 'no-store' } }
    return response
  }

  const routes = ROUTES as readonly RouteDef[]
  function match(method: string, path: string) {
    const parts = splitPath(path)
    for (const route of routes) {
      if (route.method !== method.toUpperCase()) continue
      const pattern = splitPath(route.path)
      if (pattern.length !== parts.length) continue
      const params: Record<string, string> = {}
      let ok = true
      pattern.forEach((segment, i) => {
        const part = parts[i]!
        if (segment.startsWith(':')) {
          try {
            params[segment.slice(1)] = decodeURIComponent(part)
          } catch {
            ok = false
          }
        } else if (segment !== part) ok = false
      })
      if (ok) return { route, params }
    }
    return undefined
  }

  const api: LoginApi<User> = {
    routes,
    match,
    async handle(request) {
      const found = match(request.method, request.path)
      if (!found)
        return {
          status: 404,
          headers: { 'cache-control': 'no-store' },
          body: { msg: 'Not found', code: 'NOT_FOUND' },
        }
      return run(found.route as RouteDef, request, found.params)
    },
    handleRoute(route, request, params = {}) {
      const def = routes.find((r) => r.name === route.name)
      if (!def) throw new TypeError(`no login route named ${route.name}`)
      return run(def, request, params)
    },
    on(event, listener) {
      let set = listeners.get(event)
      if (!set) {
        set = new Set()
        listeners.set(event, set)
      }
      set.add(listener as (payload: never) => void)
      return () => void set.delete(listener as (payload: never) => void)
    },
    users,
    store,
    hasher,
    throttle,
    auth: auth as unknown as Auth<User, object>,
    async deleteUser(id) {
      const user = await users.findById(id)
      if (!user) return false
      await auth.logoutEverywhere(user)
      await store.deleteSessions(id)
      await store.deleteTokens(id)
      return users.delete(id)
    },
    async idle() {
      while (pending.size > 0) await Promise.all([...pending])
    },
    async close() {
      await api.idle()
      await mailer.close?.()
    },
  }
  return api
}

/** The mailer without one configured: links go to the log (or the console), and it says so once. */
function logMailer(logger: LoginLogger | undefined): Mailer {
  const log: LoginLogger = logger ?? {
    info: (_obj, msg) => console.info(`latchkey: ${msg}`),
    warn: (_obj, msg) => console.warn(`latchkey: ${msg}`),
    error: (obj, msg) => console.error(`latchkey: ${msg}`, obj),
  }
  log.warn(
    { mailer: 'log' },
    'no mailer: password reset and verification links are written to the log instead of mailed (development only; give createLoginApi a mailer)',
  )
  return new LogMailer(log)
}

function mediaTypeOf(request: LoginRequest): string {
  const raw = request.header('content-type')
  const value = Array.isArray(raw) ? raw[0] : raw
  return value?.split(';', 1)[0]?.trim().toLowerCase() ?? ''
}

/** `extra` added to `headers`: Set-Cookie appended, anything else replaced. */
export function mergeHeaders(
  headers: Record<string, string | string[]>,
  extra: Record<string, string | string[]>,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = { ...headers }
  for (const [name, value] of Object.entries(extra)) {
    const key = name.toLowerCase()
    if (key === 'set-cookie' && out[key] !== undefined) out[key] = [out[key], value].flat()
    else out[key] = value
  }
  return out
}
