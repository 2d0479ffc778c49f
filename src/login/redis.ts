/**
 * `latchkey/login/redis`: the login API's rate-limit counters in Redis (ioredis), shared by every
 * instance: one key per counter, expiring with its window.
 */
import type { Redis } from 'ioredis'
import type { AttemptCounter, WindowCount } from './counters.js'

// INCR then start the window if the key is new (or lost its TTL): one script, so two instances
// cannot both think they started it. Returns { count, remaining ms }.
const HIT = `
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return { count, ttl }`

const PEEK = `
local count = redis.call('GET', KEYS[1])
if not count then return false end
return { tonumber(count), redis.call('PTTL', KEYS[1]) }`

/** Options of {@link RedisAttemptCounter}. */
export interface RedisAttemptCounterOptions {
  /** Prefix of every key; `login:` follows it. Default `latchkey:`. */
  prefix?: string
}

/**
 * Rate-limit counters in Redis. A Redis that is down makes every call reject: the login API then
 * answers 503 (fails closed).
 *
 * @example
 * ```ts
 * const api = createLoginApi({ auth, store, counter: new RedisAttemptCounter(redis) })
 * ```
 */
export class RedisAttemptCounter implements AttemptCounter {
  readonly #redis: Redis
  readonly #prefix: string

  constructor(redis: Redis, options: RedisAttemptCounterOptions = {}) {
    this.#redis = redis
    this.#prefix = `${options.prefix ?? 'latchkey:'}login:`
  }

  async hit(key: string, windowMs: number): Promise<WindowCount> {
    const [count, ttl] = (await this.#redis.eval(HIT, 1, this.#prefix + key, Math.ceil(windowMs))) as [
      number,
      number,
    ]
    return { count, resetAt: Date.now() + ttl }
  }

  async peek(key: string): Promise<WindowCount | undefined> {
    const reply = (await this.#redis.eval(PEEK, 1, this.#prefix + key)) as [number, number] | null
    if (!reply || reply[1] < 0) return undefined
    return { count: reply[0], resetAt: Date.now() + reply[1] }
  }

  async reset(key: string): Promise<void> {
    await this.#redis.del(this.#prefix + key)
  }
}
