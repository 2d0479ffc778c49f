/**
 * `latchkey/nestjs`: a NestJS module, guard, decorators and exception filter, on both Nest platforms
 * (`@nestjs/platform-express` and `@nestjs/platform-fastify`). A thin translation: the request becomes
 * a RequestView, the core decides, the context lands on `request.auth`, and the context's response
 * headers (implicit-refresh cookies) are added when the response is sent, after the handler ran.
 *
 * Nothing here needs `emitDecoratorMetadata`: every injection names its token (`@InjectAuth()`,
 * `@Inject(Reflector)`), and the decorators are applied as plain calls, so the entry works the same
 * compiled by tsc, SWC, esbuild or Oxc.
 *
 * Type `@CurrentUser()` and `request.auth.user` once for the whole app by registering the user type:
 * ```ts
 * declare module 'latchkey/nestjs' {
 *   interface Register { user: User }   // optional: claims: MyClaims
 * }
 * ```
 */
import {
  type ArgumentsHost,
  type CanActivate,
  Catch,
  ConfigurableModuleBuilder,
  createParamDecorator,
  type ExceptionFilter,
  type ExecutionContext,
  Inject,
  Injectable,
  Module,
  SetMetadata,
} from '@nestjs/common'
import { APP_FILTER, Reflector } from '@nestjs/core'
import { check } from '../adapter-kit.js'
import {
  type Auth,
  AuthError,
  type AuthOptions,
  ConfigError,
  type AuthContext as CoreAuthContext,
  createAuth,
  isAuthError,
} from '../index.js'
import {
  type AdapterGuardOptions,
  type ClaimsOf,
  coreOptions,
  type HandleErrors,
  type HeaderSource,
  type NodeRequestLike,
  type NodeResponseLike,
  nodeRequestView,
  sendNodeError,
  setNodeHeaders,
  type UserOf,
} from './http.js'
import { setRequestContext } from './node-context.js'

export type { AdapterGuardOptions, HandleErrors, HeaderSource } from './http.js'

/**
 * The app registers its user (and, optionally, claims) type here, by declaration merging, so
 * `request.auth.user` and {@link AuthContext} are typed everywhere without casts.
 *
 * @example
 * ```ts
 * declare module 'latchkey/nestjs' {
 *   interface Register { user: User }
 * }
 * ```
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled in by the app through declaration merging
export interface Register {}

/** The registered user type (`unknown` until the app registers one). */
export type RegisteredUser = UserOf<Register>
/** The registered claims type (plain records until the app registers one). */
export type RegisteredClaims = ClaimsOf<Register>

/** The context of a guarded request, typed with the registered user and claims by default. */
export type AuthContext<User = RegisteredUser, Claims extends object = RegisteredClaims> = CoreAuthContext<
  User,
  Claims
>

/** What the guard adds to the platform's request object (Express `req` or Fastify `request`). */
export interface AuthenticatedRequest<User = RegisteredUser, Claims extends object = RegisteredClaims> {
  /** Set by {@link LatchkeyGuard}; absent on `@Public()` routes and routes without the guard. */
  auth: AuthContext<User, Claims>
}

/** Injection token of the auth object; inject it with {@link InjectAuth}. */
export const LATCHKEY_AUTH: unique symbol = Symbol.for('latchkey:auth')

/** Options of {@link LatchkeyModule}`.forRoot` (and what `forRootAsync`'s factory returns). */
export interface LatchkeyModuleOptions {
  /**
   * The auth object from `createAuth`, or `createAuth`'s options (the module then creates it). Either
   * way every module injects the same object with {@link InjectAuth}.
   */
  // biome-ignore lint/suspicious/noExplicitAny: any user and claims types; the app types its own injections
  auth: Auth<any, any> | AuthOptions<any, any>
  /**
   * Who answers auth errors of the guard: `'respond'` (default) sends them from the guard, so an
   * exception filter that turns every error into a 500 cannot change a 401; `'framework'` throws the
   * AuthError into Nest's exception filters, where {@link LatchkeyExceptionFilter} (installed by the
   * module) renders it. A route can override it: `@RequireAuth({ handleErrors: 'framework' })`.
   */
  handleErrors?: HandleErrors
}

