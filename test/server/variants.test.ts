/**
 * The server under other configurations (SQLite): token locations, metrics, asymmetric keys, key
 * rotation, the generated key, hash upgrades, login timing, and failing backends.
 */
import { chmodSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { parseOptions } from '@node-rs/argon2'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { PasswordHasher } from '../../src/login/index.js'
import { buildServer } from '../../src/server/app.js'
import { parseConfig, type RawSettings } from '../../src/server/config.js'
import { claimsOf, fresh, type Reply, startServer, type TestServer, type TokenBody } from './harness.js'
import { runCliCaptured, tempDir } from './helpers.js'

const PASSWORD = 'correct horse battery'
const folder = tempDir('latchkey-variants-')
afterAll(() => folder.remove())

const running: TestServer[] = []
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()))
})

let dbCounter = 0
function sqlite(): string {
  dbCounter++
  return `file:${join(folder.dir, `db-${dbCounter}.db`)}`
}

async function server(settings: RawSettings): Promise<TestServer> {
  const s = await startServer({ databaseUrl: sqlite(), ...settings }, { cwd: folder.dir })
  running.push(s)
  return s
}

async function userOn(s: TestServer, password = PASSWORD) {
  const who = fresh()
  expect((await s.client.signup(who.email, password)).status).toBe(202)
  const login = await s.client.login(who.email, password, { from: who.from })
  expect(login.status).toBe(200)
  return { ...who, login, access: login.body.access_token, refresh: login.body.refresh_token }
}

describe('token locations', () => {
  it('with cookies not a location, no response sets any cookie', async () => {
    const s = await server({ tokenLocations: 'headers' })
    const who = await userOn(s)
    const replies: Reply<unknown>[] = [
      who.login,
      await s.client.post('/auth/refresh', undefined, { token: who.refresh }),
      await s.client.post('/auth/fresh-login', { password: PASSWORD }, { token: who.access, from: who.from }),
      await s.client.post('/auth/login', { email: who.email, password: 'wrong' }, { from: who.from }),
      await s.client.get('/auth/me'),
      await s.client.post(
        '/auth/password',
        { current_password: PASSWORD, new_password: 'another long password' },
        { token: who.access, from: who.from },
      ),
    ]
    const next = await s.client.login(who.email, 'another long password', { from: fresh().from })
    replies.push(next)
    replies.push(await s.client.post('/auth/logout', undefined, { token: next.body.access_token }))
    const last = await s.client.login(who.email, 'another long password', { from: fresh().from })
    replies.push(await s.client.post('/auth/logout-all', undefined, { token: last.body.access_token }))
    for (const reply of replies) expect(reply.cookies, `${reply.status} ${reply.text}`).toEqual([])
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 401, 401, 200, 200, 200, 200])
    // And cookies are not read either.
    expect(
      (await s.client.get('/auth/me', { cookies: [`access_token_cookie=${last.body.access_token}`] })).status,
    ).toBe(401)
  })

  it('the json location reads {"access_token": ...} next to the other fields', async () => {
    const s = await server({ tokenLocations: 'headers,json' })
    const who = await userOn(s)
    const freshLogin = await s.client.post(
      '/auth/fresh-login',
      { access_token: who.access, password: PASSWORD },
      { from: who.from },
    )
    expect(freshLogin.status).toBe(200)
    const logout = await s.client.post('/auth/logout', { access_token: who.access })
    expect(logout.status).toBe(200)
    expect((await s.client.get('/auth/me', { token: who.access })).body.code).toBe('TOKEN_REVOKED')
  })

  it('the query location reads ?jwt=, and the token never reaches the logs', async () => {
    const s = await server({ tokenLocations: 'headers,query' })
    const who = await userOn(s)
    const me = await s.client.get(`/auth/me?jwt=${who.access}`)
    expect(me.status).toBe(200)
    const logs = s.logs.join('')
    expect(logs).toContain('/auth/me?jwt=%5BREDACTED%5D')
    expect(logs).not.toContain(who.access)
  })
})

