/** The login routes: `login`, `refresh`, `fresh-login`, `me`, `logout`, `logout-all`. */
import { emailProblem, normalizeEmail } from '../email.js'
import { LoginError, orUnavailable, validationFailed } from '../errors.js'
import type { LoginUser } from '../store.js'
import {
  json,
  type LoginDeps,
  type LoginOutcome,
  type RouteContext,
  recordSession,
  refreshSession,
  tokenBody,
  touchSession,
  userOf,
  userView,
} from './context.js'

/** `POST /login` `{email, password, remember?}`. */
export async function login(deps: LoginDeps, ctx: RouteContext) {
  const { auth, users, throttle } = deps
  const count = (outcome: LoginOutcome) => deps.emit('loginAttempt', { outcome })
  const body = ctx.body as { email: string; password: string; remember?: boolean }
  const email = normalizeEmail(body.email)
  const problem = emailProblem(email, { strict: false })
  if (problem) {
    count('invalid_request')
    throw validationFailed(problem)
  }
  let user: LoginUser
  try {
    user = await throttle.checkPassword(
      { address: ctx.request.clientAddress, log: ctx.log },
      email,
      body.password,
      () => users.findByEmail(email),
    )
  } catch (error) {
    const code = error instanceof LoginError ? error.code : undefined
    count(
      code === 'TOO_MANY_ATTEMPTS'
        ? 'rate_limited'
        : code === 'INVALID_CREDENTIALS'
          ? 'invalid_credentials'
          : 'error',
    )
    throw error
  }
  // Only now, after the right password: an inactive or unverified account is no secret to its owner.
  if (!user.active) {
    count('inactive')
    throw new LoginError(401, 'USER_INACTIVE', 'User is inactive', { 'www-authenticate': 'Bearer' })
  }
  if (deps.verification === 'required' && user.emailVerifiedAt == null) {
    count('unverified')
    throw new LoginError(
      403,
      'USER_UNVERIFIED',
      'Email address not verified: open the link in the verification mail, or ask for a new one',
    )
  }
  const session = await auth.login(user, { remember: body.remember === true })
  await recordSession(deps, ctx, user.id, session)
  count('success')
  return json(200, tokenBody('Logged in', session), session.headers)
}

/** `POST /refresh` with a refresh token. */
export async function refresh(deps: LoginDeps, ctx: RouteContext) {
  const session = await deps.auth.refresh(ctx.auth!)
  await refreshSession(deps, ctx, ctx.auth!.sub!, session)
  return json(200, tokenBody('Token refreshed', session), session.headers)
}

/** `POST /fresh-login` `{password, remember?}` with an access token. */
export async function freshLogin(deps: LoginDeps, ctx: RouteContext) {
  const body = ctx.body as { password: string; remember?: boolean }
  const current = userOf(ctx)
  await deps.throttle.checkPassword(
    { address: ctx.request.clientAddress, log: ctx.log },
    current.email,
    body.password,
    async () => current,
  )
  // The same login (family, CSRF value, claims), a fresh token: cookies and cache headers included.
  const issued = deps.auth.reissueAccess(ctx.auth!, { fresh: true, remember: body.remember === true })
  touchSession(deps, ctx)
  return json(
    200,
    {
      msg: 'Fresh login',
      access_token: issued.accessToken,
      token_type: issued.tokenType,
      expires_in: issued.expiresIn ?? 0,
    },
    issued.headers,
  )
}

/** `GET /me`. */
export async function me(deps: LoginDeps, ctx: RouteContext) {
  touchSession(deps, ctx)
  return json(200, { user: userView(userOf(ctx)) })
}

/** `POST /logout`: this login ends (its token and refresh family), cookies are cleared. */
export async function logout(deps: LoginDeps, ctx: RouteContext) {
  const result = await deps.auth.logout(ctx.auth!)
  const family = (ctx.auth!.claims as { fam?: string } | null)?.fam
  if (family) await orUnavailable(ctx.log, () => deps.store.deleteSession(family))
  return json(200, { msg: 'Logged out' }, result.headers)
}

/** `POST /logout-all`: every token of the user issued before now is refused. */
export async function logoutAll(deps: LoginDeps, ctx: RouteContext) {
  const user = userOf(ctx)
  const result = await deps.auth.logoutEverywhere(user)
  // The cookies are cleared: a re-issued access cookie (implicit refresh) must not set them again.
  ctx.auth!.responseHeaders = undefined
  await orUnavailable(ctx.log, () => deps.store.deleteSessions(user.id))
  return json(200, { msg: 'Logged out everywhere' }, result.headers)
}
