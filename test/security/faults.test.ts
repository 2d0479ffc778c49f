/**
 * Faults: the backends of the reference server failing under it, and the server stopped under load.
 *
 * - Redis stopped mid-run: a redis-server of this test's own, on a free port (the machine's shared
 *   Redis on 6379 is never touched), killed and restarted on the same port.
 * - PostgreSQL connections dropped: only this server's backends, found by a unique
 *   `application_name` set in its DATABASE_URL, are terminated (idle, and in the middle of a query).
 * - SIGTERM under load: the server as a process (`latchkey serve`, as test/server/process.test.ts
 *   starts it), signalled while 50 signups are in flight and more keep coming.
 *
 * The services come through test/helpers/services.ts: missing locally they skip with a warning,
 * missing in CI (CI=true) they fail.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { request as httpRequest } from 'node:http'
import { join, resolve } from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
import pg from 'pg'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { postgresUrl, probePostgres, probeTCP, requireService } from '../helpers/services.js'
import { createPgSchema, tempDir, uniqueSuffix } from '../server/helpers.js'
import { freePort, killLeftovers, startProcess, track } from '../server/processes.js'
import {
  fresh,
  loginSession,
  meWith,
  newSession,
  PASSWORD,
  type SecurityServer,
  type Session,
  sleep,
  startSecurityServer,
  TEST_SECRET,
  type TokenBody,
  timed,
} from './helpers.js'

const ROOT = resolve(import.meta.dirname, '../..')
const CLI = join(ROOT, 'src/cli/index.ts')

afterEach(killLeftovers)

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check().catch(() => undefined)
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(50)
  }
}

/** The reply to a request made while a backend is down: the exact 503, fast, never a 500. */
function expectUnavailable(reply: Awaited<ReturnType<typeof timed>>, code: string, what: string) {
  expect({ what, status: reply.status, code: (reply.body as { code?: string }).code }).toEqual({
    what,
    status: 503,
    code,
  })
  expect(reply.headers.get('retry-after'), what).toBe('1')
  // Redis commands time out after 1 s at most; a refused connection fails at once.
  expect(reply.ms, what).toBeLessThan(2_500)
}

const redisServer = await requireService('redis-server', async () => {
  const run = spawnSync('redis-server', ['--version'], { encoding: 'utf8' })
  if (run.error || run.status !== 0)
    throw new Error(`redis-server not runnable: ${run.error?.message ?? run.status}`)
})

