/**
 * Guard options checked once, where a guard is made (every adapter does it when a route's guard is
 * created): an unknown option or location is a ConfigError then, never a request that reads the
 * wrong place.
 */
import { ConfigError } from '../errors.js'
import type { GuardOptions } from './guard.js'
import { TOKEN_LOCATIONS } from './options.js'
import { resolveScopes, type ScopeRequirement } from './scopes.js'

const BOOLEAN_OPTIONS = [
  'optional',
  'invalidAsAnonymous',
  'fresh',
  'refresh',
  'skipRevocation',
  'verifyType',
] as const
const KNOWN: ReadonlySet<string> = new Set([
  ...BOOLEAN_OPTIONS,
  'locations',
  'scopes',
  'claimCheck',
  'accept',
])

/**
 * Throws a ConfigError for an option a guard does not know, a value of the wrong type, or a
 * location that is not one of 'headers', 'cookies', 'json', 'query' (listed once at most).
 * `extra` names options the caller handles itself (an adapter's `handleErrors`).
 *
 * @example
 * ```ts
 * checkGuardOptions({ locations: ['headers', 'cookies'], fresh: true })
 * ```
 */
export function checkGuardOptions(options: unknown, extra: readonly string[] = []): GuardOptions {
  if (options === undefined) return {}
  if (options === null || typeof options !== 'object')
    throw new ConfigError('guard options must be an object')
  const record = options as Record<string, unknown>
  for (const key of Object.keys(record)) {
    if (!KNOWN.has(key) && !extra.includes(key))
      throw new ConfigError(`guard: unknown option "${key}" (known: ${[...KNOWN, ...extra].join(', ')})`)
  }
  for (const key of BOOLEAN_OPTIONS) {
    if (record[key] !== undefined && typeof record[key] !== 'boolean')
      throw new ConfigError(`guard: ${key} must be true or false`)
  }
  // Checked (and resolved) now, so a typo in a scope list fails at start, not at the first request.
  if (record.scopes !== undefined) resolveScopes(record.scopes as ScopeRequirement)
  if (record.claimCheck !== undefined && typeof record.claimCheck !== 'function')
    throw new ConfigError('guard: claimCheck must be a function (claims, { issuer, scopes }) => boolean')
  const accept = record.accept
  if (
    accept !== undefined &&
    accept !== 'any' &&
    accept !== 'self' &&
    accept !== 'issuers' &&
    !(Array.isArray(accept) && accept.length > 0 && accept.every((a) => typeof a === 'string' && a !== ''))
  )
    throw new ConfigError(
      "guard: accept must be 'any', 'self', 'issuers', or a list of issuer URLs and/or 'self'",
    )
  const locations = record.locations
  if (locations !== undefined) {
    if (!Array.isArray(locations) || locations.length === 0)
      throw new ConfigError(`guard: locations must be a non-empty list of ${TOKEN_LOCATIONS.join(', ')}`)
    for (const location of locations) {
      if (!TOKEN_LOCATIONS.includes(location))
        throw new ConfigError(
          `guard: unknown location ${JSON.stringify(location)} (use ${TOKEN_LOCATIONS.join(', ')})`,
        )
    }
    if (new Set(locations).size !== locations.length)
      throw new ConfigError('guard: locations lists a location twice')
  }
  return options as GuardOptions
}
