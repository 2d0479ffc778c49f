/**
 * The verified-token cache: a repeated token skips its signature check and JSON parsing, never the
 * rest (exp, nbf, type, revocation and the user are checked on every request).
 */
import type { DecodedToken } from './types.js'

/**
 * A cheap fingerprint of a token: FNV-1a of its last 8 characters (the signature's tail). Only a
 * hint for the admission filter; the cache itself is keyed by the exact text.
 */
export function fingerprint(token: string): number {
  let h = 0x811c9dc5
  for (let i = Math.max(0, token.length - 8); i < token.length; i++) {
    h = Math.imul(h ^ token.charCodeAt(i), 0x01000193)
  }
  return h | 0
}

/**
 * Verified tokens, by their exact text.
 *
 * A token is cached the second time it is verified, not the first: a small filter remembers the
 * fingerprints of tokens verified once. A stream of one-off tokens (many users, one request each)
 * then costs no map traffic and keeps nothing alive for the garbage collector to promote and sweep,
 * which on such traffic made the cache slower than no cache at all. A fingerprint collision only
 * makes a token cached one verification earlier or later; a hit always needs the exact text.
 */
export class VerifiedTokenCache {
  private readonly entries = new Map<string, DecodedToken<object>>()
  /** Fingerprints of tokens verified once, one per slot: about as many as the cache holds. */
  private readonly seen: Int32Array
  private readonly mask: number
  constructor(readonly max: number) {
    let slots = 16
    while (slots < max) slots *= 2
    this.seen = new Int32Array(slots)
    this.mask = slots - 1
  }
  /** The cached verification of `token`, whose fingerprint is `fp`. */
  get(token: string, fp: number): DecodedToken<object> | undefined {
    // Not verified lately (as far as the filter knows): skip hashing the whole text.
    if (this.seen[fp & this.mask] !== fp) return undefined
    return this.entries.get(token)
  }
  /** Records a verification: admitted on the second one (see the class comment). */
  set(token: string, fp: number, decoded: DecodedToken<object>): void {
    const slot = fp & this.mask
    if (this.seen[slot] !== fp) {
      this.seen[slot] = fp
      return
    }
    if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value!)
    this.entries.set(token, decoded)
  }
}
