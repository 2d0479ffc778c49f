/** `POST /auth/signup` and `POST /auth/password`: creating an account and changing its password. */
import type { FastifyInstance } from 'fastify'
import { EmailTakenError } from '../db/users.js'
import { emailProblem, normalizeEmail } from '../email.js'
import { ApiError, orUnavailable, validationFailed } from '../errors.js'
import { routeSchemas } from '../schemas.js'
import { checkNewPassword, type RouteDeps, requireJson, tokenBody, userOf, userView } from './context.js'

/** Registers the account routes. */
export function accountRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { auth, users, hasher, throttle } = deps

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
      const user = await orUnavailable(
        request.log,
        async () => {
          try {
            return await users.create({ email, name, passwordHash })
          } catch (error) {
            if (error instanceof EmailTakenError)
              throw new ApiError(409, 'EMAIL_TAKEN', 'An account with this email already exists')
            throw error
          }
        },
        'Sign-up temporarily unavailable; try again shortly',
      )
      request.log.info({ sub: user.id }, 'signup')
      return reply.code(201).send({ user: userView(user) })
    },
  )

  app.post(
    '/auth/password',
    { schema: routeSchemas.password, preValidation: app.requireFresh() },
    async (request, reply) => {
      const body = request.body as { current_password: string; new_password: string; remember?: boolean }
      const current = userOf(request)
      checkNewPassword(body.new_password)
      const user = await throttle.checkPassword(
        { address: request.ip, log: request.log },
        current.email,
        body.current_password,
        async () => current,
      )
      const passwordHash = await hasher.hash(body.new_password)
      // Compare-and-set against the hash just verified: of two concurrent changes, one wins.
      const changed = await orUnavailable(
        request.log,
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
}
