/**
 * The prepared HMAC (src/core/hmac.ts) against RFC 4231's test vectors and against node:crypto's
 * createHmac on arbitrary keys and inputs: every hash, keys shorter and longer than a block, inputs
 * in and beyond the prepared buffer, non-ASCII text.
 */
import { createHmac } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { hmacText } from '../../src/core/hmac.js'

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex')
const b64url = (hexText: string) => hex(hexText).toString('base64url')

// RFC 4231 §4: test cases 1, 2 and 6 (a 131-byte key: longer than every block, so it is hashed first).
const VECTORS = [
  {
    key: hex('0b'.repeat(20)),
    data: 'Hi There',
    sha256: 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7',
    sha384:
      'afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6',
    sha512:
      '87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854',
  },
  {
    key: Buffer.from('Jefe'),
    data: 'what do ya want for nothing?',
    sha256: '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    sha384:
      'af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649',
    sha512:
      '164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737',
  },
  {
    key: hex('aa'.repeat(131)),
    data: 'Test Using Larger Than Block-Size Key - Hash Key First',
    sha256: '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54',
    sha384:
      '4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c60c2ef6ab4030fe8296248df163f44952',
    sha512:
      '80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f3526b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598',
  },
] as const

const HASHES = ['sha256', 'sha384', 'sha512'] as const

describe('hmacText (the MAC prepared per key)', () => {
  it.each(HASHES)('matches RFC 4231 with %s', (hash) => {
    for (const vector of VECTORS) {
      expect(hmacText(hash, vector.key)(vector.data)).toBe(b64url(vector[hash]))
    }
  })

  it.each(HASHES)('equals createHmac with %s on any key and input, ASCII or not, short or long', (hash) => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 300 }),
        fc.oneof(
          fc.string({ maxLength: 600 }),
          fc.string({ unit: 'grapheme', maxLength: 200 }),
          fc.string({ minLength: 4090, maxLength: 4200 }),
        ),
        (key, input) => {
          const expected = createHmac(hash, key).update(input).digest('base64url')
          expect(hmacText(hash, key)(input)).toBe(expected)
        },
      ),
      { numRuns: 150, seed: 19 },
    )
  })

  it('gives each call its own answer: the prepared buffers carry nothing from one input to the next', () => {
    const mac = hmacText('sha256', Buffer.from('k'.repeat(32)))
    const long = `${'a'.repeat(3000)}.${'b'.repeat(1000)}`
    const short = 'a.b'
    const expected = (input: string) => createHmac('sha256', 'k'.repeat(32)).update(input).digest('base64url')
    expect(mac(long)).toBe(expected(long))
    expect(mac(short)).toBe(expected(short))
    expect(mac(`${short}é`)).toBe(expected(`${short}é`))
    expect(mac(long)).toBe(expected(long))
  })
})

describe('a prepared MAC in verification', () => {
  it('accepts only the canonical spelling of the right MAC, through the guard path', async () => {
    const { createAuth } = await import('../../src/index.js')
    const auth = createAuth({ keys: { secret: 'p'.repeat(32) } })
    const token = auth.createAccessToken('alice')
    const dot = token.lastIndexOf('.')
    const signature = token.slice(dot + 1)
    expect(auth.verifyTokenSync(token).claims.sub).toBe('alice')
    const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    const last = ALPHABET.indexOf(signature.at(-1)!)
    for (let bits = 1; bits < 4; bits++) {
      const twin = `${token.slice(0, dot + 1)}${signature.slice(0, -1)}${ALPHABET[last ^ bits]}`
      expect(() => auth.verifyTokenSync(twin)).toThrow(/Invalid token/)
    }
    expect(() => auth.verifyTokenSync(`${token.slice(0, dot + 1)}${signature}=`)).toThrow(/Invalid token/)
  })
})