describe('metrics', () => {
  it('serves Prometheus metrics when LATCHKEY_METRICS=true', async () => {
    const s = await server({ metrics: 'true' })
    const who = await userOn(s)
    await s.client.login(who.email, 'wrong', { from: who.from })
    const refreshed = await s.client.post<TokenBody>('/auth/refresh', undefined, { token: who.refresh })
    await s.client.post('/auth/refresh', undefined, { token: who.refresh })
    expect(refreshed.status).toBe(200)
    await s.client.get('/auth/me')
    const again = await s.client.login(who.email, PASSWORD, { from: who.from })
    await s.client.post('/auth/logout', undefined, { token: again.body.access_token })
    const reply = await fetch(`${s.base}/metrics`)
    expect(reply.status).toBe(200)
    expect(reply.headers.get('content-type')).toMatch(/^text\/plain/)
    const text = await reply.text()
    expect(text).toMatch(/latchkey_logins_total\{outcome="success"\} 2/)
    expect(text).toMatch(/latchkey_logins_total\{outcome="invalid_credentials"\} 1/)
    expect(text).toMatch(/latchkey_refreshes_total 1/)
    expect(text).toMatch(/latchkey_refresh_reuse_detected_total 1/)
    expect(text).toMatch(/latchkey_token_failures_total\{code="TOKEN_MISSING"\} 1/)
    expect(text).toMatch(/latchkey_revocations_total\{kind="logout"\} 1/)
    expect(text).toMatch(
      /latchkey_http_request_duration_seconds_bucket\{le="0.05",method="POST",route="\/auth\/login",status="200"\}/,
    )
    expect(text).toContain('process_cpu_seconds_total')
  })
})

describe('issuer and audience', () => {
  it('sets iss and aud on every token and refuses tokens of another issuer or audience', async () => {
    const secret = 'an-issuer-test-secret-of-forty-characters'
    const s = await server({ secret, issuer: 'https://auth.example.com', audience: 'api,admin' })
    const who = await userOn(s)
    expect(claimsOf(who.access)).toMatchObject({ iss: 'https://auth.example.com', aud: ['api', 'admin'] })
    expect(claimsOf(who.refresh)).toMatchObject({ iss: 'https://auth.example.com' })
    expect((await s.client.get('/auth/me', { token: who.access })).status).toBe(200)
    // The same secret without the claims (another deployment sharing a key by mistake): refused.
    const plain = await server({ secret })
    const foreign = await userOn(plain)
    const refused = await s.client.get<{ code: string }>('/auth/me', { token: foreign.access })
    expect(refused.status).toBe(401)
    expect(refused.body.code).toBe('TOKEN_INVALID')
    // And a token of this deployment is refused where no audience is expected (RFC 7519 §4.1.3).
    expect((await plain.client.get('/auth/me', { token: who.access })).status).toBe(401)
  })
})

