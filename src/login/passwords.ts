/**
 * Password hashing: argon2id through @node-rs/argon2, whose async functions run on libuv's thread
 * pool, so the event loop keeps serving other requests while a hash is computed. A semaphore bounds
 * how many hashes run at once (each takes `memoryCost` KiB and a pool thread), and a bounded queue
 * turns a flood of logins into quick 503s instead of unbounded memory.
 */
import { randomBytes } from 'node:crypto'
import { availableParallelism } from 'node:os'
import { type Algorithm, hash, parseOptions, verify } from '@node-rs/argon2'

/** argon2id cost parameters. */
export interface Argon2Params {
  /** Memory in KiB. */
  memoryCost: number
  /** Passes. */
  timeCost: number
  /** Lanes. */
  parallelism: number
}

/** OWASP's argon2id recommendation (Password Storage Cheat Sheet): m=19 MiB, t=2, p=1. */
export const OWASP_ARGON2: Readonly<Argon2Params> = Object.freeze({
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
})

/** Shortest password accepted at signup and password change (OWASP ASVS 2.1.1). */
export const MIN_PASSWORD_LENGTH = 8
/** Longest password accepted anywhere, checked before hashing (ASVS 2.1.2 allows 64 to 128+). */
export const MAX_PASSWORD_LENGTH = 1024

// The package declares its enums `const`, which isolated modules cannot read; 2 is Argon2id.
const ARGON2ID = 2 as Algorithm

/** Too many hashes are waiting: the login API answers 503 `SERVER_BUSY` with Retry-After. */
export class HasherBusyError extends Error {
  constructor() {
    super('Too many password checks in progress')
    this.name = 'HasherBusyError'
  }
}

/** Options of {@link PasswordHasher}. */
export interface PasswordHasherOptions {
  /**
   * Hashes computed at once. Default: the number of CPUs, at most the libuv pool size less one (so
   * file and DNS work still get a thread).
   */
  concurrency?: number
  /** Hashes allowed to wait for a slot before new ones are refused. Default 1 000. */
  maxQueue?: number
}

function defaultConcurrency(): number {
  const pool = Number(process.env.UV_THREADPOOL_SIZE) || 4
  return Math.max(1, Math.min(availableParallelism(), pool - 1))
}

/** Length in Unicode code points (what users and JSON Schema's maxLength call characters). */
export function passwordLength(password: string): number {
  let n = 0
  for (const _ of password) n++
  return n
}

/**
 * Hashes and verifies passwords with argon2id (PHC strings, `$argon2id$v=19$m=...`).
 *
 * - **Off the event loop**: each hash runs on libuv's thread pool.
 * - **Bounded**: at most `concurrency` hashes at once (default: the CPUs, at most the pool size less
 *   one); up to `maxQueue` more wait, and beyond that `hash`/`verify` reject with
 *   {@link HasherBusyError} at once (the login API answers 503 `SERVER_BUSY`).
 * - **Upgradable**: {@link PasswordHasher.needsRehash} tells a hash made with other parameters (or
 *   another algorithm) from a current one; the login API rehashes at the next successful login.
 * - **No enumeration by timing**: {@link PasswordHasher.verifyDummy} spends a real verification for
 *   an unknown email.
 *
 * Passwords are hashed as their UTF-8 bytes, whole: nothing is trimmed, normalised or truncated,
 * and a NUL character is an ordinary byte (the binding takes a length, not a C string).
 *
 * @example
 * ```ts
 * import { PasswordHasher } from 'latchkey/login'
 *
 * const hasher = new PasswordHasher() // OWASP's m=19456 KiB, t=2, p=1
 * const stored = await hasher.hash('correct horse battery staple')
 * await hasher.verify(stored, 'correct horse battery staple') // true
 * if (hasher.needsRehash(stored)) await saveHash(await hasher.hash(password))
 * ```
 */
export class PasswordHasher {
  readonly params: Readonly<Argon2Params>
  readonly #concurrency: number
  readonly #maxQueue: number
  #running = 0
  readonly #waiting: (() => void)[] = []
  #dummy: Promise<string> | undefined

  constructor(params: Argon2Params = OWASP_ARGON2, options: PasswordHasherOptions = {}) {
    this.params = Object.freeze({ ...params })
    this.#concurrency = options.concurrency ?? defaultConcurrency()
    this.#maxQueue = options.maxQueue ?? 1_000
    if (!(this.#concurrency >= 1)) throw new RangeError('concurrency must be at least 1')
  }

  /** A new PHC-format argon2id hash (random 16-byte salt) with the configured parameters. */
  hash(password: string): Promise<string> {
    return this.#limited(() =>
      hash(Buffer.from(password, 'utf8'), {
        algorithm: ARGON2ID,
        memoryCost: this.params.memoryCost,
        timeCost: this.params.timeCost,
        parallelism: this.params.parallelism,
      }),
    )
  }

  /** Whether `password` matches `stored`. A malformed stored hash is a mismatch, not a crash. */
  verify(stored: string, password: string): Promise<boolean> {
    return this.#limited(async () => {
      try {
        return await verify(stored, Buffer.from(password, 'utf8'))
      } catch {
        return false
      }
    })
  }

  /**
   * Spends the time of a real verification and returns false: used for unknown emails, so that
   * they take as long as a wrong password (no account enumeration by timing).
   */
  async verifyDummy(password: string): Promise<false> {
    await this.verify(await this.#dummyHash(), password)
    return false
  }

  /** Whether a stored hash was made with other parameters (or another algorithm) than the current ones. */
  needsRehash(stored: string): boolean {
    try {
      const p = parseOptions(stored)
      return (
        p.algorithm !== ARGON2ID ||
        p.memoryCost !== this.params.memoryCost ||
        p.timeCost !== this.params.timeCost ||
        p.parallelism !== this.params.parallelism ||
        p.saltLen < 16
      )
    } catch {
      return true
    }
  }

  /** Computes the dummy hash ahead of time, so the first unknown-email login is not slower. */
  async warmUp(): Promise<void> {
    await this.#dummyHash()
  }

  #dummyHash(): Promise<string> {
    // Hashed with the current parameters, so verifying against it costs what a real check costs.
    this.#dummy ??= this.hash(randomBytes(32).toString('base64url'))
    return this.#dummy
  }

  async #limited<T>(task: () => Promise<T>): Promise<T> {
    if (this.#running >= this.#concurrency) {
      if (this.#waiting.length >= this.#maxQueue) throw new HasherBusyError()
      await new Promise<void>((resolve) => this.#waiting.push(resolve))
    } else {
      this.#running++
    }
    try {
      return await task()
    } finally {
      // Hand the slot straight to the next waiter (the count stays the same), or free it.
      const next = this.#waiting.shift()
      if (next) next()
      else this.#running--
    }
  }
}
