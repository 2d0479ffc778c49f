/**
 * Configuration of the reference server: every setting is an environment variable and a
 * `latchkey serve` flag (the flag wins). Parsing is strict: an invalid value stops start-up with one
 * line naming the variable, the flag and what to write instead.
 */
import { isAbsolute, resolve } from 'node:path'
import { parseDurationMs, type TokenLocation } from '../index.js'
import type { Argon2Params, EmailVerification } from '../login/index.js'

export { type Argon2Params, OWASP_ARGON2 } from '../login/index.js'

/** A configuration mistake. Its message is one line that says what to fix; `main` prints it and exits 1. */
export class ServerConfigError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'ServerConfigError'
  }
}

/** Where the signing key comes from. */
export type KeySource =
  | { kind: 'secret'; secret: string }
  | { kind: 'file'; path: string; algorithm: string }
  | { kind: 'generate' }

/** `LATCHKEY_TRUST_PROXY`: Fastify's `trustProxy` (false, true, a hop count, or addresses/CIDRs). */
export type TrustProxy = boolean | number | string[]

/** The whole server configuration, with defaults applied. Durations are in seconds. */
export interface ServerConfig {
  host: string
  port: number
  /** `file:<path>` (SQLite) or `postgres://...`. */
  databaseUrl: string
  redisUrl: string | undefined
  /** Prefix of every Redis key (revocations and rate limits). */
  redisPrefix: string
  /** Folder of the SQLite file's default location and of the generated key. Absolute. */
  dataDir: string
  key: KeySource
  /** HS256 secrets still accepted for verification (key rotation). */
  previousSecrets: string[]
  /** PEM files (public or private) still accepted for verification (key rotation). */
  previousKeyFiles: string[]
  tokenLocations: TokenLocation[]
  accessTtl: number
  refreshTtl: number
  leeway: number
  /** `iss` of issued tokens (the first) and every issuer accepted; empty: none set or required. */
  issuer: string[]
  /** `aud` of issued tokens, one of which every token must carry; empty: none set or required. */
  audience: string[]
  cookieSecure: boolean
  loginMaxFailures: number
  loginWindow: number
  /** Failed logins per client address per window before that address is refused; 0 turns it off. */
  loginAddressMaxFailures: number
  trustProxy: TrustProxy
  /** Implicit-refresh window in seconds for cookie tokens, or false. */
  implicitRefresh: number | false
  demoPage: boolean
  metrics: boolean
  argon2: Argon2Params
  logLevel: string
  /** Longest wait for requests in flight at shutdown, in milliseconds. */
  shutdownTimeoutMs: number
  /** Deadline of one database read (revocation check, user lookup), in milliseconds. */
  dbReadTimeoutMs: number
  /** Deadline of one database write (signup, revocations, counters), in milliseconds. */
  dbWriteTimeoutMs: number
  /** Longest wait for a pooled PostgreSQL connection (a free one, or a new one), in milliseconds. */
  dbAcquireTimeoutMs: number
  /** PostgreSQL connections per instance. */
  dbPoolSize: number
  /** Deadline of one Redis command, in milliseconds. */
  redisTimeoutMs: number
  /** Refuse a Redis that keeps nothing on disk (neither AOF nor RDB snapshots). */
  redisRequirePersistence: boolean
  /** Longest time a client may take to send a whole request (headers and body), in milliseconds. */
  requestTimeoutMs: number
  /** How long an idle keep-alive connection stays open, in milliseconds. */
  keepAliveTimeoutMs: number
  /** Most connections open at once; more are closed as they arrive. */
  maxConnections: number
  /** `smtp://...` or `smtps://...`; without it mail is written to the log. */
  smtpUrl: string | undefined
  /** The sender of mail (required with SMTP_URL). */
  mailFrom: string | undefined
  /** Where mailed links point (`${publicUrl}/#reset-password=...`); default the listening URL. */
  publicUrl: string | undefined
  /** The product name in mails. */
  appName: string
  /** `optional`, `required` (no login before the address is verified) or `off`. */
  emailVerification: EmailVerification
  /** Lifetime of a password reset link, in seconds. */
  resetTtl: number
  /** Lifetime of an email verification link, in seconds. */
  verifyTtl: number
  /** Reset and verification mails asked for per email per window. */
  mailMaxPerEmail: number
  /** Reset and verification mails asked for per client address per window. */
  mailMaxPerAddress: number
  /** The mail rate-limit window, in seconds. */
  mailWindow: number
}

