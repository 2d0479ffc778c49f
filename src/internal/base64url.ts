/**
 * Strict base64url. Node's `Buffer.from(s, 'base64url')` skips characters outside the alphabet,
 * accepts `+`, `/` and padding, and ignores non-zero trailing bits, so one token could have many
 * spellings; we accept exactly one.
 */

/**
 * Decodes canonical unpadded base64url, or returns undefined. Canonical means the text is exactly
 * what encoding its bytes gives back: that one comparison refuses every other spelling (foreign
 * characters, padding, `+` and `/`, non-zero trailing bits, an impossible length), and the native
 * encoder and string comparison cost less than scanning the text for its alphabet.
 */
export function decodeBase64url(s: string): Buffer | undefined {
  const bytes = Buffer.from(s, 'base64url')
  return bytes.toString('base64url') === s ? bytes : undefined
}

/** Encodes bytes or a UTF-8 string as unpadded base64url. */
export function encodeBase64url(data: Uint8Array | string): string {
  return (typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data)).toString('base64url')
}
