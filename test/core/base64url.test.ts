import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeBase64url, decodeBase64urlIn } from '../../src/internal/base64url.js'
import { Scratch } from '../../src/internal/scratch.js'

// The reference: the rule written out (alphabet only, no impossible length, zero spare bits).
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
function canonical(s: string): boolean {
  if (!/^[A-Za-z0-9_-]*$/.test(s) || s.length % 4 === 1) return false
  const spare = s.length % 4 === 2 ? 0x0f : s.length % 4 === 3 ? 0x03 : 0
  return spare === 0 || (ALPHABET.indexOf(s[s.length - 1]!) & spare) === 0
}

const scratch = new Scratch(64)
const tiny = new Scratch(3)

describe('decodeBase64url (the decoder of Node, checked around it)', () => {
  it('accepts exactly the canonical spellings, and decodes them as Node does', () => {
    const chars = fc.constantFrom(...`${ALPHABET}+/= \n.%\u00e9\u0100\u0141\ud83d`.split(''))
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: chars, maxLength: 24 }), fc.string({ maxLength: 24 })), (s) => {
        const decoded = decodeBase64url(s)
        expect(decoded !== undefined).toBe(canonical(s))
        if (decoded) expect(decoded.equals(Buffer.from(s, 'base64url'))).toBe(true)
        // The same decision and bytes when decoding into a buffer that held other bytes before, and
        // into one too small for `s` (which then decodes on its own).
        for (const into of [scratch, tiny]) {
          into.buffer.fill(0xa5)
          const viaScratch = decodeBase64urlIn(into, s)
          expect(viaScratch !== undefined).toBe(canonical(s))
          if (decoded) expect(viaScratch?.equals(decoded)).toBe(true)
        }
      }),
      { numRuns: 20_000, seed: 42 },
    )
  })

  it('round-trips any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const text = Buffer.from(bytes).toString('base64url')
        expect(decodeBase64url(text)?.equals(Buffer.from(bytes))).toBe(true)
      }),
      { seed: 42 },
    )
  })

  it.each([
    ['padding', 'QQ=='],
    ['standard alphabet', 'a+/b'],
    ['white space', 'QU JD'],
    ['spare bits set', 'QR'],
    ['impossible length', 'QUJDR'],
    ['a character Node would truncate to "A"', 'Q\u0141'],
  ])('refuses %s', (_, text) => {
    expect(decodeBase64url(text)).toBeUndefined()
  })
})