describe.skipIf(redisServer.skip)('Redis stopped mid-run (own redis-server on a free port)', () => {
  let port: number
  let redis: ChildProcess | undefined
  let server: SecurityServer

  async function startRedis(): Promise<void> {
    const child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: 'ignore',
        detached: true,
      },
    )
    track(child)
    redis = child
    await until('redis-server to answer', async () => {
      await probeTCP(`redis://127.0.0.1:${port}`, { ping: true, timeoutMs: 200 })
      return true
    })
  }

  async function stopRedis(): Promise<void> {
    const child = redis!
    const exited = new Promise((done) => child.once('exit', done))
    child.kill('SIGKILL')
    await exited
  }

  beforeAll(async () => {
    port = await freePort()
    await startRedis()
    server = await startSecurityServer({
      redisUrl: `redis://127.0.0.1:${port}`,
      redisPrefix: `lk-sec:${uniqueSuffix()}:`,
    })
  })

  afterAll(async () => {
    await server?.close()
    if (redis && redis.exitCode === null && redis.signalCode === null) redis.kill('SIGKILL')
  })

  it('fails closed with 503 while Redis is gone (REVOCATION_UNAVAILABLE / SERVICE_UNAVAILABLE) and recovers when it returns on the same port', async () => {
    const a = await newSession(server)
    const b = await newSession(server)
    const loggedOut = await loginSession(server, a)
    expect((await server.client.post('/auth/logout', undefined, { token: loggedOut.access })).status).toBe(
      200,
    )
    expect((await meWith(server, a.access)).status).toBe(200)

    await stopRedis()
    // Right away, and again once the client has noticed: never a 200, never a 500.
    for (let round = 0; round < 2; round++) {
      expectUnavailable(await meWith(server, a.access), 'REVOCATION_UNAVAILABLE', `me ${round}`)
      expectUnavailable(await meWith(server, b.access), 'REVOCATION_UNAVAILABLE', `me b ${round}`)
      expectUnavailable(
        await timed(() => server.client.post('/auth/refresh', undefined, { token: b.refresh })),
        'REVOCATION_UNAVAILABLE',
        `refresh ${round}`,
      )
      expectUnavailable(
        await timed(() => server.client.post('/auth/logout', undefined, { token: b.access })),
        'REVOCATION_UNAVAILABLE',
        `logout ${round}`,
      )
      // The login rate-limit counters live in Redis too: no unthrottled guessing meanwhile.
      expectUnavailable(
        await timed(() => server.client.login(a.email, PASSWORD, { from: a.from })),
        'SERVICE_UNAVAILABLE',
        `login ${round}`,
      )
      expectUnavailable(
        await timed(() => server.client.login(a.email, 'wrong password', { from: a.from })),
        'SERVICE_UNAVAILABLE',
        `wrong login ${round}`,
      )
      const health = await server.client.get('/healthz')
      expect({ status: health.status, body: health.body }).toEqual({
        status: 503,
        body: { status: 'unavailable', msg: 'redis unavailable', code: 'SERVICE_UNAVAILABLE' },
      })
      await sleep(300)
    }
    // Signup needs no Redis: it works throughout.
    expect((await server.client.signup(fresh().email, PASSWORD)).status).toBe(202)

    await startRedis()
    // ioredis reconnects at most a second apart; no restart of the server.
    await until('the server to serve again', async () =>
      (await meWith(server, a.access)).status === 200 ? true : undefined,
    )
    expect((await server.client.get('/healthz')).status).toBe(200)
    expect((await meWith(server, b.access)).status).toBe(200)
    const refreshed = await server.client.post<TokenBody>('/auth/refresh', undefined, { token: b.refresh })
    expect(refreshed.status).toBe(200)
    expect((await server.client.login(a.email, PASSWORD, { from: a.from })).status).toBe(200)
    // What a Redis without persistence costs (documented in SECURITY.md): its revocations are gone
    // after a restart, so a token logged out before the outage is accepted again until it expires.
    // Run Redis with persistence (AOF) in production.
    expect((await meWith(server, loggedOut.access)).status).toBe(200)
  }, 30_000)
})

const postgres = await requireService('PostgreSQL', probePostgres)

