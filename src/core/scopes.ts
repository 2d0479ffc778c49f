/**
 * Scopes: what a token grants, read from its claims (`scope` as RFC 6749 space-separated text, `scp`
 * as text or a list, or a provider's own claim such as Auth0's `permissions` or Keycloak's
 * `realm_access.roles`), and what a guard requires of them (all of a list, or any of one).
 */
import { ConfigError, InsufficientScopeError } from '../errors.js'
import { invalid } from './jws.js'

/**
 * What a guard requires: a list (every scope in it), or `{ all, any }` (every scope of `all` and at
 * least one of `any`).
 */
export type ScopeRequirement = readonly string[] | { all?: readonly string[]; any?: readonly string[] }

/** A claim that holds scopes: a top-level name (`'scope'`), a dotted path (`'realm_access.roles'`), or the path's names. */
export type ScopeClaim = string | readonly string[]

/** A scope claim resolved into the names of its path. */
export type ScopePath = readonly string[]

const NO_SCOPES: readonly string[] = Object.freeze([])

/** RFC 6749 §3.3 scope-token: printable ASCII but space, `"` and `\`. */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/

/** Checks and resolves the configured scope claims (`'realm_access.roles'` → `['realm_access', 'roles']`). */
export function scopePaths(claims: readonly ScopeClaim[], where: string): readonly ScopePath[] {
  if (!Array.isArray(claims) || claims.length === 0)
    throw new ConfigError(`${where} must be a non-empty list of claim names or paths`)
  return Object.freeze(
    claims.map((claim) => {
      const path = typeof claim === 'string' ? claim.split('.') : claim
      if (!Array.isArray(path) || path.length === 0 || path.some((p) => typeof p !== 'string' || p === ''))
        throw new ConfigError(
          `${where}: ${JSON.stringify(claim)} is not a claim name, a dotted path or a list of names`,
        )
      return Object.freeze([...path])
    }),
  )
}

/** The value at a claim path, looking only at the claims' own properties (never a prototype's). */
function claimAt(claims: Record<string, unknown>, path: ScopePath): unknown {
  let value: unknown = claims
  for (const name of path) {
    if (value === null || typeof value !== 'object' || Array.isArray(value) || !Object.hasOwn(value, name))
      return undefined
    value = (value as Record<string, unknown>)[name]
  }
  return value
}

/** Adds the scopes of one claim value to `out`; a value of another type refuses the token. */
function addScopes(out: Set<string>, value: unknown, name: string): void {
  if (value === undefined || value === null) return
  if (typeof value === 'string') {
    for (const scope of value.split(' ')) if (scope !== '') out.add(scope)
    return
  }
  if (!Array.isArray(value) || value.some((s) => typeof s !== 'string'))
    throw invalid(`${name} must be a string or a list of strings`)
  for (const scope of value as string[]) if (scope !== '') out.add(scope)
}

/**
 * The scopes a token grants: the union of the values at `paths`, each either space-separated text
 * or a list of strings, in their order of appearance. Frozen; the same empty list when there are none.
 */
export function scopesOf(claims: Record<string, unknown>, paths: readonly ScopePath[]): readonly string[] {
  let out: Set<string> | undefined
  for (const path of paths) {
    const value = claimAt(claims, path)
    if (value === undefined) continue
    out ??= new Set()
    addScopes(out, value, path.join('.'))
  }
  return out === undefined || out.size === 0 ? NO_SCOPES : Object.freeze([...out])
}

/** A guard's scope requirement, checked once (when the guard is made or first used). */
export interface ResolvedScopes {
  readonly all: readonly string[]
  readonly any: readonly string[]
}

const resolved = new WeakMap<object, ResolvedScopes>()

function scopeList(value: unknown, where: string): readonly string[] {
  if (value === undefined) return NO_SCOPES
  if (!Array.isArray(value) || value.some((s) => typeof s !== 'string' || !SCOPE_TOKEN.test(s)))
    throw new ConfigError(
      `${where} must be a list of scopes (RFC 6749 scope tokens: no spaces, quotes or backslashes)`,
    )
  return Object.freeze([...value])
}

/** Checks a guard's `scopes` option (once per options object) and resolves it. */
export function resolveScopes(requirement: ScopeRequirement): ResolvedScopes {
  const known = resolved.get(requirement)
  if (known) return known
  let out: ResolvedScopes
  if (Array.isArray(requirement)) out = { all: scopeList(requirement, 'scopes'), any: NO_SCOPES }
  else if (requirement !== null && typeof requirement === 'object') {
    const { all, any } = requirement as { all?: unknown; any?: unknown }
    for (const key of Object.keys(requirement))
      if (key !== 'all' && key !== 'any')
        throw new ConfigError(`scopes: unknown key "${key}" (use a list, or { all, any })`)
    out = { all: scopeList(all, 'scopes.all'), any: scopeList(any, 'scopes.any') }
  } else throw new ConfigError('scopes must be a list of scopes, or { all, any }')
  resolved.set(requirement, out)
  return out
}

/** Refuses with INSUFFICIENT_SCOPE (403) unless `granted` meets `required`. */
export function requireScopes(granted: readonly string[], required: ResolvedScopes): void {
  for (const scope of required.all)
    if (!granted.includes(scope)) throw new InsufficientScopeError(required.all, 'all')
  if (required.any.length > 0 && !required.any.some((scope) => granted.includes(scope)))
    throw new InsufficientScopeError(required.any, 'any')
}
