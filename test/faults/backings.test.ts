/**
 * The reference server as a process (`latchkey serve`) while its dependencies fail, on every backing
 * it supports: SQLite, SQLite + Redis, PostgreSQL, PostgreSQL + Redis.
 *
 * Faults are made without touching the machine's shared services: Redis is a redis-server of this
 * file's own (with AOF, so a restart loses nothing), killed and restarted on its port; PostgreSQL sits
 * behind a TCP proxy that can refuse connections (down) or hold every byte while keeping the sockets
 * open (stalled). Each case asserts statuses and codes, a bound on the time to answer, that the
 * process is still running, and that nothing the server acknowledged was lost.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { connect } from 'node:net'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { postgresUrl, probePostgres, probeTCP, requireService } from '../helpers/services.js'
import { type TcpProxy, tcpProxy } from '../helpers/tcp-proxy.js'
import { Client, fresh, TEST_ARGON2, TEST_SECRET } from '../server/harness.js'
import { createPgSchema, tempDir, uniqueSuffix } from '../server/helpers.js'
import { freePort, killLeftovers, type ServerProcess, startProcess, track } from '../server/processes.js'

const ROOT = resolve(import.meta.dirname, '../..')
const CLI = join(ROOT, 'src/cli/index.ts')
const PASSWORD = 'correct horse battery staple'
/** Bounds on the time to answer while a dependency is down or stalled (deadlines: 1 s reads, 3 s writes, 1 s pool). */
const READ_BOUND_MS = 3_000
const WRITE_BOUND_MS = 5_500
const REQUEST_TIMEOUT_MS = 2_000

const folder = tempDir('latchkey-faults-')
afterAll(() => folder.remove())
// Processes live across the tests of a describe block: leftovers are killed once the file is done.
afterAll(killLeftovers)

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms))

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check().catch(() => undefined)
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(100)
  }
}

/** A reply, how long it took, or the network error that ended it. */
type Outcome =
  | { kind: 'reply'; status: number; code: string | undefined; ms: number; retryAfter: string | null }
  | { kind: 'error'; error: string; ms: number }

async function outcome(call: () => Promise<{ status: number; body: unknown; headers: Headers }>) {
  const start = performance.now()
  try {
    const reply = await call()
    return {
      kind: 'reply',
      status: reply.status,
      code: (reply.body as { code?: string } | undefined)?.code,
      ms: performance.now() - start,
      retryAfter: reply.headers.get('retry-after'),
    } satisfies Outcome as Outcome
  } catch (error) {
    const cause = (error as { cause?: unknown }).cause
    return {
      kind: 'error',
      error: `${String(error)}${cause ? ` (${String(cause)})` : ''}`,
      ms: performance.now() - start,
    } satisfies Outcome as Outcome
  }
}

/** A 503 with Retry-After within `bound`: the answer of a server whose dependency failed. */
function expect503(what: string, got: Outcome, code: string, bound: number): void {
  expect({ what, got: got.kind === 'reply' ? 'reply' : got.error }).toEqual({ what, got: 'reply' })
  if (got.kind !== 'reply') return
  expect({ what, status: got.status, code: got.code }).toEqual({ what, status: 503, code })
  expect(got.retryAfter, what).toBe('1')
  expect(got.ms, `${what} took ${Math.round(got.ms)} ms`).toBeLessThan(bound)
}

// ---------------------------------------------------------------------------------------------
// The pieces: our own redis-server, the server process, a slow client.

const redisAvailable = await requireService('redis-server', async () => {
  const run = spawnSync('redis-server', ['--version'], { encoding: 'utf8' })
  if (run.error || run.status !== 0)
    throw new Error(`redis-server not runnable: ${run.error?.message ?? run.status}`)
})
const postgresAvailable = await requireService('PostgreSQL', probePostgres)

/** A redis-server of this file's own on `port`; with `aof`, every write is on disk before its reply. */
class OwnRedis {
  child: ChildProcess | undefined
  readonly dir: string