/** One setting: its environment variable, its flag, its help line and its default (as text). */
export interface SettingSpec {
  env: string
  flag: string
  help: string
  default?: string
}

/** Every setting, in the order `--help` lists them. */
export const SETTINGS = {
  host: { env: 'HOST', flag: 'host', help: 'address to listen on', default: '127.0.0.1' },
  port: { env: 'PORT', flag: 'port', help: 'port to listen on (0: any free port)', default: '3000' },
  databaseUrl: {
    env: 'DATABASE_URL',
    flag: 'database-url',
    help: 'file:<path> for SQLite (relative to the working directory), or postgres://...',
    default: 'file:./data/latchkey.db',
  },
  redisUrl: {
    env: 'REDIS_URL',
    flag: 'redis-url',
    help: 'redis://...; when set, revocations and login rate limits live in Redis',
  },
  redisPrefix: {
    env: 'LATCHKEY_REDIS_PREFIX',
    flag: 'redis-prefix',
    help: 'prefix of every Redis key',
    default: 'latchkey:',
  },
  dataDir: {
    env: 'LATCHKEY_DATA_DIR',
    flag: 'data-dir',
    help: 'folder for the generated key (and the default SQLite file)',
    default: './data',
  },
  secret: {
    env: 'LATCHKEY_SECRET',
    flag: 'secret',
    help: 'HS256 secret, at least 32 bytes (prefer the variable: flags show in process lists)',
  },
  privateKeyFile: {
    env: 'LATCHKEY_PRIVATE_KEY_FILE',
    flag: 'private-key-file',
    help: 'PEM private key file (see `latchkey keygen`); needs LATCHKEY_ALGORITHM',
  },
  algorithm: {
    env: 'LATCHKEY_ALGORITHM',
    flag: 'algorithm',
    help: 'algorithm of the private key: RS256..512, PS256..512, ES256..512 or EdDSA',
  },
  previousSecrets: {
    env: 'LATCHKEY_PREVIOUS_SECRETS',
    flag: 'previous-secrets',
    help: 'comma list of old HS256 secrets still accepted (key rotation)',
  },
  previousKeyFiles: {
    env: 'LATCHKEY_PREVIOUS_KEY_FILES',
    flag: 'previous-key-files',
    help: 'comma list of old PEM key files still accepted (key rotation)',
  },
  tokenLocations: {
    env: 'LATCHKEY_TOKEN_LOCATIONS',
    flag: 'token-locations',
    help: 'comma list of headers, cookies, json, query (order = precedence)',
    default: 'headers,cookies',
  },
  accessTtl: {
    env: 'LATCHKEY_ACCESS_TTL',
    flag: 'access-ttl',
    help: 'access token lifetime (900, 2s, 15m, 1.5h, 30d, 1w: seconds without a unit)',
    default: '15m',
  },
  refreshTtl: {
    env: 'LATCHKEY_REFRESH_TTL',
    flag: 'refresh-ttl',
    help: 'refresh token lifetime of "remember me" logins',
    default: '30d',
  },
  cookieSecure: {
    env: 'LATCHKEY_COOKIE_SECURE',
    flag: 'cookie-secure',
    help: 'Secure attribute on cookies (false only for plain-HTTP development)',
    default: 'true',
  },
  leeway: { env: 'LATCHKEY_LEEWAY', flag: 'leeway', help: 'clock tolerance for exp/nbf', default: '0' },
  issuer: {
    env: 'LATCHKEY_ISSUER',
    flag: 'issuer',
    help: 'iss of issued tokens, required on every token (a list: the first is set, all are accepted)',
  },
  audience: {
    env: 'LATCHKEY_AUDIENCE',
    flag: 'audience',
    help: 'aud of issued tokens; every token must name one of them (comma-separated)',
  },
  loginMaxFailures: {
    env: 'LATCHKEY_LOGIN_MAX_FAILURES',
    flag: 'login-max-failures',
    help: 'failed logins per (client address, email) per window before 429',
    default: '5',
  },
  loginWindow: {
    env: 'LATCHKEY_LOGIN_WINDOW',
    flag: 'login-window',
    help: 'rate-limit window (and lock-out length)',
    default: '15m',
  },
  loginAddressMaxFailures: {
    env: 'LATCHKEY_LOGIN_ADDRESS_MAX_FAILURES',
    flag: 'login-address-max-failures',
    help: 'failed logins per client address (any email) per window before 429; 0 = off',
    default: '0',
  },
  trustProxy: {
    env: 'LATCHKEY_TRUST_PROXY',
    flag: 'trust-proxy',
    help: 'false, true, a hop count, or comma list of proxy addresses/CIDRs (X-Forwarded-For)',
    default: 'false',
  },
  implicitRefresh: {
    env: 'LATCHKEY_IMPLICIT_REFRESH',
    flag: 'implicit-refresh',
    help: 'with cookies: re-issue the access cookie when it expires within this window; off to disable',
    default: 'auto (a third of the access TTL, at most 5m)',
  },
  demoPage: {
    env: 'LATCHKEY_DEMO_PAGE',
    flag: 'demo-page',
    help: 'serve the browser demo page at /',
    default: 'true',
  },
  metrics: {
    env: 'LATCHKEY_METRICS',
    flag: 'metrics',
    help: 'serve Prometheus metrics at /metrics',
    default: 'false',
  },
  argon2: {
    env: 'LATCHKEY_ARGON2',
    flag: 'argon2',
    help: 'argon2id cost m=<KiB>,t=<passes>,p=<lanes>; lower only for tests',
    default: 'm=19456,t=2,p=1',
  },
  logLevel: {
    env: 'LOG_LEVEL',
    flag: 'log-level',
    help: 'fatal, error, warn, info, debug, trace or silent',
    default: 'info',
  },
  shutdownTimeout: {
    env: 'LATCHKEY_SHUTDOWN_TIMEOUT',
    flag: 'shutdown-timeout',
    help: 'longest wait for requests in flight at shutdown',
    default: '15s',
  },
  dbReadTimeout: {
    env: 'LATCHKEY_DB_READ_TIMEOUT',
    flag: 'db-read-timeout',
    help: 'deadline of a database read (revocation check, user lookup); then 503 with Retry-After',
    default: '1s',
  },
  dbWriteTimeout: {
    env: 'LATCHKEY_DB_WRITE_TIMEOUT',
    flag: 'db-write-timeout',
    help: 'deadline of a database write (signup, logout, login counters); then 503 with Retry-After',
    default: '3s',
  },
  dbAcquireTimeout: {
    env: 'LATCHKEY_DB_ACQUIRE_TIMEOUT',
    flag: 'db-acquire-timeout',
    help: 'longest wait for a PostgreSQL pool connection; then 503 with Retry-After',
    default: '1s',
  },
  dbPoolSize: {
    env: 'LATCHKEY_DB_POOL_SIZE',
    flag: 'db-pool-size',
    help: 'PostgreSQL connections per instance',
    default: '10',
  },
  redisTimeout: {
    env: 'LATCHKEY_REDIS_TIMEOUT',
    flag: 'redis-timeout',
    help: 'deadline of a Redis command; then 503 with Retry-After',
    default: '1s',
  },
  redisRequirePersistence: {
    env: 'LATCHKEY_REDIS_REQUIRE_PERSISTENCE',
    flag: 'redis-require-persistence',
    help: 'refuse a Redis without AOF or RDB (it forgets revocations on restart); default: warn',
    default: 'false',
  },
  requestTimeout: {
    env: 'LATCHKEY_REQUEST_TIMEOUT',
    flag: 'request-timeout',
    help: 'longest time a client may take to send a whole request; then 408 and the connection closes',
    default: '10s',
  },
  keepAliveTimeout: {
    env: 'LATCHKEY_KEEP_ALIVE_TIMEOUT',
    flag: 'keep-alive-timeout',
    help: "idle keep-alive connections close after this (keep it above your load balancer's)",
    default: '72s',
  },
  maxConnections: {
    env: 'LATCHKEY_MAX_CONNECTIONS',
    flag: 'max-connections',
    help: 'most connections open at once; more are closed as they arrive',
    default: '2048',
  },
  smtpUrl: {
    env: 'SMTP_URL',
    flag: 'smtp-url',
    help: 'smtp://user:pass@host:587 or smtps://...:465; without it mail is written to the log (development)',
  },
  mailFrom: {
    env: 'MAIL_FROM',
    flag: 'mail-from',
    help: 'sender of mail, such as "Example <no-reply@example.com>" (required with SMTP_URL)',
  },
  publicUrl: {
    env: 'LATCHKEY_PUBLIC_URL',
    flag: 'public-url',
    help: 'where mailed links point (https://app.example.com); default the address the server listens on',
  },
  appName: {
    env: 'LATCHKEY_APP_NAME',
    flag: 'app-name',
    help: 'the product name in mails',
    default: 'latchkey',
  },
  emailVerification: {
    env: 'LATCHKEY_EMAIL_VERIFICATION',
    flag: 'email-verification',
    help: 'optional (a mail at sign-up), required (no login before verifying: USER_UNVERIFIED) or off',
    default: 'optional',
  },
  resetTtl: {
    env: 'LATCHKEY_RESET_TTL',
    flag: 'reset-ttl',
    help: 'how long a password reset link works',
    default: '30m',
  },
  verifyTtl: {
    env: 'LATCHKEY_VERIFY_TTL',
    flag: 'verify-ttl',
    help: 'how long an email verification link works',
    default: '24h',
  },
  mailMaxPerEmail: {
    env: 'LATCHKEY_MAIL_MAX_PER_EMAIL',
    flag: 'mail-max-per-email',
    help: 'reset and verification mails asked for per email per window before 429',
    default: '3',
  },
  mailMaxPerAddress: {
    env: 'LATCHKEY_MAIL_MAX_PER_ADDRESS',
    flag: 'mail-max-per-address',
    help: 'reset and verification mails asked for per client address per window before 429',
    default: '20',
  },
  mailWindow: {
    env: 'LATCHKEY_MAIL_WINDOW',
    flag: 'mail-window',
    help: 'the window of the mail limits',
    default: '1h',
  },
} as const satisfies Record<string, SettingSpec>

