/**
 * Helpers for tests that need a running service (Redis, PostgreSQL). Locally a missing service skips
 * those tests with a visible warning; in CI (`CI=true`) it fails them, so a broken CI service can
 * never turn into a green run that tested nothing.
 *
 * @example
 * ```ts
 * const redis = await requireService('redis', probeRedis)
 * describe.skipIf(redis.skip)('redis store', () => { ... })
 * ```
 */
import { connect } from 'node:net'
import { beforeAll } from 'vitest'

/** Redis for tests: `REDIS_URL`, default `redis://127.0.0.1:6379`. */
export function redisUrl(): string {
  return process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
}

/** PostgreSQL for tests: `DATABASE_URL_PG`, default `postgres://postgres@127.0.0.1:5432/test`. */
export function postgresUrl(): string {
  return process.env.DATABASE_URL_PG ?? 'postgres://postgres@127.0.0.1:5432/test'
}

/** True when running in CI, where a missing service is an error rather than a reason to skip. */
export function isCI(): boolean {
  return process.env.CI === 'true'
}

/**
 * Resolves when a TCP connection to the URL's host and port succeeds within `timeoutMs` (default
 * 1 000). With `ping`, it also sends a Redis inline `PING` and requires a reply (`+PONG`, or an
 * error such as `-NOAUTH`, which still proves a Redis is listening).
 */
export function probeTCP(url: string, options: { ping?: boolean; timeoutMs?: number } = {}): Promise<void> {
  const { ping = false, timeoutMs = 1_000 } = options
  const { hostname, port } = new URL(url)
  const defaultPort = url.startsWith('postgres') ? 5432 : 6379
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname.replace(/^\[|\]$/g, ''), port: Number(port) || defaultPort })
    const done = (error?: Error): void => {
      socket.destroy()
      if (error === undefined) resolve()
      else reject(error)
    }
    socket.setTimeout(timeoutMs, () =>
      done(new Error(`no answer from ${hostname}:${port} in ${timeoutMs} ms`)),
    )
    socket.once('error', done)
    socket.once('connect', () => {
      if (!ping) return done()
      socket.write('PING\r\n')
      socket.once('data', (data) => {
        const first = data.toString('latin1')[0]
        done(first === '+' || first === '-' ? undefined : new Error(`not a Redis reply: ${first}`))
      })
    })
  })
}

/** Probes the test Redis (`redisUrl()`) with a PING. */
export function probeRedis(): Promise<void> {
  return probeTCP(redisUrl(), { ping: true })
}

/** Probes the test PostgreSQL (`postgresUrl()`) with a TCP connection. */
export function probePostgres(): Promise<void> {
  return probeTCP(postgresUrl())
}

/** Whether tests needing a service run; `skip` is what to pass to `describe.skipIf`. */
export interface ServiceStatus {
  available: boolean
  skip: boolean
}

/**
 * Probes a service once, at the top of a test file. Unavailable locally: warns on the console and
 * returns `skip: true`. Unavailable in CI: returns `skip: false` and registers a file-level
 * `beforeAll` that throws, so every test of the file fails with the reason.
 */
export async function requireService(name: string, probe: () => Promise<unknown>): Promise<ServiceStatus> {
  try {
    await probe()
    return { available: true, skip: false }
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error)
    if (isCI()) {
      beforeAll(() => {
        throw new Error(`${name} is required in CI but unreachable: ${reason}`)
      })
      return { available: false, skip: false }
    }
    console.warn(`\n⚠ ${name} unreachable (${reason}): skipping the tests that need it\n`)
    return { available: false, skip: true }
  }
}
