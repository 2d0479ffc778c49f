/**
 * Password checks under the login rate limit of (client address, email), and optionally of the
 * address alone. The attempt is counted first, so during a lock-out even the right password gets 429
 * without being checked (a lock-out never reveals the password), and the counter is forgotten after
 * a success. Counters that cannot be reached fail closed (503): nobody guesses unthrottled.
 */
import type { FastifyBaseLogger } from 'fastify'
import type { User, UsersRepository } from './db/users.js'
import { ApiError, invalidCredentials, orUnavailable } from './errors.js'
import type { PasswordHasher } from './passwords.js'
import { type AttemptCounter, attemptKey } from './ratelimit.js'

/** The limits of {@link LoginThrottle} (the server's settings). */
export interface LoginLimits {
  /** Failed logins per (address, email) per window before 429. */
  loginMaxFailures: number
  /** The window, in seconds. */
  loginWindow: number
  /** Failed logins per address per window before 429; 0 turns it off. */
  loginAddressMaxFailures: number
}

/** Who is trying: the client address and the request's logger. */
export interface Attempt {
  address: string
  log: FastifyBaseLogger
}

const UNAVAILABLE = 'Login temporarily unavailable; try again shortly'

/** The server's password check: rate limit, argon2id verification, rehash on parameter change. */
export class LoginThrottle {
  readonly #counter: AttemptCounter
  readonly #hasher: PasswordHasher
  readonly #users: UsersRepository
  readonly #limits: LoginLimits

  constructor(deps: {
    counter: AttemptCounter
    hasher: PasswordHasher
    users: UsersRepository
    limits: LoginLimits
  }) {
    this.#counter = deps.counter
    this.#hasher = deps.hasher
    this.#users = deps.users
    this.#limits = deps.limits
  }

  /**
   * The user whose password this is, or a 401 INVALID_CREDENTIALS (same answer for an unknown email
   * and a wrong password), a 429 TOO_MANY_ATTEMPTS, or a 503 when the counters are unreachable.
   */
  async checkPassword(
    attempt: Attempt,
    email: string,
    password: string,
    findUser: () => Promise<User | undefined>,
  ): Promise<User> {
    const { log, address } = attempt
    const counter = this.#counter
    const limits = this.#limits
    const windowMs = limits.loginWindow * 1000
    const pairKey = attemptKey('login', address, email)
    const pair = await orUnavailable(log, () => counter.hit(pairKey, windowMs), UNAVAILABLE)
    if (pair.count > limits.loginMaxFailures) throw tooMany(pair.resetAt)
    const addressKey = attemptKey('address', address)
    if (limits.loginAddressMaxFailures > 0) {
      const byAddress = await orUnavailable(log, () => counter.peek(addressKey), UNAVAILABLE)
      if (byAddress && byAddress.count >= limits.loginAddressMaxFailures) throw tooMany(byAddress.resetAt)
    }
    const user = await orUnavailable(log, findUser, UNAVAILABLE)
    const hasher = this.#hasher
    const ok = user ? await hasher.verify(user.passwordHash, password) : await hasher.verifyDummy(password)
    if (!ok || !user) {
      if (limits.loginAddressMaxFailures > 0)
        await orUnavailable(log, () => counter.hit(addressKey, windowMs), UNAVAILABLE)
      throw invalidCredentials()
    }
    await orUnavailable(log, () => counter.reset(pairKey), UNAVAILABLE)
    return this.#upgrade(log, user, password)
  }

  /** Rehashes with the current parameters when they changed; a failure waits for the next login. */
  async #upgrade(log: FastifyBaseLogger, user: User, password: string): Promise<User> {
    if (!this.#hasher.needsRehash(user.passwordHash)) return user
    try {
      const upgraded = await this.#hasher.hash(password)
      // Only if unchanged meanwhile: a concurrent password change must win over an upgrade.
      if (await this.#users.setPasswordHash(user.id, upgraded, { expected: user.passwordHash })) {
        log.info({ sub: user.id }, 'password hash upgraded to the current parameters')
        return { ...user, passwordHash: upgraded }
      }
    } catch (error) {
      log.warn({ err: error, sub: user.id }, 'password hash upgrade failed; will retry at next login')
    }
    return user
  }
}

function tooMany(resetAt: number): ApiError {
  const seconds = Math.max(1, Math.ceil((resetAt - Date.now()) / 1000))
  return new ApiError(429, 'TOO_MANY_ATTEMPTS', 'Too many failed logins; try again later', {
    'retry-after': String(seconds),
  })
}
