/** Which JavaScript runtime this is, where node:crypto behaves differently between them. */

/** Cloudflare Workers (workerd). */
export const IS_WORKERS =
  (globalThis as { navigator?: { userAgent?: string } }).navigator?.userAgent === 'Cloudflare-Workers'

/** Node itself (not Bun, Deno or workerd, which also answer to `process.versions.node`). */
export const IS_NODE =
  typeof process !== 'undefined' &&
  typeof process.versions?.node === 'string' &&
  process.versions.bun === undefined &&
  (globalThis as { Deno?: unknown }).Deno === undefined &&
  !IS_WORKERS
