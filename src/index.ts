/**
 * latchkey: JWT login for TypeScript APIs. This entry is what an app needs: `createAuth`, its
 * options and types, the errors and the memory store. Adapters live at `latchkey/express`,
 * `latchkey/fastify`, `latchkey/hono` and `latchkey/fetch`, stores at `latchkey/stores/*`, and the
 * tools for writing an adapter at `latchkey/adapter-kit`.
 */
import type { RequestView as KitRequestView } from './adapter-kit.js'
import type { CookieSpec as KitCookieSpec } from './core/cookies.js'
import { serializeCookie as kitSerializeCookie } from './core/cookies.js'
import { cookieReader as kitCookieReader } from './core/locations.js'
import { renderError as kitRenderError } from './core/responses.js'
import { isThenable as kitIsThenable } from './internal/awaitable.js'

export { ALGORITHMS, type Algorithm } from './core/algorithms.js'
export { type Auth, createAuth } from './core/auth.js'
export type { AuthConfig } from './core/config.js'
export type { CookieHeaders, SetCookieOptions, UnsetCookieOptions } from './core/cookie-helpers.js'
export type { DpopOptions } from './core/dpop.js'
export type { ProofRequest, VerifiedProof } from './core/dpop-proof.js'
export type { AuthEventName, AuthEvents } from './core/events.js'
export type { GuardOptions } from './core/guard.js'
export type { CreateTokenOptions, IssuedToken } from './core/issue.js'
export type {
  IssuerKeySource,
  IssuerOptions,
  IssuerProfile,
  TokenSources,
} from './core/issuers.js'
export {
  type JWKS,
  jwkThumbprint,
  type KeyConfig,
  type PrivateKeyConfig,
  type PublicKeyConfig,
  type SecretKeyConfig,
} from './core/keys.js'
export type { AuthOptions, CookieOptions, CsrfOptions, TokenLocation } from './core/options.js'
export type { ErrorOptions, ErrorResponse } from './core/responses.js'
export type { ScopeClaim, ScopeRequirement } from './core/scopes.js'
export type { LoginOptions, LogoutResult } from './core/session.js'
export type { AccessTokenResponse, ReissueOptions, TokenResponse } from './core/token-response.js'
export type {
  AuthContext,
  DecodedToken,
  StandardClaims,
  TokenClaims,
  TokenHeader,
  TokenType,
} from './core/types.js'
export type { DecodeOptions, VerifyOptions } from './core/verify.js'
export * from './errors.js'
export type { Awaitable } from './internal/awaitable.js'
export { type Duration, parseDurationMs } from './internal/duration.js'
export {
  MemoryRevocationStore,
  type MemoryRevocationStoreOptions,
  RevocationStoreFullError,
} from './stores/memory.js'
export type { ConsumeResult, RevocationStore, TokenRef } from './stores/store.js'

// Moved to `latchkey/adapter-kit` in 0.2; kept here for a while.
/** @deprecated Import from `latchkey/adapter-kit` (0.2). */
export type RequestView = KitRequestView
/** @deprecated Import from `latchkey/adapter-kit` (0.2). */
export type CookieSpec = KitCookieSpec
/** @deprecated Import from `latchkey/adapter-kit` (0.2). */
export const serializeCookie = kitSerializeCookie
/** @deprecated Import from `latchkey/adapter-kit` (0.2). */
export const cookieReader = kitCookieReader
/** @deprecated Import from `latchkey/adapter-kit` (0.2). */
export const renderError = kitRenderError
/** @deprecated Import from `latchkey/adapter-kit` (0.2). */
export const isThenable = kitIsThenable
