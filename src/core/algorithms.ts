import { constants, createHmac, type JsonWebKey, type KeyObject, sign, verify } from 'node:crypto'
import type { Hash } from '../internal/hash.js'
import { IS_WORKERS } from '../internal/runtime.js'
import { Scratch } from '../internal/scratch.js'
import { canRecoverPkcs1, pkcs1Verifier } from './rsa-pkcs1.js'

/** The JWS algorithms latchkey signs and verifies. `none` is not one of them and never will be. */
export type Algorithm =
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

/** All supported algorithms, in a stable order. */
export const ALGORITHMS: readonly Algorithm[] = Object.freeze([
  'HS256',
  'HS384',
  'HS512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
])

const ALGORITHM_SET: ReadonlySet<string> = new Set(ALGORITHMS)

/** True for a supported algorithm name (exact, case-sensitive, as RFC 7518 requires). */
export function isAlgorithm(value: unknown): value is Algorithm {
  return typeof value === 'string' && ALGORITHM_SET.has(value)
}

export type AlgorithmFamily = 'HS' | 'RS' | 'PS' | 'ES' | 'EdDSA'

// Looked up, not computed from the name: verification asks on every token.
const FAMILY: Readonly<Record<Algorithm, AlgorithmFamily>> = Object.freeze({
  HS256: 'HS',
  HS384: 'HS',
  HS512: 'HS',
  RS256: 'RS',
  RS384: 'RS',
  RS512: 'RS',
  PS256: 'PS',
  PS384: 'PS',
  PS512: 'PS',
  ES256: 'ES',
  ES384: 'ES',
  ES512: 'ES',
  EdDSA: 'EdDSA',
})

const HASH: Readonly<Record<Algorithm, Hash | null>> = Object.freeze({
  HS256: 'sha256',
  HS384: 'sha384',
  HS512: 'sha512',
  RS256: 'sha256',
  RS384: 'sha384',
  RS512: 'sha512',
  PS256: 'sha256',
  PS384: 'sha384',
  PS512: 'sha512',
  ES256: 'sha256',
  ES384: 'sha384',
  ES512: 'sha512',
  EdDSA: null,
})

export function familyOf(alg: Algorithm): AlgorithmFamily {
  return FAMILY[alg]
}

/** The hash of an algorithm (`sha256`, ...), or null for EdDSA, whose hash is fixed by the curve. */
export function hashOf(alg: Algorithm): Hash | null {
  return HASH[alg]
}

/** ES signature length in bytes (r || s, RFC 7518 §3.4) and the curve each ES algorithm needs. */
export const EC_PARAMS = {
  ES256: { curve: 'prime256v1', jwkCurve: 'P-256', sigLength: 64 },
  ES384: { curve: 'secp384r1', jwkCurve: 'P-384', sigLength: 96 },
  ES512: { curve: 'secp521r1', jwkCurve: 'P-521', sigLength: 132 },
} as const

/**
 * workerd's node:crypto (Cloudflare Workers) takes no KeyObject inside a sign or verify options
 * object, only key material: there a key goes as its JWK, exported once per key. Everywhere else
 * the KeyObject itself, which costs no parsing.
 */
const OPTIONS_TAKE_KEY_OBJECTS = !IS_WORKERS
const jwkOfKey = new WeakMap<KeyObject, JsonWebKey>()

function keyOption(key: KeyObject): { key: KeyObject } | { key: JsonWebKey; format: 'jwk' } {
  if (OPTIONS_TAKE_KEY_OBJECTS) return { key }
  let jwk = jwkOfKey.get(key)
  if (jwk === undefined) {
    jwk = key.export({ format: 'jwk' })
    jwkOfKey.set(key, jwk)
  }
  return { key: jwk, format: 'jwk' }
}

/** The verify options of a PS key, made once per key (a key is bound to one algorithm). */
const pssOptionsOf = new WeakMap<KeyObject, object>()

function pssOptions(key: KeyObject): Parameters<typeof verify>[2] {
  let options = pssOptionsOf.get(key)
  if (options === undefined) {
    options = {
      ...keyOption(key),
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
    }
    pssOptionsOf.set(key, options)
  }
  return options as Parameters<typeof verify>[2]
}

/** Where ES signatures are re-encoded (P-521: at most 3 + 2 × 69 bytes). */
const derScratch = new Scratch(160)

/**
 * An ES signature (r || s, `half` bytes each, RFC 7518 §3.4) as the DER ECDSA-Sig-Value that
 * OpenSSL reads natively: `SEQUENCE { INTEGER r, INTEGER s }`, each integer in its shortest form
 * (leading zero bytes dropped, one 0x00 put back when the top bit is set, as DER requires of a
 * positive integer). The same encoding Node makes in C++ for `dsaEncoding: 'ieee-p1363'`; done here
 * it lets the key go to `crypto.verify` as a bare KeyObject, with no options object to read on every
 * call (about 1 µs of a 65 µs ES256 verification on the benchmark machine).
 */
