/** Configuration parsing: defaults, durations, flags over environment, one clear line per mistake. */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parseDurationMs } from '../../src/index.js'
import { emailProblem, normalizeEmail, PasswordHasher, passwordLength } from '../../src/login/index.js'
import {
  OWASP_ARGON2,
  parseConfig,
  parseDuration,
  SETTINGS,
  ServerConfigError,
  settingsFromEnv,
  settingsFromFlags,
  sqlitePath,
} from '../../src/server/config.js'

describe('server configuration', () => {
  it('has the documented defaults', () => {
    const config = parseConfig({}, { cwd: '/srv/app' })
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 3000,
      databaseUrl: 'file:./data/latchkey.db',
      redisUrl: undefined,
      dataDir: '/srv/app/data',
      key: { kind: 'generate' },
      tokenLocations: ['headers', 'cookies'],
      accessTtl: 900,
      refreshTtl: 30 * 86_400,
      leeway: 0,
      issuer: [],
      audience: [],
      cookieSecure: true,
      loginMaxFailures: 5,
      loginWindow: 900,
      loginAddressMaxFailures: 0,
      trustProxy: false,
      metrics: false,
      argon2: OWASP_ARGON2,
    })
    expect(sqlitePath(config.databaseUrl, '/srv/app')).toBe('/srv/app/data/latchkey.db')
  })

  it('bounds every wait by default: database and Redis deadlines, slow clients, connections, shutdown', () => {
    expect(parseConfig({})).toMatchObject({
      dbReadTimeoutMs: 1_000,
      dbWriteTimeoutMs: 3_000,
      dbAcquireTimeoutMs: 1_000,
      dbPoolSize: 10,
      redisTimeoutMs: 1_000,
      redisRequirePersistence: false,
      requestTimeoutMs: 10_000,
      keepAliveTimeoutMs: 72_000,
      maxConnections: 2048,
      shutdownTimeoutMs: 15_000,
    })
    const tuned = parseConfig({
      dbReadTimeout: '250ms',
      dbWriteTimeout: '1.5s',
      dbAcquireTimeout: '2s',
      redisTimeout: '500ms',
      requestTimeout: '30s',
      keepAliveTimeout: '2m',
      maxConnections: '100',
      dbPoolSize: '3',
      redisRequirePersistence: 'true',
    })
    expect(tuned).toMatchObject({
      dbReadTimeoutMs: 250,
      dbWriteTimeoutMs: 1_500,
      dbAcquireTimeoutMs: 2_000,
      redisTimeoutMs: 500,
      requestTimeoutMs: 30_000,
      keepAliveTimeoutMs: 120_000,
      maxConnections: 100,
      dbPoolSize: 3,
      redisRequirePersistence: true,
    })
    // No deadline of zero (it would mean "none"), and none longer than a day.
    for (const [raw, message] of [
      [
        { dbReadTimeout: '0' },
        /^LATCHKEY_DB_READ_TIMEOUT \(--db-read-timeout\) must be from 1ms to 1d \(got "0"\)$/,
      ],
      [{ requestTimeout: '2d' }, /^LATCHKEY_REQUEST_TIMEOUT \(--request-timeout\) must be from 1ms to 1d/],
      [
        { redisTimeout: 'soon' },
        /^LATCHKEY_REDIS_TIMEOUT \(--redis-timeout\) must be a duration such as 250ms/,
      ],
      [{ maxConnections: '0' }, /^LATCHKEY_MAX_CONNECTIONS \(--max-connections\) must be a whole number/],
    ] as const)
      expect(() => parseConfig(raw)).toThrow(message)
  })

  it('reads durations with the core grammar, in whole seconds', () => {
    expect(parseDuration('900')).toBe(900)
    expect(parseDuration('2s')).toBe(2)
    expect(parseDuration('15m')).toBe(900)
    expect(parseDuration('12h')).toBe(43_200)
    expect(parseDuration('30d')).toBe(2_592_000)
    // What createAuth also accepts: weeks, fractions, a space before the unit.
    expect(parseDuration('1w')).toBe(604_800)
    expect(parseDuration('1.5h')).toBe(5_400)
    expect(parseDuration('1.5m')).toBe(90)
    expect(parseDuration('0.5m')).toBe(30)
    expect(parseDuration('15 m')).toBe(900)
    for (const bad of ['', '15x', '-1', 'm', '1y', '15 minutes', '1.5s', '0.2s', '1e3'])
      expect(parseDuration(bad), bad).toBeUndefined()
    // The very same grammar as the core's: every form the server reads, createAuth reads alike.
    for (const text of ['900', '2s', '15m', '1.5h', '30d', '1w', '15 m', '0.5m'])
      expect(parseDurationMs(text), text).toBe(parseDuration(text)! * 1000)
    expect(parseConfig({ accessTtl: '1.5h', refreshTtl: '2w', loginWindow: '0.25h' })).toMatchObject({
      accessTtl: 5_400,
      refreshTtl: 1_209_600,
      loginWindow: 900,
    })
    // The shutdown timeout is kept in milliseconds: a fraction of a second is fine there.
    expect(parseConfig({ shutdownTimeout: '1.5s' }).shutdownTimeoutMs).toBe(1_500)
  })

  it('refuses a duration that is not whole seconds, naming the setting and the flag', () => {
    for (const [raw, message] of [
      [
        { accessTtl: '1.5s' },
        'LATCHKEY_ACCESS_TTL (--access-ttl) must come to whole seconds, such as 2s, 90 or 1.5m (got "1.5s")',
      ],
      [
        { leeway: '0.5s' },
        'LATCHKEY_LEEWAY (--leeway) must come to whole seconds, such as 2s, 90 or 1.5m (got "0.5s")',
      ],
      [
        { refreshTtl: '1 year' },
        'LATCHKEY_REFRESH_TTL (--refresh-ttl) must be a duration such as 900, 2s, 15m, 1.5h, 30d or 1w (got "1 year")',
      ],
    ] as const)
      expect(() => parseConfig(raw)).toThrow(new ServerConfigError(message))
  })

  it('reads every variable of the environment, and flags win', () => {
    const env = {
      HOST: '0.0.0.0',
      PORT: '8080',
      DATABASE_URL: 'postgres://u@db/app',
      REDIS_URL: 'redis://cache:6379',
      LATCHKEY_SECRET: 's'.repeat(40),
      LATCHKEY_TOKEN_LOCATIONS: 'cookies, headers,json',
      LATCHKEY_ACCESS_TTL: '5m',
      LATCHKEY_REFRESH_TTL: '7d',
      LATCHKEY_COOKIE_SECURE: 'false',
      LATCHKEY_LEEWAY: '30',
      LATCHKEY_ISSUER: 'https://auth.example.com, https://old-auth.example.com',
      LATCHKEY_AUDIENCE: 'api',
      LATCHKEY_LOGIN_MAX_FAILURES: '10',
      LATCHKEY_LOGIN_WINDOW: '1h',
      LATCHKEY_METRICS: 'true',
      LATCHKEY_TRUST_PROXY: '10.0.0.0/8, 127.0.0.1',
      UNRELATED: 'x',
    }
    const config = parseConfig({
      ...settingsFromEnv(env),
      ...settingsFromFlags({ port: '9090', 'access-ttl': '60' }),
    })
    expect(config).toMatchObject({
      host: '0.0.0.0',
      port: 9090,
      databaseUrl: 'postgres://u@db/app',
      redisUrl: 'redis://cache:6379',
      key: { kind: 'secret', secret: 's'.repeat(40) },
      tokenLocations: ['cookies', 'headers', 'json'],
      accessTtl: 60,
      refreshTtl: 604_800,
      cookieSecure: false,
      leeway: 30,
      issuer: ['https://auth.example.com', 'https://old-auth.example.com'],
      audience: ['api'],
      loginMaxFailures: 10,
      loginWindow: 3_600,
      metrics: true,
      trustProxy: ['10.0.0.0/8', '127.0.0.1'],
    })
    expect(parseConfig({ trustProxy: '2' }).trustProxy).toBe(2)
  })

  it('names the variable and the flag, and what to write, in one line', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ port: 'http' }, /^PORT \(--port\) must be a whole number from 0 to 65535 \(got "http"\)$/],
      [{ port: '70000' }, /^PORT/],
      [
        { accessTtl: '15x' },
        /^LATCHKEY_ACCESS_TTL \(--access-ttl\) must be a duration such as 900, 2s, 15m, 1.5h, 30d or 1w/,
      ],
      [{ refreshTtl: '0' }, /^LATCHKEY_REFRESH_TTL .* at least 1 second/],
      [{ leeway: '10m' }, /^LATCHKEY_LEEWAY .* at most 5m/],
      [{ issuer: 'my issuer' }, /^LATCHKEY_ISSUER \(--issuer\) must be names without spaces/],
      [{ audience: 'api,web,api' }, /^LATCHKEY_AUDIENCE .* twice/],
      [{ tokenLocations: 'headers,body' }, /^LATCHKEY_TOKEN_LOCATIONS .* "body"/],
      [{ tokenLocations: 'headers,headers' }, /twice/],
      [{ cookieSecure: 'maybe' }, /^LATCHKEY_COOKIE_SECURE .* true or false/],
      [{ loginMaxFailures: '0' }, /^LATCHKEY_LOGIN_MAX_FAILURES/],
      [{ databaseUrl: 'mysql://x' }, /^DATABASE_URL .* file: .* postgres:\/\//],
      [{ redisUrl: 'localhost:6379' }, /^REDIS_URL .* redis:\/\//],
      [
        { secret: 'x'.repeat(40), privateKeyFile: 'k.pem' },
        /either LATCHKEY_SECRET .* or LATCHKEY_PRIVATE_KEY_FILE/,
      ],
      [{ privateKeyFile: 'k.pem' }, /^LATCHKEY_ALGORITHM .* required/],
      [{ privateKeyFile: 'k.pem', algorithm: 'HS256' }, /^LATCHKEY_ALGORITHM/],
      [{ algorithm: 'ES256' }, /LATCHKEY_PRIVATE_KEY_FILE is not/],
      [{ argon2: 'm=4,t=1,p=1' }, /^LATCHKEY_ARGON2 .* needs m from 8/],
      [{ argon2: 'fast' }, /^LATCHKEY_ARGON2 .* m=19456,t=2,p=1/],
      [{ logLevel: 'loud' }, /^LOG_LEVEL/],
      [{ trustProxy: 'everyone' }, /^LATCHKEY_TRUST_PROXY/],
    ]
    for (const [raw, message] of cases) {
      let error: unknown
      try {
        parseConfig(raw)
      } catch (e) {
        error = e
      }
      expect(error, JSON.stringify(raw)).toBeInstanceOf(ServerConfigError)
      expect((error as Error).message).toMatch(message)
      expect((error as Error).message).not.toContain('\n')
    }
  })

  it('never echoes a database URL, which may hold a password', () => {
    expect(() => parseConfig({ databaseUrl: 'mysql://root:hunter2@db' })).toThrow(/^(?!.*hunter2)/)
  })

  it('lists every setting as an environment variable and a flag', () => {
    const envs = Object.values(SETTINGS).map((s) => s.env)
    for (const name of [
      'HOST',
      'PORT',
      'DATABASE_URL',
      'REDIS_URL',
      'LATCHKEY_SECRET',
      'LATCHKEY_PRIVATE_KEY_FILE',
      'LATCHKEY_ALGORITHM',
      'LATCHKEY_TOKEN_LOCATIONS',
      'LATCHKEY_ACCESS_TTL',
      'LATCHKEY_REFRESH_TTL',
      'LATCHKEY_COOKIE_SECURE',
      'LATCHKEY_LEEWAY',
      'LATCHKEY_LOGIN_MAX_FAILURES',
      'LATCHKEY_LOGIN_WINDOW',
      'LATCHKEY_METRICS',
    ])
      expect(envs).toContain(name)
  })

  it('docs/server.md documents every setting in its configuration table', () => {
    const docs = readFileSync(new URL('../../docs/server.md', import.meta.url), 'utf8')
    const section = docs.slice(
      docs.indexOf('## Configuration'),
      docs.indexOf('\n## ', docs.indexOf('## Configuration') + 1),
    )
    const firstColumns = section
      .split('\n')
      .filter((line) => line.startsWith('| `'))
      .map((line) => line.split('|')[1]!)
    for (const spec of Object.values(SETTINGS))
      expect(
        firstColumns.some((cell) => cell.includes(`\`${spec.env}\``)),
        spec.env,
      ).toBe(true)
  })

  it('resolves SQLite URLs relative to the working directory', () => {
    expect(sqlitePath('file:./data/x.db', '/a')).toBe('/a/data/x.db')
    expect(sqlitePath('file:x.db', '/a')).toBe('/a/x.db')
    expect(sqlitePath('file:/abs/x.db', '/a')).toBe('/abs/x.db')
    expect(sqlitePath('file:///abs/x.db', '/a')).toBe('/abs/x.db')
    expect(sqlitePath('postgres://x/y', '/a')).toBeUndefined()
  })
})

