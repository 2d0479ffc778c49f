/**
 * Login rate limiting: fixed-window counters keyed by a hash of (client address, email), in Redis
 * when the server has one, else in the database, so every instance shares them.
 *
 * The login route counts an attempt *before* checking the password and forgets the counter after a
 * success. Counting first means parallel guesses cannot slip past the limit between a check and an
 * increment; forgetting on success means a user who finally types the right password starts afresh.
 */
import { createHash } from 'node:crypto'
import type { Redis } from 'ioredis'
import type { Kysely } from 'kysely'
import type { ServerSchema } from './db/schema.js'

/** A counter after an increment (or a read). */
export interface WindowCount {
  count: number
  /** When the window ends, epoch milliseconds. */
  resetAt: number
}

/** Where the counters live. Every method may reject when the backend is down (login then fails closed). */
export interface AttemptCounter {
  /** Adds one to the counter, starting a new window of `windowMs` if none is running. Atomic. */
  hit(key: string, windowMs: number): Promise<WindowCount>
  /** The running window's counter, or undefined. */
  peek(key: string): Promise<WindowCount | undefined>
  /** Forgets the counter. */
  reset(key: string): Promise<void>
}

/** The counter key of a scope and its parts: a hash, so keys have a fixed length and hold no email. */
export function attemptKey(scope: string, ...parts: string[]): string {
  return createHash('sha256')
    .update([scope, ...parts].join('\0'))
    .digest('hex')
}

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

/** Counters in Redis: one key per counter, expiring with its window. */
export class RedisAttemptCounter implements AttemptCounter {
  readonly #redis: Redis
  readonly #prefix: string

  constructor(redis: Redis, options: { prefix?: string } = {}) {
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

/** Counters in the `login_failures` table (SQLite or PostgreSQL); expired rows are swept now and then. */
export class DatabaseAttemptCounter implements AttemptCounter {
  readonly #db: Kysely<ServerSchema>
  readonly #now: () => number
  #writes = 0

  constructor(db: Kysely<ServerSchema>, options: { now?: () => number } = {}) {
    this.#db = db
    this.#now = options.now ?? Date.now
  }

  async hit(key: string, windowMs: number): Promise<WindowCount> {
    const now = this.#now()
    // One upsert: a new row, a fresh window over an expired one, or one more in the running window.
    const row = await this.#db
      .insertInto('login_failures')
      .values({ key, count: 1, window_ends_at: now + windowMs })
      .onConflict((oc) =>
        oc.column('key').doUpdateSet((eb) => ({
          count: eb
            .case()
            .when('login_failures.window_ends_at', '<=', now)
            .then(1)
            .else(eb('login_failures.count', '+', 1))
            .end(),
          window_ends_at: eb
            .case()
            .when('login_failures.window_ends_at', '<=', now)
            .then(eb.ref('excluded.window_ends_at'))
            .else(eb.ref('login_failures.window_ends_at'))
            .end(),
        })),
      )
      .returning(['count', 'window_ends_at'])
      .executeTakeFirstOrThrow()
    if (++this.#writes >= 256) {
      this.#writes = 0
      this.#db
        .deleteFrom('login_failures')
        .where('window_ends_at', '<=', now)
        .execute()
        .catch(() => {})
    }
    return { count: Number(row.count), resetAt: Number(row.window_ends_at) }
  }

  async peek(key: string): Promise<WindowCount | undefined> {
    const row = await this.#db
      .selectFrom('login_failures')
      .select(['count', 'window_ends_at'])
      .where('key', '=', key)
      .where('window_ends_at', '>', this.#now())
      .executeTakeFirst()
    return row && { count: Number(row.count), resetAt: Number(row.window_ends_at) }
  }

  async reset(key: string): Promise<void> {
    await this.#db.deleteFrom('login_failures').where('key', '=', key).execute()
  }
}
