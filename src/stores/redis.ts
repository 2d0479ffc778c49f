/**
 * Revocation store in Redis (ioredis 5): the store for several processes or hosts. Every entry is a
 * key under one prefix with a TTL equal to its remaining lifetime, so Redis forgets it on its own.
 *
 * Published under its own subpath so importing the core never loads ioredis.
 */
import { createHash } from 'node:crypto'
import { Cluster, Redis, type RedisOptions } from 'ioredis'
import type { ConsumeResult, RevocationStore, TokenRef } from './store.js'

/** Options of the optional local cache of {@link RedisRevocationStore}. */
export interface RedisRevocationCacheOptions {
  /**
   * Most keys held locally; the oldest is dropped when full (dropping a cache entry only costs a
   * round trip, never correctness). Default 10 000.
   */
  maxEntries?: number
  /**
   * Longest time an answer is served from the cache, in milliseconds. Invalidation normally arrives
   * much sooner through pub/sub; this bounds staleness if a message is lost without the subscriber
   * connection noticing (a half-open TCP connection). Default 1 000.
   */
  ttlMs?: number
}

/** Options of {@link RedisRevocationStore}. */
export interface RedisRevocationStoreOptions {
  /** Prepended to every key and to the invalidation channel. Default `'latchkey:'`. */
  prefix?: string
  /**
   * Local cache of answers, invalidated across instances by Redis pub/sub. Off (`false`) by default:
   * every `isRevoked` then asks Redis, and a revocation is seen by every instance as soon as Redis
   * has it. See the class documentation for the window the cache allows.
   */
  cache?: false | RedisRevocationCacheOptions
  /**
   * Timeout of every command, and of the wait for the first connection, for clients this store
   * creates from a URL, in milliseconds. Default 1 000.
   */
  commandTimeoutMs?: number
  /**
   * Extra ioredis options (TLS, password, `db`, ...) for clients created from a URL. They are applied
   * over the store's defaults, except `enableOfflineQueue` and `autoResendUnfulfilledCommands`, which
   * stay off so that a command never runs late, after its caller was told it failed.
   */
  redisOptions?: RedisOptions
  /** Also quit a client that was passed in when the store is closed. Default `false`. */
  closeClient?: boolean
  /**
   * Called with connection errors of the connections this store creates (they are retried forever in
   * the background; requests meanwhile reject). Default: ignore them, the rejections are enough.
   */
  onConnectionError?: (error: Error) => void
}

/** What {@link RedisRevocationStore.cacheStats} reports. */
export interface RedisRevocationCacheStats {
  /** Whether answers are served from the cache right now (the invalidation channel is subscribed). */
  live: boolean
  /** Keys held. */
  size: number
  /** `isRevoked` calls answered without Redis. */
  hits: number
  /** `isRevoked` calls that went to Redis. */
  misses: number
}

interface LuaScript {
  source: string
  sha: string
}

interface CacheEntry {
  /** The key's value in Redis when read (`null`: absent). */
  value: string | null
  /** Epoch milliseconds after which the entry is not used. */
  staleAt: number
}

function lua(source: string): LuaScript {
  return { source, sha: createHash('sha1').update(source).digest('hex') }
}

// Revokes a token id or family: stores its expiry (so a cached copy knows when it lapses) unless the
// key already lives longer, then tells every instance to drop its cached answer. One script, so a
// revocation is never stored without the invalidation being published.
// KEYS[1] key; ARGV[1] expiry ms, ARGV[2] TTL ms, ARGV[3] channel, ARGV[4] message
const REVOKE = lua(`
local ttl = tonumber(ARGV[2])
if redis.call('PTTL', KEYS[1]) < ttl then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
end
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1`)

// Logout everywhere: stores "<cut-off>/<expiry>", keeping the later of each and the longer TTL.
// Stored strings are kept as they are rather than re-formatted by Lua, whose number formatting
// could round epoch milliseconds.
// KEYS[1] key; ARGV[1] cut-off ms, ARGV[2] expiry ms, ARGV[3] TTL ms, ARGV[4] channel, ARGV[5] message
const REVOKE_IDENTITY = lua(`
local cutoff = ARGV[1]
local expires = ARGV[2]
local ttl = tonumber(ARGV[3])
local current = redis.call('GET', KEYS[1])
if current then
  local c, e = string.match(current, '^([^/]+)/([^/]+)$')
  if c and tonumber(c) and tonumber(c) > tonumber(cutoff) then cutoff = c end
  if e and tonumber(e) and tonumber(e) > tonumber(expires) then expires = e end
  local pttl = redis.call('PTTL', KEYS[1])
  if pttl > ttl then ttl = pttl end
end
redis.call('SET', KEYS[1], cutoff .. '/' .. expires, 'PX', ttl)
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1`)

