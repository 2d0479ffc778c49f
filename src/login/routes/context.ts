/**
 * What every route of the login API receives, and the small pieces several of them share: user and
 * token views, the new-password rule, JSON answers, session bookkeeping and mail.
 */
import type { Auth, AuthContext, TokenResponse } from '../../index.js'
import type { AttemptCounter } from '../counters.js'
import { attemptKey } from '../counters.js'
import { type LoginLogger, orUnavailable, tooManyAttempts, validationFailed } from '../errors.js'
import type { LoginRequest, LoginResponse } from '../http.js'
import { hashLinkToken, type linksFor, newLinkToken } from '../links.js'
import { lifetimeInWords, type Mailer, type MailTemplates } from '../mail.js'
import type { PasswordHasher } from '../passwords.js'
import { cleanUserAgent, coarseAddress, type TouchThrottle } from '../sessions.js'
import type { LoginStore, LoginUser, TokenPurpose, UserStore } from '../store.js'
import type { LoginThrottle } from '../throttle.js'

/** How email verification works: `optional` (mail at sign-up), `required` (no login before), `off`. */
export type EmailVerification = 'optional' | 'required' | 'off'

/** Limits on mail a client can cause (forgot password, resend verification). */
export interface MailLimits {
  /** Requests per email per window. Default 3. */
  perEmail: number
  /** Requests per client address per window. Default 20. */
  perAddress: number
  /** The window, in milliseconds. Default an hour. */
  windowMs: number
}

/** Outcomes of a password login, for metrics. */
export type LoginOutcome =
  | 'success'
  | 'invalid_credentials'
  | 'inactive'
  | 'unverified'
  | 'rate_limited'
  | 'invalid_request'
  | 'error'

/** Events of the login API (`api.on`). Listeners run synchronously; one that throws is logged. */
export interface LoginEvents {
  /** A password login ended with this outcome. */
  loginAttempt: { outcome: LoginOutcome }
  /** An account was created. */
  signup: { sub: string }
  /** A password was changed (with the old one) or reset (with a mailed link). */
  passwordChanged: { sub: string; reset: boolean }
  /** An address was verified. */
  emailVerified: { sub: string }
  /** One login was ended from the sessions list. */
  sessionEnded: { sub: string; id: string }
  /** An account deleted itself. */
  accountDeleted: { sub: string }
  /** A mail was handed to the mailer (`ok`) or the mailer failed. */
  mail: { kind: string; ok: boolean }
}

/** The services of the routes, built once by `createLoginApi`. */
export interface LoginDeps {
  auth: Auth<LoginUser, object>
  users: UserStore<LoginUser>
  store: LoginStore
  counter: AttemptCounter
  hasher: PasswordHasher
  throttle: LoginThrottle
  mailer: Mailer
  templates: MailTemplates
  links: ReturnType<typeof linksFor>
  appName: string
  verification: EmailVerification
  mailLimits: MailLimits
  resetTtlMs: number
  verifyTtlMs: number
  clock: () => number
  logger: LoginLogger
  touches: TouchThrottle
  emit<K extends keyof LoginEvents>(event: K, payload: LoginEvents[K]): void
  /** Runs work after the answer (mail): tracked, so `api.close()` waits for it; failures are logged. */
  background(what: string, task: () => Promise<void>): void
}

/** One request on its way through a route. */
export interface RouteContext {
  request: LoginRequest
  /** The parsed, validated body (routes without a body schema: whatever came, or undefined). */
  body: unknown
  params: Record<string, string>
  /** The guard's context on guarded routes. */
  auth: AuthContext<LoginUser, object> | undefined
  log: LoginLogger
}

/** A JSON answer. */
export function json(
  status: number,
  body: unknown,
  headers: Record<string, string | string[]> = {},
): LoginResponse {
  return { status, body, headers: { ...headers } }
}

/** The authenticated user of a guarded route. */
export function userOf(ctx: RouteContext): LoginUser {
  return ctx.auth!.user
}

/** What responses show of a user: never the password hash. */
export function userView(user: LoginUser) {
  return {
    id: user.id,
    email: user.email,
    name: user.name ?? null,
    email_verified: user.emailVerifiedAt != null,
  }
}

/** The body of a response that issues tokens (login, refresh, password change). */
export function tokenBody(msg: string, session: TokenResponse) {
  return {
    msg,
    access_token: session.accessToken,
    refresh_token: session.refreshToken,
    token_type: 'Bearer' as const,
    expires_in: session.expiresIn ?? 0,
  }
}

/** Refuses a new password that has no single UTF-8 form. */
export function checkNewPassword(password: string): void {
  // A lone surrogate has no UTF-8 form: two different strings would hash the same.
  if (/\p{Cs}/u.test(password)) throw validationFailed('password must be valid Unicode text')
}

type RefreshClaims = { fam?: string; iat_ms?: number; iat: number; exp?: number }

const refreshClaims = (session: TokenResponse): RefreshClaims => session.refresh.claims as RefreshClaims

