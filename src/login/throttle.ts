/**
 * Password checks under the login rate limit of (client address, email), and optionally of the
 * address alone. The attempt is counted first, so during a lock-out even the right password gets 429
 * without being checked (a lock-out never reveals the password), and the counter is forgotten after
 * a success. Counters that cannot be reached fail closed (503): nobody guesses unthrottled.
 */
import type { AttemptCounter } from './counters.js'
import { attemptKey } from './counters.js'
import { invalidCredentials, type LoginLogger, orUnavailable, tooManyAttempts } from './errors.js'
import type { PasswordHasher } from './passwords.js'

/** The limits of {@link LoginThrottle}. */
export interface LoginLimits {
  /** Failed logins per (address, email) per window before 429. Default 5. */
  maxFailures?: number
  /** The window (and lock-out length), in milliseconds. Default 15 minutes. */
  windowMs?: number
  /** Failed logins per address (any email) per window before 429; 0 turns it off. Default 0. */
  addressMaxFailures?: number
}

/** Who is trying: the client address and the request's logger. */
export interface Attempt {
  address: string
  log: LoginLogger
}

/** The part of a user the throttle needs. */
interface HashedUser {
  id: string
  passwordHash: string
}

const UNAVAILABLE = 'Login temporarily unavailable; try again shortly'

/**
 * The password check of a login: rate limit, argon2id verification (a dummy one for an unknown
 * email, so both take the same time), rehash when the hasher's parameters changed.
 *
 * @example
 * ```ts
 * const throttle = new LoginThrottle({ counter: new MemoryAttemptCounter(), hasher: new PasswordHasher() })
 * const user = await throttle.checkPassword({ address: req.ip, log: console }, email, password, () =>
 *   users.findByEmail(email),
 * ) // or throws: 401 INVALID_CREDENTIALS, 429 TOO_MANY_ATTEMPTS (LoginError)
 * ```
 */
export class LoginThrottle {
  readonly #counter: AttemptCounter
  readonly #hasher: PasswordHasher
  readonly #setPasswordHash:
    | ((id: string, hash: string, options: { expected: string }) => Promise<boolean>)
    | undefined
  readonly #maxFailures: number
  readonly #windowMs: number
  readonly #addressMaxFailures: number

  constructor(deps: {
    counter: AttemptCounter
    hasher: PasswordHasher
    /** Where a rehashed password is saved (compare-and-set); without it hashes are never upgraded. */
    users?: { setPasswordHash(id: string, hash: string, options: { expected: string }): Promise<boolean> }
    limits?: LoginLimits
  }) {
    this.#counter = deps.counter
    this.#hasher = deps.hasher
    const users = deps.users
    this.#setPasswordHash = users && ((id, hash, options) => users.setPasswordHash(id, hash, options))
    const { maxFailures = 5, windowMs = 15 * 60_000, addressMaxFailures = 0 } = deps.limits ?? {}
    if (!(Number.isInteger(maxFailures) && maxFailures >= 1)) throw new RangeError('maxFailures must be >= 1')
    if (!(windowMs >= 1)) throw new RangeError('windowMs must be positive')
    if (!(Number.isInteger(addressMaxFailures) && addressMaxFailures >= 0))
      throw new RangeError('addressMaxFailures must be >= 0')
    this.#maxFailures = maxFailures
    this.#windowMs = windowMs
    this.#addressMaxFailures = addressMaxFailures
  }

  /**
   * The user whose password this is, or a LoginError: 401 INVALID_CREDENTIALS (same answer for an
   * unknown email and a wrong password), 429 TOO_MANY_ATTEMPTS, or 503 when the counters or the
   * user lookup are unreachable.
   */
  async checkPassword<User extends HashedUser>(
    attempt: Attempt,
    email: string,
    password: string,
    findUser: () => Promise<User | undefined>,
  ): Promise<User> {
    const { log, address } = attempt
    const counter = this.#counter
    const windowMs = this.#windowMs
    const pairKey = attemptKey('login', address, email)
    const pair = await orUnavailable(log, () => counter.hit(pairKey, windowMs), UNAVAILABLE)
    if (pair.count > this.#maxFailures) throw tooMany(pair.resetAt)
    const addressKey = attemptKey('address', address)
    const addressLimit = this.#addressMaxFailures
    if (addressLimit > 0) {
      const byAddress = await orUnavailable(log, () => counter.peek(addressKey), UNAVAILABLE)
      if (byAddress && byAddress.count >= addressLimit) throw tooMany(byAddress.resetAt)
    }
    const user = await orUnavailable(log, findUser, UNAVAILABLE)
    const hasher = this.#hasher
    const ok = user ? await hasher.verify(user.passwordHash, password) : await hasher.verifyDummy(password)
    if (!ok || !user) {
      if (addressLimit > 0) await orUnavailable(log, () => counter.hit(addressKey, windowMs), UNAVAILABLE)
      throw invalidCredentials()
    }
    await orUnavailable(log, () => counter.reset(pairKey), UNAVAILABLE)
    return this.#upgrade(log, user, password)
  }

  /** Rehashes with the current parameters when they changed; a failure waits for the next login. */
  async #upgrade<User extends HashedUser>(log: LoginLogger, user: User, password: string): Promise<User> {
    const save = this.#setPasswordHash
    if (!save || !this.#hasher.needsRehash(user.passwordHash)) return user
    try {
      const upgraded = await this.#hasher.hash(password)
      // Only if unchanged meanwhile: a concurrent password change must win over an upgrade.
      if (await save(user.id, upgraded, { expected: user.passwordHash })) {
        log.info({ sub: user.id }, 'password hash upgraded to the current parameters')
        return { ...user, passwordHash: upgraded }
      }
    } catch (error) {
      log.warn({ err: error, sub: user.id }, 'password hash upgrade failed; will retry at next login')
    }
    return user
  }
}

function tooMany(resetAt: number) {
  return tooManyAttempts(resetAt, 'Too many failed logins; try again later')
}