/** Setting names. */
export type SettingName = keyof typeof SETTINGS

/** Values as given (environment or flags), before parsing. */
export type RawSettings = Partial<Record<SettingName, string | undefined>>

function where(name: SettingName): string {
  const s = SETTINGS[name]
  return `${s.env} (--${s.flag})`
}

function fail(name: SettingName, what: string, got: string): never {
  throw new ServerConfigError(`${where(name)} ${what} (got ${JSON.stringify(got)})`)
}

/** What a duration setting accepts, for error messages. */
const DURATION_FORMS = 'a duration such as 900, 2s, 15m, 1.5h, 30d or 1w'

/**
 * Why `text` is not a duration in whole seconds, or undefined when it is one. The grammar is the
 * core's (`createAuth` reads the same forms): a decimal number of seconds or of `s`, `m`, `h`, `d`
 * or `w`. Fractions are fine when they come to whole seconds (`1.5h` is 5400 s, `0.5m` is 30 s);
 * `1.5s` or `0.2s` are refused rather than rounded, since the server counts in seconds.
 */
export function durationProblem(text: string): string | undefined {
  const ms = parseDurationMs(text)
  if (ms === undefined || !Number.isSafeInteger(ms)) return `must be ${DURATION_FORMS}`
  if (ms % 1000 !== 0) return 'must come to whole seconds, such as 2s, 90 or 1.5m'
  return undefined
}

