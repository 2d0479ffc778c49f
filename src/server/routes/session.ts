/**
 * The login session routes: `login`, `refresh`, `fresh-login`, `me`, `logout`, `logout-all`, all
 * under `/auth/`.
 */
import type { FastifyInstance } from 'fastify'
import type { User } from '../db/users.js'
import { emailProblem, normalizeEmail } from '../email.js'
import { ApiError, validationFailed } from '../errors.js'
import type { LoginOutcome } from '../metrics.js'
import { routeSchemas } from '../schemas.js'
import { type RouteDeps, requireJson, tokenBody, userOf, userView } from './context.js'

/** Registers the session routes. */
export function sessionRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { auth, users, throttle, metrics } = deps
  const countLogin = (outcome: LoginOutcome) => metrics?.logins.inc({ outcome })

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
        user = await throttle.checkPassword(
          { address: request.ip, log: request.log },
          email,
          body.password,
          () => users.findByEmail(email),
        )
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
      await throttle.checkPassword(
        { address: request.ip, log: request.log },
        current.email,
        body.password,
        async () => current,
      )
      // The same login (family, CSRF value, claims), a fresh token: cookies and cache headers included.
      const issued = auth.reissueAccess(request.auth as Parameters<typeof auth.reissueAccess>[0], {
        fresh: true,
        remember: body.remember === true,
      })
      reply.applyAuthHeaders(issued)
      return {
        msg: 'Fresh login',
        access_token: issued.accessToken,
        token_type: issued.tokenType,
        expires_in: issued.expiresIn ?? 0,
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
      reply.applyAuthHeaders(await auth.logoutEverywhere(userOf(request)))
      return { msg: 'Logged out everywhere' }
    },
  )
}
