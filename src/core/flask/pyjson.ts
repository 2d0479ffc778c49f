/**
 * Python's `json.loads(bytes)` (CPython 3.11, its C scanner), to word a refused token as PyJWT does:
 * its text is `Invalid header string: <Python's error>`. Run only when a token was refused under the
 * flask-jwt-extended preset; latchkey's own parsing (jws.ts) decides whether a token is accepted.
 *
 * What it reproduces: the encoding guess of `json.detect_encoding` and the UTF-8 decoder with
 * `surrogatepass` (its error texts included), and the scanner's texts and positions ("Expecting
 * value: line 1 column 1 (char 0)"). Values come back as JavaScript values: integers beyond 2^53 as
 * bigints, `NaN` and `Infinity` (which Python accepts) as numbers, objects without a prototype.
 * UTF-16 and UTF-32 documents are decoded, but their codec errors are only approximated.
 */

import { decodeDocument, PyDecodeError } from './py-codecs.js'

/** A parsed document, or Python's error text (without PyJWT's prefix). */
export type PyJsonResult = { ok: true; value: unknown } | { ok: false; error: string }

/** `json.loads(bytes)`. */
export function pyJsonLoads(bytes: Uint8Array): PyJsonResult {
  let doc: number[]
  try {
    doc = decodeDocument(bytes)
  } catch (err) {
    if (err instanceof PyDecodeError) return { ok: false, error: err.message }
    throw err
  }
  try {
    return { ok: true, value: new Scanner(doc).decode() }
  } catch (err) {
    if (err instanceof PyDecodeError) return { ok: false, error: err.message }
    throw err
  }
}

// --- the scanner: Modules/_json.c of CPython 3.11 ---

const WS = new Set([0x20, 0x09, 0x0a, 0x0d])
const ESCAPES: Readonly<Record<number, number>> = {
  34: 0x22, // "
  92: 0x5c, // \
  47: 0x2f, // /
  98: 0x08, // b
  102: 0x0c, // f
  110: 0x0a, // n
  114: 0x0d, // r
  116: 0x09, // t
}
const isDigit = (c: number | undefined) => c !== undefined && c >= 0x30 && c <= 0x39

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10
  return -1
}

/** A value was expected at `pos` (Python's StopIteration, reported as "Expecting value"). */
class StopIteration {
  constructor(readonly pos: number) {}
}

class Scanner {
  constructor(private readonly s: number[]) {}

  /** JSONDecoder.decode: one value, surrounded by whitespace only. */
  decode(): unknown {
    const start = this.ws(0)
    let value: unknown
    let end: number
    try {
      ;[value, end] = this.scanOnce(start)
    } catch (err) {
      if (err instanceof StopIteration) this.fail('Expecting value', err.pos)
      throw err
    }
    end = this.ws(end)
    if (end !== this.s.length) this.fail('Extra data', end)
    return value
  }

  private fail(message: string, pos: number): never {
    let line = 1
    let lastNewline = -1
    for (let i = 0; i < pos; i++) {
      if (this.s[i] === 0x0a) {
        line++
        lastNewline = i
      }
    }
    throw new PyDecodeError(`${message}: line ${line} column ${pos - lastNewline} (char ${pos})`)
  }

  private ws(i: number): number {
    while (i < this.s.length && WS.has(this.s[i]!)) i++
    return i
  }

  private matches(i: number, word: string): boolean {
    if (i + word.length > this.s.length) return false
    for (let k = 0; k < word.length; k++) if (this.s[i + k] !== word.charCodeAt(k)) return false
    return true
  }

  private scanOnce(idx: number): [unknown, number] {
    const s = this.s
    if (idx >= s.length) throw new StopIteration(idx)
    switch (s[idx]) {
      case 0x22:
        return this.string(idx + 1)
      case 0x7b:
        return this.object(idx + 1)
      case 0x5b:
        return this.array(idx + 1)
      case 0x6e:
        if (this.matches(idx, 'null')) return [null, idx + 4]
        break
      case 0x74:
        if (this.matches(idx, 'true')) return [true, idx + 4]
        break
      case 0x66:
        if (this.matches(idx, 'false')) return [false, idx + 5]
        break
      case 0x4e:
        if (this.matches(idx, 'NaN')) return [Number.NaN, idx + 3]
        break
      case 0x49:
        if (this.matches(idx, 'Infinity')) return [Number.POSITIVE_INFINITY, idx + 8]
        break
      case 0x2d:
        if (this.matches(idx, '-Infinity')) return [Number.NEGATIVE_INFINITY, idx + 9]
        break
    }
    return this.number(idx)
  }

