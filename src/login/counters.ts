/**
 * Rate-limit counters: fixed windows keyed by a hash of what is limited (client address, email).
 * The login API counts an attempt *before* checking it, so parallel guesses cannot slip past the
 * limit between a check and an increment.
 *
 * Counters live where every instance sees them: Redis (`latchkey/login/redis`) or the database
 * (`latchkey/login/kysely`). {@link MemoryAttemptCounter} is for one process (tests, development).
 */
import { createHash } from 'node:crypto'

/** A counter after an increment (or a read). */
export interface WindowCount {
  count: number
  /** When the window ends, epoch milliseconds. */
  resetAt: number
}

/**
 * Where rate-limit counters live. Every method may reject when the backend is down: the login API
 * then fails closed (503), so nobody guesses unthrottled.
 */
export interface AttemptCounter {
  /** Adds one to the counter, starting a new window of `windowMs` if none is running. Atomic. */
  hit(key: string, windowMs: number): Promise<WindowCount>
  /** The running window's counter, or undefined. */
  peek(key: string): Promise<WindowCount | undefined>
  /** Forgets the counter. */
  reset(key: string): Promise<void>
}

/** The counter key of a scope and its parts: a hash, so keys have a fixed length and hold no email. */
export function attemptKey(scope: string, ...parts: string[]): string {
  return createHash('sha256')
    .update([scope, ...parts].join('\0'))
    .digest('hex')
}

/**
 * Counters in this process's memory: right for tests and a single instance, wrong for several (each
 * would count on its own). At most `maxKeys` counters are kept; expired ones are dropped first.
 *
 * @example
 * ```ts
 * const api = createLoginApi({ auth, store, counter: new MemoryAttemptCounter() })
 * ```
 */
export class MemoryAttemptCounter implements AttemptCounter {
  readonly #windows = new Map<string, WindowCount>()
  readonly #now: () => number
  readonly #maxKeys: number

  constructor(options: { clock?: () => number; maxKeys?: number } = {}) {
    this.#now = options.clock ?? Date.now
    this.#maxKeys = options.maxKeys ?? 100_000
  }

  async hit(key: string, windowMs: number): Promise<WindowCount> {
    const now = this.#now()
    const running = this.#windows.get(key)
    if (running && running.resetAt > now) {
      running.count++
      return { ...running }
    }
    if (!running && this.#windows.size >= this.#maxKeys) this.#sweep(now)
    const started = { count: 1, resetAt: now + windowMs }
    this.#windows.set(key, started)
    return { ...started }
  }

  async peek(key: string): Promise<WindowCount | undefined> {
    const running = this.#windows.get(key)
    return running && running.resetAt > this.#now() ? { ...running } : undefined
  }

  async reset(key: string): Promise<void> {
    this.#windows.delete(key)
  }

  #sweep(now: number): void {
    for (const [key, window] of this.#windows) if (window.resetAt <= now) this.#windows.delete(key)
    // Still full: forget the oldest (a Map iterates in insertion order).
    while (this.#windows.size >= this.#maxKeys) {
      const oldest = this.#windows.keys().next().value
      if (oldest === undefined) break
      this.#windows.delete(oldest)
    }
  }
}