// First use of a refresh token: returns nil and records the use time, or returns the recorded time.
// Scripts run atomically, so of concurrent callers on any number of connections exactly one gets nil.
// KEYS[1] key; ARGV[1] use time ms, ARGV[2] TTL ms
const CONSUME = lua(`
local first = redis.call('GET', KEYS[1])
if first then return first end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false`)

const DEFAULT_COMMAND_TIMEOUT_MS = 1_000

function ignore(): void {}

/** Reconnect forever, at most a second apart, so the store recovers without a restart. */
const reconnectDelay = (attempt: number): number => Math.min(attempt * 100, 1_000)

/** A standalone client or a Redis Cluster client: the store uses what both offer. */
type Client = Redis | Cluster

/**
 * True when `prefix` holds a Redis hash tag (`{...}` with something inside): every key under it then
 * hashes to one slot, which Redis Cluster needs for a multi-key `MGET`.
 */
function hasHashTag(prefix: string): boolean {
  const open = prefix.indexOf('{')
  return open >= 0 && prefix.indexOf('}', open + 1) > open + 1
}

/**
 * Revocation store backed by Redis through ioredis 5.
 *
 * Keys (under `prefix`): `t:<jti>` revoked token, `f:<family>` revoked family, `i:<sub>` identity
 * cut-off; `u:<jti>` used refresh token. Values: the expiry (epoch ms) for `t:` and `f:`,
 * `<cut-off>/<expiry>` for `i:`, the first-use time for `u:`; each key has a TTL equal to its
 * remaining lifetime. `isRevoked` is one `MGET`; the writes are small Lua scripts, so the cut-off's
 * maximum and the refresh token's first use are decided atomically inside Redis. Keys of one call
 * are in one hash slot only with a hash tag in the prefix: with Redis Cluster (an ioredis `Cluster`
 * client), the prefix must have one (`'{latchkey}:'`), and the store refuses to start without it.
 *
 * **Failing closed, fast.** Every error from Redis rejects, and latchkey answers 503. A client
 * created from a URL has no offline queue and a short `commandTimeout`, so while Redis is down
 * calls reject at once instead of piling up, and a timed-out command is never replayed later; it
 * reconnects in the background (every second at most) and calls succeed again as soon as Redis is
 * back. For a client you pass in, the store still refuses to wait while it is reconnecting, but its
 * timeouts and queue are yours to configure.
 *
 * **Consistency.** Strict by default: any instance sees a revocation as soon as the write that made
 * it has returned. With `cache`, an instance may answer "not revoked" from memory for up to the
 * pub/sub propagation delay after another instance revoked (typically well under a millisecond on
 * one network); the revoking instance itself sees its own revocation at once. The cache is used only
 * while the invalidation channel is subscribed: when the subscriber connection drops the cache is
 * emptied and bypassed until it has resubscribed, so a message missed meanwhile cannot leave a
 * stale "not revoked" behind. A message lost without the connection noticing is bounded by
 * `cache.ttlMs`. Revocations always publish invalidations, from strict instances too, so cached and
 * strict instances can share one Redis.
 *
 * @example
 * ```ts
 * import { RedisRevocationStore } from 'latchkey/stores/redis'
 *
 * // Strict: every check asks Redis (one round trip).
 * const store = new RedisRevocationStore(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379')
 *
 * // With a local cache, sharing the app's client:
 * const cached = new RedisRevocationStore(appRedis, { prefix: 'myapp:auth:', cache: { ttlMs: 2_000 } })
 * ```
 */
export class RedisRevocationStore implements RevocationStore {
  /** The client that sends commands (created from the URL, or the one passed in). */
  readonly client: Client
  readonly #prefix: string
  readonly #channel: string
  readonly #closeClient: boolean
  readonly #waitMs: number
  #subscriber: Redis | undefined
  readonly #cache: Map<string, CacheEntry> | undefined
  readonly #cacheMax: number
  readonly #cacheTtlMs: number
  /** True only while the invalidation channel is subscribed, so cached answers can be trusted. */
  #cacheLive = false
  /** Bumped by every invalidation: a read that saw it change while in flight is not cached. */
  #epoch = 0
  #hits = 0
  #misses = 0
  #connecting: Promise<void> | undefined
  #closed = false