/**
 * Parses a duration into whole seconds: `900` (seconds), `2s`, `15m`, `1.5h`, `30d`, `1w`. Returns
 * undefined when the text is not one, or does not come to whole seconds ({@link durationProblem}
 * says why).
 */
export function parseDuration(text: string): number | undefined {
  if (durationProblem(text) !== undefined) return undefined
  return parseDurationMs(text)! / 1000
}

function duration(name: SettingName, text: string, min: number): number {
  const problem = durationProblem(text)
  if (problem !== undefined) fail(name, problem, text)
  const seconds = parseDurationMs(text)! / 1000
  if (seconds < min) fail(name, `must be at least ${min} second${min === 1 ? '' : 's'}`, text)
  return seconds
}

/** A duration in milliseconds, where sub-second values make sense (timeouts and deadlines). */
function durationInMs(name: SettingName, text: string): number {
  const ms = parseDurationMs(text)
  if (ms === undefined || !Number.isSafeInteger(ms))
    fail(name, 'must be a duration such as 250ms, 1.5s, 10s or 2m', text)
  return ms
}

/** A deadline in milliseconds (`250ms`, `1s`, `2m`): at least 1 ms and at most a day. */
function deadline(name: SettingName, text: string): number {
  const ms = durationInMs(name, text)
  if (ms < 1 || ms > 86_400_000) fail(name, 'must be from 1ms to 1d', text)
  return ms
}

