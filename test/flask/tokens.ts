/**
 * Tokens for the differential cases, made by the test itself: any header and payload, signed with
 * node:crypto (independent of latchkey's signer and of PyJWT's), or not signed at all.
 */
import { createHmac, generateKeyPairSync, type KeyObject, randomUUID, sign } from 'node:crypto'

/** 64 bytes: long enough for HS256, HS384 and HS512. */
export const SECRET = 'flask-differential-secret-0123456789-abcdefghijklmnopqrstuvwxyz-AB'
/** Another 64-byte secret (a key the apps do not know). */
export const OTHER_SECRET = 'another-secret-entirely-0123456789-abcdefghijklmnopqrstuvwxyz-ABC'

/** Seconds now (FJE and latchkey read the same clock). */
export const nowS = () => Math.floor(Date.now() / 1000)

const b64 = (text: string | Buffer) => Buffer.from(text).toString('base64url')

/** The claims Flask-JWT-Extended's create_access_token makes, with overrides (undefined removes). */
export function fjeClaims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = nowS()
  const claims: Record<string, unknown> = {
    fresh: false,
    iat: now,
    jti: randomUUID(),
    type: 'access',
    sub: 'alice',
    nbf: now,
    csrf: randomUUID(),
    exp: now + 900,
  }
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) delete claims[k]
    else claims[k] = v
  }
  return claims
}

/** How a case's token is made. */
export interface Craft {
  /** Header object (default `{alg: 'HS256', typ: 'JWT'}`) or raw header segment text. */
  header?: Record<string, unknown> | { raw: string }
  /** Claims (default fjeClaims()) or raw payload segment text. */
  claims?: Record<string, unknown> | { raw: string }
  /** Signing secret (default SECRET); or an asymmetric private key. */
  secret?: string
  key?: KeyObject
  /** The signature segment as given (not computed). */
  signature?: string
}

const HASH: Record<string, string> = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' }

/** A compact JWS from a recipe. */
export function craft(recipe: Craft = {}): string {
  const header = recipe.header ?? { alg: 'HS256', typ: 'JWT' }
  const claims = recipe.claims ?? fjeClaims()
  const h = 'raw' in header && typeof header.raw === 'string' ? header.raw : b64(JSON.stringify(header))
  const p = 'raw' in claims && typeof claims.raw === 'string' ? claims.raw : b64(JSON.stringify(claims))
  const input = `${h}.${p}`
  if (recipe.signature !== undefined) return `${input}.${recipe.signature}`
  const alg = 'raw' in header ? 'HS256' : String((header as Record<string, unknown>).alg ?? 'HS256')
  if (recipe.key) {
    const digest = `sha${alg.slice(2)}`
    const sig = alg.startsWith('ES')
      ? sign(digest, Buffer.from(input), { key: recipe.key, dsaEncoding: 'ieee-p1363' })
      : sign(digest, Buffer.from(input), recipe.key)
    return `${input}.${sig.toString('base64url')}`
  }
  const mac = createHmac(HASH[alg] ?? 'sha256', recipe.secret ?? SECRET)
    .update(input)
    .digest('base64url')
  return `${input}.${mac}`
}

/** The base64url text of a JSON value or of raw text (for raw segments). */
export const segment = b64

/** An RSA and an EC key pair, made once per test file. */
export const RSA = generateKeyPairSync('rsa', { modulusLength: 2048 })
export const EC = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
export const pem = (key: KeyObject) =>
  key.export({ type: key.type === 'private' ? 'pkcs8' : 'spki', format: 'pem' }) as string