  constructor(client: Redis | Cluster | string, options: RedisRevocationStoreOptions = {}) {
    const {
      prefix = 'latchkey:',
      cache = false,
      commandTimeoutMs = DEFAULT_COMMAND_TIMEOUT_MS,
      redisOptions = {},
      closeClient = false,
      onConnectionError = ignore,
    } = options
    if (!(commandTimeoutMs > 0)) throw new RangeError('commandTimeoutMs must be a positive number')
    if (client instanceof Cluster && !hasHashTag(prefix)) {
      // Without one, the keys of one check live in different slots and every MGET fails (CROSSSLOT).
      throw new TypeError(
        `latchkey: with Redis Cluster the prefix needs a hash tag, such as '{latchkey}:' (got '${prefix}')`,
      )
    }
    this.#prefix = prefix
    this.#channel = `${prefix}invalidate`
    this.#waitMs = commandTimeoutMs
    const created: RedisOptions = {
      connectTimeout: commandTimeoutMs,
      commandTimeout: commandTimeoutMs,
      // A command in flight when the connection drops fails at once rather than after retries.
      maxRetriesPerRequest: 0,
      retryStrategy: reconnectDelay,
      ...redisOptions,
      // No offline queue: a command sent while Redis is down fails now (fail closed, 503) instead of
      // waiting; and no replay: a command that already failed must not run later (a late refresh
      // token consumption would turn the client's retry into "reuse" and revoke its family).
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
    }

    if (typeof client === 'string') {
      this.client = new Redis(client, created)
      this.client.on('error', onConnectionError)
      this.#closeClient = true
    } else {
      this.client = client
      this.#closeClient = closeClient
    }

    if (cache === false) {
      this.#cacheMax = 0
      this.#cacheTtlMs = 0
      return
    }
    const { maxEntries = 10_000, ttlMs = 1_000 } = cache
    if (!(maxEntries > 0)) throw new RangeError('cache.maxEntries must be a positive number')
    if (!(ttlMs > 0)) throw new RangeError('cache.ttlMs must be a positive number')
    this.#cache = new Map()
    this.#cacheMax = maxEntries
    this.#cacheTtlMs = ttlMs
    // A connection in subscriber mode cannot send other commands, hence a second one.
    if (typeof client === 'string') this.#listen(new Redis(client, created), onConnectionError)
    else if (client instanceof Cluster) this.#listenOnCluster(client, onConnectionError)
    else this.#listen(client.duplicate({ lazyConnect: false }), onConnectionError)
  }

