/**
 * Strict base64url. Node's `Buffer.from(s, 'base64url')` skips characters outside the alphabet and
 * ignores non-zero trailing bits, so one token could have many spellings; we accept exactly one.
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
const VALUE = new Int8Array(128).fill(-1)
for (let i = 0; i < ALPHABET.length; i++) VALUE[ALPHABET.charCodeAt(i)] = i

const ALPHABET_ONLY = /^[A-Za-z0-9_-]*$/

/** True when `s` is canonical unpadded base64url: alphabet only, valid length, zero trailing bits. */
export function isCanonicalBase64url(s: string): boolean {
  const len = s.length
  const rem = len & 3
  // A regex scans the alphabet faster than a character loop in JS.
  if (rem === 1 || !ALPHABET_ONLY.test(s)) return false
  if (rem === 0) return true
  const last = VALUE[s.charCodeAt(len - 1)]!
  // 2 chars carry 8 bits (4 spare), 3 chars carry 16 bits (2 spare): spare bits must be zero.
  return rem === 2 ? (last & 0x0f) === 0 : (last & 0x03) === 0
}

/** Decodes canonical base64url or returns undefined. */
export function decodeBase64url(s: string): Buffer | undefined {
  return isCanonicalBase64url(s) ? Buffer.from(s, 'base64url') : undefined
}

/** Encodes bytes or a UTF-8 string as unpadded base64url. */
export function encodeBase64url(data: Uint8Array | string): string {
  return (typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data)).toString('base64url')
}
