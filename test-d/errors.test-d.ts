/**
 * Compile-only: pins the typed surface of the errors and of the 0.2 additions to the auth object.
 * `switch (err.code)` on an AnyAuthError narrows to the one class; isAuthError narrows to the union.
 */
import { expectTypeOf } from 'vitest'
import {
  type AccessTokenResponse,
  type AnyAuthError,
  type AuthConfig,
  type AuthContext,
  type AuthError,
  ConfigError,
  createAuth,
  isAuthError,
  type LogoutResult,
  type TokenExpiredError,
  type TokenMissingError,
  type WrongTokenTypeError,
} from '../src/index.js'

declare const err: AnyAuthError
switch (err.code) {
  case 'TOKEN_EXPIRED':
    expectTypeOf(err).toEqualTypeOf<TokenExpiredError>()
    expectTypeOf(err.expiredAt).toEqualTypeOf<number>()
    break
  case 'TOKEN_MISSING':
    expectTypeOf(err).toEqualTypeOf<TokenMissingError>()
    expectTypeOf(err.locations).toEqualTypeOf<readonly string[]>()
    break
  case 'WRONG_TOKEN_TYPE':
    expectTypeOf(err.expected).toEqualTypeOf<'access' | 'refresh'>()
    // @ts-expect-error narrowed: a wrong-type error has no expiry
    err.expiredAt
    break
  case 'REVOCATION_UNAVAILABLE':
  case 'TOKEN_INVALID':
    break
  default:
    expectTypeOf(err.code).toEqualTypeOf<
      | 'TOKEN_NOT_YET_VALID'
      | 'FRESH_TOKEN_REQUIRED'
      | 'TOKEN_REVOKED'
      | 'USER_NOT_FOUND'
      | 'USER_INACTIVE'
      | 'CSRF_FAILED'
      | 'CLAIMS_REJECTED'
      | 'INSUFFICIENT_SCOPE'
      | 'ISSUER_UNAVAILABLE'
      | 'DPOP_PROOF_MISSING'
      | 'DPOP_PROOF_INVALID'
      | 'DPOP_PROOF_REPLAYED'
    >()
}

// Every code of the union is handled: a switch without a default is exhaustive.
function status(e: AnyAuthError): number {
  switch (e.code) {
    case 'TOKEN_MISSING':
    case 'TOKEN_EXPIRED':
    case 'TOKEN_NOT_YET_VALID':
    case 'TOKEN_INVALID':
    case 'WRONG_TOKEN_TYPE':
    case 'FRESH_TOKEN_REQUIRED':
    case 'TOKEN_REVOKED':
    case 'USER_NOT_FOUND':
    case 'USER_INACTIVE':
    case 'DPOP_PROOF_MISSING':
    case 'DPOP_PROOF_INVALID':
    case 'DPOP_PROOF_REPLAYED':
      return 401
    case 'CSRF_FAILED':
    case 'CLAIMS_REJECTED':
    case 'INSUFFICIENT_SCOPE':
      return 403
    case 'REVOCATION_UNAVAILABLE':
    case 'ISSUER_UNAVAILABLE':
      return 503
  }
}
void status

declare const unknownError: unknown
if (isAuthError(unknownError)) {
  expectTypeOf(unknownError).toEqualTypeOf<AnyAuthError>()
  expectTypeOf(unknownError).toMatchTypeOf<AuthError>()
  if (unknownError.code === 'WRONG_TOKEN_TYPE')
    expectTypeOf(unknownError).toEqualTypeOf<WrongTokenTypeError>()
}

// Headers are read-only; a ConfigError is a TypeError.
// @ts-expect-error read-only
err.headers['set-cookie'] = 'x'
expectTypeOf(new ConfigError('x')).toMatchTypeOf<TypeError>()

// The auth object's 0.2 additions.
const auth = createAuth<{ id: string }>({ keys: { secret: 'x'.repeat(32) }, identify: (u) => u.id })
declare const context: AuthContext<{ id: string }>
expectTypeOf(
  auth.reissueAccess(context, { fresh: true, remember: true }),
).toEqualTypeOf<AccessTokenResponse>()
expectTypeOf(auth.logoutEverywhere({ id: 'u1' })).toEqualTypeOf<Promise<LogoutResult>>()
expectTypeOf(auth.config).toEqualTypeOf<AuthConfig>()
expectTypeOf(auth.config.cookies.accessName).toEqualTypeOf<string>()
expectTypeOf(auth.verifyTokenSync('t').claims.sub).toEqualTypeOf<string>()
expectTypeOf(context.responseHeaders).toEqualTypeOf<Record<string, string[]> | undefined>()
// @ts-expect-error the configuration is read-only
auth.config.cookiesUsed = true