describe('keys', () => {
  it('signs with an ES256 key file and publishes its public key in the JWKS', async () => {
    const dir = join(folder.dir, 'es256')
    expect((await runCliCaptured(['keygen', '--alg', 'ES256', '--out', dir], { cwd: folder.dir })).code).toBe(
      0,
    )
    const s = await server({
      secret: '',
      privateKeyFile: join(dir, 'latchkey-private.pem'),
      algorithm: 'ES256',
    })
    const jwks = await s.client.get<{ keys: { kid: string; alg: string; kty: string; d?: string }[] }>(
      '/.well-known/jwks.json',
    )
    expect(jwks.body.keys).toHaveLength(1)
    expect(jwks.body.keys[0]).toMatchObject({ alg: 'ES256', kty: 'EC' })
    expect(jwks.body.keys[0]!.d).toBeUndefined()
    expect(jwks.body).toEqual(JSON.parse(readFileSync(join(dir, 'jwks.json'), 'utf8')))
    const who = await userOn(s)
    const header = JSON.parse(Buffer.from(who.access.split('.')[0]!, 'base64url').toString()) as Record<
      string,
      string
    >
    expect(header).toMatchObject({ alg: 'ES256', kid: jwks.body.keys[0]!.kid })
    expect((await s.client.get('/auth/me', { token: who.access })).status).toBe(200)
  })

  it('rotates HS256 secrets without downtime: old tokens stay valid while the old secret is listed', async () => {
    const databaseUrl = sqlite()
    const oldSecret = 'old-secret-0123456789abcdefghijklmnopqrstuvwxyz'
    const newSecret = 'new-secret-0123456789abcdefghijklmnopqrstuvwxyz'
    const before = await server({ databaseUrl, secret: oldSecret })
    const who = await userOn(before)
    const during = await server({ databaseUrl, secret: newSecret, previousSecrets: oldSecret })
    expect((await during.client.get('/auth/me', { token: who.access })).status).toBe(200)
    const refreshed = await during.client.post<TokenBody>('/auth/refresh', undefined, { token: who.refresh })
    expect(refreshed.status).toBe(200)
    // New tokens are signed with the new secret, which the old instances do not know yet.
    const newKid = JSON.parse(
      Buffer.from(refreshed.body.access_token.split('.')[0]!, 'base64url').toString(),
    ).kid
    const oldKid = JSON.parse(Buffer.from(who.access.split('.')[0]!, 'base64url').toString()).kid
    expect(newKid).not.toBe(oldKid)
    const after = await server({ databaseUrl, secret: newSecret })
    expect((await after.client.get('/auth/me', { token: refreshed.body.access_token })).status).toBe(200)
    const stale = await after.client.get('/auth/me', { token: who.access })
    expect(stale.status).toBe(401)
    expect(stale.body.code).toBe('TOKEN_INVALID')
  })

  it('rotates key files: the old key verifies (and is published) until it is removed', async () => {
    const databaseUrl = sqlite()
    const oldDir = join(folder.dir, 'rotate-old')
    const newDir = join(folder.dir, 'rotate-new')
    expect(
      (await runCliCaptured(['keygen', '--alg', 'ES256', '--out', oldDir], { cwd: folder.dir })).code,
    ).toBe(0)
    expect(
      (await runCliCaptured(['keygen', '--alg', 'ES256', '--out', newDir], { cwd: folder.dir })).code,
    ).toBe(0)
    const oldKey = join(oldDir, 'latchkey-private.pem')
    const newKey = join(newDir, 'latchkey-private.pem')
    const before = await server({ databaseUrl, secret: '', privateKeyFile: oldKey, algorithm: 'ES256' })
    const who = await userOn(before)
    const during = await server({
      databaseUrl,
      secret: '',
      privateKeyFile: newKey,
      algorithm: 'ES256',
      previousKeyFiles: oldKey,
    })
    expect((await during.client.get('/auth/me', { token: who.access })).status).toBe(200)
    expect((await during.client.get<{ keys: unknown[] }>('/.well-known/jwks.json')).body.keys).toHaveLength(2)
  })

  it('generates a 0600 key in the data folder on first start, warns, and reuses it', async () => {
    const dataDir = join(folder.dir, 'generated')
    const databaseUrl = sqlite()
    const first = await server({ databaseUrl, secret: '', dataDir })
    const path = join(dataDir, 'latchkey-secret.key')
    expect(statSync(path).mode & 0o777).toBe(0o600)
    expect(Buffer.from(readFileSync(path, 'utf8').trim(), 'base64url')).toHaveLength(64)
    expect(first.logs.join('')).toMatch(/"level":40.*no LATCHKEY_SECRET or LATCHKEY_PRIVATE_KEY_FILE/)
    const who = await userOn(first)
    await first.close()
    running.splice(running.indexOf(first), 1)
    const second = await server({ databaseUrl, secret: '', dataDir })
    expect((await second.client.get('/auth/me', { token: who.access })).status).toBe(200)
    await second.close()
    running.splice(running.indexOf(second), 1)
    // A key others can read stops start-up with the fix.
    chmodSync(path, 0o644)
    await expect(server({ databaseUrl, secret: '', dataDir })).rejects.toThrow(/chmod 600/)
  })

  it('refuses a short secret at start with one line naming the variable', async () => {
    await expect(server({ secret: 'too short' })).rejects.toThrow(
      /^LATCHKEY_SECRET: the HS256 secret is 9 bytes/,
    )
  })
})

