/**
 * What every route file receives, and the small pieces several of them share: the JSON-only body
 * rule, the user and token views of responses.
 */
import type { FastifyRequest } from 'fastify'
import type { Redis } from 'ioredis'
import type { Auth, TokenResponse } from '../../index.js'
import type { ServerConfig } from '../config.js'
import type { ServerDatabase } from '../db/connect.js'
import type { User, UsersRepository } from '../db/users.js'
import { ApiError, validationFailed } from '../errors.js'
import type { LoginThrottle } from '../login-throttle.js'
import type { ServerMetrics } from '../metrics.js'
import type { PasswordHasher } from '../passwords.js'
import type { RedisConnection } from '../redis.js'

/** The services the routes use. */
export interface RouteDeps {
  config: ServerConfig
  auth: Auth<User>
  users: UsersRepository
  hasher: PasswordHasher
  throttle: LoginThrottle
  metrics: ServerMetrics | undefined
  database: ServerDatabase
  redis: Redis | undefined
  redisConnection: RedisConnection | undefined
}

/** Rejects a body that is not `application/json` (login and signup only take JSON). */
export async function requireJson(request: FastifyRequest): Promise<void> {
  const type = (request.headers['content-type'] ?? '').split(';', 1)[0]?.trim().toLowerCase()
  if (type !== 'application/json')
    throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Send JSON (Content-Type: application/json)')
}

/** The authenticated user of a guarded route. */
export function userOf(request: FastifyRequest): User {
  return request.auth.user as User
}

/** What responses show of a user: never the password hash. */
export function userView(user: User): { id: string; email: string; name: string | null } {
  return { id: user.id, email: user.email, name: user.name }
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
