/** A value, or a promise of it: what a store or a callback may answer. */
export type Awaitable<T> = T | PromiseLike<T>

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