  constructor(
    readonly port: number,
    readonly persistence: 'aof' | 'none',
  ) {
    this.dir = join(folder.dir, `redis-${port}`)
    mkdirSync(this.dir, { recursive: true })
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`
  }

  async start(): Promise<void> {
    const disk =
      this.persistence === 'aof'
        ? ['--appendonly', 'yes', '--appendfsync', 'always', '--save', '']
        : ['--appendonly', 'no', '--save', '']
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, ...disk],
      { stdio: 'ignore', detached: true },
    )
    track(child)
    this.child = child
    await until('redis-server to answer', async () => {
      await probeTCP(this.url, { ping: true, timeoutMs: 200 })
      return true
    })
  }

  async kill(): Promise<void> {
    const child = this.child
    if (!child || child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise((done) => child.once('exit', done))
    child.kill('SIGKILL')
    await exited
  }
}

/** A `latchkey serve` process and a client for it. */
interface Served {
  process: ServerProcess
  client: Client
  alive(): boolean
  /** Sends SIGTERM; resolves with the exit code and how long the process took to exit. */
  terminate(): Promise<{ code: number | null; ms: number }>
}

async function serve(env: Record<string, string>): Promise<Served> {
  const process_ = startProcess(process.execPath, ['--import', 'tsx', CLI, 'serve'], {
    cwd: ROOT,
    env: {
      PORT: '0',
      LATCHKEY_SECRET: TEST_SECRET,
      LATCHKEY_ARGON2: TEST_ARGON2,
      LATCHKEY_DEMO_PAGE: 'false',
      LATCHKEY_TRUST_PROXY: 'true',
      LATCHKEY_COOKIE_SECURE: 'false',
      LATCHKEY_LOGIN_MAX_FAILURES: '1000',
      LATCHKEY_REQUEST_TIMEOUT: `${REQUEST_TIMEOUT_MS}ms`,
      ...env,
    },
  })
  const line = await process_.waitFor(/Server listening at http:\/\/127\.0\.0\.1:\d+/)
  const port = /127\.0\.0\.1:(\d+)/.exec(line)![1]
  const { child } = process_
  return {
    process: process_,
    client: new Client(`http://127.0.0.1:${port}`),
    alive: () => child.exitCode === null && child.signalCode === null,
    async terminate() {
      const start = performance.now()
      child.kill('SIGTERM')
      const code = await process_.exited
      return { code, ms: performance.now() - start }
    },
  }
}

/**
 * A client that sends its headers, then one body byte every `everyMs`, and never finishes: resolves
 * with the status line the server answered with (or `closed` without one) and when.
 */
function slowBody(port: number, everyMs = 300): Promise<{ status: string; ms: number }> {
  return new Promise((done) => {
    const start = performance.now()
    const socket = connect(port, '127.0.0.1')
    let answer = ''
    let timer: NodeJS.Timeout | undefined
    socket.on('connect', () => {
      socket.write(
        'POST /auth/signup HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{',
      )
      timer = setInterval(() => socket.write(' '), everyMs)
    })
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString('latin1')
    })
    const finish = () => {
      clearInterval(timer)
      done({ status: /^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 'closed', ms: performance.now() - start })
    }
    socket.on('close', finish)
    socket.on('error', () => socket.destroy())
  })
}

/** An account the server acknowledged, and its logged-in session. */
interface Account {
  email: string
  from: string
  access: string
  refresh: string
}

async function account(client: Client): Promise<Account> {
  const who = fresh('fault')
  expect((await client.signup(who.email, PASSWORD)).status).toBe(202)
  const login = await client.login(who.email, PASSWORD, { from: who.from })
  expect(login.status).toBe(200)
  return { ...who, access: login.body.access_token, refresh: login.body.refresh_token }
}

// ---------------------------------------------------------------------------------------------
// The matrix.

interface Backing {
  name: string
  database: 'sqlite' | 'postgres'
  redis: boolean
}

const BACKINGS: Backing[] = [
  { name: 'SQLite', database: 'sqlite', redis: false },
  { name: 'SQLite + Redis', database: 'sqlite', redis: true },
  { name: 'PostgreSQL', database: 'postgres', redis: false },
  { name: 'PostgreSQL + Redis', database: 'postgres', redis: true },
]

