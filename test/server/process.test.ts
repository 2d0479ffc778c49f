/**
 * The server as a process: started exactly as the README says (`npm start`), stopped gracefully by
 * SIGTERM with a request in flight, and scaled out to two processes sharing PostgreSQL and Redis.
 */
import { copyFileSync, existsSync, mkdirSync, statSync, symlinkSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { postgresUrl, probePostgres, probeRedis, redisUrl, requireService } from '../helpers/services.js'
import { Client, TEST_SECRET, type TokenBody } from './harness.js'
import { createPgSchema, deleteRedisPrefix, tempDir, uniqueSuffix } from './helpers.js'
import { freePort, killLeftovers, serveCli, startProcess } from './processes.js'

afterEach(killLeftovers)

const ROOT = resolve(import.meta.dirname, '../..')
const folder = tempDir('latchkey-process-')
afterAll(() => folder.remove())

async function waitForHealth(client: Client, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      if ((await client.get('/healthz')).status === 200) return
    } catch {}
    if (Date.now() > deadline) throw new Error('the server never became healthy')
    await new Promise((r) => setTimeout(r, 200))
  }
}

describe('the server as a process', () => {
  it('starts with `npm start` in a fresh working directory, as the README says', async () => {
    // A working copy that shares this one's sources and installed packages.
    const cwd = join(folder.dir, 'clone')
    mkdirSync(cwd)
    copyFileSync(join(ROOT, 'package.json'), join(cwd, 'package.json'))
    symlinkSync(join(ROOT, 'src'), join(cwd, 'src'))
    symlinkSync(join(ROOT, 'node_modules'), join(cwd, 'node_modules'))
    const port = await freePort()
    const server = startProcess('npm', ['start'], { cwd, env: { PORT: String(port) } })
    const client = new Client(`http://127.0.0.1:${port}`)
    await waitForHealth(client, 60_000)

    // The curl session of the README: signup, login, me, refresh, logout.
    const email = 'readme@example.com'
    expect((await client.signup(email, 'correct horse battery staple')).status).toBe(202)
    const login = await client.login(email, 'correct horse battery staple')
    expect(login.status).toBe(200)
    expect((await client.get('/auth/me', { token: login.body.access_token })).status).toBe(200)
    const refreshed = await client.post<TokenBody>('/auth/refresh', undefined, {
      token: login.body.refresh_token,
    })
    expect(refreshed.status).toBe(200)
    expect(
      (await client.post('/auth/logout', undefined, { token: refreshed.body.access_token })).status,
    ).toBe(200)

    // An embedded SQLite database and a generated owner-only key, in ./data of the working directory.
    expect(existsSync(join(cwd, 'data', 'latchkey.db'))).toBe(true)
    expect(statSync(join(cwd, 'data', 'latchkey-secret.key')).mode & 0o777).toBe(0o600)
    expect(server.output.join('\n')).toMatch(/no LATCHKEY_SECRET or LATCHKEY_PRIVATE_KEY_FILE/)

    process.kill(-server.child.pid!, 'SIGTERM')
    await server.waitFor(/"msg":"stopped"/)
    await server.exited
  }, 120_000)

  it('finishes a request in flight on SIGTERM, then closes and exits 0', async () => {
    const { server, client } = await serveCli({
      DATABASE_URL: `file:${join(folder.dir, 'shutdown.db')}`,
      LATCHKEY_SECRET: TEST_SECRET,
      // A slow hash keeps the signup in flight long enough to signal in the middle of it.
      LATCHKEY_ARGON2: 'm=65536,t=4,p=1',
    })
    // Not a terminal: the start-up line is a JSON log line that carries the URLs.
    const port = new URL(client.base).port
    const started = JSON.parse(await server.waitFor(/latchkey listening on/)) as Record<string, unknown>
    expect(started).toMatchObject({
      level: 30,
      msg: `latchkey listening on http://127.0.0.1:${port} (docs: http://127.0.0.1:${port}/docs, demo: http://127.0.0.1:${port}/)`,
      url: `http://127.0.0.1:${port}`,
      docs: `http://127.0.0.1:${port}/docs`,
      demo: `http://127.0.0.1:${port}/`,
    })
    const signup = client.signup('slow@example.com', 'correct horse battery')
    await server.waitFor(/"url":"\/auth\/signup"/)
    server.child.kill('SIGTERM')
    await server.waitFor(/shutting down/)
    const reply = await signup
    expect(reply.status).toBe(202)
    expect(await server.exited).toBe(0)
    const log = server.output.join('\n')
    expect(log.indexOf('shutting down')).toBeLessThan(log.indexOf('"msg":"stopped"'))
  }, 120_000)
})