  /**
   * On a Cluster, invalidations are heard through a plain connection to one master (a `PUBLISH`
   * reaches every node's subscribers). Not through the Cluster client's own subscriber: ioredis
   * replaces that connection silently when it drops, so the store could not know that messages were
   * missed meanwhile; a plain connection reports its drop, and the cache is off until it is back.
   * Made once the Cluster knows its nodes.
   */
  #listenOnCluster(cluster: Cluster, onConnectionError: (error: Error) => void): void {
    const attach = (): void => {
      if (this.#closed || this.#subscriber !== undefined) return
      const node = cluster.nodes('master')[0] ?? cluster.nodes('all')[0]
      if (node === undefined) return
      this.#listen(
        new Redis({
          ...cluster.options.redisOptions,
          host: node.options.host,
          port: node.options.port,
          lazyConnect: false,
          retryStrategy: reconnectDelay,
        }),
        onConnectionError,
      )
    }
    if (cluster.status === 'ready') attach()
    else cluster.on('ready', attach)
  }

  #listen(subscriber: Redis, onConnectionError: (error: Error) => void): void {
    this.#subscriber = subscriber
    subscriber.on('error', onConnectionError)
    subscriber.on('message', (channel: string, key: string) => {
      if (channel === this.#channel) this.#invalidate(key)
    })
    // ioredis resubscribes by itself after a reconnect, but only our own reply tells us when the
    // subscription is in place again; until then the cache stays off.
    subscriber.on('ready', () => {
      subscriber.subscribe(this.#channel).then(() => {
        if (subscriber.status !== 'ready' || this.#closed) return
        this.#dropCache()
        this.#cacheLive = true
      }, onConnectionError)
    })
    subscriber.on('close', () => this.#cacheDown())
    subscriber.on('end', () => this.#cacheDown())
  }

  /** A promise when Redis is asked; a plain boolean when the local cache knows the answer. */
  isRevoked(token: TokenRef): boolean | Promise<boolean> {
    const prefix = this.#prefix
    const tokenKey = `${prefix}t:${token.jti}`
    const identityKey = `${prefix}i:${token.sub}`
    const familyKey = token.family === undefined ? undefined : `${prefix}f:${token.family}`

    const cache = this.#cache
    if (cache !== undefined && this.#cacheLive) {
      const now = Date.now()
      const revokedToken = this.#cached(cache, tokenKey, now)
      const cutoff = this.#cached(cache, identityKey, now)
      const revokedFamily = familyKey === undefined ? null : this.#cached(cache, familyKey, now)
      if (revokedToken !== undefined && cutoff !== undefined && revokedFamily !== undefined) {
        this.#hits++
        return revoked(revokedToken, revokedFamily, cutoff, token.issuedAt, now)
      }
      this.#misses++
    }
    return this.#ask(token.issuedAt, tokenKey, identityKey, familyKey)
  }

  async #ask(
    issuedAt: number,
    tokenKey: string,
    identityKey: string,
    familyKey: string | undefined,
  ): Promise<boolean> {
    const cache = this.#cache
    if (this.client.status !== 'ready') await this.#connected()
    const epoch = this.#epoch
    const values =
      familyKey === undefined
        ? await this.client.mget(tokenKey, identityKey)
        : await this.client.mget(tokenKey, identityKey, familyKey)
    const revokedToken = values[0] ?? null
    const cutoff = values[1] ?? null
    const revokedFamily = values[2] ?? null

    // Cache only if no invalidation arrived while the read was in flight: it might be older than
    // the revocation that message announced.
    if (cache !== undefined && this.#cacheLive && this.#epoch === epoch) {
      const staleAt = Date.now() + this.#cacheTtlMs
      this.#remember(cache, tokenKey, revokedToken, staleAt)
      this.#remember(cache, identityKey, cutoff, staleAt)
      if (familyKey !== undefined) this.#remember(cache, familyKey, revokedFamily, staleAt)
    }
    return revoked(revokedToken, revokedFamily, cutoff, issuedAt, Date.now())
  }

  async revokeToken(jti: string, expiresAt: number): Promise<void> {
    await this.#revoke(`t:${jti}`, expiresAt)
  }

  async revokeFamily(family: string, expiresAt: number): Promise<void> {
    await this.#revoke(`f:${family}`, expiresAt)
  }

  async revokeIdentity(sub: string, before: number, expiresAt: number): Promise<void> {
    const ttl = Math.ceil(expiresAt - Date.now())
    if (ttl <= 0) return
    const key = `${this.#prefix}i:${sub}`
    await this.#script(REVOKE_IDENTITY, key, [before, expiresAt, ttl, this.#channel, key])
    this.#invalidate(key)
  }

  async consumeRefreshToken(jti: string, expiresAt: number): Promise<ConsumeResult> {
    const now = Date.now()
    // PX must be positive; a marker for an already expired token lives 1 ms (it is refused anyway).
    const ttl = Math.max(1, Math.ceil(expiresAt - now))
    const first = await this.#script(CONSUME, `${this.#prefix}u:${jti}`, [now, ttl])
    if (first === null) return { firstUse: true }
    const usedAt = Number(first)
    // A marker that is not a number was not written by this store; never read it as a first use.
    if (!Number.isFinite(usedAt)) throw new Error('refresh-token marker in Redis is not a time')
    return { firstUse: false, usedAt }
  }

  /** Counters of the local cache; `undefined` when the cache is off. For metrics and tests. */
  cacheStats(): RedisRevocationCacheStats | undefined {
    if (this.#cache === undefined) return undefined
    return { live: this.#cacheLive, size: this.#cache.size, hits: this.#hits, misses: this.#misses }
  }

  /**
   * Closes the subscriber connection, and the command connection if this store created it (or if
   * `closeClient` was set). A client passed in stays open otherwise.
   */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#cacheDown()
    const closing: Promise<void>[] = []
    if (this.#subscriber !== undefined) closing.push(quit(this.#subscriber))
    if (this.#closeClient) closing.push(quit(this.client))
    await Promise.all(closing)
  }

  async #revoke(suffix: string, expiresAt: number): Promise<void> {
    const ttl = Math.ceil(expiresAt - Date.now())
    // An entry already past its expiry would never be reported; Redis would refuse PX <= 0 anyway.
    if (ttl <= 0) return
    const key = this.#prefix + suffix
    await this.#script(REVOKE, key, [expiresAt, ttl, this.#channel, key])
    // Our own pub/sub message arrives later; drop our cached answer now so this instance reads its
    // own write.
    this.#invalidate(key)
  }

  /** Runs a script by its SHA (small request), loading it when Redis does not know it yet. */
  async #script(script: LuaScript, key: string, args: (string | number)[]): Promise<unknown> {
    if (this.client.status !== 'ready') await this.#connected()
    try {
      return await this.client.evalsha(script.sha, 1, key, ...args)
    } catch (error) {
      // NOSCRIPT means nothing ran, so sending the source is safe.
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error
      return await this.client.eval(script.source, 1, key, ...args)
    }
  }

  /**
   * Waits for the first connection (or a reconnection already under way) for at most the command
   * timeout, and rejects at once while the client is between attempts: a request must not hang on a
   * Redis that is down.
   */
  #connected(): Promise<void> {
    const client = this.client
    const status = client.status
    if (status === 'ready') return Promise.resolve()
    if (this.#closed) return Promise.reject(new Error('Redis revocation store is closed'))
    if (status === 'wait') client.connect().catch(ignore)
    else if (status !== 'connecting' && status !== 'connect') {
      return Promise.reject(new Error(`Redis revocation store unavailable (connection ${status})`))
    }
    // One shared wait, so a burst of requests during startup adds one set of listeners, not many.
    this.#connecting ??= new Promise<void>((resolve, reject) => {
      const settle = (error?: Error): void => {
        clearTimeout(timer)
        client.off('ready', onReady)
        client.off('close', onClose)
        client.off('end', onClose)
        this.#connecting = undefined
        if (error === undefined) resolve()
        else reject(error)
      }
      const onReady = (): void => settle()
      const onClose = (): void => settle(new Error('Redis revocation store unavailable (connection closed)'))
      const timer = setTimeout(
        () => settle(new Error('Redis revocation store unavailable (connection timed out)')),
        this.#waitMs,
      )
      client.once('ready', onReady)
      client.once('close', onClose)
      client.once('end', onClose)
    })
    return this.#connecting
  }

  #cached(cache: Map<string, CacheEntry>, key: string, now: number): string | null | undefined {
    const entry = cache.get(key)
    if (entry === undefined) return undefined
    if (entry.staleAt <= now) {
      cache.delete(key)
      return undefined
    }
    return entry.value
  }

  #remember(cache: Map<string, CacheEntry>, key: string, value: string | null, staleAt: number): void {
    if (!cache.has(key) && cache.size >= this.#cacheMax) {
      // Maps iterate in insertion order: the first key is the oldest.
      const oldest = cache.keys().next()
      if (oldest.done !== true) cache.delete(oldest.value)
    }
    cache.set(key, { value, staleAt })
  }

  #invalidate(key: string): void {
    this.#epoch++
    this.#cache?.delete(key)
  }

  #dropCache(): void {
    this.#epoch++
    this.#cache?.clear()
  }

  /** The subscriber is gone: messages may be missed from now on, so nothing cached can be trusted. */
  #cacheDown(): void {
    this.#cacheLive = false
    this.#dropCache()
  }
}

