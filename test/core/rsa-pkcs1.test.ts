/**
 * RS256/384/512 signatures are checked on Node by recovering the encoded message with
 * `crypto.publicDecrypt` and comparing it with the expected DigestInfo (src/core/rsa-pkcs1.ts).
 * node:crypto's own `verify` is the oracle: genuine signatures, tampered ones, wrong lengths,
 * values not below the modulus, and signatures over other encodings of the digest (no NULL
 * parameters, another hash's identifier, trailing or hidden bytes, a non-0xFF padding byte: the
 * shapes of the known PKCS#1 v1.5 forgeries) get the same answer from both.
 */
import {
  constants,
  createHash,
  generateKeyPairSync,
  type KeyObject,
  privateEncrypt,
  sign,
  verify,
} from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { signatureCheck } from '../../src/core/algorithms.js'
import { canRecoverPkcs1, pkcs1Verifier } from '../../src/core/rsa-pkcs1.js'
import type { Hash } from '../../src/internal/hash.js'

const PREFIX: Record<Hash, string> = {
  sha256: '3031300d060960864801650304020105000420',
  sha384: '3041300d060960864801650304020205000430',
  sha512: '3051300d060960864801650304020305000440',
}
/** The same AlgorithmIdentifiers without their NULL parameters (a spelling RFC 8017 does not allow for these hashes). */
const PREFIX_NO_NULL: Record<Hash, string> = {
  sha256: '302f300b0609608648016503040201' + '0420',
  sha384: '303f300b0609608648016503040202' + '0430',
  sha512: '304f300b0609608648016503040203' + '0440',
}
const ALGS = [
  { alg: 'RS256', hash: 'sha256' },
  { alg: 'RS384', hash: 'sha384' },
  { alg: 'RS512', hash: 'sha512' },
] as const

const keyPairs = [
  { name: '2048-bit, e = 65537', ...generateKeyPairSync('rsa', { modulusLength: 2048 }) },
  // e = 3: the exponent under which sloppy PKCS#1 v1.5 checks can be forged (Bleichenbacher 2006).
  { name: '2048-bit, e = 3', ...generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 3 }) },
  // A modulus that is not a whole number of bytes: the signature is still ⌈bits / 8⌉ bytes.
  { name: '3073-bit', ...generateKeyPairSync('rsa', { modulusLength: 3073 }) },
]

/** The node:crypto answer (the oracle), with its throw on malformed signatures as a refusal. */
function oracle(hash: Hash, publicKey: KeyObject, data: Buffer, signature: Buffer): boolean {
  try {
    return verify(hash, data, publicKey, signature)
  } catch {
    return false
  }
}

/** A signature of an arbitrary block, padded by OpenSSL with type 1 (`00 01 FF… 00 block`). */
const signBlock = (privateKey: KeyObject, block: Buffer) => privateEncrypt(privateKey, block)

/** A signature of an arbitrary whole encoded message (no padding added): `em` must be the modulus' length. */
const signRaw = (privateKey: KeyObject, em: Buffer) =>
  privateEncrypt({ key: privateKey, padding: constants.RSA_NO_PADDING }, em)

/** `00 01 FF… 00 payload`, `size` bytes, with `padding` (default all 0xFF) between. */
function encoded(size: number, payload: Buffer, padding?: (i: number) => number): Buffer {
  const em = Buffer.alloc(size, 0xff)
  em[0] = 0
  em[1] = 1
  const end = size - payload.length - 1
  if (padding) for (let i = 2; i < end; i++) em[i] = padding(i)
  em[end] = 0
  payload.copy(em, end + 1)
  return em
}

