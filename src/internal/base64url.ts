/**
 * Strict base64url. Node's `Buffer.from(s, 'base64url')` skips characters outside the alphabet,
 * accepts `+`, `/` and padding, and ignores non-zero trailing bits, so one token could have many
 * spellings; we accept exactly one.
 */
import type { Scratch } from './scratch.js'

/** The value of each base64url character (-1: not one). */
const VALUE = new Int8Array(128).fill(-1)
for (const [i, c] of [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'].entries())
  VALUE[c.charCodeAt(0)] = i

/**
 * Decodes canonical unpadded base64url, or returns undefined. Canonical: only the alphabet, no
 * padding, no impossible length, and zero spare bits in the last character, so every byte string has
 * exactly one spelling. Checked around Node's own decoder, without re-encoding (which allocates a
 * string per call): Node skips characters outside both alphabets and stops at `=`, so a decoded
 * length short of what the text's length implies gives those away; what it would accept instead
 * (`+`, `/`, and characters above 0x7F, whose low byte it reads) is looked for natively.
 */
export function decodeBase64url(s: string): Buffer | undefined {
  if ((s.length & 3) === 1) return undefined
  const bytes = Buffer.from(s, 'base64url')
  return canonicalAround(s, bytes.length) ? bytes : undefined
}

/**
 * {@link decodeBase64url} into a scratch buffer: a view of it, valid until the scratch's next use, or
 * a Buffer of its own when `s` is longer than the scratch holds. Makes no Buffer for short inputs.
 */
export function decodeBase64urlIn(scratch: Scratch, s: string): Buffer | undefined {
  const target = scratch.buffer
  if (s.length > (target.length / 3) * 4) return decodeBase64url(s)
  if ((s.length & 3) === 1) return undefined
  const written = target.write(s, 0, 'base64url')
  return canonicalAround(s, written) ? scratch.view(written) : undefined
}

/** Whether `s`, which Node's decoder read as `decoded` bytes, is canonical base64url (see above). */
function canonicalAround(s: string, decoded: number): boolean {
  const length = s.length
  const rest = length & 3
  if (decoded !== (length >> 2) * 3 + (rest === 0 ? 0 : rest - 1)) return false
  if (Buffer.byteLength(s, 'utf8') !== length || s.indexOf('+') !== -1 || s.indexOf('/') !== -1) return false
  // The last character's spare bits (4 of them after 2 characters of a group, 2 after 3) must be 0.
  return rest === 0 || (VALUE[s.charCodeAt(length - 1)]! & (rest === 2 ? 0x0f : 0x03)) === 0
}

/** Encodes bytes or a UTF-8 string as unpadded base64url. */
export function encodeBase64url(data: Uint8Array | string): string {
  return (typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data)).toString('base64url')
}
