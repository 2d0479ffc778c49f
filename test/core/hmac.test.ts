/**
 * An HS signature is checked as text (checkSignature in src/core/verify.ts): the key's prepared MAC
 * of the signing input, as base64url, compared in constant time with the signature segment where it
 * stands in the token. Only the canonical spelling of the right MAC may pass.
 */
import { createHmac } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { loadKey } from '../../src/core/keys.js'
import { checkSignature } from '../../src/core/verify.js'
import { TokenInvalidError } from '../../src/errors.js'

const SECRET = Buffer.from('an-hmac-test-secret-of-more-than-64-bytes-for-every-hs-algorithm-0123')
const HASHES = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' } as const
const KEYS = {
  HS256: loadKey({ secret: SECRET, algorithm: 'HS256' }),
  HS384: loadKey({ secret: SECRET, algorithm: 'HS384' }),
  HS512: loadKey({ secret: SECRET, algorithm: 'HS512' }),
}

/** Whether checkSignature accepts `signature` for `input` under the key of `alg`. */
function acceptsMacText(alg: keyof typeof HASHES, input: string, signature: string): boolean {
  const token = `${input}.${signature}`
  try {
    checkSignature(KEYS[alg], { token, header: { alg }, dot1: 0, dot2: input.length })
    return true
  } catch (err) {
    if (err instanceof TokenInvalidError) return false
    throw err
  }
}

describe('HS signatures, checked as the base64url text of the MAC', () => {
  it.each(Object.entries(HASHES))('%s: accepts exactly the canonical text of the right MAC', (alg, hash) => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), fc.nat(), fc.nat(), (input, at, by) => {
        const mac = createHmac(hash, SECRET).update(input).digest()
        const text = mac.toString('base64url')
        const a = alg as keyof typeof HASHES
        expect(acceptsMacText(a, input, text)).toBe(true)
        // Any other byte anywhere: refused.
        const other = Buffer.from(mac)
        const i = at % other.length
        other[i] = other[i]! ^ ((by % 255) + 1)
        expect(acceptsMacText(a, input, other.toString('base64url'))).toBe(false)
        // Shorter, longer, padded, standard alphabet: refused.
        expect(acceptsMacText(a, input, text.slice(0, -1))).toBe(false)
        expect(acceptsMacText(a, input, `${text}A`)).toBe(false)
        expect(acceptsMacText(a, input, mac.toString('base64'))).toBe(text === mac.toString('base64'))
        // The other input: refused.
        expect(acceptsMacText(a, `${input}.`, text)).toBe(false)
      }),
      { numRuns: 300, seed: 7 },
    )
  })

  it('refuses the spellings Buffer would decode to the same MAC (non-zero spare bits)', () => {
    const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    const text = createHmac('sha256', SECRET).update('payload').digest('base64url') // 43 chars, 2 spare bits
    const last = ALPHABET.indexOf(text.at(-1)!)
    for (let bits = 1; bits < 4; bits++) {
      const twin = text.slice(0, -1) + ALPHABET[last | bits]
      expect(Buffer.from(twin, 'base64url').equals(Buffer.from(text, 'base64url'))).toBe(true)
      expect(acceptsMacText('HS256', 'payload', twin)).toBe(false)
    }
  })
})