/**
 * Decides from the three values read (or cached). Redis drops keys at expiry, but a cached copy does
 * not, hence the comparison with `now`.
 */
function revoked(
  revokedToken: string | null,
  revokedFamily: string | null,
  cutoff: string | null,
  issuedAt: number,
  now: number,
): boolean {
  return inForce(revokedToken, now) || inForce(revokedFamily, now) || cutsOff(cutoff, issuedAt, now)
}

/** A revocation value is its expiry. Written as `!(until <= now)` so a value that is not a number counts as revoked. */
function inForce(value: string | null, now: number): boolean {
  return value !== null && !(Number(value) <= now)
}

function cutsOff(value: string | null, issuedAt: number, now: number): boolean {
  if (value === null) return false
  const slash = value.indexOf('/')
  const before = Number(value.slice(0, slash))
  const until = Number(value.slice(slash + 1))
  // Not written by this store: refuse (503) rather than guess whether this token is cut off.
  if (slash <= 0 || !Number.isFinite(before) || !Number.isFinite(until)) {
    throw new Error('identity cut-off in Redis is not "<cut-off>/<expiry>"')
  }
  return until > now && issuedAt < before
}

/** Quits politely when connected, drops the connection otherwise; resolves once it has ended. */
async function quit(client: Client): Promise<void> {
  if (client.status === 'end') return
  if (client.status !== 'ready') {
    // Not connected (or not yet answering): nothing to say goodbye to, and a socket half-closed
    // towards an unresponsive server might never report its end. Cancel retries and drop it.
    client.disconnect()
    return
  }
  const ended = new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      client.disconnect()
      resolve()
    }, 1_000)
    client.once('end', () => {
      clearTimeout(timer)
      resolve()
    })
  })
  client.quit().catch(() => client.disconnect())
  await ended
}