function integer(name: SettingName, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text.trim())) fail(name, `must be a whole number from ${min} to ${max}`, text)
  const n = Number(text)
  if (n < min || n > max) fail(name, `must be a whole number from ${min} to ${max}`, text)
  return n
}

function boolean(name: SettingName, text: string): boolean {
  const t = text.trim().toLowerCase()
  if (['true', '1', 'yes', 'on'].includes(t)) return true
  if (['false', '0', 'no', 'off'].includes(t)) return false
  return fail(name, 'must be true or false', text)
}

function list(text: string | undefined): string[] {
  if (text === undefined) return []
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
}

/** A comma-separated list of issuers or audiences: no blanks inside a name, no repeats. */
function claimList(name: SettingName, text: string | undefined): string[] {
  const items = list(text)
  for (const item of items)
    if (/\s/.test(item)) fail(name, 'must be names without spaces, comma-separated', item)
  if (new Set(items).size !== items.length) fail(name, 'lists a name twice', text ?? '')
  return items
}

const LOCATIONS: readonly TokenLocation[] = ['headers', 'cookies', 'json', 'query']
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']
const ASYMMETRIC = /^(RS|PS|ES)(256|384|512)$|^EdDSA$/

function locations(text: string): TokenLocation[] {
  const items = list(text)
  if (items.length === 0)
    fail('tokenLocations', 'must list at least one of headers, cookies, json, query', text)
  for (const item of items) {
    if (!LOCATIONS.includes(item as TokenLocation))
      fail('tokenLocations', `has "${item}"; use a comma list of headers, cookies, json, query`, text)
  }
  if (new Set(items).size !== items.length) fail('tokenLocations', 'lists a location twice', text)
  return items as TokenLocation[]
}

function argon2(text: string): Argon2Params {
  const params: Partial<Argon2Params> = {}
  const keys: Record<string, keyof Argon2Params> = { m: 'memoryCost', t: 'timeCost', p: 'parallelism' }
  for (const part of list(text)) {
    const m = /^([mtp])=(\d+)$/.exec(part)
    const key = m ? keys[m[1]!] : undefined
    if (!m || !key || params[key] !== undefined) fail('argon2', 'must look like m=19456,t=2,p=1', text)
    params[key] = Number(m[2])
  }
  const { memoryCost, timeCost, parallelism } = params
  if (memoryCost === undefined || timeCost === undefined || parallelism === undefined)
    fail('argon2', 'must give m, t and p, like m=19456,t=2,p=1', text)
  if (parallelism < 1 || parallelism > 16) fail('argon2', 'needs p from 1 to 16', text)
  if (timeCost < 1 || timeCost > 100) fail('argon2', 'needs t from 1 to 100', text)
  // argon2 itself needs at least 8 KiB per lane; more than 4 GiB per hash is surely a typo.
  if (memoryCost < 8 * parallelism || memoryCost > 4_194_304)
    fail('argon2', `needs m from ${8 * parallelism} (8 KiB per lane) to 4194304 KiB`, text)
  return { memoryCost, timeCost, parallelism }
}

function trustProxy(text: string): TrustProxy {
  const t = text.trim()
  if (/^(true|false)$/i.test(t)) return t.toLowerCase() === 'true'
  if (/^\d+$/.test(t)) return integer('trustProxy', t, 0, 100)
  const items = list(t)
  if (
    items.length === 0 ||
    items.some((i) => !/^[0-9a-fA-F:.]+(\/\d{1,3})?$|^(loopback|linklocal|uniquelocal)$/.test(i))
  )
    fail('trustProxy', 'must be false, true, a hop count, or a comma list of addresses/CIDRs', text)
  return items
}