export function derSignature(signature: Buffer, half: number): Buffer {
  let r = 0
  while (r < half - 1 && signature[r] === 0) r++
  let s = half
  while (s < 2 * half - 1 && signature[s] === 0) s++
  const rPad = signature[r]! >= 0x80 ? 1 : 0
  const sPad = signature[s]! >= 0x80 ? 1 : 0
  const rLength = half - r + rPad
  const sLength = 2 * half - s + sPad
  const body = 4 + rLength + sLength
  const out = derScratch.buffer
  let at = 0
  out[at++] = 0x30
  if (body >= 0x80) out[at++] = 0x81
  out[at++] = body
  out[at++] = 0x02
  out[at++] = rLength
  if (rPad) out[at++] = 0
  // Byte by byte rather than `signature.copy`: Node's copy of a part of a buffer makes a Uint8Array
  // over that part first, an object per call; inside a busy server the two copies cost more than
  // the whole rest of this function.
  for (let i = r; i < half; i++) out[at++] = signature[i]!
  out[at++] = 0x02
  out[at++] = sLength
  if (sPad) out[at++] = 0
  for (let i = s; i < 2 * half; i++) out[at++] = signature[i]!
  return derScratch.view(at)
}

/** Signs `input` (the ASCII `header.payload`) with a key bound to `alg`. */
export function signBytes(alg: Algorithm, key: KeyObject, input: string): Buffer {
  const fam = familyOf(alg)
  if (fam === 'HS') return createHmac(hashOf(alg)!, key).update(input).digest()
  const data = Buffer.from(input, 'latin1')
  if (fam === 'EdDSA') return sign(null, data, key)
  if (fam === 'ES') return sign(hashOf(alg), data, { ...keyOption(key), dsaEncoding: 'ieee-p1363' })
  if (fam === 'PS') {
    return sign(hashOf(alg), data, {
      ...keyOption(key),
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
    })
  }
  return sign(hashOf(alg), data, key)
}

/**
 * Compares two strings in time that depends on their length only (which is public: an HMAC's text
 * length is fixed by its algorithm), never on where they differ. With `offset`, `a` is compared with
 * the rest of `b` from there (a token's signature segment, compared where it stands, without slicing).
 */
export function equalInConstantTime(a: string, b: string, offset = 0): boolean {
  if (a.length !== b.length - offset) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(offset + i)
  return diff === 0
}

/** Signing inputs of up to this many characters are written into a scratch buffer (verify is synchronous). */
const DATA_CHARS = 8192
const dataScratch = new Scratch(DATA_CHARS)

/** The bytes of an ASCII signing input, in the scratch buffer when it fits. */
function signingInput(input: string): Buffer {
  return input.length <= DATA_CHARS
    ? dataScratch.view(dataScratch.buffer.write(input, 0, 'latin1'))
    : Buffer.from(input, 'latin1')
}

/** `crypto.verify`, with OpenSSL's throw on some malformed signatures (e.g. a wrong RSA length) as a refusal. */
function verifies(
  hash: Hash | null,
  data: Buffer,
  key: Parameters<typeof verify>[2],
  signature: Buffer,
): boolean {
  try {
    return verify(hash, data, key, signature)
  } catch {
    return false
  }
}

/**
 * A signature check of one asymmetric key: whether `signature` signs the ASCII `input`. Made once
 * per key (see {@link signatureCheck}), so a verification looks up no family, hash, curve or options.
 */
export type SignatureCheck = (input: string, signature: Buffer) => boolean

const refuseAll: SignatureCheck = () => false

/**
 * The signature check of a key bound to `alg`, prepared once: with Node's crypto, the family's
 * encoding rules applied (ES signatures must be exactly r || s; an all-zero one never verifies).
 * RS keys on Node recover and compare the encoded message instead of `crypto.verify`'s per-call
 * set-up (src/core/rsa-pkcs1.ts).
 * Refuses everything for an HS algorithm, which has no public key (an HS key's MAC is prepared in
 * hmac.ts and compared in `checkSignature`).
 */
export function signatureCheck(alg: Algorithm, key: KeyObject): SignatureCheck {
  const fam = familyOf(alg)
  if (fam === 'HS') return refuseAll
  if (fam === 'ES') {
    const hash = hashOf(alg)
    const length = EC_PARAMS[alg as keyof typeof EC_PARAMS].sigLength
    const half = length / 2
    return (input, signature) =>
      signature.length === length && verifies(hash, signingInput(input), key, derSignature(signature, half))
  }
  if (fam === 'EdDSA') return (input, signature) => verifies(null, signingInput(input), key, signature)
  const hash = hashOf(alg)!
  if (fam === 'RS' && canRecoverPkcs1(key)) {
    const check = pkcs1Verifier(hash, key)
    return (input, signature) => check(signingInput(input), signature)
  }
  const keyArg = fam === 'PS' ? pssOptions(key) : key
  return (input, signature) => verifies(hash, signingInput(input), keyArg, signature)
}

/**
 * Verifies an asymmetric signature with Node's crypto, for callers without a prepared check (a
 * DPoP proof's key, PyJWT's explanations): {@link signatureCheck} made for this call. Returns false
 * for any mismatch, and for an HS algorithm.
 */
export function verifyBytes(alg: Algorithm, key: KeyObject, input: string, signature: Buffer): boolean {
  return signatureCheck(alg, key)(input, signature)
}
