/** A value, or a promise of it: what a store or a callback may answer. */
export type Awaitable<T> = T | PromiseLike<T>

/**
 * A value, or a native promise of it: what every step of the guard hands on. Inside the pipeline
 * only native promises travel (app thenables are adopted at the boundary, see {@link adopt}), so
 * `instanceof Promise` tells the two apart, which stays cheap where a `then` lookup on many object
 * shapes would not.
 */
export type MaybePromise<T> = T | Promise<T>

/**
 * True for a promise or any thenable. The guard continues synchronously on anything else, so an
 * answer that needs no waiting (a memory store, a user from a Map) costs no promise and no microtask.
 */
export function isThenable<T>(value: Awaitable<T>): value is PromiseLike<T> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  )
}

/**
 * An app's answer (a store's, a callback's) made fit for the pipeline: a native promise stays as it
 * is, any other thenable is adopted through `Promise.resolve` (so a `then` that breaks the rules, one
 * that never calls back with a value, say, can never end the chain early with `undefined`), and a
 * plain value is returned as it is. The `then` lookup may throw (a getter): callers call this inside
 * the try that guards the app's call.
 */
export function adopt<T>(value: Awaitable<T>): MaybePromise<T> {
  // A native promise comes back as it is; a subclass (whose own `then` may break the rules) is adopted.
  if (value instanceof Promise) return Promise.resolve(value)
  // Primitives (booleans from stores and claim checks) never reach the property lookup.
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return value as T
  if (typeof (value as { then?: unknown }).then !== 'function') return value as T
  return Promise.resolve(value)
}

/**
 * The sync/async join, written once: `next(value, arg)` now when `value` is a plain value, after it
 * settles when it is a (native) promise. `fail` maps a rejection of `value` (not an error thrown by
 * `next`). `arg` carries the step's state, so the synchronous path allocates no closure.
 */
export function join<T, U, A>(
  value: MaybePromise<T>,
  next: (value: T, arg: A) => MaybePromise<U>,
  arg: A,
  fail?: (error: unknown, arg: A) => never,
): MaybePromise<U> {
  if (!(value instanceof Promise)) return next(value as T, arg)
  return value.then(
    (settled: T) => next(settled, arg),
    fail === undefined ? undefined : (error: unknown) => fail(error, arg),
  )
}