describe('RSASSA-PKCS1-v1_5 by recovery (rsa-pkcs1.ts)', () => {
  it('serves RSA public keys on Node (so this suite tests the recovery path, not crypto.verify)', () => {
    for (const { publicKey, privateKey } of keyPairs) {
      expect(canRecoverPkcs1(publicKey)).toBe(true)
      expect(canRecoverPkcs1(privateKey)).toBe(false)
    }
    const pss = generateKeyPairSync('rsa-pss', { modulusLength: 2048 })
    expect(canRecoverPkcs1(pss.publicKey)).toBe(false)
  })

  for (const { name, publicKey, privateKey } of keyPairs) {
    const size = Math.ceil(publicKey.asymmetricKeyDetails!.modulusLength! / 8)
    for (const { alg, hash } of ALGS) {
      const check = pkcs1Verifier(hash, publicKey)
      const viaAlg = signatureCheck(alg, publicKey)
      const digestOf = (data: Buffer) => createHash(hash).update(data).digest()
      const agree = (data: Buffer, signature: Buffer, expected: boolean) => {
        expect(oracle(hash, publicKey, data, signature)).toBe(expected)
        expect(check(data, signature)).toBe(expected)
        expect(viaAlg(data.toString('latin1'), signature)).toBe(expected)
      }

      it(`${alg}, ${name}: genuine signatures verify, any change refuses, as crypto.verify answers`, () => {
        fc.assert(
          fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), (bytes, flip) => {
            const data = Buffer.from(bytes)
            const signature = sign(hash, data, privateKey)
            agree(data, signature, true)
            const other = Buffer.concat([data, Buffer.from([1])])
            agree(other, signature, false)
            const tampered = Buffer.from(signature)
            tampered[flip % size] = tampered[flip % size]! ^ (1 << (flip % 8))
            agree(data, tampered, false)
          }),
          { numRuns: 25 },
        )
      })

      it(`${alg}, ${name}: the right DigestInfo signed by hand is the signature itself`, () => {
        const data = Buffer.from('eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0')
        const block = Buffer.concat([Buffer.from(PREFIX[hash], 'hex'), digestOf(data)])
        const signature = signBlock(privateKey, block)
        expect(signature.equals(sign(hash, data, privateKey))).toBe(true)
        agree(data, signature, true)
      })

      it(`${alg}, ${name}: other encodings of the right digest are refused`, () => {
        const data = Buffer.from('eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0')
        const digest = digestOf(data)
        const prefix = Buffer.from(PREFIX[hash], 'hex')
        const otherHash = hash === 'sha256' ? 'sha384' : 'sha256'
        const blocks = {
          'the bare digest': digest,
          'no NULL parameters': Buffer.concat([Buffer.from(PREFIX_NO_NULL[hash], 'hex'), digest]),
          "another hash's identifier": Buffer.concat([Buffer.from(PREFIX[otherHash], 'hex'), digest]),
          'a trailing byte': Buffer.concat([prefix, digest, Buffer.from([0])]),
          'garbage after the digest': Buffer.concat([prefix, digest, Buffer.alloc(40, 0x41)]),
          'a leading byte': Buffer.concat([Buffer.from([0]), prefix, digest]),
          'a truncated digest': Buffer.concat([prefix, digest.subarray(1)]),
        }
        for (const [what, block] of Object.entries(blocks)) {
          const signature = signBlock(privateKey, block)
          expect([what, check(data, signature)]).toEqual([what, false])
          agree(data, signature, false)
        }
        // Whole encoded messages made by hand: a padding byte that is not 0xFF, a short padding with
        // the DigestInfo up front and garbage hidden at the end (the 2006 forgery's layout), block type 2.
        const payload = Buffer.concat([prefix, digest])
        const raws = {
          'a padding byte that is not 0xFF': encoded(size, payload, (i) => (i === 5 ? 0xfe : 0xff)),
          'garbage hidden after the digest': encoded(
            size,
            Buffer.concat([payload, Buffer.alloc(size - payload.length - 13, 0x42)]),
          ),
          'block type 2': (() => {
            const em = encoded(size, payload)
            em[1] = 2
            return em
          })(),
          'right encoding (control)': encoded(size, payload),
        }
        for (const [what, em] of Object.entries(raws)) {
          const expected = what.endsWith('(control)')
          const signature = signRaw(privateKey, em)
          expect([what, check(data, signature)]).toEqual([what, expected])
          agree(data, signature, expected)
        }
      })

      it(`${alg}, ${name}: wrong lengths and values not below the modulus are refused`, () => {
        const data = Buffer.from('payload')
        let signature = sign(hash, data, privateKey)
        // A signature with a leading zero byte, so it can be shortened without changing its value.
        for (let n = 0; signature[0] !== 0 && n < 2000; n++) {
          signature = sign(hash, Buffer.from(`payload ${n}`), privateKey)
          if (signature[0] === 0) {
            const signed = Buffer.from(`payload ${n}`)
            agree(signed, signature, true)
            agree(signed, signature.subarray(1), false)
          }
        }
        const genuine = sign(hash, data, privateKey)
        agree(data, Buffer.concat([Buffer.from([0]), genuine]), false)
        agree(data, genuine.subarray(0, size - 1), false)
        agree(data, Buffer.alloc(0), false)
        agree(data, Buffer.alloc(size, 0xff), false)
        agree(data, Buffer.alloc(size, 0), false)
      })

      it(`${alg}, ${name}: random bytes of the right length never verify`, () => {
        fc.assert(
          fc.property(fc.uint8Array({ minLength: size, maxLength: size }), (bytes) => {
            agree(Buffer.from('data'), Buffer.from(bytes), false)
          }),
          { numRuns: 30 },
        )
      })
    }
  }
})
