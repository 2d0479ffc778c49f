/**
 * A buffer reused by synchronous code, and views of its first n bytes made once per n. A token's
 * parts have one of a few lengths, so the views are made once and then found; a Buffer made per call
 * was an object per verification, which a busy server pays for in collection and cache misses.
 *
 * Only for code that finishes with the bytes before it returns and calls nothing that could use the
 * same scratch meanwhile (hashing, decoding, `crypto.verify`: all synchronous).
 */
export class Scratch {
  readonly buffer: Buffer
  readonly #views: Buffer[] = []
  constructor(bytes: number) {
    this.buffer = Buffer.alloc(bytes)
  }
  /** The first `n` bytes of the buffer. */
  view(n: number): Buffer {
    let view = this.#views[n]
    if (view === undefined) {
      view = this.buffer.subarray(0, n)
      this.#views[n] = view
    }
    return view
  }
}
