/**
 * One DPoP proof (RFC 9449 §4.3): its header (typ, algorithm, embedded public key and its
 * thumbprint), signature and claims (`htm`, `htu` normalised, `iat` window, `ath`), then its `jti`
 * consumed once. dpop.ts decides when a proof is needed and what a refusal says.
 */
import { createHash, type JsonWebKey } from 'node:crypto'
import { AuthError, DpopProofInvalidError, DpopProofMissingError, DpopProofReplayedError } from '../errors.js'
import { join, type MaybePromise } from '../internal/awaitable.js'
import { decodeBase64url } from '../internal/base64url.js'
import { type Algorithm, isAlgorithm, verifyBytes } from './algorithms.js'
import type { DpopState } from './dpop.js'
import type { CoreEvents } from './events.js'
import { parseSegment } from './jws.js'
import { jwkThumbprint, type LoadedKey, loadKey } from './keys.js'
import { storeFailure } from './revocation.js'

const MAX_PROOF = 8192
const MAX_JTI = 256

/** A checked proof header: a client signs every proof with the same key, so it is parsed once. */
export interface ProofHeader {
  readonly alg: Algorithm
  readonly key: LoadedKey
  readonly jkt: string
}

/** A URL, or undefined. */
export function parseUrl(text: unknown): URL | undefined {
  if (typeof text !== 'string') return undefined
  try {
    return new URL(text)
  } catch {
    return undefined
  }
}

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth']

export function badProof(why: string): DpopProofInvalidError {
  return new DpopProofInvalidError(`Invalid DPoP proof: ${why}`)
}

function proofHeader(dpop: DpopState, segment: string): ProofHeader {
  const known = dpop.headers.get(segment)
  if (known) return known
  let header: Record<string, unknown>
  try {
    header = parseSegment(segment, 'header')
  } catch {
    throw badProof('header is not base64url JSON')
  }
  if (typeof header.typ !== 'string' || header.typ.toLowerCase() !== 'dpop+jwt')
    throw badProof('typ must be dpop+jwt')
  const { alg, jwk } = header
  if (!isAlgorithm(alg) || !dpop.algorithms.has(alg)) throw badProof('algorithm not allowed')
  if (header.crit !== undefined) throw badProof('unsupported critical header parameters')
  if (jwk === null || typeof jwk !== 'object' || Array.isArray(jwk)) throw badProof('jwk header missing')
  if (PRIVATE_MEMBERS.some((m) => Object.hasOwn(jwk, m))) throw badProof('jwk must be a public key')
  let key: LoadedKey
  let jkt: string
  try {
    key = loadKey({ publicKey: jwk as JsonWebKey, algorithm: alg }, 'DPoP proof')
    jkt = jwkThumbprint(jwk as JsonWebKey)
  } catch {
    throw badProof('jwk is not a usable public key for its algorithm')
  }
  const checked: ProofHeader = { alg, key, jkt }
  if (dpop.headers.size >= 256) dpop.headers.delete(dpop.headers.keys().next().value!)
  dpop.headers.set(segment, checked)
  return checked
}

const UNRESERVED = /[A-Za-z0-9\-._~]/

/**
 * An http(s) URL without query and fragment, normalised as RFC 9449 §4.3 asks (RFC 3986 §6.2.2 and
 * §6.2.3): scheme and host in lower case, default port dropped, dot segments resolved,
 * percent-encodings in upper case and those of unreserved characters decoded. Undefined otherwise.
 */
export function normalizeHtu(text: string, origin?: string): string | undefined {
  const url = parseUrl(text)
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) return undefined
  const path = url.pathname.replace(/%[0-9a-fA-F]{2}/g, (m) => {
    const ch = String.fromCharCode(Number.parseInt(m.slice(1), 16))
    return UNRESERVED.test(ch) ? ch : m.toUpperCase()
  })
  return `${origin ?? `${url.protocol}//${url.host}`}${path}`
}