/** A session's record of its newest refresh token: when it was issued and when it expires (ms). */
function tokenTimes(claims: RefreshClaims): { issuedAt: number; expiresAt: number } {
  return {
    issuedAt: claims.iat_ms ?? claims.iat * 1000,
    expiresAt: claims.exp === undefined ? Number.MAX_SAFE_INTEGER : claims.exp * 1000,
  }
}

/** Records the login that `session` starts: the sessions list shows it. */
export async function recordSession(
  deps: LoginDeps,
  ctx: RouteContext,
  userId: string,
  session: TokenResponse,
) {
  const claims = refreshClaims(session)
  if (!claims.fam) return
  const now = deps.clock()
  const family = claims.fam
  const record = {
    id: family,
    userId,
    createdAt: now,
    lastUsedAt: now,
    ...tokenTimes(claims),
    userAgent: cleanUserAgent(ctx.request.header('user-agent')),
    address: coarseAddress(ctx.request.clientAddress),
  }
  await orUnavailable(ctx.log, () => deps.store.saveSession(record))
  deps.touches.note(family, now)
}

/** A refresh: the login's newest refresh token, and its last use (a login from before sessions gets its record). */
export async function refreshSession(
  deps: LoginDeps,
  ctx: RouteContext,
  userId: string,
  session: TokenResponse,
) {
  const claims = refreshClaims(session)
  if (!claims.fam) return
  const now = deps.clock()
  const use = { lastUsedAt: now, ...tokenTimes(claims) }
  const known = await orUnavailable(ctx.log, () => deps.store.touchSession(claims.fam!, use))
  if (known) deps.touches.note(claims.fam, now)
  else await recordSession(deps, ctx, userId, session)
}

/** Notes a use of the caller's login, at most once a minute per login; never fails the request. */
export function touchSession(deps: LoginDeps, ctx: RouteContext): void {
  const family = (ctx.auth?.claims as { fam?: string } | null | undefined)?.fam
  const now = deps.clock()
  if (!family || !deps.touches.due(family, now)) return
  deps.background('session touch', async () => {
    await deps.store.touchSession(family, { lastUsedAt: now })
  })
}

/**
 * Counts a request that makes a mail (per client address and per email) and refuses it with 429
 * past the limits. The same for every email, account or not: the count reveals nothing.
 */
export async function mailBudget(deps: LoginDeps, ctx: RouteContext, scope: string, email: string) {
  const { counter, mailLimits } = deps
  const message = 'Too many requests; try again later'
  const unavailable = 'Temporarily unavailable; try again shortly'
  const byAddress = await orUnavailable(
    ctx.log,
    () => counter.hit(attemptKey(`${scope}-address`, ctx.request.clientAddress), mailLimits.windowMs),
    unavailable,
  )
  if (byAddress.count > mailLimits.perAddress) throw tooManyAttempts(byAddress.resetAt, message)
  const byEmail = await orUnavailable(
    ctx.log,
    () => counter.hit(attemptKey(`${scope}-email`, email), mailLimits.windowMs),
    unavailable,
  )
  if (byEmail.count > mailLimits.perEmail) throw tooManyAttempts(byEmail.resetAt, message)
}

/** Renders and sends a mail; reports the outcome as a `mail` event. Rejects when the mailer fails. */
export async function sendMail(
  deps: LoginDeps,
  kind: 'reset-password' | 'verify-email' | 'signup-existing',
  to: string,
  rendered: { subject: string; text: string; html: string },
  link: string | undefined,
): Promise<void> {
  try {
    await deps.mailer.send({ kind, to, ...rendered, ...(link === undefined ? {} : { link }) })
  } catch (error) {
    deps.emit('mail', { kind, ok: false })
    throw error
  }
  deps.emit('mail', { kind, ok: true })
}

/** What each mailed link is: its link and template (same name), its mail kind and its lifetime. */
function linkMail(deps: LoginDeps, purpose: TokenPurpose) {
  return purpose === 'verify'
    ? ({ name: 'verifyEmail', kind: 'verify-email', ttlMs: deps.verifyTtlMs } as const)
    : ({ name: 'resetPassword', kind: 'reset-password', ttlMs: deps.resetTtlMs } as const)
}

/**
 * Mails `user` a new link of `purpose` (verify an email, reset a password). Saving its token replaces
 * every earlier one of that purpose for the user: only the newest link works.
 */
export async function mailLink(deps: LoginDeps, user: LoginUser, purpose: TokenPurpose): Promise<void> {
  const { name, kind, ttlMs } = linkMail(deps, purpose)
  const token = newLinkToken()
  const now = deps.clock()
  await deps.store.saveToken({
    hash: hashLinkToken(token),
    purpose,
    userId: user.id,
    email: user.email,
    createdAt: now,
    expiresAt: now + ttlMs,
  })
  const link = deps.links[name](token)
  const rendered = deps.templates[name]({
    appName: deps.appName,
    email: user.email,
    link,
    token,
    validFor: lifetimeInWords(ttlMs),
  })
  await sendMail(deps, kind, user.email, rendered, link)
}