describe.skipIf(postgres.skip)("PostgreSQL: this server's connections dropped", () => {
  const applicationName = `lk_sec_${uniqueSuffix()}`.slice(0, 60)
  let schema: Awaited<ReturnType<typeof createPgSchema>>
  let server: SecurityServer
  let admin: pg.Client
  let a: Session

  /** Terminates this server's backends only (by application_name), in the given states. */
  async function terminate(where = ''): Promise<number> {
    const { rows } = await admin.query<{ ok: boolean }>(
      `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = $1 ${where}`,
      [applicationName],
    )
    return rows.filter((r) => r.ok).length
  }

  beforeAll(async () => {
    schema = await createPgSchema(postgresUrl())
    const url = new URL(schema.url)
    url.searchParams.set('application_name', applicationName)
    server = await startSecurityServer({ databaseUrl: url.toString(), loginMaxFailures: '100' })
    admin = new pg.Client({ connectionString: postgresUrl() })
    await admin.connect()
    a = await newSession(server)
  })

  afterAll(async () => {
    await server?.close()
    await admin?.end()
    await schema?.drop()
  })

  it('idle connections terminated: the pool reconnects and the next requests succeed', async () => {
    expect(await terminate()).toBeGreaterThan(0)
    // The server's connections were really dropped (pg_terminate_backend only signals: the backends
    // leave pg_stat_activity a moment later).
    await until(
      'the terminated backends to exit',
      async () => {
        const { rows } = await admin.query(
          'SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1',
          [applicationName],
        )
        return rows[0].n === 0 ? true : undefined
      },
      5_000,
    )
    await until(
      'the pool to drop its dead clients',
      async () => ((await meWith(server, a.access)).status === 200 ? true : undefined),
      5_000,
    )
    expect((await meWith(server, a.access)).status).toBe(200)
    expect((await server.client.login(a.email, PASSWORD, { from: a.from })).status).toBe(200)
    expect((await server.client.signup(fresh().email, PASSWORD)).status).toBe(202)
    expect((await server.client.get('/healthz')).status).toBe(200)
  })

  it('connections terminated in the middle of a query: a clear 503 with its code (never a 500), then the pool reconnects', async () => {
    const b = await newSession(server)
    // Hold the users table, so that the server's next queries on it wait inside PostgreSQL...
    const locker = new pg.Client({ connectionString: postgresUrl() })
    await locker.connect()
    try {
      await locker.query(`SET search_path TO "${schema.schema}"`)
      await locker.query('BEGIN')
      await locker.query('LOCK TABLE users IN ACCESS EXCLUSIVE MODE')
      const pending = {
        me: timed(() => server.client.get('/auth/me', { token: a.access })),
        login: timed(() => server.client.login(b.email, PASSWORD, { from: b.from })),
        signup: timed(() => server.client.signup(fresh().email, PASSWORD)),
        refresh: timed(() => server.client.post('/auth/refresh', undefined, { token: b.refresh })),
      }
      // ...then drop those connections while they wait.
      await until('four queries waiting on the lock', async () => {
        const { rows } = await admin.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`,
          [applicationName],
        )
        return rows[0].n >= 4 ? true : undefined
      })
      expect(await terminate("AND wait_event_type = 'Lock'")).toBeGreaterThanOrEqual(4)
      await locker.query('ROLLBACK')
      const me = await pending.me
      const login = await pending.login
      const signup = await pending.signup
      const refresh = await pending.refresh
      for (const [what, reply, code] of [
        ['me', me, 'SERVICE_UNAVAILABLE'],
        ['login', login, 'SERVICE_UNAVAILABLE'],
        ['signup', signup, 'SERVICE_UNAVAILABLE'],
        ['refresh', refresh, 'SERVICE_UNAVAILABLE'],
      ] as const) {
        expect({ what, status: reply.status, code: (reply.body as { code?: string }).code }).toEqual({
          what,
          status: 503,
          code,
        })
        expect(reply.headers.get('retry-after'), what).toBe('1')
      }
    } finally {
      await locker.end().catch(() => {})
    }
    // The pool opens new connections: everything works again, with no restart.
    await until(
      'the server to serve again',
      async () => ((await meWith(server, a.access)).status === 200 ? true : undefined),
      5_000,
    )
    expect((await server.client.login(b.email, PASSWORD, { from: b.from })).status).toBe(200)
    expect((await server.client.signup(fresh().email, PASSWORD)).status).toBe(202)
  }, 30_000)
})

describe('SIGTERM under load (the server as a process)', () => {
  const folder = tempDir('latchkey-security-sigterm-')
  afterAll(() => folder.remove())

  /**
   * A request's fate: a complete response; a refused connection; a connection the stopping server
   * closed before reading its request (reset, no byte of response: the request was never started,
   * which the database check below confirms); or a response cut in the middle (the failure).
   */
  type Outcome =
    | { kind: 'response'; status: number; code: string | undefined }
    | { kind: 'refused' }
    | { kind: 'unread'; error: string }
    | { kind: 'broken'; stage: 'mid-response'; error: string }

  /** POST /auth/signup on a connection of its own (no keep-alive: no idle-socket races). */
  function signup(port: number, email: string): Promise<Outcome> {
    return new Promise((done) => {
      const body = JSON.stringify({ email, password: PASSWORD })
      let responded = false
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/auth/signup',
          agent: false,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          responded = true
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('error', (e) => done({ kind: 'broken', stage: 'mid-response', error: e.message }))
          res.on('aborted', () => done({ kind: 'broken', stage: 'mid-response', error: 'aborted' }))
          res.on('end', () => {
            if (!res.complete) return done({ kind: 'broken', stage: 'mid-response', error: 'incomplete' })
            let code: string | undefined
            try {
              code = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { code?: string }).code
            } catch {}
            done({ kind: 'response', status: res.statusCode ?? 0, code })
          })
        },
      )
      req.on('error', (error: NodeJS.ErrnoException) => {
        if (responded) return
        if (error.code === 'ECONNREFUSED') done({ kind: 'refused' })
        else done({ kind: 'unread', error: `${error.code ?? ''} ${error.message}` })
      })
      req.end(body)
    })
  }

  it('loses no in-flight request and no acknowledged signup; every request gets a whole answer or a refused connection', async () => {
    const database = join(folder.dir, 'sigterm.db')
    const server = startProcess(process.execPath, ['--import', 'tsx', CLI, 'serve'], {
      cwd: ROOT,
      env: {
        PORT: '0',
        DATABASE_URL: `file:${database}`,
        LATCHKEY_SECRET: TEST_SECRET,
        // Real cost: with two hashes at a time, 50 signups keep the server busy for a while.
        LATCHKEY_ARGON2: 'm=19456,t=2,p=1',
        LATCHKEY_DEMO_PAGE: 'false',
      },
    })
    const { child, exited, output: lines } = server
    const listening = await until(
      'the server to listen',
      async () =>
        lines.map((l) => /Server listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(l)).find(Boolean) ??
        undefined,
      60_000,
    )
    const port = Number(listening[1])
    const count = (pattern: RegExp) => lines.filter((l) => pattern.test(l)).length

    // 50 signups in flight.
    const run = uniqueSuffix()
    const inFlight = Array.from({ length: 50 }, (_, i) => {
      const email = `inflight-${i}-${run}@example.com`
      return signup(port, email).then((outcome) => ({ email, outcome }))
    })
    await until(
      '50 signups received',
      async () =>
        count(/"incoming request".*\/auth\/signup|\/auth\/signup.*"incoming request"/) >= 50
          ? true
          : undefined,
      30_000,
    )
    const completedBefore = count(/"request completed"/)
    child.kill('SIGTERM')

    // More keep coming during the shutdown, each on a new connection, until connections are refused.
    const late: Promise<{ email: string; outcome: Outcome }>[] = []
    for (let i = 0; ; i++) {
      const email = `late-${i}-${run}@example.com`
      const result = signup(port, email).then((outcome) => ({ email, outcome }))
      late.push(result)
      const { outcome } = await Promise.race([result, sleep(25).then(() => ({ outcome: undefined }))])
      if (outcome?.kind === 'refused' || i > 400) break
    }
    expect(await exited).toBe(0)

    const first = await Promise.all(inFlight)
    const second = await Promise.all(late)
    // The shutdown really began with signups still running.
    expect(completedBefore).toBeLessThan(50)
    // Every signup in flight at SIGTERM finished, and was acknowledged.
    for (const { email, outcome } of first)
      expect({ email, outcome }).toEqual({
        email,
        outcome: { kind: 'response', status: 202, code: undefined },
      })
    // Late ones: a complete 202 or 503 (Fastify's return503OnClosing), a refused connection, or a
    // connection closed unread at the instant the listener closed (Node's server.close() ends idle
    // connections, and the kernel resets those still in the accept queue). Never a cut response.
    for (const { email, outcome } of second) {
      if (outcome.kind === 'response')
        expect([202, 503], `${email} ${JSON.stringify(outcome)}`).toContain(outcome.status)
      else if (outcome.kind === 'unread') expect(outcome.error, email).toMatch(/^(ECONNRESET|EPIPE) /)
      else expect(outcome, email).toEqual({ kind: 'refused' })
    }
    expect(second.some(({ outcome }) => outcome.kind === 'refused')).toBe(true)

    // Every acknowledged signup is in the database, and nothing else is: no request that got no
    // answer was processed.
    const acknowledged = [...first, ...second]
      .filter(({ outcome }) => outcome.kind === 'response' && outcome.status === 202)
      .map(({ email }) => email)
      .sort()
    const db = new BetterSqlite3(database, { readonly: true })
    try {
      const stored = (db.prepare('SELECT email FROM users').all() as { email: string }[])
        .map((r) => r.email)
        .sort()
      expect(stored).toEqual(acknowledged)
    } finally {
      db.close()
    }
    const log = lines.join('\n')
    expect(log.indexOf('shutting down')).toBeLessThan(log.indexOf('"msg":"stopped"'))
  }, 120_000)
})