for (const backing of BACKINGS) {
  const skip =
    (backing.redis && redisAvailable.skip) || (backing.database === 'postgres' && postgresAvailable.skip)

  describe.skipIf(skip)(`${backing.name}: dependency faults`, () => {
    let redis: OwnRedis | undefined
    let proxy: TcpProxy | undefined
    let dropSchema: (() => Promise<void>) | undefined
    let env: Record<string, string>
    let server: Served
    /** Every write the server acknowledged: accounts created, sessions logged out. */
    const acknowledged: { accounts: Account[]; loggedOut: string[] } = { accounts: [], loggedOut: [] }
    /** Revocations are kept by whichever store the backing uses: Redis, or the database. */
    const revocationCode = 'REVOCATION_UNAVAILABLE'
    /** /auth/me asks the revocation store first, then loads the user from the database. */
    const meCodeWhenDatabaseDown = backing.redis ? 'SERVICE_UNAVAILABLE' : revocationCode

    beforeAll(async () => {
      env = {}
      if (backing.redis) {
        redis = new OwnRedis(await freePort(), 'aof')
        await redis.start()
        env.REDIS_URL = redis.url
        env.LATCHKEY_REDIS_PREFIX = `lk-fault:${uniqueSuffix()}:`
      }
      if (backing.database === 'postgres') {
        const schema = await createPgSchema(postgresUrl())
        dropSchema = schema.drop
        proxy = await tcpProxy(new URL(postgresUrl()))
        const url = new URL(schema.url)
        url.host = `127.0.0.1:${proxy.port}`
        env.DATABASE_URL = url.toString()
      } else {
        env.DATABASE_URL = `file:${join(folder.dir, `${uniqueSuffix()}.db`)}`
      }
      server = await serve(env)
    }, 90_000)

    afterAll(async () => {
      // A server that died under a fault is the failure this file exists to catch: show why.
      if (server && !server.alive()) console.error(server.process.output.slice(-40).join('\n'))
      if (server?.alive()) await server.terminate()
      await redis?.kill()
      await proxy?.stop()
      await dropSchema?.()
    })

    it('serves, and reports itself live and ready', async () => {
      acknowledged.accounts.push(await account(server.client))
      for (const path of ['/livez', '/readyz', '/healthz'])
        expect({ path, status: (await server.client.get(path)).status }).toEqual({ path, status: 200 })
    })

    if (backing.redis)
      it('Redis killed: 503 within bounds for what needs it, readiness 503, liveness 200, no crash; Redis back: serves again without a restart, nothing acknowledged lost', async () => {
        const a = await account(server.client)
        const out = await account(server.client)
        expect((await server.client.post('/auth/logout', undefined, { token: out.access })).status).toBe(200)
        acknowledged.accounts.push(a)
        acknowledged.loggedOut.push(out.access)

        await redis!.kill()
        for (let round = 0; round < 3; round++) {
          // The readiness probe first: with PostgreSQL it used to crash the process (an unawaited ping).
          for (const path of ['/readyz', '/healthz']) {
            const health = await outcome(() => server.client.get(path))
            expect503(`${path} ${round}`, health, 'SERVICE_UNAVAILABLE', READ_BOUND_MS)
          }
          expect((await server.client.get('/livez')).status).toBe(200)
          expect503(
            `me ${round}`,
            await outcome(() => server.client.get('/auth/me', { token: a.access })),
            revocationCode,
            READ_BOUND_MS,
          )
          expect503(
            `login ${round}`,
            await outcome(() => server.client.login(a.email, PASSWORD, { from: a.from })),
            'SERVICE_UNAVAILABLE',
            READ_BOUND_MS,
          )
          expect503(
            `refresh ${round}`,
            await outcome(() => server.client.post('/auth/refresh', undefined, { token: a.refresh })),
            revocationCode,
            READ_BOUND_MS,
          )
          await sleep(300)
        }
        // Signup needs only the database.
        const during = fresh('during')
        expect((await server.client.signup(during.email, PASSWORD)).status).toBe(202)
        expect(server.alive()).toBe(true)

        await redis!.start()
        await until('ready again', async () =>
          (await server.client.get('/readyz')).status === 200 ? true : undefined,
        )
        expect((await server.client.get('/auth/me', { token: a.access })).status).toBe(200)
        const login = await server.client.login(during.email, PASSWORD, { from: during.from })
        expect(login.status).toBe(200)
        acknowledged.accounts.push({
          ...during,
          access: login.body.access_token,
          refresh: login.body.refresh_token,
        })
        // The logout acknowledged before the outage survived Redis's restart (AOF).
        expect((await server.client.get('/auth/me', { token: out.access })).status).toBe(401)
      }, 60_000)

    if (backing.database === 'postgres')
      it('PostgreSQL down (connections cut under queries in flight, then refused): 503 within bounds, readiness 503, no crash; back: serves again without a restart', async () => {
        const a = await account(server.client)
        acknowledged.accounts.push(a)
        // First the connections drop under queries in flight: pg reports that with an 'error' event
        // on the checked-out client, which nobody heard, and the process died.
        proxy!.stall()
        const inFlight = [
          outcome(() => server.client.get('/auth/me', { token: a.access })),
          outcome(() => server.client.signup(fresh().email, PASSWORD)),
        ]
        await sleep(300)
        await proxy!.stop()
        const [meInFlight, signupInFlight] = await Promise.all(inFlight)
        expect503('me in flight', meInFlight!, meCodeWhenDatabaseDown, READ_BOUND_MS)
        expect503('signup in flight', signupInFlight!, 'SERVICE_UNAVAILABLE', WRITE_BOUND_MS)
        expect(server.alive()).toBe(true)
        for (let round = 0; round < 2; round++) {
          expect503(
            `readyz ${round}`,
            await outcome(() => server.client.get('/readyz')),
            'SERVICE_UNAVAILABLE',
            READ_BOUND_MS,
          )
          expect503(
            `me ${round}`,
            await outcome(() => server.client.get('/auth/me', { token: a.access })),
            meCodeWhenDatabaseDown,
            READ_BOUND_MS,
          )
          expect503(
            `signup ${round}`,
            await outcome(() => server.client.signup(fresh().email, PASSWORD)),
            'SERVICE_UNAVAILABLE',
            WRITE_BOUND_MS,
          )
          expect503(
            `login ${round}`,
            await outcome(() => server.client.login(a.email, PASSWORD, { from: a.from })),
            'SERVICE_UNAVAILABLE',
            WRITE_BOUND_MS,
          )
        }
        expect((await server.client.get('/livez')).status).toBe(200)
        expect(server.alive()).toBe(true)
        await proxy!.start()
        await until('ready again', async () =>
          (await server.client.get('/readyz')).status === 200 ? true : undefined,
        )
        expect((await server.client.get('/auth/me', { token: a.access })).status).toBe(200)
        expect((await server.client.login(a.email, PASSWORD, { from: a.from })).status).toBe(200)
      }, 60_000)

    if (backing.database === 'postgres')
      it('PostgreSQL stalled (sockets open, no answer): reads 503 within ~1 s deadlines, writes within ~3 s, readiness 503, no crash; resumed: serves again', async () => {
        const a = await account(server.client)
        acknowledged.accounts.push(a)
        proxy!.stall()
        try {
          const [readyz, me, signup, login, livez] = await Promise.all([
            outcome(() => server.client.get('/readyz')),
            outcome(() => server.client.get('/auth/me', { token: a.access })),
            outcome(() => server.client.signup(fresh().email, PASSWORD)),
            outcome(() => server.client.login(a.email, PASSWORD, { from: a.from })),
            outcome(() => server.client.get('/livez')),
          ])
          expect503('readyz', readyz, 'SERVICE_UNAVAILABLE', READ_BOUND_MS)
          expect503('me', me, meCodeWhenDatabaseDown, READ_BOUND_MS)
          expect503('signup', signup, 'SERVICE_UNAVAILABLE', WRITE_BOUND_MS)
          expect503('login', login, 'SERVICE_UNAVAILABLE', WRITE_BOUND_MS)
          expect(livez).toMatchObject({ kind: 'reply', status: 200 })
          // Every connection of the pool may be stuck now: new requests still get their 503 in time.
          expect503(
            'me again',
            await outcome(() => server.client.get('/auth/me', { token: a.access })),
            meCodeWhenDatabaseDown,
            READ_BOUND_MS,
          )
          expect(server.alive()).toBe(true)
        } finally {
          proxy!.resume()
        }
        await until('ready again', async () =>
          (await server.client.get('/readyz')).status === 200 ? true : undefined,
        )
        expect((await server.client.get('/auth/me', { token: a.access })).status).toBe(200)
      }, 60_000)

    it(`a client that sends its body one byte at a time gets 408 within the request timeout (${REQUEST_TIMEOUT_MS} ms), while others are served`, async () => {
      const port = Number(new URL(server.client.base).port)
      const slow = Array.from({ length: 20 }, () => slowBody(port))
      await sleep(200)
      const a = acknowledged.accounts[0]!
      expect((await server.client.get('/auth/me', { token: a.access })).status).toBe(200)
      for (const { status, ms } of await Promise.all(slow)) {
        expect(status).toBe('408')
        expect(ms).toBeLessThan(REQUEST_TIMEOUT_MS + 2_500)
      }
      expect(server.alive()).toBe(true)
    }, 30_000)

    it('nothing acknowledged was lost: every account created logs in, every logged-out token stays refused', async () => {
      for (const a of acknowledged.accounts) {
        const login = await server.client.login(a.email, PASSWORD, { from: a.from })
        expect({ email: a.email, status: login.status }).toEqual({ email: a.email, status: 200 })
      }
      for (const token of acknowledged.loggedOut)
        expect((await server.client.get('/auth/me', { token })).status).toBe(401)
    })

    it(backing.database === 'postgres'
      ? 'SIGTERM while PostgreSQL is stalled and requests wait: each gets its 503, the process exits 0 well within the shutdown timeout'
      : 'SIGTERM with slow clients connected: they get 408, the process exits 0 well within the shutdown timeout', async () => {
      const a = acknowledged.accounts[0]!
      const port = Number(new URL(server.client.base).port)
      const slow = slowBody(port)
      let waiting: Promise<Outcome>[] = []
      if (backing.database === 'postgres') {
        proxy!.stall()
        waiting = [
          outcome(() => server.client.get('/auth/me', { token: a.access })),
          outcome(() => server.client.signup(fresh().email, PASSWORD)),
          outcome(() => server.client.login(a.email, PASSWORD, { from: a.from })),
        ]
      }
      await sleep(300)
      const exit = await server.terminate()
      proxy?.resume()
      expect(exit.code).toBe(0)
      // Deadlines (≤ 4 s) and the request timeout end every wait long before the 15 s shutdown timeout.
      expect(exit.ms).toBeLessThan(10_000)
      for (const [i, reply] of (await Promise.all(waiting)).entries()) {
        expect({ i, kind: reply.kind }).toEqual({ i, kind: 'reply' })
        if (reply.kind === 'reply') expect({ i, status: reply.status }).toEqual({ i, status: 503 })
      }
      expect(['408', '503']).toContain((await slow).status)
    }, 30_000)
  })

  if (backing.redis)
    describe.skipIf(skip)(`${backing.name}: started while Redis is down`, () => {
      it('starts, reports not ready (/livez 200, /readyz 503), and becomes ready when Redis comes, without a restart', async () => {
        const redis = new OwnRedis(await freePort(), 'aof')
        const extra: Record<string, string> = {
          REDIS_URL: redis.url,
          LATCHKEY_REDIS_PREFIX: `lk-fault:${uniqueSuffix()}:`,
        }
        let drop: (() => Promise<void>) | undefined
        if (backing.database === 'postgres') {
          const schema = await createPgSchema(postgresUrl())
          drop = schema.drop
          extra.DATABASE_URL = schema.url
        } else extra.DATABASE_URL = `file:${join(folder.dir, `${uniqueSuffix()}.db`)}`
        try {
          const server = await serve(extra)
          const log = server.process.output.join('\n')
          // The cause and the address, not "Connection is closed.".
          expect(log).toContain(`cannot reach Redis at ${redis.url}`)
          expect(log).toMatch(/ECONNREFUSED/)
          expect((await server.client.get('/livez')).status).toBe(200)
          expect503(
            'readyz',
            await outcome(() => server.client.get('/readyz')),
            'SERVICE_UNAVAILABLE',
            READ_BOUND_MS,
          )
          const who = fresh()
          expect((await server.client.signup(who.email, PASSWORD)).status).toBe(202)
          expect503(
            'login',
            await outcome(() => server.client.login(who.email, PASSWORD, { from: who.from })),
            'SERVICE_UNAVAILABLE',
            READ_BOUND_MS,
          )
          await redis.start()
          await until('ready', async () =>
            (await server.client.get('/readyz')).status === 200 ? true : undefined,
          )
          const login = await server.client.login(who.email, PASSWORD, { from: who.from })
          expect(login.status).toBe(200)
          expect((await server.client.get('/auth/me', { token: login.body.access_token })).status).toBe(200)
          expect((await server.terminate()).code).toBe(0)
        } finally {
          await redis.kill()
          await drop?.()
        }
      }, 90_000)
    })
}