function databaseUrl(text: string): string {
  const t = text.trim()
  if (t.startsWith('file:') && t.length > 'file:'.length) return t
  if (/^postgres(ql)?:\/\/./.test(t)) {
    try {
      new URL(t)
    } catch {
      fail('databaseUrl', 'is not a valid URL', '<hidden>')
    }
    return t
  }
  // Never echo the value: a URL may carry a password.
  throw new ServerConfigError(
    `${where('databaseUrl')} must start with file: (SQLite) or postgres:// / postgresql:// (PostgreSQL)`,
  )
}

/**
 * Parses raw settings (from the environment, overridden by flags) into a ServerConfig.
 * Throws ServerConfigError with one line naming the setting to fix.
 *
 * @example
 * ```ts
 * const config = parseConfig(settingsFromEnv(process.env), { cwd: process.cwd() })
 * ```
 */
export function parseConfig(raw: RawSettings, options: { cwd?: string } = {}): ServerConfig {
  const cwd = options.cwd ?? process.cwd()
  const value = (name: SettingName): string | undefined => {
    const v = raw[name]
    return v === undefined || v === '' ? undefined : v
  }
  const get = (name: SettingName): string => {
    const v = value(name)
    if (v !== undefined) return v
    const spec: SettingSpec = SETTINGS[name]
    return spec.default ?? ''
  }

  const secret = value('secret')
  const keyFile = value('privateKeyFile')
  const algorithm = value('algorithm')
  let key: KeySource
  if (secret !== undefined && keyFile !== undefined) {
    throw new ServerConfigError(`set either ${where('secret')} or ${where('privateKeyFile')}, not both`)
  }
  if (secret !== undefined) {
    if (algorithm !== undefined && algorithm !== 'HS256')
      throw new ServerConfigError(
        `${where('algorithm')} is for LATCHKEY_PRIVATE_KEY_FILE; LATCHKEY_SECRET is always HS256`,
      )
    key = { kind: 'secret', secret }
  } else if (keyFile !== undefined) {
    if (algorithm === undefined)
      throw new ServerConfigError(
        `${where('algorithm')} is required with LATCHKEY_PRIVATE_KEY_FILE (RS256..512, PS256..512, ES256..512 or EdDSA)`,
      )
    if (!ASYMMETRIC.test(algorithm))
      fail(
        'algorithm',
        'must be RS256..512, PS256..512, ES256..512 or EdDSA (HS keys go in LATCHKEY_SECRET)',
        algorithm,
      )
    key = { kind: 'file', path: resolve(cwd, keyFile), algorithm }
  } else {
    if (algorithm !== undefined)
      throw new ServerConfigError(`${where('algorithm')} is set but LATCHKEY_PRIVATE_KEY_FILE is not`)
    key = { kind: 'generate' }
  }

  const logLevel = get('logLevel').toLowerCase()
  if (!LOG_LEVELS.includes(logLevel)) fail('logLevel', `must be one of ${LOG_LEVELS.join(', ')}`, logLevel)
  const redisUrl = value('redisUrl')
  if (redisUrl !== undefined && !/^rediss?:\/\/./.test(redisUrl))
    throw new ServerConfigError(`${where('redisUrl')} must start with redis:// or rediss://`)
  const redisPrefix = get('redisPrefix')
  if (!/^[\w:.{}-]{1,64}$/.test(redisPrefix))
    fail('redisPrefix', 'must be 1 to 64 letters, digits or _ - : . { }', redisPrefix)
  const dataDir = get('dataDir')

  const config: ServerConfig = {
    host: get('host'),
    port: integer('port', get('port'), 0, 65_535),
    databaseUrl: databaseUrl(get('databaseUrl')),
    redisUrl,
    redisPrefix,
    dataDir: isAbsolute(dataDir) ? dataDir : resolve(cwd, dataDir),
    key,
    previousSecrets: list(value('previousSecrets')),
    previousKeyFiles: list(value('previousKeyFiles')).map((f) => resolve(cwd, f)),
    tokenLocations: locations(get('tokenLocations')),
    accessTtl: duration('accessTtl', get('accessTtl'), 1),
    refreshTtl: duration('refreshTtl', get('refreshTtl'), 1),
    leeway: duration('leeway', get('leeway'), 0),
    issuer: claimList('issuer', value('issuer')),
    audience: claimList('audience', value('audience')),
    cookieSecure: boolean('cookieSecure', get('cookieSecure')),
    loginMaxFailures: integer('loginMaxFailures', get('loginMaxFailures'), 1, 1_000_000),
    loginWindow: duration('loginWindow', get('loginWindow'), 1),
    loginAddressMaxFailures: integer('loginAddressMaxFailures', get('loginAddressMaxFailures'), 0, 1_000_000),
    trustProxy: trustProxy(get('trustProxy')),
    implicitRefresh: false,
    demoPage: boolean('demoPage', get('demoPage')),
    metrics: boolean('metrics', get('metrics')),
    argon2: argon2(get('argon2')),
    logLevel,
    shutdownTimeoutMs: durationInMs('shutdownTimeout', get('shutdownTimeout')),
    dbReadTimeoutMs: deadline('dbReadTimeout', get('dbReadTimeout')),
    dbWriteTimeoutMs: deadline('dbWriteTimeout', get('dbWriteTimeout')),
    dbAcquireTimeoutMs: deadline('dbAcquireTimeout', get('dbAcquireTimeout')),
    dbPoolSize: integer('dbPoolSize', get('dbPoolSize'), 1, 1_000),
    redisTimeoutMs: deadline('redisTimeout', get('redisTimeout')),
    redisRequirePersistence: boolean('redisRequirePersistence', get('redisRequirePersistence')),
    requestTimeoutMs: deadline('requestTimeout', get('requestTimeout')),
    keepAliveTimeoutMs: deadline('keepAliveTimeout', get('keepAliveTimeout')),
    maxConnections: integer('maxConnections', get('maxConnections'), 1, 1_000_000),
    smtpUrl: smtpUrl(value('smtpUrl')),
    mailFrom: value('mailFrom')?.trim(),
    publicUrl: publicUrl(value('publicUrl')),
    appName: get('appName').trim(),
    emailVerification: emailVerification(get('emailVerification')),
    resetTtl: duration('resetTtl', get('resetTtl'), 60),
    verifyTtl: duration('verifyTtl', get('verifyTtl'), 60),
    mailMaxPerEmail: integer('mailMaxPerEmail', get('mailMaxPerEmail'), 1, 1_000_000),
    mailMaxPerAddress: integer('mailMaxPerAddress', get('mailMaxPerAddress'), 1, 1_000_000),
    mailWindow: duration('mailWindow', get('mailWindow'), 1),
  }
  if (config.smtpUrl !== undefined && !config.mailFrom)
    throw new ServerConfigError(`${where('mailFrom')} is required with SMTP_URL (the sender of every mail)`)
  if (config.mailFrom !== undefined && /[\r\n]/.test(config.mailFrom))
    fail('mailFrom', 'must be one line', config.mailFrom)
  if (config.appName === '' || /[\p{Cc}]/u.test(config.appName))
    fail('appName', 'must be one line of text', config.appName)
  config.implicitRefresh = implicitRefresh(get('implicitRefresh'), config)
  if (config.host.trim() === '') fail('host', 'must not be empty', config.host)
  if (config.leeway > 300) fail('leeway', 'must be at most 5m (fix clock skew at its source)', get('leeway'))
  if (config.previousKeyFiles.length > 0 && key.kind !== 'file')
    throw new ServerConfigError(
      `${where('previousKeyFiles')} needs LATCHKEY_PRIVATE_KEY_FILE (old keys of a secret go in LATCHKEY_PREVIOUS_SECRETS)`,
    )
  if (config.previousSecrets.length > 0 && key.kind === 'file')
    throw new ServerConfigError(
      `${where('previousSecrets')} is for HS256 secrets; with LATCHKEY_PRIVATE_KEY_FILE use LATCHKEY_PREVIOUS_KEY_FILES`,
    )
  return config
}