describe('password hashes', () => {
  it('upgrades a hash made with other parameters at the next successful login', async () => {
    const s = await server({ argon2: 'm=2048,t=1,p=1' })
    const { email, from } = fresh()
    const old = await new PasswordHasher({ memoryCost: 1024, timeCost: 1, parallelism: 1 }).hash(PASSWORD)
    const { id } = await s.app.latchkey.users.create({ email, passwordHash: old })
    expect((await s.client.login(email, 'wrong password', { from })).status).toBe(401)
    expect((await s.app.latchkey.users.findById(id))!.passwordHash).toBe(old)
    expect((await s.client.login(email, PASSWORD, { from })).status).toBe(200)
    const upgraded = (await s.app.latchkey.users.findById(id))!.passwordHash
    expect(parseOptions(upgraded)).toMatchObject({ memoryCost: 2048, timeCost: 1, parallelism: 1 })
    expect((await s.client.login(email, PASSWORD, { from })).status).toBe(200)
  })

  it('answers an unknown email in about the time of a wrong password (OWASP parameters)', async () => {
    const s = await server({ argon2: 'm=19456,t=2,p=1', loginMaxFailures: '100' })
    const who = fresh()
    expect((await s.client.signup(who.email, PASSWORD)).status).toBe(202)
    const time = async (email: string) => {
      const start = performance.now()
      const reply = await s.client.login(email, 'not the password', { from: who.from })
      expect(reply.status).toBe(401)
      return performance.now() - start
    }
    const wrong: number[] = []
    const unknown: number[] = []
    for (let i = 0; i < 7; i++) {
      wrong.push(await time(who.email))
      unknown.push(await time(fresh().email))
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[3]!
    // Both spend one argon2 verification (tens of milliseconds); without the dummy verification an
    // unknown email would answer in about a millisecond. Other tests share the CPUs, hence the margin.
    expect(median(unknown)).toBeGreaterThan(median(wrong) / 3)
    expect(median(wrong)).toBeGreaterThan(median(unknown) / 3)
  })
})

describe('failing backends', () => {
  it('fails closed when the database is gone: 503 from healthz, login and guarded routes', async () => {
    const s = await server({})
    const who = await userOn(s)
    await s.app.latchkey.database.close()
    const health = await s.client.get('/healthz')
    expect(health.status).toBe(503)
    expect(health.body).toEqual({
      status: 'unavailable',
      msg: 'database unavailable',
      code: 'SERVICE_UNAVAILABLE',
    })
    const login = await s.client.login(who.email, PASSWORD, { from: who.from })
    expect(login.status).toBe(503)
    expect(login.body.code).toBe('SERVICE_UNAVAILABLE')
    expect(login.headers.get('retry-after')).toBe('1')
    const me = await s.client.get('/auth/me', { token: who.access })
    expect(me.status).toBe(503)
    expect(me.body.code).toBe('REVOCATION_UNAVAILABLE')
  })

  it('starts when Redis cannot be reached, says where and why, and reports not ready', async () => {
    const s = await server({ redisUrl: 'redis://:secret@127.0.0.1:1', redisTimeout: '300ms' })
    const line = s.logs.find((l) => l.includes('cannot reach Redis'))
    expect(line).toBeDefined()
    // The address with its password hidden, and the cause (not "Connection is closed.").
    expect(JSON.parse(line!).msg).toMatch(
      /^cannot reach Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:1 \(.*ECONNREFUSED/,
    )
    expect(line).not.toContain('secret')
    expect((await s.client.get('/livez')).status).toBe(200)
    const ready = await s.client.get('/readyz')
    expect({ status: ready.status, body: ready.body }).toEqual({
      status: 503,
      body: { status: 'unavailable', msg: 'redis unavailable', code: 'SERVICE_UNAVAILABLE' },
    })
  })

  it('refuses bodies over 64 KiB with 413', async () => {
    const s = await server({})
    const reply = await s.client.post('/auth/login', { email: 'a@b.c', password: 'x'.repeat(70_000) })
    expect(reply.status).toBe(413)
    expect(reply.body).toEqual({ msg: 'Body too large', code: 'PAYLOAD_TOO_LARGE' })
  })
})

describe('buildServer', () => {
  it('closes cleanly without ever listening', async () => {
    const app = await buildServer(
      parseConfig({ databaseUrl: sqlite(), secret: 'x'.repeat(32), logLevel: 'silent' }, { cwd: folder.dir }),
      { cwd: folder.dir },
    )
    await app.close()
  })

  it('keeps refresh tokens of a remember-me login long, and of other logins at most a day', async () => {
    const s = await server({})
    const who = fresh()
    await s.client.signup(who.email, PASSWORD)
    const short = await s.client.login(who.email, PASSWORD, { from: who.from })
    const long = await s.client.login(who.email, PASSWORD, { from: who.from, remember: true })
    const lifetime = (t: string) => {
      const c = claimsOf(t) as { exp: number; iat: number }
      return c.exp - c.iat
    }
    expect(lifetime(short.body.access_token)).toBe(900)
    expect(lifetime(short.body.refresh_token)).toBe(86_400)
    expect(lifetime(long.body.refresh_token)).toBe(30 * 86_400)
  })
})
