/**
 * Routes of mailed links: `POST /password/forgot` and `/password/reset`, `POST /email/verify` and
 * `/email/resend`. Asking for a mail answers the same whatever the address (the mail is made after
 * the answer, off the request's clock); using a link spends it.
 */
import { emailProblem, normalizeEmail } from '../email.js'
import { LoginError, orUnavailable, validationFailed } from '../errors.js'
import { hashLinkToken } from '../links.js'
import { checkNewPassword, json, type LoginDeps, mailBudget, mailLink, type RouteContext } from './context.js'

/** The answer to every reset request, account or not. */
export const FORGOT_ANSWER = {
  msg: 'If an account has this email, a link to reset its password is on its way',
} as const
/** The answer to every request for a new verification mail, account or not. */
export const RESEND_ANSWER = {
  msg: 'If an unverified account has this email, a new verification link is on its way',
} as const

function invalidLink(): LoginError {
  return new LoginError(400, 'INVALID_LINK', 'This link is invalid, used or expired; ask for a new one')
}

function requestedEmail(ctx: RouteContext): string {
  const email = normalizeEmail((ctx.body as { email: string }).email)
  const problem = emailProblem(email, { strict: false })
  if (problem) throw validationFailed(problem)
  return email
}

/** `POST /password/forgot` `{email}`: 202 always (or 429 past the limits); the mail follows. */
export async function forgotPassword(deps: LoginDeps, ctx: RouteContext) {
  const email = requestedEmail(ctx)
  await mailBudget(deps, ctx, 'forgot', email)
  deps.background('reset mail', async () => {
    const user = await deps.users.findByEmail(email)
    if (user?.active) await mailLink(deps, user, 'reset')
  })
  return json(202, FORGOT_ANSWER)
}

/** `POST /password/reset` `{token, new_password}`: sets the password, ends every session. */
export async function resetPassword(deps: LoginDeps, ctx: RouteContext) {
  const body = ctx.body as { token: string; new_password: string }
  checkNewPassword(body.new_password)
  const now = deps.clock()
  const token = await orUnavailable(ctx.log, () =>
    deps.store.takeToken(hashLinkToken(body.token), 'reset', now),
  )
  if (!token) throw invalidLink()
  const user = await orUnavailable(ctx.log, () => deps.users.findById(token.userId))
  if (!user?.active || user.email !== token.email) throw invalidLink()
  const passwordHash = await deps.hasher.hash(body.new_password)
  await orUnavailable(
    ctx.log,
    async () => {
      await deps.users.setPasswordHash(user.id, passwordHash)
      await deps.store.deleteTokens(user.id, 'reset')
      // The link reached this address: it is verified too.
      await deps.users.markEmailVerified(user.id, user.email, now)
    },
    'Password reset temporarily unavailable; try again shortly',
  )
  const result = await deps.auth.logoutEverywhere(user)
  await orUnavailable(ctx.log, () => deps.store.deleteSessions(user.id))
  ctx.log.info({ sub: user.id }, 'password reset')
  deps.emit('passwordChanged', { sub: user.id, reset: true })
  return json(
    200,
    { msg: 'Password reset: every session was logged out; log in with the new password' },
    result.headers,
  )
}

/** `POST /email/verify` `{token}`. */
export async function verifyEmail(deps: LoginDeps, ctx: RouteContext) {
  const body = ctx.body as { token: string }
  const now = deps.clock()
  const token = await orUnavailable(ctx.log, () =>
    deps.store.takeToken(hashLinkToken(body.token), 'verify', now),
  )
  if (!token) throw invalidLink()
  const verified = await orUnavailable(ctx.log, () =>
    deps.users.markEmailVerified(token.userId, token.email, now),
  )
  if (!verified) throw invalidLink()
  ctx.log.info({ sub: token.userId }, 'email verified')
  deps.emit('emailVerified', { sub: token.userId })
  return json(200, { msg: 'Email address verified' })
}

/** `POST /email/resend` `{email}`: 202 always (or 429 past the limits); the mail follows. */
export async function resendVerification(deps: LoginDeps, ctx: RouteContext) {
  const email = requestedEmail(ctx)
  await mailBudget(deps, ctx, 'resend', email)
  deps.background('verification mail', async () => {
    const user = await deps.users.findByEmail(email)
    if (user?.active && user.emailVerifiedAt == null) await mailLink(deps, user, 'verify')
  })
  return json(202, RESEND_ANSWER)
}