function smtpUrl(text: string | undefined): string | undefined {
  if (text === undefined) return undefined
  const t = text.trim()
  let ok = /^smtps?:\/\/./.test(t)
  if (ok) {
    try {
      new URL(t)
    } catch {
      ok = false
    }
  }
  // Never echo the value: it may carry a password.
  if (!ok) throw new ServerConfigError(`${where('smtpUrl')} must be a URL starting with smtp:// or smtps://`)
  return t
}

function publicUrl(text: string | undefined): string | undefined {
  if (text === undefined) return undefined
  const t = text.trim()
  let url: URL | undefined
  try {
    url = new URL(t)
  } catch {}
  if (!url || !/^https?:$/.test(url.protocol) || url.search !== '' || url.hash !== '' || url.username !== '')
    fail('publicUrl', 'must be an http:// or https:// URL without query, fragment or credentials', t)
  return t.replace(/\/+$/, '')
}

function emailVerification(text: string): EmailVerification {
  const t = text.trim().toLowerCase()
  if (t === 'optional' || t === 'required' || t === 'off') return t
  return fail('emailVerification', 'must be optional, required or off', text)
}

/** Raw settings from environment variables. */
export function settingsFromEnv(env: NodeJS.ProcessEnv): RawSettings {
  const raw: RawSettings = {}
  for (const [name, spec] of Object.entries(SETTINGS) as [SettingName, SettingSpec][]) {
    if (env[spec.env] !== undefined) raw[name] = env[spec.env]
  }
  return raw
}

