/**
 * Python's decoding of a JSON document's bytes (`json.loads(bytes)`): `json.detect_encoding`, then
 * `bytes.decode(encoding, 'surrogatepass')` with CPython's UTF-8 decoder and its error texts
 * (Objects/stringlib/codecs.h). UTF-16 and UTF-32 documents are decoded; their codec errors are only
 * approximated. Used by pyjson.ts, on the refusal path only.
 */

/** A Python ValueError: a codec's or the JSON scanner's, with Python's text. */
export class PyDecodeError extends Error {}

/** The code points of a JSON document's bytes, as Python decodes them; throws PyDecodeError. */
export function decodeDocument(b: Uint8Array): number[] {
  const at = (i: number) => b[i] ?? -1
  if (b.length >= 4 && at(0) === 0 && at(1) === 0 && at(2) === 0xfe && at(3) === 0xff)
    return utf32(b, 4, false)
  if (b.length >= 4 && at(0) === 0xff && at(1) === 0xfe && at(2) === 0 && at(3) === 0)
    return utf32(b, 4, true)
  if (at(0) === 0xfe && at(1) === 0xff) return utf16(b, 2, false, 'utf-16')
  if (at(0) === 0xff && at(1) === 0xfe) return utf16(b, 2, true, 'utf-16')
  if (at(0) === 0xef && at(1) === 0xbb && at(2) === 0xbf) return utf8(b, 3, 'utf-8-sig')
  if (b.length >= 4) {
    if (at(0) === 0) return at(1) ? utf16(b, 0, false, 'utf-16-be') : utf32(b, 0, false)
    if (at(1) === 0) return at(2) || at(3) ? utf16(b, 0, true, 'utf-16-le') : utf32(b, 0, true)
  } else if (b.length === 2) {
    if (at(0) === 0) return utf16(b, 0, false, 'utf-16-be')
    if (at(1) === 0) return utf16(b, 0, true, 'utf-16-le')
  }
  return utf8(b, 0, 'utf-8')
}

function codecError(codec: string, b: Uint8Array, start: number, end: number, reason: string): never {
  throw new PyDecodeError(
    end - start === 1
      ? `'${codec}' codec can't decode byte 0x${b[start]!.toString(16).padStart(2, '0')} in position ${start}: ${reason}`
      : `'${codec}' codec can't decode bytes in position ${start}-${end - 1}: ${reason}`,
  )
}

const isCont = (c: number) => (c & 0xc0) === 0x80

/** CPython's UTF-8 decoder (Objects/stringlib/codecs.h) with the surrogatepass error handler. */
function utf8(b: Uint8Array, from: number, codec: string): number[] {
  const out: number[] = []
  const n = b.length
  let i = from
  while (i < n) {
    const ch = b[i]!
    if (ch < 0x80) {
      out.push(ch)
      i++
      continue
    }
    // [reason, length of the bad range] of a failure, or the decoded code point and its length.
    let bad: [string, number] | undefined
    let cp = 0
    let len = 0
    const left = n - i
    const c2 = b[i + 1] ?? -1
    const c3 = b[i + 2] ?? -1
    const c4 = b[i + 3] ?? -1
    if (ch < 0xc2 || ch >= 0xf5) bad = ['invalid start byte', 1]
    else if (ch < 0xe0) {
      if (left < 2) bad = ['unexpected end of data', left]
      else if (!isCont(c2)) bad = ['invalid continuation byte', 1]
      else [cp, len] = [((ch & 0x1f) << 6) | (c2 & 0x3f), 2]
    } else if (ch < 0xf0) {
      const badSecond = !isCont(c2) || (c2 < 0xa0 ? ch === 0xe0 : ch === 0xed)
      if (left < 3)
        bad = left >= 2 && badSecond ? ['invalid continuation byte', 1] : ['unexpected end of data', left]
      else if (badSecond) bad = ['invalid continuation byte', 1]
      else if (!isCont(c3)) bad = ['invalid continuation byte', 2]
      else [cp, len] = [((ch & 0x0f) << 12) | ((c2 & 0x3f) << 6) | (c3 & 0x3f), 3]
    } else {
      const badSecond = !isCont(c2) || (c2 < 0x90 ? ch === 0xf0 : ch === 0xf4)
      if (left < 4) {
        if (left >= 2 && badSecond) bad = ['invalid continuation byte', 1]
        else if (left >= 3 && !isCont(c3)) bad = ['invalid continuation byte', 2]
        else bad = ['unexpected end of data', left]
      } else if (badSecond) bad = ['invalid continuation byte', 1]
      else if (!isCont(c3)) bad = ['invalid continuation byte', 2]
      else if (!isCont(c4)) bad = ['invalid continuation byte', 3]
      else [cp, len] = [((ch & 0x07) << 18) | ((c2 & 0x3f) << 12) | ((c3 & 0x3f) << 6) | (c4 & 0x3f), 4]
    }
    if (bad) {
      // surrogatepass: an encoded surrogate (ED A0-BF 80-BF) is let through as the surrogate.
      if (ch === 0xed && left >= 3 && c2 >= 0xa0 && c2 <= 0xbf && isCont(c3)) {
        out.push(((ch & 0x0f) << 12) | ((c2 & 0x3f) << 6) | (c3 & 0x3f))
        i += 3
        continue
      }
      codecError(codec, b, i, i + bad[1], bad[0])
    }
    out.push(cp)
    i += len
  }
  return out
}

function utf16(b: Uint8Array, from: number, little: boolean, codec: string): number[] {
  const out: number[] = []
  let i = from
  for (; i + 1 < b.length; i += 2) out.push(little ? b[i]! | (b[i + 1]! << 8) : (b[i]! << 8) | b[i + 1]!)
  if (i < b.length) codecError(codec, b, i, b.length, 'truncated data')
  // surrogatepass keeps lone surrogates; pairs are joined.
  const joined: number[] = []
  for (let k = 0; k < out.length; k++) {
    const hi = out[k]!
    const lo = out[k + 1] ?? 0
    if (hi >= 0xd800 && hi <= 0xdbff && lo >= 0xdc00 && lo <= 0xdfff) {
      joined.push(0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00))
      k++
    } else joined.push(hi)
  }
  return joined
}

function utf32(b: Uint8Array, from: number, little: boolean): number[] {
  const out: number[] = []
  let i = from
  for (; i + 3 < b.length; i += 4) {
    const cp = little
      ? (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0
      : ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0
    if (cp > 0x10ffff) codecError('utf-32', b, i, i + 4, 'code point not in range(0x110000)')
    out.push(cp)
  }
  if (i < b.length) codecError('utf-32', b, i, b.length, 'truncated data')
  return out
}