  private number(start: number): [unknown, number] {
    const s = this.s
    const last = s.length - 1
    let idx = start
    if (s[idx] === 0x2d) {
      idx++
      if (idx > last) throw new StopIteration(start)
    }
    const first = s[idx]!
    if (first >= 0x31 && first <= 0x39) {
      idx++
      while (idx <= last && isDigit(s[idx])) idx++
    } else if (first === 0x30) idx++
    else throw new StopIteration(start)
    let isFloat = false
    if (idx < last && s[idx] === 0x2e && isDigit(s[idx + 1])) {
      isFloat = true
      idx += 2
      while (idx <= last && isDigit(s[idx])) idx++
    }
    if (idx < last && (s[idx] === 0x65 || s[idx] === 0x45)) {
      const eStart = idx
      idx++
      if (idx < last && (s[idx] === 0x2d || s[idx] === 0x2b)) idx++
      while (idx <= last && isDigit(s[idx])) idx++
      if (isDigit(s[idx - 1])) isFloat = true
      else idx = eStart
    }
    const text = codePointsToString(s.slice(start, idx))
    if (isFloat) return [Number(text), idx]
    const value = Number(text)
    return [Number.isSafeInteger(value) ? value : BigInt(text), idx]
  }

  private string(end: number): [string, number] {
    const s = this.s
    const len = s.length
    const begin = end - 1
    const out: number[] = []
    for (;;) {
      let next = end
      let c = -1
      for (; next < len; next++) {
        c = s[next]!
        if (c === 0x22 || c === 0x5c) break
        if (c <= 0x1f) this.fail('Invalid control character at', next)
      }
      if (next >= len || !(c === 0x22 || c === 0x5c)) this.fail('Unterminated string starting at', begin)
      for (let k = end; k < next; k++) out.push(s[k]!)
      next++
      if (c === 0x22) return [codePointsToString(out), next]
      if (next === len) this.fail('Unterminated string starting at', begin)
      c = s[next]!
      if (c !== 0x75) {
        end = next + 1
        const escaped = ESCAPES[c]
        if (escaped === undefined) this.fail('Invalid \\escape', end - 2)
        out.push(escaped)
        continue
      }
      next++
      end = next + 4
      if (end >= len) this.fail('Invalid \\uXXXX escape', next - 1)
      let cp = 0
      for (; next < end; next++) {
        const digit = hexValue(s[next]!)
        if (digit < 0) this.fail('Invalid \\uXXXX escape', end - 5)
        cp = (cp << 4) | digit
      }
      if (cp >= 0xd800 && cp <= 0xdbff && end + 6 < len && s[next] === 0x5c && s[next + 1] === 0x75) {
        next += 2
        end += 6
        let low = 0
        for (; next < end; next++) {
          const digit = hexValue(s[next]!)
          if (digit < 0) this.fail('Invalid \\uXXXX escape', end - 5)
          low = (low << 4) | digit
        }
        if (low >= 0xdc00 && low <= 0xdfff) cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00)
        else end -= 6
      }
      out.push(cp)
    }
  }

  private object(start: number): [Record<string, unknown>, number] {
    const s = this.s
    const last = s.length - 1
    const out: Record<string, unknown> = Object.create(null)
    let idx = this.ws(start)
    if (idx > last || s[idx] !== 0x7d) {
      for (;;) {
        if (idx > last || s[idx] !== 0x22) this.fail('Expecting property name enclosed in double quotes', idx)
        const [key, afterKey] = this.string(idx + 1)
        idx = this.ws(afterKey)
        if (idx > last || s[idx] !== 0x3a) this.fail("Expecting ':' delimiter", idx)
        idx = this.ws(idx + 1)
        const [value, afterValue] = this.scanOnce(idx)
        Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true })
        idx = this.ws(afterValue)
        if (idx <= last && s[idx] === 0x7d) break
        if (idx > last || s[idx] !== 0x2c) this.fail("Expecting ',' delimiter", idx)
        idx = this.ws(idx + 1)
      }
    }
    return [out, idx + 1]
  }

  private array(start: number): [unknown[], number] {
    const s = this.s
    const last = s.length - 1
    const out: unknown[] = []
    let idx = this.ws(start)
    if (idx > last || s[idx] !== 0x5d) {
      for (;;) {
        const [value, afterValue] = this.scanOnce(idx)
        out.push(value)
        idx = this.ws(afterValue)
        if (idx <= last && s[idx] === 0x5d) break
        if (idx > last || s[idx] !== 0x2c) this.fail("Expecting ',' delimiter", idx)
        idx = this.ws(idx + 1)
      }
    }
    return [out, idx + 1]
  }
}

function codePointsToString(points: number[]): string {
  let out = ''
  for (let i = 0; i < points.length; i += 4096) out += String.fromCodePoint(...points.slice(i, i + 4096))
  return out
}
