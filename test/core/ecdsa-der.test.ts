/**
 * ES signatures are handed to node:crypto as DER, re-encoded from JOSE's r || s by derSignature
 * (src/core/algorithms.ts). Checked two ways: the encoding against DER's rules and the integers it
 * must carry (arbitrary r and s, leading zeros and top bits included), and real signatures of every
 * curve, including those whose r or s starts with zero bytes or a set top bit, verifying exactly as
 * node:crypto verifies them from r || s itself (`dsaEncoding: 'ieee-p1363'`).
 */
import { generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { derSignature, EC_PARAMS, verifyBytes } from '../../src/core/algorithms.js'

const toBigInt = (bytes: Uint8Array) => BigInt(`0x${Buffer.from(bytes).toString('hex') || '0'}`)

/** Reads `SEQUENCE { INTEGER, INTEGER }`, insisting on DER's shortest forms; throws otherwise. */
function readDer(der: Buffer): [bigint, bigint] {
  let at = 0
  const length = (): number => {
    const first = der[at++]!
    if (first < 0x80) return first
    if (first !== 0x81) throw new Error('length form')
    const value = der[at++]!
    if (value < 0x80) throw new Error('long form for a short length')
    return value
  }
  if (der[at++] !== 0x30) throw new Error('not a SEQUENCE')
  if (length() !== der.length - at) throw new Error('SEQUENCE length')
  const integer = (): bigint => {
    if (der[at++] !== 0x02) throw new Error('not an INTEGER')
    const n = length()
    const bytes = der.subarray(at, at + n)
    at += n
    if (n === 0 || bytes[0]! >= 0x80) throw new Error('negative or empty INTEGER')
    if (n > 1 && bytes[0] === 0 && bytes[1]! < 0x80) throw new Error('INTEGER not in its shortest form')
    return toBigInt(bytes)
  }
  const r = integer()
  const s = integer()
  if (at !== der.length) throw new Error('trailing bytes')
  return [r, s]
}

/** The first non-zero byte of `bytes[from..to)` (the one whose top bit decides DER's 0x00). */
function leading(bytes: Buffer, from: number, to: number): number {
  for (let i = from; i < to; i++) if (bytes[i] !== 0) return bytes[i]!
  return 0
}

const CURVES = [
  { alg: 'ES256', hash: 'sha256' },
  { alg: 'ES384', hash: 'sha384' },
  { alg: 'ES512', hash: 'sha512' },
] as const

describe('ES signatures as DER (derSignature)', () => {
  for (const { alg } of CURVES) {
    const half = EC_PARAMS[alg].sigLength / 2
    it(`${alg}: any r || s becomes the DER of the same two integers, in their shortest form`, () => {
      // Bytes biased towards zeros and top bits: the cases DER spells differently.
      const byte = fc.oneof(
        fc.constant(0),
        fc.constant(0x80),
        fc.constant(0xff),
        fc.integer({ min: 0, max: 255 }),
      )
      const half$ = fc.array(byte, { minLength: half, maxLength: half }).map((a) => Buffer.from(a))
      fc.assert(
        fc.property(half$, half$, (r, s) => {
          const [rr, ss] = readDer(Buffer.from(derSignature(Buffer.concat([r, s]), half)))
          expect(rr).toBe(toBigInt(r))
          expect(ss).toBe(toBigInt(s))
        }),
        { numRuns: 2000 },
      )
    })
  }

  for (const { alg, hash } of CURVES) {
    it(`${alg}: real signatures verify as node:crypto verifies r || s, leading zeros and top bits included`, () => {
      const curve = EC_PARAMS[alg].curve
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: curve })
      const half = EC_PARAMS[alg].sigLength / 2
      const seen = { rZero: 0, sZero: 0, rHigh: 0, sHigh: 0 }
      for (let i = 0; i < 3000 && Math.min(...Object.values(seen)) < 2; i++) {
        const input = `eyJhbGciOiJFUzI1NiJ9.${randomBytes(24).toString('base64url')}`
        const data = Buffer.from(input, 'latin1')
        const sig = sign(hash, data, { key: privateKey, dsaEncoding: 'ieee-p1363' })
        const rZero = sig[0] === 0
        const sZero = sig[half] === 0
        const rHigh = leading(sig, 0, half) >= 0x80
        const sHigh = leading(sig, half, 2 * half) >= 0x80
        seen.rZero += Number(rZero)
        seen.sZero += Number(sZero)
        seen.rHigh += Number(rHigh)
        seen.sHigh += Number(sHigh)
        if (!(rZero || sZero || rHigh || sHigh) && i % 50 !== 0) continue
        expect(verifyBytes(alg, publicKey, input, sig)).toBe(true)
        // One bit flipped anywhere: refused by both readings.
        const bad = Buffer.from(sig)
        bad[i % bad.length]! ^= 1 << (i % 8)
        const reference = verify(hash, data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, bad)
        expect(verifyBytes(alg, publicKey, input, bad)).toBe(reference)
        expect(reference).toBe(false)
      }
      // The rare spellings were met (P-256: a zero first byte is a 1 in 256 event per integer; P-521's
      // first byte holds one bit, so its top bit is never set there, only after a zero byte).
      expect(Math.min(...Object.values(seen))).toBeGreaterThanOrEqual(2)
    })
  }

  it('an all-zero, an all-ones or a wrong-length ES256 signature never verifies', () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
    const input = 'eyJhbGciOiJFUzI1NiJ9.e30'
    expect(verifyBytes('ES256', publicKey, input, Buffer.alloc(64))).toBe(false)
    expect(verifyBytes('ES256', publicKey, input, Buffer.alloc(64, 0xff))).toBe(false)
    expect(verifyBytes('ES256', publicKey, input, Buffer.alloc(63, 1))).toBe(false)
    expect(verifyBytes('ES256', publicKey, input, Buffer.alloc(65, 1))).toBe(false)
  })
})
