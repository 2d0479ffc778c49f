/**
 * In-process revocation store: four `Map`s and an amortised sweep. Right for one process (a single
 * server, tests, development); with several processes or hosts each would keep its own revocations,
 * so use the SQLite store (one host) or the Redis store (many hosts) there.
 */
import type { ConsumeResult, RevocationStore, TokenRef } from './store.js'

/** Options of {@link MemoryRevocationStore}. */
export interface MemoryRevocationStoreOptions {
  /**
   * Upper bound on live entries (revoked ids, families, cut-offs and used refresh tokens together).
   * When the store is full even after dropping expired entries, writes reject with
   * {@link RevocationStoreFullError} instead of forgetting a revocation that is still in force (which
   * would let a revoked token back in). Default: unbounded (growth is still limited to entries that
   * have not expired, since expired ones are swept).
   */
  maxEntries?: number
  /**
   * How often a timer drops expired entries while the store is idle, in milliseconds; `0` turns the
   * timer off (writes still sweep). The timer starts with the first write, not at construction
   * (Cloudflare Workers forbid timers in global scope, where a store is usually made), and never
   * keeps a process alive (`unref()` on Node and Bun, `Deno.unrefTimer` on Deno). Default 60 000.
   */
  sweepIntervalMs?: number
  /**
   * Clock in epoch milliseconds; tests inject one to expire entries without waiting. Default
   * `Date.now`. The same name as `createAuth`'s option: pass one clock to both.
   */
  clock?: () => number
  /** @deprecated Renamed `clock` (0.2), as in `createAuth`. */
  now?: () => number
}

/**
 * Thrown by {@link MemoryRevocationStore} writes when `maxEntries` live entries are held. The
 * revocation was NOT recorded; the caller must treat the operation as failed (latchkey answers 503).
 */
export class RevocationStoreFullError extends Error {
  /** Stable code for callers that switch on codes rather than classes. */
  readonly code = 'REVOCATION_STORE_FULL'

  constructor(maxEntries: number) {
    super(`revocation store is full (${maxEntries} unexpired entries); refusing to drop a live revocation`)
    this.name = 'RevocationStoreFullError'
  }
}

interface IdentityCutoff {
  before: number
  expiresAt: number
}

interface UsedRefreshToken {
  usedAt: number
  expiresAt: number
}

/** Smallest number of writes between two write-triggered sweeps. */
const MIN_WRITES_PER_SWEEP = 1024

/**
 * Revocation store held in this process's memory.
 *
 * `isRevoked` is three `Map` lookups, answered synchronously, and allocates nothing. Expired entries are
 * dropped by a sweep that runs after as many writes as entries survived the previous sweep (so each
 * write pays O(1) amortised, and the maps hold at most about twice the live entries plus 1 024), and
 * by an idle timer.
 *
 * Consistency: one process only. Every instance has its own state, and nothing survives a restart.
 *
 * @example
 * ```ts
 * import { MemoryRevocationStore } from 'latchkey'
 *
 * const store = new MemoryRevocationStore({ maxEntries: 1_000_000 })
 * await store.revokeToken('jti-123', Date.now() + 15 * 60_000)
 * await store.isRevoked({ jti: 'jti-123', sub: 'u1', family: undefined, issuedAt: Date.now(), expiresAt: undefined }) // true
 * ```
 */
export class MemoryRevocationStore implements RevocationStore {
  readonly #tokens = new Map<string, number>()
  readonly #families = new Map<string, number>()
  readonly #identities = new Map<string, IdentityCutoff>()
  readonly #used = new Map<string, UsedRefreshToken>()
  readonly #maxEntries: number
  readonly #now: () => number
  #writesSinceSweep = 0
  /** Writes before the next sweep: as many as entries survived the last one, so sweeps cost O(1) per write. */
  #writesPerSweep = MIN_WRITES_PER_SWEEP
  readonly #sweepIntervalMs: number
  #timer: ReturnType<typeof setInterval> | undefined
  #closed = false

  constructor(options: MemoryRevocationStoreOptions = {}) {
    const { maxEntries = Number.POSITIVE_INFINITY, sweepIntervalMs = 60_000 } = options
    if (!(maxEntries > 0)) throw new RangeError('maxEntries must be a positive number')
    if (!(sweepIntervalMs >= 0) || !Number.isFinite(sweepIntervalMs)) {
      throw new RangeError('sweepIntervalMs must be a finite number >= 0')
    }
    this.#maxEntries = maxEntries
    this.#now = options.clock ?? options.now ?? Date.now
    this.#sweepIntervalMs = sweepIntervalMs
  }

  /** Entries held right now, expired ones not yet swept included. */
  get size(): number {
    return this.#tokens.size + this.#families.size + this.#identities.size + this.#used.size
  }

