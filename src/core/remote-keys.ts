/**
 * A trusted issuer's keys, fetched from its JWKS URL (found by discovery, or given) and kept in
 * memory. jose's `createRemoteJWKSet` does the fetching: timeout, no redirects, the JWK Set checked;
 * this file decides when to fetch and serves the keys it has synchronously, so a cached key verifies
 * on the same synchronous path as a configured one.
 *
 * When to fetch, at most one fetch at a time and at most one attempt per `cooldown`, whatever its
 * outcome (a flood of tokens with made-up `kid`s, or a provider that is down, never turns into a
 * flood of requests):
 * - cold (no keys yet): the first token waits for the fetch; if it fails, tokens are refused with
 *   ISSUER_UNAVAILABLE (503) until the next attempt is allowed;
 * - an unknown `kid`: one refetch (the provider may have rotated its keys); within the cooldown an
 *   unknown `kid` is refused at once (401), or with a 503 when the last attempt failed;
 * - keys past their freshness (`Cache-Control: max-age`, clamped to [cooldown, cacheMaxAge], or
 *   cacheMaxAge): refreshed in the background while the cached keys keep answering; if refreshes
 *   fail, they keep answering for `staleIfError` more, then tokens wait for a fetch (503 on failure).
 *
 * Only `latchkey/issuers` imports this file: jose is an optional peer of that entry point alone.
 */
import type { JsonWebKey } from 'node:crypto'
import { createRemoteJWKSet, customFetch } from 'jose'
import { AuthError, ConfigError, IssuerUnavailableError } from '../errors.js'
import { type Duration, durationMs } from '../internal/duration.js'
import { type Algorithm, familyOf } from './algorithms.js'
import { discoverJwksUri, isSecureEnough } from './discovery.js'
import type { IssuerKeySource } from './issuers.js'
import { type LoadedKey, loadKey } from './keys.js'
import type { TokenHeader } from './types.js'

/** How a remote key set is fetched and cached. */
export interface RemoteKeySetOptions {
  /** Abort a fetch (metadata or JWKS) after this long. Default `'5s'`. */
  timeout?: Duration
  /** At most one fetch attempt per this interval, successful or not. Default `'30s'`. */
  cooldown?: Duration
  /** Longest time keys count as fresh; a shorter `Cache-Control: max-age` wins. Default `'10m'`. */
  cacheMaxAge?: Duration
  /** How long past their freshness keys keep answering while refreshes fail. Default `'1d'`. */
  staleIfError?: Duration
  /** Extra request headers for the fetches. */
  headers?: Record<string, string>
  /** The fetch to use. Default: the global `fetch`. */
  fetch?: typeof fetch
  /** Called with each failed fetch (also the background ones, which refuse nothing). */
  onError?: (error: unknown) => void
  /** Current time in epoch milliseconds (tests move it). Default `Date.now`. */
  clock?: () => number
}

/** Where the JWK Set is: its URL (and whose it is, for errors), or the issuer whose metadata says. */
export type KeySetLocation = { jwksUri: string; issuer?: string } | { issuer: string }

/** What a remote key set can tell about itself (for readiness probes and logs). */
export interface RemoteKeySetStatus {
  /** The JWKS URL, once known. */
  jwksUri: string | undefined
  /** When the keys were last fetched (epoch ms), or undefined before the first success. */
  fetchedAt: number | undefined
  /** Whether the keys are within their freshness. */
  fresh: boolean
  /** How many keys the set holds. */
  keys: number
  /** The error of the last attempt, when it failed. */
  lastError: unknown
}

interface Candidate {
  readonly jwk: JsonWebKey & { kid?: string; alg?: string }
  readonly algorithms: readonly Algorithm[]
}

type JWKSet = ReturnType<typeof createRemoteJWKSet>

const RSA_ALGS: readonly Algorithm[] = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512']
const EC_ALGS: Readonly<Record<string, Algorithm>> = { 'P-256': 'ES256', 'P-384': 'ES384', 'P-521': 'ES512' }
const NOTHING = Symbol('no key')

/** The algorithms a published JWK may verify: its `alg`, else what its type and curve allow. */
function algorithmsOf(jwk: Candidate['jwk']): readonly Algorithm[] {
  if (typeof jwk.alg === 'string') return [jwk.alg as Algorithm]
  if (jwk.kty === 'RSA') return RSA_ALGS
  if (jwk.kty === 'EC') return typeof jwk.crv === 'string' && EC_ALGS[jwk.crv] ? [EC_ALGS[jwk.crv]!] : []
  if (jwk.kty === 'OKP') return jwk.crv === 'Ed25519' || jwk.crv === 'Ed448' ? ['EdDSA'] : []
  return []
}

/** Seconds of freshness a response's caching headers give, or undefined when they say nothing. */
function freshnessOf(headers: Headers): number | undefined {
  const control = headers.get('cache-control')
  if (control) {
    if (/(^|,)\s*(no-store|no-cache)\s*(,|$)/i.test(control)) return 0
    const m = /(?:^|,)\s*max-age\s*=\s*"?(\d+)"?/i.exec(control)
    if (m) return Math.max(0, Number(m[1]) - (Number(headers.get('age')) || 0))
  }
  const expires = Date.parse(headers.get('expires') ?? '')
  if (Number.isFinite(expires)) {
    const date = Date.parse(headers.get('date') ?? '')
    return Math.max(0, (expires - (Number.isFinite(date) ? date : Date.now())) / 1000)
  }
  return undefined
}