const {
  ConfigurableModuleClass,
  MODULE_OPTIONS_TOKEN: LATCHKEY_OPTIONS_TOKEN,
  OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<LatchkeyModuleOptions>({ moduleName: 'Latchkey' })
  .setClassMethodName('forRoot')
  .setExtras({ isGlobal: true }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
  .build()

/** Injection token of the module's options (what `forRoot` got, or `forRootAsync`'s factory returned). */
export const LATCHKEY_OPTIONS: string | symbol = LATCHKEY_OPTIONS_TOKEN
/** What `LatchkeyModule.forRoot` accepts: the options and `isGlobal` (default true). */
export type LatchkeyModuleForRootOptions = typeof OPTIONS_TYPE
/** What `LatchkeyModule.forRootAsync` accepts: `useFactory` + `inject`, `useClass`, `useExisting`, `imports`. */
export type LatchkeyModuleAsyncOptions = typeof ASYNC_OPTIONS_TYPE

/**
 * Injects the auth object (the one given to, or created by, `LatchkeyModule.forRoot`). Any module
 * can: the module is global unless `isGlobal: false`.
 *
 * @example
 * ```ts
 * @Controller()
 * class SessionController {
 *   constructor(@InjectAuth() private readonly auth: Auth<User>) {}
 * }
 * ```
 */
export function InjectAuth(): PropertyDecorator & ParameterDecorator {
  return Inject(LATCHKEY_AUTH)
}

// ── Route metadata ───────────────────────────────────────────────────────────────────────────────

const ROUTE_KEY = 'latchkey:route'

/** What a route asks of the guard: nothing (public) or guard options. The most specific wins. */
type RouteRule = { public: true } | { public: false; options: AdapterGuardOptions }

/**
 * The route needs no token at all: the guard does not run its checks (not even a bad token is
 * refused) and `request.auth` stays unset. For a global guard's exceptions, such as the login route.
 */
export function Public(): MethodDecorator & ClassDecorator {
  return SetMetadata<string, RouteRule>(ROUTE_KEY, { public: true })
}

/**
 * The route requires a valid access token (or what `options` ask for: `locations`, `fresh`,
 * `refresh`, `optional`, `handleErrors`). The guard's default, so needed only to pass options or to
 * override a class-level decorator.
 */
export function RequireAuth(options: AdapterGuardOptions = {}): MethodDecorator & ClassDecorator {
  return SetMetadata<string, RouteRule>(ROUTE_KEY, { public: false, options })
}

/** Lets anonymous requests through (`auth.isAuthenticated` false); a bad token is still refused. */
export function OptionalAuth(
  options: Omit<AdapterGuardOptions, 'optional'> = {},
): MethodDecorator & ClassDecorator {
  return RequireAuth({ ...options, optional: true })
}

/** Requires a fresh access token (from a recent password login). */
export function RequireFresh(
  options: Omit<AdapterGuardOptions, 'fresh'> = {},
): MethodDecorator & ClassDecorator {
  return RequireAuth({ ...options, fresh: true })
}

/** Requires a refresh token (for the refresh route: then call `auth.refresh(context)`). */
export function RequireRefresh(
  options: Omit<AdapterGuardOptions, 'refresh'> = {},
): MethodDecorator & ClassDecorator {
  return RequireAuth({ ...options, refresh: true })
}

// ── Parameter decorators ─────────────────────────────────────────────────────────────────────────

const requestOf = (context: ExecutionContext) =>
  context.switchToHttp().getRequest<Partial<AuthenticatedRequest<unknown, object>>>()

/**
 * The authenticated user (`request.auth.user`): the registered user type, `null` on an anonymous
 * `@OptionalAuth()` request, `undefined` on a route the guard did not check.
 *
 * @example
 * ```ts
 * @Get('me') me(@CurrentUser() user: RegisteredUser) { return { email: user.email } }
 * ```
 */
export const CurrentUser: () => ParameterDecorator = createParamDecorator(
  (_data: unknown, context: ExecutionContext) => requestOf(context).auth?.user,
)

/**
 * The request's whole context (`request.auth`): user, claims, token, location, freshness. Pass it to
 * `auth.refresh` and `auth.logout`. Also a type: `@AuthContext() context: AuthContext`.
 */
export const AuthContext: () => ParameterDecorator = createParamDecorator(
  (_data: unknown, context: ExecutionContext) => requestOf(context).auth,
)

// ── Platform translation (Express `res` or Fastify `reply`) ──────────────────────────────────────

/** The parts of a Fastify reply used here. */
interface ReplyLike {
  raw: unknown
  sent: boolean
  code(status: number): unknown
  header(name: string, value: string | string[]): unknown
  type(contentType: string): unknown
  send(payload?: unknown): unknown
}

type PlatformResponse = ReplyLike | (NodeResponseLike & { headersSent?: boolean })

function isReply(response: unknown): response is ReplyLike {
  const r = response as Partial<ReplyLike> | null
  return typeof r?.code === 'function' && typeof r.header === 'function' && r.raw !== undefined
}

function setHeaders(
  response: PlatformResponse,
  headers: Record<string, string | string[]> | undefined,
): void {
  if (!headers) return
  // reply.header appends to an existing set-cookie list; setNodeHeaders appends set-cookie too.
  if (isReply(response)) for (const [name, value] of Object.entries(headers)) response.header(name, value)
  else setNodeHeaders(response, headers)
}

function headersSent(response: PlatformResponse): boolean {
  return isReply(response) ? response.sent : response.headersSent === true
}

const JSON_TYPE = 'application/json; charset=utf-8'

function sendError(auth: Auth<never, never>, response: PlatformResponse, error: AuthError): void {
  const rendered = auth.errorResponse(error)
  if (!isReply(response)) {
    sendNodeError(response, rendered)
    return
  }
  response.code(rendered.status)
  setHeaders(response, rendered.headers)
  response.type(JSON_TYPE)
  response.send(JSON.stringify(rendered.body))
}

const HOOKED = Symbol('latchkey.hooked')

/**
 * Adds the context's response headers (implicit-refresh cookies) when the response is sent, not
 * when the guard runs, so a logout in the handler (which drops them from the context) still cancels
 * them. Express: Node's `writeHead`, which every way of answering goes through. Fastify: the reply's
 * `send`, which Nest and handlers answer with (a header set on the raw response there would be
 * overwritten by Fastify's own). Installed only on a response whose guard re-issued a cookie.
 */
function hookResponse(
  request: Partial<AuthenticatedRequest<never, never>>,
  response: PlatformResponse,
): void {
  const target = response as PlatformResponse & { [HOOKED]?: true }
  if (target[HOOKED]) return
  target[HOOKED] = true
  const latest = () => request.auth?.responseHeaders
  if (isReply(response)) {
    const send = response.send
    response.send = function (this: ReplyLike, payload?: unknown) {
      response.send = send // once: Fastify may call send again for an error
      setHeaders(response, latest())
      return send.call(this, payload)
    }
    return
  }
  const node = response as NodeResponseLike & { writeHead: (...args: unknown[]) => unknown }
  const writeHead = node.writeHead
  node.writeHead = function (this: unknown, ...args: unknown[]) {
    setNodeHeaders(node, latest())
    return writeHead.apply(this, args)
  }
}

/**
 * Adds the headers of a login, refresh or logout (`Set-Cookie` only when cookies are a token
 * location, `Cache-Control: no-store`) to the response, keeping cookies already set. Takes the
 * platform's response (Express `res` or Fastify `reply`, from `@Res({ passthrough: true })`) and
 * returns it.
 *
 * @example
 * ```ts
 * @Post('login') @Public() @HttpCode(200)
 * async login(@Body() body: LoginBody, @Res({ passthrough: true }) res: Response) {
 *   const tokens = await this.auth.login(await this.users.check(body))
 *   applyAuthHeaders(res, tokens)
 *   return { access_token: tokens.accessToken }
 * }
 * ```
 */
export function applyAuthHeaders<R>(response: R, source: HeaderSource): R {
  setHeaders(response as PlatformResponse, source.headers)
  return response
}

// ── The guard ────────────────────────────────────────────────────────────────────────────────────

/** The platform's request: Express's `req` is Node's request; Fastify's `request` wraps it as `raw`. */
type PlatformRequest = Partial<AuthenticatedRequest<never, never>> & {
  raw?: NodeRequestLike
  body?: unknown
} & NodeRequestLike

interface Resolved {
  skip: boolean
  mode: HandleErrors
  options: ReturnType<typeof coreOptions>
}

/**
 * The guard. Global (`{ provide: APP_GUARD, useClass: LatchkeyGuard }`, with `@Public()` for the
 * exceptions) or per controller or route (`@UseGuards(LatchkeyGuard)`); either way the route's
 * decorators (`@RequireFresh()`, `@OptionalAuth()`, ...) say what it checks, and a route without one
 * requires a valid access token.
 *
 * Refusals: with `handleErrors: 'respond'` (default) the guard sends the `{msg, code}` response
 * itself and Nest's pipeline for that request is never resumed (no exception filter, interceptor or
 * handler runs); with `'framework'` it throws the AuthError for the exception filters. Any other
 * error (a failing user loader, say) is thrown, for Nest's own 500.
 *
 * HTTP only: in another context (WebSocket, microservice) it throws rather than let a call through.
 */
export class LatchkeyGuard implements CanActivate {
  readonly #auth: Auth<never, never>
  readonly #reflector: Reflector
  readonly #mode: HandleErrors
  readonly #resolved = new WeakMap<object, WeakMap<object, Resolved>>()

  constructor(auth: Auth<unknown, object>, reflector: Reflector, options: LatchkeyModuleOptions) {
    this.#auth = auth as unknown as Auth<never, never>
    this.#reflector = reflector
    this.#mode = options.handleErrors ?? 'respond'
  }

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (context.getType() !== 'http') {
      throw new ConfigError(`latchkey: LatchkeyGuard protects HTTP routes only, not '${context.getType()}'`)
    }
    const rule = this.#rule(context)
    if (rule.skip) return true
    const http = context.switchToHttp()
    const request = http.getRequest<PlatformRequest>()
    const response = http.getResponse<PlatformResponse>()
    const accept = (result: CoreAuthContext<never, never>): true => {
      setRequestContext(request, result)
      // Only when the guard re-issued a cookie: every other response keeps its own methods.
      if (result.responseHeaders !== undefined) hookResponse(request, response)
      return true
    }
    const refuse = (error: unknown): Promise<never> => {
      if (!isAuthError(error) || rule.mode === 'framework' || headersSent(response)) throw error
      sendError(this.#auth, response, error)
      // Nest resumes a request only through a guard's answer or an exception, and every exception
      // goes through the exception filters, any of which could rewrite the 401 already sent. So the
      // answer never comes. A new promise each time, held by nothing but the request's own finished
      // pipeline, is collected with it (one shared promise would keep every such pipeline alive).
      return new Promise<never>(() => {})
    }
    let result: ReturnType<Auth<never, never>['check']>
    try {
      result = check(this.#auth, nodeRequestView(request.raw ?? request, request.body), rule.options)
    } catch (error) {
      return refuse(error)
    }
    // A synchronous answer (memory store, synchronous loader) goes on without a promise.
    return result instanceof Promise ? result.then(accept, refuse) : accept(result)
  }

  /** The route's rule, read once per handler and class (metadata never changes after start-up). */
  #rule(context: ExecutionContext): Resolved {
    const handler = context.getHandler()
    const owner = context.getClass()
    let byClass = this.#resolved.get(handler)
    if (byClass === undefined) {
      byClass = new WeakMap()
      this.#resolved.set(handler, byClass)
    }
    let resolved = byClass.get(owner)
    if (resolved === undefined) {
      const rule = this.#reflector.getAllAndOverride<RouteRule | undefined>(ROUTE_KEY, [handler, owner])
      const options = rule?.public === false ? rule.options : {}
      resolved = {
        skip: rule?.public === true,
        mode: options.handleErrors ?? this.#mode,
        options: coreOptions(options),
      }
      byClass.set(owner, resolved)
    }
    return resolved
  }
}
Injectable()(LatchkeyGuard)
Inject(LATCHKEY_AUTH)(LatchkeyGuard, undefined, 0)
Inject(Reflector)(LatchkeyGuard, undefined, 1)
Inject(LATCHKEY_OPTIONS_TOKEN)(LatchkeyGuard, undefined, 2)

// ── Errors ───────────────────────────────────────────────────────────────────────────────────────

/**
 * Renders latchkey's errors (`{msg, code}`, status, WWW-Authenticate, cookies to clear): those a
 * `'framework'` guard throws, and those of `auth.login` or `auth.refresh` in a handler (an inactive
 * user, a reused refresh token). {@link LatchkeyModule} installs it for the whole app; it catches
 * AuthErrors only.
 */
export class LatchkeyExceptionFilter implements ExceptionFilter<AuthError> {
  readonly #auth: Auth<never, never>

  constructor(auth: Auth<unknown, object>) {
    this.#auth = auth as unknown as Auth<never, never>
  }

  catch(error: AuthError, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw error
    const response = host.switchToHttp().getResponse<PlatformResponse>()
    if (!headersSent(response)) sendError(this.#auth, response, error)
  }
}
Catch(AuthError)(LatchkeyExceptionFilter)
Injectable()(LatchkeyExceptionFilter)
Inject(LATCHKEY_AUTH)(LatchkeyExceptionFilter, undefined, 0)

// ── The module ───────────────────────────────────────────────────────────────────────────────────

function authOf(options: LatchkeyModuleOptions): Auth<unknown, object> {
  const given = options?.auth as Partial<Auth<unknown, object>> | AuthOptions<unknown, object> | undefined
  if (!given || typeof given !== 'object') {
    throw new ConfigError(
      'latchkey: LatchkeyModule.forRoot needs { auth } (the object from createAuth or its options)',
    )
  }
  if ('check' in given && typeof given.check === 'function') return given as Auth<unknown, object>
  return createAuth(given as AuthOptions<unknown, object>)
}

/**
 * The module: provides the auth object (`@InjectAuth()`), the {@link LatchkeyGuard} and the
 * {@link LatchkeyExceptionFilter} (installed for the whole app). Global by default, so every module
 * (a feature module, a login module of its own) injects the same auth object and guard without
 * importing it again.
 *
 * @example
 * ```ts
 * @Module({
 *   imports: [LatchkeyModule.forRoot({ auth })],
 *   providers: [{ provide: APP_GUARD, useClass: LatchkeyGuard }],
 *   controllers: [AppController],
 * })
 * export class AppModule {}
 *
 * // or, with the options from another provider:
 * LatchkeyModule.forRootAsync({
 *   imports: [ConfigModule],
 *   inject: [ConfigService],
 *   useFactory: (config: ConfigService) => ({ auth: { keys: { secret: config.get('JWT_SECRET') } } }),
 * })
 * ```
 */
export class LatchkeyModule extends ConfigurableModuleClass {}
Module({
  providers: [
    { provide: LATCHKEY_AUTH, useFactory: authOf, inject: [LATCHKEY_OPTIONS_TOKEN] },
    LatchkeyGuard,
    LatchkeyExceptionFilter,
    { provide: APP_FILTER, useClass: LatchkeyExceptionFilter },
  ],
  exports: [LATCHKEY_AUTH, LATCHKEY_OPTIONS_TOKEN, LatchkeyGuard, LatchkeyExceptionFilter],
})(LatchkeyModule)