const postgres = await requireService('PostgreSQL', probePostgres)
const redis = await requireService('Redis', probeRedis)

describe.skipIf(postgres.skip || redis.skip)(
  'scale-out: two processes on one PostgreSQL and one Redis',
  () => {
    it('gives the same results through either instance', async () => {
      const schema = await createPgSchema(postgresUrl())
      const prefix = `latchkey-scale:${uniqueSuffix()}:`
      try {
        const env = {
          DATABASE_URL: schema.url,
          REDIS_URL: redisUrl(),
          LATCHKEY_REDIS_PREFIX: prefix,
          LATCHKEY_SECRET: TEST_SECRET,
          LATCHKEY_LOGIN_MAX_FAILURES: '3',
        }
        // One migrates first; the second starts against the migrated schema (both could: the
        // migration lock serialises them, but the order keeps the output readable).
        const a = await serveCli(env)
        const b = await serveCli(env)
        const A = a.client
        const B = b.client
        const password = 'correct horse battery'

        // Sign up and log in through A.
        const created = await A.signup('scale@example.com', password)
        expect(created.status).toBe(202)
        // The same answer for a taken address, through the other instance: nothing tells them apart.
        const taken = await B.signup('scale@example.com', 'another password')
        expect({ status: taken.status, text: taken.text }).toEqual({ status: 202, text: created.text })
        const login = await A.login('scale@example.com', password)
        expect(login.status).toBe(200)

        // Use, refresh and log out through B.
        const me = await B.get<{ user: { email: string } }>('/auth/me', { token: login.body.access_token })
        expect(me.status).toBe(200)
        expect(me.body.user.email).toBe('scale@example.com')
        const refreshed = await B.post<TokenBody>('/auth/refresh', undefined, {
          token: login.body.refresh_token,
        })
        expect(refreshed.status).toBe(200)
        // Reuse of the rotated token, through the other instance, is caught and revokes the family.
        const reuse = await A.post('/auth/refresh', undefined, { token: login.body.refresh_token })
        expect(reuse.body.code).toBe('TOKEN_REVOKED')
        expect((await B.get('/auth/me', { token: refreshed.body.access_token })).body.code).toBe(
          'TOKEN_REVOKED',
        )

        const second = await A.login('scale@example.com', password)
        expect((await B.post('/auth/logout', undefined, { token: second.body.access_token })).status).toBe(
          200,
        )
        expect((await A.get('/auth/me', { token: second.body.access_token })).body.code).toBe('TOKEN_REVOKED')
        expect(
          (await A.post('/auth/refresh', undefined, { token: second.body.refresh_token })).body.code,
        ).toBe('TOKEN_REVOKED')

        // Logout everywhere on one instance is seen by the other; a new login works at once.
        const third = await B.login('scale@example.com', password)
        expect((await A.post('/auth/logout-all', undefined, { token: third.body.access_token })).status).toBe(
          200,
        )
        expect((await B.get('/auth/me', { token: third.body.access_token })).body.code).toBe('TOKEN_REVOKED')
        const fourth = await B.login('scale@example.com', password)
        expect((await A.get('/auth/me', { token: fourth.body.access_token })).status).toBe(200)

        // The login rate limit is shared: failures on A count on B.
        const statuses: number[] = []
        for (const client of [A, B, A, B])
          statuses.push((await client.login('scale@example.com', 'wrong')).status)
        expect(statuses).toEqual([401, 401, 401, 429])
        expect((await A.login('scale@example.com', password)).status).toBe(429)

        for (const server of [a.server, b.server]) {
          server.child.kill('SIGTERM')
          expect(await server.exited).toBe(0)
        }
      } finally {
        await deleteRedisPrefix(redisUrl(), prefix)
        await schema.drop()
      }
    }, 180_000)
  },
)