/**
 * The keys of one trusted issuer, fetched from its JWKS and cached (see the file comment for when it
 * fetches). `key(header)` answers synchronously whenever it can.
 */
export class RemoteKeySet implements IssuerKeySource {
  readonly #location: KeySetLocation
  readonly #timeoutMs: number
  readonly #cooldownMs: number
  readonly #maxAgeMs: number
  readonly #staleMs: number
  readonly #headers: Record<string, string>
  readonly #fetch: typeof fetch | undefined
  readonly #onError: ((error: unknown) => void) | undefined
  readonly #clock: () => number
  #jwksUri: URL | undefined
  #remote: JWKSet | undefined
  /** Caching headers of the last response, read when its keys are applied. */
  #lastHeaders: Headers | undefined
  #candidates: Candidate[] | undefined
  /** Keys picked for a (kid, alg) pair since the last fetch: the synchronous path is two Map lookups. */
  #picked = new Map<string | undefined, Map<string, LoadedKey | typeof NOTHING>>()
  #fetchedAt = Number.NEGATIVE_INFINITY
  #freshMs = 0
  #attemptedAt = Number.NEGATIVE_INFINITY
  #failed = false
  #lastError: unknown
  #pending: Promise<void> | undefined

  constructor(location: KeySetLocation, options: RemoteKeySetOptions = {}) {
    this.#location = location
    if ('jwksUri' in location) {
      const url = parseUrl(location.jwksUri)
      if (!url || !isSecureEnough(url))
        throw new ConfigError('jwksUri must be an https URL (plain http only on localhost / 127.0.0.1)')
      this.#jwksUri = url
    }
    this.#timeoutMs = durationMs(options.timeout ?? '5s', 'timeout')
    this.#cooldownMs = durationMs(options.cooldown ?? '30s', 'cooldown')
    this.#maxAgeMs = durationMs(options.cacheMaxAge ?? '10m', 'cacheMaxAge')
    this.#staleMs = durationMs(options.staleIfError ?? '1d', 'staleIfError')
    if (this.#timeoutMs < 1 || !Number.isInteger(this.#timeoutMs))
      throw new ConfigError('timeout must be at least one millisecond')
    if (this.#maxAgeMs < this.#cooldownMs) throw new ConfigError('cacheMaxAge must be at least the cooldown')
    for (const [name, fn] of [
      ['fetch', options.fetch],
      ['onError', options.onError],
      ['clock', options.clock],
    ] as const)
      if (fn !== undefined && typeof fn !== 'function') throw new ConfigError(`${name} must be a function`)
    this.#headers = { ...options.headers }
    this.#fetch = options.fetch
    this.#onError = options.onError
    this.#clock = options.clock ?? Date.now
  }

  /** The key for a token header: synchronously when cached, a promise when it must be fetched. */
  key(header: TokenHeader): LoadedKey | undefined | Promise<LoadedKey | undefined> {
    const now = this.#clock()
    if (this.#candidates === undefined) {
      // Cold: nothing to serve. Wait for the fetch under way, or start one if the cooldown allows.
      if (this.#pending !== undefined) return this.#pending.then(() => this.#pick(header), this.#unavailable)
      if (now < this.#attemptedAt + this.#cooldownMs) throw this.#unavailable(this.#lastError)
      return this.#refresh(now).then(() => this.#pick(header), this.#unavailable)
    }
    const age = now - this.#fetchedAt
    if (age >= this.#freshMs && this.#pending === undefined && now >= this.#attemptedAt + this.#cooldownMs)
      this.#background(now)
    const key = this.#pick(header)
    if (key !== undefined) {
      if (age < this.#freshMs + this.#staleMs) return key
      // Too old to vouch for: wait for the refresh under way, or refuse until one succeeds.
      if (this.#pending !== undefined) return this.#pending.then(() => this.#pick(header), this.#unavailable)
      throw this.#unavailable(this.#lastError)
    }
    // An unknown kid: the provider may have rotated its keys. One refetch per cooldown.
    if (this.#pending !== undefined) return this.#pending.then(() => this.#pick(header), this.#unavailable)
    if (now < this.#attemptedAt + this.#cooldownMs) {
      if (this.#failed) throw this.#unavailable(this.#lastError)
      return undefined
    }
    return this.#refresh(now).then(() => this.#pick(header), this.#unavailable)
  }

  /**
   * Fetches the keys now unless fresh ones are cached, or waits for the fetch under way. For start-up
   * and readiness probes; rejects when the keys cannot be had. Ignores the cooldown.
   */
  async ready(): Promise<void> {
    if (this.#pending !== undefined) return this.#pending
    const now = this.#clock()
    if (this.#candidates !== undefined && now - this.#fetchedAt < this.#freshMs) return
    return this.#refresh(now)
  }

  /** What the set knows: its URL, when it last fetched, whether its keys are fresh, the last error. */
  status(): RemoteKeySetStatus {
    return {
      jwksUri: this.#jwksUri?.href,
      fetchedAt: Number.isFinite(this.#fetchedAt) ? this.#fetchedAt : undefined,
      fresh: this.#clock() - this.#fetchedAt < this.#freshMs,
      keys: this.#candidates?.length ?? 0,
      lastError: this.#failed ? this.#lastError : undefined,
    }
  }

  #unavailable = (error: unknown): never => {
    if (error instanceof AuthError) throw error
    const issuer = this.#location.issuer ?? this.#jwksUri?.href ?? ''
    const seconds = Math.max(1, Math.ceil((this.#attemptedAt + this.#cooldownMs - this.#clock()) / 1000))
    throw new IssuerUnavailableError(issuer, { cause: error, headers: { 'retry-after': String(seconds) } })
  }

  #background(now: number): void {
    this.#refresh(now).catch(() => {
      // Reported through onError by #refresh; the cached keys keep answering meanwhile.
    })
  }

  /** One fetch (discovery first when the JWKS URL is not known yet); the keys replace the old ones. */
  #refresh(now: number): Promise<void> {
    this.#attemptedAt = now
    const attempt = this.#fetchKeys().then(
      () => {
        this.#failed = false
        this.#lastError = undefined
      },
      (error: unknown) => {
        this.#failed = true
        this.#lastError = error
        this.#onError?.(error)
        throw error
      },
    )
    const pending = attempt.finally(() => {
      if (this.#pending === pending) this.#pending = undefined
    })
    this.#pending = pending
    return pending
  }

  async #fetchKeys(): Promise<void> {
    if (this.#remote === undefined) {
      this.#jwksUri ??= await discoverJwksUri((this.#location as { issuer: string }).issuer, {
        timeoutMs: this.#timeoutMs,
        headers: this.#headers,
        ...(this.#fetch ? { fetch: this.#fetch } : {}),
      })
      const fetchImpl = this.#fetch ?? fetch
      this.#remote = createRemoteJWKSet(this.#jwksUri, {
        timeoutDuration: this.#timeoutMs,
        headers: this.#headers,
        [customFetch]: async (url: string, init: RequestInit) => {
          const response = await fetchImpl(url, init)
          this.#lastHeaders = response.headers
          return response
        },
      })
    }
    await this.#remote.reload()
    const jwks = this.#remote.jwks()
    if (jwks === undefined) throw new Error('no JWK Set')
    this.#apply(jwks.keys as Candidate['jwk'][])
  }

  #apply(keys: Candidate['jwk'][]): void {
    const candidates: Candidate[] = []
    for (const jwk of keys) {
      // Signature keys only: never an encryption key, a secret, or one whose key_ops exclude verify.
      if (jwk.use !== undefined && jwk.use !== 'sig') continue
      if (Array.isArray(jwk.key_ops) && !jwk.key_ops.includes('verify')) continue
      if (jwk.kty === 'oct') continue
      const algorithms = algorithmsOf(jwk).filter((a) => familyOf(a) !== 'HS')
      if (algorithms.length > 0) candidates.push({ jwk, algorithms })
    }
    const seconds = this.#lastHeaders ? freshnessOf(this.#lastHeaders) : undefined
    const fresh = seconds === undefined ? this.#maxAgeMs : seconds * 1000
    this.#freshMs = Math.min(this.#maxAgeMs, Math.max(this.#cooldownMs, fresh))
    this.#fetchedAt = this.#clock()
    this.#candidates = candidates
    this.#picked = new Map()
  }

  /** The key of a header: the one published key with its kid (or, without a kid, the only one) that fits its alg. */
  #pick(header: TokenHeader): LoadedKey | undefined {
    let byAlg = this.#picked.get(header.kid)
    const known = byAlg?.get(header.alg)
    if (known !== undefined) return known === NOTHING ? undefined : known
    const fits = (this.#candidates ?? []).filter(
      (c) => (header.kid === undefined || c.jwk.kid === header.kid) && c.algorithms.includes(header.alg),
    )
    let key: LoadedKey | typeof NOTHING = NOTHING
    if (fits.length === 1) {
      try {
        key = loadKey({ publicKey: fits[0]!.jwk, algorithm: header.alg, kid: header.kid ?? 'jwks' }, 'JWKS')
      } catch (error) {
        // A published key latchkey refuses (RSA under 2048 bits, a curve that does not fit): no key.
        this.#onError?.(error)
      }
    }
    if (byAlg === undefined) {
      // Bounded: the pairs seen since the last fetch, made-up kids included.
      if (this.#picked.size >= 256) this.#picked.clear()
      byAlg = new Map()
      this.#picked.set(header.kid, byAlg)
    }
    byAlg.set(header.alg, key)
    return key === NOTHING ? undefined : key
  }
}

function parseUrl(text: unknown): URL | undefined {
  if (typeof text !== 'string') return undefined
  try {
    return new URL(text)
  } catch {
    return undefined
  }
}