describe.skipIf(redisAvailable.skip)('Redis without persistence', () => {
  let redis: OwnRedis
  beforeAll(async () => {
    redis = new OwnRedis(await freePort(), 'none')
    await redis.start()
  })
  afterAll(() => redis?.kill())

  const settings = () => ({
    DATABASE_URL: `file:${join(folder.dir, `${uniqueSuffix()}.db`)}`,
    REDIS_URL: redis.url,
    LATCHKEY_REDIS_PREFIX: `lk-fault:${uniqueSuffix()}:`,
  })

  it('warns at start-up, naming the risk and the fix, and still serves', async () => {
    const server = await serve(settings())
    const warning = server.process.output.find((line) => line.includes('keeps nothing on disk'))
    expect(warning).toBeDefined()
    expect(JSON.parse(warning!)).toMatchObject({ level: 40, persistence: 'none' })
    expect(warning).toContain('appendonly')
    expect((await server.client.get('/readyz')).status).toBe(200)
    expect((await server.terminate()).code).toBe(0)
  }, 60_000)

  it('warns again when Redis comes back after a restart', async () => {
    const server = await serve(settings())
    const before = server.process.output.filter((line) => line.includes('keeps nothing on disk')).length
    await redis.kill()
    await redis.start()
    await until('the warning after the reconnection', async () =>
      server.process.output.filter((line) => line.includes('keeps nothing on disk')).length > before
        ? true
        : undefined,
    )
    expect((await server.terminate()).code).toBe(0)
  }, 60_000)

  it('with LATCHKEY_REDIS_REQUIRE_PERSISTENCE=true, refuses to start (exit 1, one line saying what to change)', async () => {
    const child = startProcess(process.execPath, ['--import', 'tsx', CLI, 'serve'], {
      cwd: ROOT,
      env: {
        PORT: '0',
        LATCHKEY_SECRET: TEST_SECRET,
        LATCHKEY_REDIS_REQUIRE_PERSISTENCE: 'true',
        ...settings(),
      },
    })
    expect(await child.exited).toBe(1)
    expect(child.output.join('\n')).toMatch(/latchkey: Redis at .* keeps nothing on disk .*appendonly/)
  }, 60_000)

  it('is not warned about when it has AOF', async () => {
    const aof = new OwnRedis(await freePort(), 'aof')
    await aof.start()
    try {
      const server = await serve({ ...settings(), REDIS_URL: aof.url })
      expect(server.process.output.join('\n')).not.toContain('keeps nothing on disk')
      expect((await server.terminate()).code).toBe(0)
    } finally {
      await aof.kill()
    }
  }, 60_000)
})

