/**
 * One login seen from outside its tokens: ending it by its refresh family (a "sessions" page ends
 * a login the caller does not hold the tokens of), and asking whether the store still lets it live.
 */
import { ConfigError } from '../errors.js'
import type { TokenRef } from '../stores/store.js'
import { longestLifetimeMs, storeCall } from './revocation.js'
import type { SessionDeps } from './session.js'

/**
 * Revokes every token of a refresh family (one login), on every instance sharing the store, for as
 * long as any of its tokens can live.
 */
export async function revokeFamily(deps: SessionDeps, family: string): Promise<void> {
  const { config, store, events } = deps
  if (!store) throw new ConfigError('latchkey: revokeFamily needs a revocation store')
  if (typeof family !== 'string' || family === '') throw new TypeError('family must be a non-empty string')
  const until = config.clock() + longestLifetimeMs(config)
  await storeCall(events, () => store.revokeFamily(family, until))
}

/**
 * Whether the store refuses a token like `token` (by id, family or identity cut-off). Without a
 * store nothing is ever revoked. A store that fails rejects with REVOCATION_UNAVAILABLE (503).
 */
export async function isRevoked(deps: SessionDeps, token: TokenRef): Promise<boolean> {
  const { store, events } = deps
  if (!store) return false
  return storeCall(events, () => store.isRevoked(token))
}
