/** The account routes: `POST /signup`, `POST /password` (change), `DELETE /account`. */
import { attemptKey } from '../counters.js'
import { emailProblem, normalizeEmail } from '../email.js'
import { LoginError, orUnavailable, validationFailed } from '../errors.js'
import { EmailTakenError } from '../store.js'
import {
  checkNewPassword,
  json,
  type LoginDeps,
  mailLink,
  type RouteContext,
  recordSession,
  sendMail,
  tokenBody,
  userOf,
} from './context.js'

/** The answer to every sign-up, new address or not: nothing in it tells them apart. */
export function signupAnswer(verification: LoginDeps['verification']): { msg: string } {
  return {
    msg:
      verification === 'required'
        ? 'Sign-up received: open the link we mailed to this address, then log in'
        : 'Sign-up received: log in with this email and password (we mailed this address too)',
  }
}

function isEmailTaken(error: unknown): boolean {
  return error instanceof EmailTakenError || (error as { code?: unknown } | null)?.code === 'EMAIL_TAKEN'
}

/**
 * `POST /signup` `{email, password, name?}`. The same answer (202, body, headers) and the same work
 * (a password hash and an insert) whether or not the address has an account; what differs is the
 * mail, sent after the answer: a verification link for a new account, a notice to the owner of an
 * existing one (who learns someone tried, and nothing changes).
 */
export async function signup(deps: LoginDeps, ctx: RouteContext) {
  const body = ctx.body as { email: string; password: string; name?: string }
  const email = normalizeEmail(body.email)
  const problem = emailProblem(email, { strict: true })
  if (problem) throw validationFailed(problem)
  checkNewPassword(body.password)
  const name = body.name?.trim() || null
  if (name !== null && /[\p{Cc}\p{Cs}]/u.test(name))
    throw validationFailed('name must not contain control characters')
  const passwordHash = await deps.hasher.hash(body.password)
  const created = await orUnavailable(
    ctx.log,
    async () => {
      try {
        return await deps.users.create({ email, name, passwordHash })
      } catch (error) {
        if (isEmailTaken(error)) return undefined
        throw error
      }
    },
    'Sign-up temporarily unavailable; try again shortly',
  )
  if (created) {
    ctx.log.info({ sub: created.id }, 'signup')
    deps.emit('signup', { sub: created.id })
    if (deps.verification !== 'off')
      deps.background('verification mail', () => mailLink(deps, created, 'verify'))
  } else {
    ctx.log.info({}, 'signup with an address that has an account: its owner is told by mail')
    deps.background('sign-up notice', () => mailSignupNotice(deps, email))
  }
  return json(202, signupAnswer(deps.verification))
}

/** Tells the owner of `email` that someone tried to sign up with it (within the mail limit per email). */
async function mailSignupNotice(deps: LoginDeps, email: string): Promise<void> {
  const { count } = await deps.counter.hit(attemptKey('signup-notice', email), deps.mailLimits.windowMs)
  if (count > deps.mailLimits.perEmail) return
  const appLink = deps.links.app()
  const rendered = deps.templates.signupExisting({ appName: deps.appName, email, appLink })
  await sendMail(deps, 'signup-existing', email, rendered, appLink)
}

/** `POST /password` `{current_password, new_password, remember?}` with a fresh access token. */
export async function changePassword(deps: LoginDeps, ctx: RouteContext) {
  const { auth, users, hasher, throttle, store } = deps
  const body = ctx.body as { current_password: string; new_password: string; remember?: boolean }
  const current = userOf(ctx)
  checkNewPassword(body.new_password)
  const user = await throttle.checkPassword(
    { address: ctx.request.clientAddress, log: ctx.log },
    current.email,
    body.current_password,
    async () => current,
  )
  const passwordHash = await hasher.hash(body.new_password)
  // Compare-and-set against the hash just verified: of two concurrent changes, one wins.
  const changed = await orUnavailable(
    ctx.log,
    () => users.setPasswordHash(user.id, passwordHash, { expected: user.passwordHash }),
    'Password change temporarily unavailable; try again shortly',
  )
  if (!changed) throw new LoginError(409, 'CONFLICT', 'The password changed meanwhile; try again')
  // Every token issued before this instant is refused, the caller's included; the new pair, issued
  // after it, works at once (cut-offs compare milliseconds). Pending reset links stop working.
  await auth.logoutEverywhere(user)
  ctx.auth!.responseHeaders = undefined
  await orUnavailable(ctx.log, async () => {
    await store.deleteTokens(user.id, 'reset')
    await store.deleteSessions(user.id)
  })
  const session = await auth.login({ ...user, passwordHash }, { remember: body.remember === true })
  await recordSession(deps, ctx, user.id, session)
  ctx.log.info({ sub: user.id }, 'password changed')
  deps.emit('passwordChanged', { sub: user.id, reset: false })
  return json(200, tokenBody('Password changed', session), session.headers)
}

/** `DELETE /account` with a fresh access token: every token revoked, every record gone, cookies cleared. */
export async function deleteAccount(deps: LoginDeps, ctx: RouteContext) {
  const user = userOf(ctx)
  // Revocation first: if the store is down nothing is deleted, and the client may retry.
  const result = await deps.auth.logoutEverywhere(user)
  ctx.auth!.responseHeaders = undefined
  await orUnavailable(
    ctx.log,
    async () => {
      await deps.store.deleteSessions(user.id)
      await deps.store.deleteTokens(user.id)
      await deps.users.delete(user.id)
    },
    'Account deletion temporarily unavailable; try again shortly',
  )
  ctx.log.info({ sub: user.id }, 'account deleted')
  deps.emit('accountDeleted', { sub: user.id })
  return json(200, { msg: 'Account deleted' }, result.headers)
}