describe('emails', () => {
  it('trims, lower-cases and NFC-normalises', () => {
    expect(normalizeEmail('  Ada@Example.COM\t')).toBe('ada@example.com')
    expect(normalizeEmail('CAFE\u0301@x.io')).toBe('caf\u00e9@x.io')
    expect(normalizeEmail('caf\u00e9@x.io')).toBe(normalizeEmail('cafe\u0301@X.io'))
  })

  it('refuses control and invisible characters, everywhere; the shape only at signup', () => {
    for (const bad of ['a\u0000b@x.io', 'a\u0007@x.io', 'a\u200b@x.io', 'a\u202e@x.io', 'a\ud800@x.io']) {
      expect(emailProblem(bad, { strict: false })).toBeDefined()
    }
    expect(emailProblem('legacy-name', { strict: false })).toBeUndefined()
    expect(emailProblem('legacy-name', { strict: true })).toBeDefined()
    expect(emailProblem('a b@x.io', { strict: true })).toBeDefined()
    expect(emailProblem(`${'a'.repeat(250)}@x.io`, { strict: false })).toMatch(/254/)
  })
})

describe('passwords', () => {
  const hasher = new PasswordHasher({ memoryCost: 1024, timeCost: 1, parallelism: 1 })

  it('hashes with argon2id and a 16-byte salt; verifies; flags other parameters for rehash', async () => {
    const hash = await hasher.hash('pässword')
    expect(hash).toMatch(/^\$argon2id\$v=19\$m=1024,t=1,p=1\$[A-Za-z0-9+/]{22}\$/)
    expect(await hasher.verify(hash, 'pässword')).toBe(true)
    expect(await hasher.verify(hash, 'password')).toBe(false)
    expect(await hasher.verify('not a hash', 'x')).toBe(false)
    expect(hasher.needsRehash(hash)).toBe(false)
    expect(new PasswordHasher(OWASP_ARGON2).needsRehash(hash)).toBe(true)
    expect(hasher.needsRehash('$2b$10$bcrypt-hash')).toBe(true)
  })

  it('hashes the whole password, NUL included', async () => {
    const hash = await hasher.hash('abc\u0000def')
    expect(await hasher.verify(hash, 'abc')).toBe(false)
    expect(await hasher.verify(hash, 'abc\u0000')).toBe(false)
    expect(await hasher.verify(hash, 'abc\u0000def')).toBe(true)
  })

  it('counts characters as code points', () => {
    expect(passwordLength('😀😀')).toBe(2)
    expect(passwordLength('abc')).toBe(3)
  })

  it('bounds concurrent hashes and refuses beyond the queue', async () => {
    const small = new PasswordHasher(
      { memoryCost: 1024, timeCost: 1, parallelism: 1 },
      { concurrency: 1, maxQueue: 2 },
    )
    const results = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => small.hash(`password ${i}`)))
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3)
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(2)
    expect(await small.hash('again')).toMatch(/^\$argon2id/)
  })

  it('spends a verification on unknown emails (dummy hash)', async () => {
    expect(await hasher.verifyDummy('anything')).toBe(false)
  })
})