/** The `parseArgs` option table of every setting (all take a value: `--cookie-secure=false`). */
export function settingFlags(): Record<string, { type: 'string' }> {
  const flags: Record<string, { type: 'string' }> = {}
  for (const spec of Object.values(SETTINGS) as SettingSpec[]) flags[spec.flag] = { type: 'string' }
  return flags
}

/** Raw settings from parsed flags (only those given). */
export function settingsFromFlags(values: Record<string, unknown>): RawSettings {
  const raw: RawSettings = {}
  for (const [name, spec] of Object.entries(SETTINGS) as [SettingName, SettingSpec][]) {
    const v = values[spec.flag]
    if (typeof v === 'string') raw[name] = v
  }
  return raw
}

/** The settings part of `--help`: flag, variable, default and description of each. */
export function settingsHelp(): string {
  const column = 34
  const indent = ' '.repeat(column)
  const lines: string[] = []
  for (const spec of Object.values(SETTINGS) as SettingSpec[]) {
    const dflt = spec.default === undefined ? '' : ` (default ${spec.default})`
    const flag = `  --${spec.flag} <value>`
    // A flag too long for its column gets a line of its own rather than running into the variable.
    if (flag.length + 2 > column) lines.push(flag, `${indent}${spec.env}${dflt}`)
    else lines.push(`${flag.padEnd(column)}${spec.env}${dflt}`)
    lines.push(`${indent}${spec.help}`)
  }
  return lines.join('\n')
}

/** `file:./data/latchkey.db` → absolute path of the SQLite file (relative to `cwd`). */
export function sqlitePath(databaseUrl: string, cwd: string = process.cwd()): string | undefined {
  if (!databaseUrl.startsWith('file:')) return undefined
  let path = databaseUrl.slice('file:'.length)
  // file:///abs/path and file://localhost/abs/path are URLs; file:./rel and file:rel are paths.
  if (path.startsWith('//')) path = new URL(databaseUrl).pathname
  const query = path.indexOf('?')
  if (query >= 0) path = path.slice(0, query)
  if (path === ':memory:') return path
  return resolve(cwd, decodeURIComponent(path))
}

/** The implicit-refresh window: only with cookies, and shorter than the access lifetime. */
function implicitRefresh(text: string, config: ServerConfig): number | false {
  const t = text.trim().toLowerCase()
  if (['off', 'false', 'no', '0'].includes(t) || !config.tokenLocations.includes('cookies')) return false
  if (t.startsWith('auto')) return Math.max(1, Math.min(300, Math.floor(config.accessTtl / 3)))
  const window = duration('implicitRefresh', text, 1)
  if (window >= config.accessTtl) {
    fail(
      'implicitRefresh',
      `must be shorter than the access token lifetime (${config.accessTtl}s), or off`,
      text,
    )
  }
  return window
}
