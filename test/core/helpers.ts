/**
 * Shared helpers of the core tests: a hand-built RequestView, a frozen clock, a token forger that
 * signs arbitrary header and payload bytes with node:crypto (independent of latchkey's own signer),
 * and assertions on the exact error class and code.
 */
import {
  constants,
  createHmac,
  generateKeyPairSync,
  type KeyObject,
  createSecretKey as nodeSecretKey,
  sign,
} from 'node:crypto'
import { expect } from 'vitest'
import type { AuthError, AuthErrorCode, RequestView } from '../../src/index.js'

/** 64 bytes: long enough for HS256, HS384 and HS512. */
export const SECRET = 'latchkey-test-secret-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEF'
/** A whole second, so latchkey's millisecond clock and jose's second clock agree exactly. */
export const NOW = 1_700_000_000_000
export const NOW_S = NOW / 1000

/** A clock tests move by hand. */
export interface Clock {
  now: number
  fn: () => number
  advance(ms: number): void
}

export function frozenClock(start = NOW): Clock {
  const clock: Clock = {
    now: start,
    fn: () => clock.now,
    advance(ms) {
      clock.now += ms
    },
  }
  return clock
}

export interface ViewInit {
  method?: string
  headers?: Record<string, string | string[]>
  cookies?: Record<string, string>
  body?: unknown
  query?: Record<string, string | string[]>
}

/** A RequestView over plain objects; header names are matched case-insensitively. */
export function makeView(init: ViewInit = {}): RequestView {
  const headers = new Map<string, string | string[]>()
  for (const [k, v] of Object.entries(init.headers ?? {})) headers.set(k.toLowerCase(), v)
  const cookies = new Map(Object.entries(init.cookies ?? {}))
  const query = new Map(Object.entries(init.query ?? {}))
  return {
    method: init.method ?? 'GET',
    header: (name) => headers.get(name.toLowerCase()),
    cookie: (name) => cookies.get(name),
    body: init.body,
    query: (name) => query.get(name),
  }
}

export const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` })

/** Unpadded base64url of a string (UTF-8), bytes, or a value serialised as JSON. */
export function b64(value: unknown): string {
  if (typeof value === 'string') return Buffer.from(value, 'utf8').toString('base64url')
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64url')
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url')
}

export function decodeSegment(segment: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'))
}

export type SignAlg =
  | 'HS256'
  | 'HS384'
  | 'HS512'
  | 'RS256'
  | 'RS384'
  | 'RS512'
  | 'PS256'
  | 'PS384'
  | 'PS512'
  | 'ES256'
  | 'ES384'
  | 'ES512'
  | 'EdDSA'

/** Signs `input` with node:crypto for `alg` (HS keys may be a string or bytes: any HMAC secret). */
export function signWith(alg: SignAlg, key: KeyObject | string | Uint8Array, input: string): Buffer {
  const data = Buffer.from(input, 'latin1')
  const hash = alg === 'EdDSA' ? null : `sha${alg.slice(2)}`
  if (alg.startsWith('HS')) {
    const k = typeof key === 'string' || key instanceof Uint8Array ? nodeSecretKey(Buffer.from(key)) : key
    return createHmac(hash!, k).update(data).digest()
  }
  if (alg === 'EdDSA') return sign(null, data, key as KeyObject)
  // The key as a JWK in the options: workerd's node:crypto takes no KeyObject there (test/runtimes).
  const k = { key: (key as KeyObject).export({ format: 'jwk' }), format: 'jwk' } as const
  if (alg.startsWith('ES')) return sign(hash, data, { ...k, dsaEncoding: 'ieee-p1363' })
  if (alg.startsWith('PS'))
    return sign(hash, data, {
      ...k,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
    })
  return sign(hash, data, key as KeyObject)
}

/**
 * A token with any header and payload, signed with `key` for `alg` (which need not be the header's
 * `alg`). Header and payload may be objects (JSON-encoded), raw JSON text, or raw bytes.
 */
export function forge(
  alg: SignAlg,
  key: KeyObject | string | Uint8Array,
  header: unknown,
  payload: unknown,
): string {
  const input = `${b64(header)}.${b64(payload)}`
  return `${input}.${signWith(alg, key, input).toString('base64url')}`
}

/** Valid latchkey access claims at `NOW`, with overrides (`undefined` removes a claim). */
export function claimsAt(overrides: Record<string, unknown> = {}, now = NOW): Record<string, unknown> {
  const iat = Math.floor(now / 1000)
  const base: Record<string, unknown> = {
    sub: 'u1',
    iat,
    iat_ms: now,
    nbf: iat,
    exp: iat + 900,
    jti: 'jti-1',
    type: 'access',
    fresh: false,
  }
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) delete base[k]
    else base[k] = v
  }
  return base
}

/** Runs `fn`, which must throw; returns what it threw. */
export function thrown(fn: () => unknown): unknown {
  try {
    fn()
  } catch (err) {
    return err
  }
  expect.fail('expected a throw, got a return')
}

/** Awaits `promise`, which must reject; returns the reason. */
export async function rejected(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise
  } catch (err) {
    return err
  }
  expect.fail('expected a rejection, got a value')
}

type ErrorClass = abstract new (...args: never[]) => AuthError

/** `fn` throws exactly this AuthError class with this code. */
export function expectAuthError<E extends AuthError>(
  fn: () => unknown,
  cls: abstract new (...args: never[]) => E,
  code: AuthErrorCode,
): E {
  const err = thrown(fn)
  expect(err).toBeInstanceOf(cls as ErrorClass)
  expect((err as AuthError).code).toBe(code)
  return err as E
}

/** `promise` rejects with exactly this AuthError class and code. */
export async function expectAuthRejection<E extends AuthError>(
  promise: Promise<unknown>,
  cls: abstract new (...args: never[]) => E,
  code: AuthErrorCode,
): Promise<E> {
  const err = await rejected(promise)
  expect(err).toBeInstanceOf(cls as ErrorClass)
  expect((err as AuthError).code).toBe(code)
  return err as E
}

/** Key pairs generated once per test file (RSA generation is the slow part). */
export function keyPairs() {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const rsa2 = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const p256 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  const p256b = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' })
  const p521 = generateKeyPairSync('ec', { namedCurve: 'secp521r1' })
  const ed25519 = generateKeyPairSync('ed25519')
  const ed25519b = generateKeyPairSync('ed25519')
  return { rsa, rsa2, p256, p256b, p384, p521, ed25519, ed25519b }
}

/** Headers as a flat list of Set-Cookie strings. */
export function setCookies(headers: Record<string, string | string[]> | undefined): string[] {
  const v = headers?.['set-cookie']
  return v === undefined ? [] : Array.isArray(v) ? v : [v]
}

/** The value of cookie `name` in a list of Set-Cookie strings. */
export function cookieValue(list: string[], name: string): string | undefined {
  for (const c of list) {
    const first = c.split(';')[0]!
    const eq = first.indexOf('=')
    if (first.slice(0, eq) === name) return first.slice(eq + 1)
  }
  return undefined
}

/** The full Set-Cookie string for cookie `name`. */
export function cookieLine(list: string[], name: string): string | undefined {
  return list.find((c) => c.startsWith(`${name}=`))
}