describe('connection cap', () => {
  it('closes connections beyond LATCHKEY_MAX_CONNECTIONS as they arrive, and serves again once the others are gone', async () => {
    const server = await serve({
      DATABASE_URL: `file:${join(folder.dir, `${uniqueSuffix()}.db`)}`,
      LATCHKEY_MAX_CONNECTIONS: '3',
    })
    const port = Number(new URL(server.client.base).port)
    const held = [slowBody(port), slowBody(port), slowBody(port)]
    await sleep(300)
    // A fourth connection is accepted by the kernel and closed by the server at once, unanswered.
    const extra = await slowBody(port)
    expect(extra.status).toBe('closed')
    expect(extra.ms).toBeLessThan(1_000)
    // The three held ones end at the request timeout; then there is room again.
    for (const { status } of await Promise.all(held)) expect(status).toBe('408')
    expect((await server.client.get('/livez')).status).toBe(200)
    expect((await server.terminate()).code).toBe(0)
  }, 30_000)
})

describe('a promise rejected with nobody listening', () => {
  it('is logged as a bug and the server keeps serving (never exits)', async () => {
    // A module loaded before the server rejects a promise nobody awaits when told to (SIGUSR2).
    const server = await serve({
      DATABASE_URL: `file:${join(folder.dir, `${uniqueSuffix()}.db`)}`,
      NODE_OPTIONS: `--import ${join(import.meta.dirname, 'fixtures/reject-later.mjs')}`,
    })
    server.process.child.kill('SIGUSR2')
    await server.process.waitFor(/unhandled promise rejection/, 10_000)
    const line = server.process.output.find((l) => l.includes('unhandled promise rejection'))!
    expect(JSON.parse(line)).toMatchObject({ level: 50, err: { message: 'deliberately unhandled (test)' } })
    await sleep(300)
    expect(server.alive()).toBe(true)
    expect((await server.client.get('/livez')).status).toBe(200)
    const who = fresh()
    expect((await server.client.signup(who.email, PASSWORD)).status).toBe(202)
    const login = await server.client.login(who.email, PASSWORD, { from: who.from })
    expect(login.status).toBe(200)
    expect((await server.terminate()).code).toBe(0)
  }, 60_000)
})
