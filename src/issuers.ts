/**
 * `latchkey/issuers`: identity providers' keys fetched from their JWKS, found by OpenID Connect
 * discovery (or RFC 8414 metadata) or given directly, cached and refreshed safely. The only entry
 * point that needs `jose` (an optional peer dependency), whose `createRemoteJWKSet` does the
 * fetching. Importing `latchkey` alone never loads it.
 *
 * @example
 * ```ts
 * import { createAuth } from 'latchkey'
 * import { oidcIssuer } from 'latchkey/issuers'
 *
 * const auth = createAuth({
 *   issuers: [oidcIssuer({ issuer: 'https://tenant.eu.auth0.com/', audience: 'https://api.example.com', profile: 'generic' })],
 * })
 * ```
 */
import { isLoopback } from './core/discovery.js'
import type { IssuerOptions } from './core/issuers.js'
import { RemoteKeySet, type RemoteKeySetOptions } from './core/remote-keys.js'
import { ConfigError } from './errors.js'

export type { IssuerKeySource, IssuerOptions, IssuerProfile, TokenSources } from './core/issuers.js'
export type { LoadedKey } from './core/keys.js'
export {
  type KeySetLocation,
  RemoteKeySet,
  type RemoteKeySetOptions,
  type RemoteKeySetStatus,
} from './core/remote-keys.js'
export type { ScopeClaim } from './core/scopes.js'

/** Options of {@link oidcIssuer}: the issuer's rules, and how its keys are fetched and cached. */
export interface OidcIssuerOptions extends Omit<IssuerOptions, 'keys' | 'keySource'>, RemoteKeySetOptions {
  /**
   * The JWK Set URL, for a provider without a discovery document (or to skip discovery). Default: the
   * `jwks_uri` of the issuer's metadata (`<issuer>/.well-known/openid-configuration`, else RFC 8414's
   * `/.well-known/oauth-authorization-server`), fetched with the keys the first time they are needed.
   */
  jwksUri?: string
}

/** A trusted issuer whose keys are fetched: `keySource` is its {@link RemoteKeySet}. */
export interface OidcIssuer extends IssuerOptions {
  readonly keySource: RemoteKeySet
}

const REMOTE_OPTIONS = [
  'jwksUri',
  'timeout',
  'cooldown',
  'cacheMaxAge',
  'staleIfError',
  'headers',
  'fetch',
  'onError',
  'clock',
] as const

/**
 * A trusted issuer (an entry of `createAuth`'s `issuers`) whose keys come from its JWKS: found by
 * discovery from the issuer URL, or at `jwksUri`. Nothing is fetched until a token of this issuer
 * arrives (or `keySource.ready()` is awaited, at start-up or in a readiness probe).
 *
 * @example
 * ```ts
 * const keycloak = oidcIssuer({
 *   issuer: 'https://sso.example.com/realms/shop',
 *   audience: 'orders-api',
 *   profile: 'generic',
 *   scopeClaims: ['scope', 'realm_access.roles'],
 * })
 * await keycloak.keySource.ready() // optional: fail at start if the provider is out of reach
 * const auth = createAuth({ issuers: [keycloak] })
 * ```
 */
export function oidcIssuer(options: OidcIssuerOptions): OidcIssuer {
  if (!options || typeof options !== 'object') throw new ConfigError('oidcIssuer needs an options object')
  const { issuer } = options
  if (options.jwksUri === undefined) {
    // Discovery fetches from the issuer URL; with jwksUri the issuer is only compared with `iss`.
    let url: URL
    try {
      url = new URL(issuer)
    } catch {
      throw new ConfigError(
        `oidcIssuer: issuer must be a URL, or give jwksUri (got ${JSON.stringify(issuer)})`,
      )
    }
    if (url.protocol !== 'https:' && !isLoopback(url))
      throw new ConfigError(
        'oidcIssuer: issuer must be an https URL (plain http only on localhost / 127.0.0.1)',
      )
  }
  const rest: Record<string, unknown> = { ...options }
  const remote: Record<string, unknown> = {}
  for (const name of REMOTE_OPTIONS) {
    if (rest[name] !== undefined) remote[name] = rest[name]
    delete rest[name]
  }
  const location = options.jwksUri === undefined ? { issuer } : { jwksUri: options.jwksUri, issuer }
  return {
    ...(rest as unknown as Omit<IssuerOptions, 'keys' | 'keySource'>),
    keySource: new RemoteKeySet(location, remote as RemoteKeySetOptions),
  }
}
