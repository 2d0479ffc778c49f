/**
 * Deadlines: every wait on something outside the process (the database, Redis, a pool) ends, with a
 * DeadlineError, so that a stalled dependency turns into a prompt 503 instead of a request that
 * hangs until the client gives up.
 */

/** A dependency did not answer in time. The routes turn it into 503 with `Retry-After`. */
export class DeadlineError extends Error {
  readonly code = 'DEADLINE_EXCEEDED'
  /** What was waited for (`database read`, `redis ping`, ...). */
  readonly what: string
  readonly ms: number

  constructor(what: string, ms: number, options?: { cause?: unknown }) {
    super(`${what} did not answer within ${ms} ms`, options)
    this.name = 'DeadlineError'
    this.what = what
    this.ms = ms
  }
}

/**
 * Settles like `promise`, or rejects with DeadlineError after `ms`. The promise is never left
 * unhandled: a rejection after the deadline is swallowed (the caller has its answer already).
 */
export function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new DeadlineError(what, ms)), ms)
    promise.then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      (error: unknown) => {
        clearTimeout(timer)
        reject(error)
      },
    )
  })
}
