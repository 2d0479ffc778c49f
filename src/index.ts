/**
 * latchkey: JWT login for TypeScript APIs. This entry is the framework-agnostic core; adapters live
 * at `latchkey/express`, `latchkey/fastify`, `latchkey/hono` and `latchkey/fetch`, stores at
 * `latchkey/stores/*`.
 */
export { ALGORITHMS, type Algorithm } from './core/algorithms.js'
export {
  type Auth,
  createAuth,
  type GuardOptions,
  type LoginOptions,
  type LogoutResult,
  type TokenResponse,
} from './core/auth.js'
export type { AuthOptions, CookieOptions, CsrfOptions, TokenLocation } from './core/config.js'
export { type CookieSpec, serializeCookie } from './core/cookies.js'
export type { AuthEventName, AuthEvents } from './core/events.js'
export {
  type JWKS,
  jwkThumbprint,
  type KeyConfig,
  type PrivateKeyConfig,
  type PublicKeyConfig,
  type SecretKeyConfig,
} from './core/keys.js'
export { cookieReader } from './core/locations.js'
export { type ErrorOptions, type ErrorResponse, renderError } from './core/responses.js'
export type { CreateTokenOptions, DecodeOptions, IssuedToken } from './core/tokens.js'
export type {
  AuthContext,
  DecodedToken,
  RequestView,
  StandardClaims,
  TokenClaims,
  TokenHeader,
  TokenType,
} from './core/types.js'
export * from './errors.js'
export { type Awaitable, isThenable } from './internal/awaitable.js'
export { type Duration, parseDurationMs } from './internal/duration.js'
export {
  MemoryRevocationStore,
  type MemoryRevocationStoreOptions,
  RevocationStoreFullError,
} from './stores/memory.js'
export type { ConsumeResult, RevocationStore, TokenRef } from './stores/store.js'
