/**
 * The route's own rules, after the token is known good (verified, not revoked): the scopes its guard
 * requires (`scopes`), then its `claimCheck`. Failures are 403s: INSUFFICIENT_SCOPE (with RFC 6750's
 * `insufficient_scope` challenge) and CLAIMS_REJECTED.
 */
import { AuthError, ClaimsRejectedError } from '../errors.js'
import { adopt, join, type MaybePromise } from '../internal/awaitable.js'
import type { GuardState } from './guard.js'
import { requireScopes, resolveScopes } from './scopes.js'

/** Checks the guard's `scopes` and `claimCheck`; the state when they pass (a promise when the check answers with one). */
export function authorizeStep(state: GuardState): MaybePromise<GuardState> {
  const { scopes, claimCheck } = state.options
  if (scopes !== undefined) requireScopes(state.scopes, resolveScopes(scopes))
  if (claimCheck === undefined) return state
  let ok: MaybePromise<boolean>
  try {
    ok = adopt(
      claimCheck.call(state.options, state.claims as unknown as Record<string, unknown>, {
        issuer: state.trusted?.issuer ?? null,
        scopes: state.scopes,
      }),
    )
  } catch (err) {
    return rejected(err)
  }
  return join(ok, afterCheck, state, rejected)
}

function afterCheck(ok: boolean, state: GuardState): GuardState {
  if (!ok) throw new ClaimsRejectedError()
  return state
}

function rejected(err: unknown): never {
  if (err instanceof AuthError) throw err
  throw new ClaimsRejectedError(undefined, { cause: err })
}