/** What a checked proof tells. */
export interface VerifiedProof {
  /** The RFC 7638 thumbprint of the proof's key: what `cnf.jkt` of a token bound to it holds. */
  jkt: string
  jti: string
  /** The proof's `iat`, in epoch seconds. */
  iat: number
  claims: Readonly<Record<string, unknown>>
}

/** The request a proof must be made for. */
export interface ProofRequest {
  method: string
  /** The request's absolute URL (query and fragment are ignored). */
  url: string
  /** The token presented with the proof (checked against `ath`), if any. */
  accessToken?: string
}

/**
 * Checks a proof (header, signature, `htm`, `htu`, `iat`, `ath`) without consuming it; throws
 * DpopProofInvalidError (or DpopProofMissingError for no proof).
 */
export function checkProof(
  dpop: DpopState,
  proof: string | string[] | undefined,
  request: ProofRequest,
  now: number,
): VerifiedProof {
  if (Array.isArray(proof)) {
    if (proof.length > 1) throw badProof('more than one DPoP header')
    proof = proof[0]
  }
  if (proof === undefined || proof === '') throw new DpopProofMissingError('DPoP proof missing')
  if (proof.length > MAX_PROOF) throw badProof('too long')
  const dot1 = proof.indexOf('.')
  const dot2 = dot1 < 0 ? -1 : proof.indexOf('.', dot1 + 1)
  if (dot2 < 0 || proof.indexOf('.', dot2 + 1) >= 0) throw badProof('expected three dot-separated segments')
  const header = proofHeader(dpop, proof.slice(0, dot1))
  const signature = decodeBase64url(proof.slice(dot2 + 1))
  if (!signature || !verifyBytes(header.alg, header.key.verifyKey, proof.slice(0, dot2), signature))
    throw badProof('signature verification failed')
  let claims: Record<string, unknown>
  try {
    claims = parseSegment(proof.slice(dot1 + 1, dot2), 'payload')
  } catch {
    throw badProof('payload is not base64url JSON')
  }
  const { jti, htm, htu, iat, ath } = claims
  if (typeof jti !== 'string' || jti === '' || jti.length > MAX_JTI)
    throw badProof('jti must be a short string')
  if (htm !== request.method) throw badProof('htm does not match the request method')
  const expected = normalizeHtu(request.url, dpop.origin)
  if (typeof htu !== 'string' || expected === undefined || normalizeHtu(htu) !== expected)
    throw badProof('htu does not match the request URL')
  if (typeof iat !== 'number' || !Number.isFinite(iat)) throw badProof('iat must be a number')
  if (Math.abs(iat * 1000 - now) > dpop.windowMs) throw badProof('iat is outside the acceptable window')
  if (request.accessToken !== undefined) {
    const hash = createHash('sha256').update(request.accessToken, 'latin1').digest('base64url')
    if (ath !== hash) throw badProof('ath does not match the access token')
  }
  return { jkt: header.jkt, jti, iat, claims }
}

/** Consumes a checked proof's `jti`: a replay refuses with DPOP_PROOF_REPLAYED; a store that fails, with a 503. */
export function consumeProof(
  dpop: DpopState,
  events: CoreEvents,
  proof: VerifiedProof,
  now: number,
): MaybePromise<void> {
  const expiresAt = Math.max(now, proof.iat * 1000) + dpop.windowMs
  let first: MaybePromise<boolean>
  try {
    first = dpop.replay.consume(`dpop:${proof.jkt}:${proof.jti}`, expiresAt, now)
  } catch (error) {
    throw replayFailure(events, error)
  }
  return join(first, afterConsume, undefined, (error) => {
    throw replayFailure(events, error)
  })
}

function afterConsume(first: boolean): void {
  if (!first) throw new DpopProofReplayedError()
}

function replayFailure(events: CoreEvents, error: unknown): AuthError {
  return error instanceof AuthError ? error : storeFailure(events, error)
}
