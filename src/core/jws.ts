/**
 * Compact JWS parsing: the three segments, the protected header and the payload JSON. Signatures and
 * claims are checked in verify.ts; this file only reads. The header caches belong to one auth object
 * (a {@link JwsCache}), never to the module, so two auth objects in one process share nothing.
 */
import { isAscii } from 'node:buffer'
import { TokenInvalidError } from '../errors.js'
import { decodeBase64urlIn } from '../internal/base64url.js'
import { Scratch } from '../internal/scratch.js'
import { isAlgorithm } from './algorithms.js'
import type { TokenHeader } from './types.js'

/** A refused token, worded the same way everywhere: "Invalid token: <why>". */
export function invalid(why: string): TokenInvalidError {
  return new TokenInvalidError(`Invalid token: ${why}`)
}

/** A compact JWS split at its dots, with its checked header. */
export interface CompactJws {
  token: string
  header: TokenHeader
  /** Index of the first dot (end of the header segment). */
  dot1: number
  /** Index of the second dot (end of the payload segment, start of the signature). */
  dot2: number
}

/** A header segment, as a flat copy of its own, with its checked header. */
interface CachedHeader {
  /**
   * Never a slice of the token it came from, which would keep that whole token alive and make each
   * comparison go through the slice.
   */
  readonly segment: string
  readonly header: TokenHeader
}

/**
 * Parsed headers of one auth object. Most tokens of an app share a handful of header segments:
 * parsing each once saves a JSON.parse, and the last one is compared first, which costs less than
 * hashing the segment for the map.
 */
export interface JwsCache {
  readonly headers: Map<string, CachedHeader>
  last: CachedHeader | undefined
}

const HEADER_CACHE_MAX = 64

/** An empty header cache, for one auth object. */
export function createJwsCache(): JwsCache {
  return { headers: new Map(), last: undefined }
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** Splits a compact JWS and checks its header; throws TokenInvalidError for anything else. */
export function parseCompact(cache: JwsCache, token: string): CompactJws {
  const dot1 = token.indexOf('.')
  const dot2 = dot1 < 0 ? -1 : token.indexOf('.', dot1 + 1)
  if (dot2 < 0 || token.indexOf('.', dot2 + 1) >= 0) throw invalid('expected three dot-separated segments')
  return { token, header: headerOf(cache, token, dot1), dot1, dot2 }
}

/** The checked header of `token`, whose first dot is at `dot1`. */
function headerOf(cache: JwsCache, token: string, dot1: number): TokenHeader {
  const segment = token.slice(0, dot1)
  // `===` on the slice, not `token.startsWith`: V8 runs `startsWith` on a slice of a header (which a
  // token is) in its runtime; inside the guard that cost ~0.3 µs per token, the comparison ~0.05.
  const last = cache.last
  if (last !== undefined && segment === last.segment) return last.header
  let entry = cache.headers.get(segment)
  if (entry === undefined) {
    const header = checkHeader(parseSegment(segment, 'header'))
    // The latin1 round trip makes the flat copy; lossless here, as a parsed header segment is
    // canonical base64url (ASCII).
    entry = { segment: Buffer.from(segment, 'latin1').toString('latin1'), header }
    if (cache.headers.size >= HEADER_CACHE_MAX) cache.headers.delete(cache.headers.keys().next().value!)
    cache.headers.set(entry.segment, entry)
  }
  cache.last = entry
  return entry.header
}

function checkHeader(header: Record<string, unknown>): TokenHeader {
  if (!isAlgorithm(header.alg)) throw invalid('algorithm not allowed')
  // RFC 7515 §4.1.11: we understand no extension, so any `crit` means refuse.
  if (header.crit !== undefined) throw invalid('unsupported critical header parameters')
  if (header.kid !== undefined && typeof header.kid !== 'string') throw invalid('kid must be a string')
  return header as TokenHeader
}

/** The payload of a split token, parsed and frozen (not yet checked: see verify.ts). */
export function parsePayload(jws: CompactJws): Record<string, unknown> {
  return parseSegment(jws.token.slice(jws.dot1 + 1, jws.dot2), 'payload')
}

/** Where segments are decoded: parsing is synchronous (see Scratch); longer ones get their own Buffer. */
const scratch = new Scratch(3072)

/** A segment as a frozen JSON object; throws TokenInvalidError naming `what` otherwise. */
export function parseSegment(segment: string, what: string): Record<string, unknown> {
  const bytes = decodeBase64urlIn(scratch, segment)
  if (!bytes) throw invalid(`${what} is not canonical base64url`)
  let value: unknown
  try {
    // Fatal decoding: invalid UTF-8 is refused (as jose does), never replaced with U+FFFD, so two
    // different byte strings can never decode to the same claims.
    // ASCII (nearly every token) is valid UTF-8 as it stands: skip the slower strict decoder.
    value = JSON.parse(isAscii(bytes) ? bytes.toString('latin1') : strictUtf8.decode(bytes))
  } catch {
    throw invalid(`${what} is not UTF-8 JSON`)
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw invalid(`${what} is not a JSON object`)
  // Frozen, nested values too: a cached token's claims are shared by every request that presents it,
  // so one request pushing to `claims.roles` must not change what the next one sees. Most payloads
  // hold no nested object or array: freeze just the top.
  if (hasObjectMember(value)) deepFreeze(value)
  else Object.freeze(value)
  return value as Record<string, unknown>
}

/**
 * Whether a parsed object has an object or array among its members. A `for…in` over an object
 * `JSON.parse` made walks V8's cached key list of its shape: about 0.02 µs for a token's claims,
 * where scanning the text for `{` and `[` took 0.2 µs. (An enumerable property someone added to
 * Object.prototype can only send a payload down the deep path, which freezes own members alike.)
 */
function hasObjectMember(value: object): boolean {
  for (const key in value) {
    const member = (value as Record<string, unknown>)[key]
    if (member !== null && typeof member === 'object') return true
  }
  return false
}

/** Freezes a parsed JSON value and every object and array in it (iteratively: nesting can be deep). */
function deepFreeze<T extends object>(value: T): T {
  const stack: object[] = [value]
  for (let v = stack.pop(); v !== undefined; v = stack.pop()) {
    Object.freeze(v)
    for (const key of Object.keys(v)) {
      const child = (v as Record<string, unknown>)[key]
      if (child !== null && typeof child === 'object' && !Object.isFrozen(child)) stack.push(child)
    }
  }
  return value
}