  /** Answers synchronously: the guard needs no promise for it. */
  isRevoked(token: TokenRef): boolean {
    // An empty map is not asked (most requests meet empty or small maps: no hashing of a new key),
    // and the clock is read only when an entry is found.
    const tokens = this.#tokens
    if (tokens.size !== 0) {
      const until = tokens.get(token.jti)
      if (until !== undefined && until > this.#now()) return true
    }
    const families = this.#families
    if (token.family !== undefined && families.size !== 0) {
      const until = families.get(token.family)
      if (until !== undefined && until > this.#now()) return true
    }
    const identities = this.#identities
    if (identities.size === 0) return false
    const cutoff = identities.get(token.sub)
    return cutoff !== undefined && token.issuedAt < cutoff.before && cutoff.expiresAt > this.#now()
  }

  async revokeToken(jti: string, expiresAt: number): Promise<void> {
    this.#revokeUntil(this.#tokens, jti, expiresAt)
  }

  async revokeFamily(family: string, expiresAt: number): Promise<void> {
    this.#revokeUntil(this.#families, family, expiresAt)
  }

  async revokeIdentity(sub: string, before: number, expiresAt: number): Promise<void> {
    const now = this.#now()
    if (expiresAt <= now) return
    const current = this.#identities.get(sub)
    if (current !== undefined && current.expiresAt > now) {
      // Keep the later cut-off and the later expiry: stricter than either call alone, and every token
      // the older cut-off covered is covered by the newer one.
      current.before = Math.max(current.before, before)
      current.expiresAt = Math.max(current.expiresAt, expiresAt)
      return
    }
    this.#beforeInsert(current === undefined)
    this.#identities.set(sub, { before, expiresAt })
  }

  async consumeRefreshToken(jti: string, expiresAt: number): Promise<ConsumeResult> {
    // No await between the read and the write: the event loop makes this atomic in one process.
    const now = this.#now()
    const current = this.#used.get(jti)
    if (current !== undefined && current.expiresAt > now) return { firstUse: false, usedAt: current.usedAt }
    // A marker born expired would never be read back: the token is past `exp` and refused anyway.
    if (expiresAt > now) {
      this.#beforeInsert(current === undefined)
      this.#used.set(jti, { usedAt: now, expiresAt })
    }
    return { firstUse: true }
  }

  /**
   * Drops every expired entry now and returns how many were dropped. Runs on its own (after writes
   * and on the idle timer); call it directly only in tests or before measuring `size`.
   */
  sweep(): number {
    const now = this.#now()
    const before = this.size
    for (const [key, until] of this.#tokens) if (until <= now) this.#tokens.delete(key)
    for (const [key, until] of this.#families) if (until <= now) this.#families.delete(key)
    for (const [key, entry] of this.#identities) if (entry.expiresAt <= now) this.#identities.delete(key)
    for (const [key, entry] of this.#used) if (entry.expiresAt <= now) this.#used.delete(key)
    this.#writesSinceSweep = 0
    // Fixed now rather than compared with the live size: a size that grows with every write would
    // never be caught up with, and the sweep would never run.
    this.#writesPerSweep = Math.max(MIN_WRITES_PER_SWEEP, this.size)
    return before - this.size
  }

  /** Stops the sweep timer (for good: later writes start none) and forgets every entry. */
  async close(): Promise<void> {
    this.#closed = true
    if (this.#timer !== undefined) clearInterval(this.#timer)
    this.#timer = undefined
    this.#tokens.clear()
    this.#families.clear()
    this.#identities.clear()
    this.#used.clear()
  }

  #revokeUntil(map: Map<string, number>, key: string, expiresAt: number): void {
    // An entry already past its expiry would never be reported: storing it would only use memory.
    if (expiresAt <= this.#now()) return
    const current = map.get(key)
    if (current !== undefined && current >= expiresAt) return
    this.#beforeInsert(current === undefined)
    map.set(key, expiresAt)
  }

  /**
   * Called before every write. Sweeps once enough writes have happened to pay for a full pass, and
   * enforces `maxEntries` for writes that add a key: refuse rather than evict a live revocation.
   */
  #beforeInsert(addsKey: boolean): void {
    if (this.#timer === undefined && this.#sweepIntervalMs > 0 && !this.#closed) this.#startTimer()
    this.#writesSinceSweep++
    if (this.#writesSinceSweep >= this.#writesPerSweep) this.sweep()
    if (addsKey && this.size >= this.#maxEntries) {
      this.sweep()
      if (this.size >= this.#maxEntries) throw new RevocationStoreFullError(this.#maxEntries)
    }
  }

  /**
   * Started by the first write rather than by the constructor: a Worker's global scope, where a
   * store is usually made, forbids timers, and an empty store has nothing to sweep.
   */
  #startTimer(): void {
    const timer = setInterval(() => this.sweep(), this.#sweepIntervalMs)
    this.#timer = timer
    // Node and Bun give a Timeout with unref(); Deno's web-standard timers give a number.
    if (typeof timer === 'object' && typeof timer.unref === 'function') timer.unref()
    else (globalThis as { Deno?: { unrefTimer?(id: unknown): void } }).Deno?.unrefTimer?.(timer)
  }
}
