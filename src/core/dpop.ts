/**
 * DPoP (RFC 9449): sender-constrained tokens. A token whose claims hold `cnf.jkt` (the RFC 7638
 * thumbprint of the client's public key) is accepted only with a DPoP proof: a JWT in the `DPoP`
 * header, signed with that key, for this request's method and URL, recent, made for this token
 * (`ath`), and never seen before (`jti`). Tokens of trusted issuers and the app's own tokens (a login
 * can bind its tokens to the client's key) are checked the same way, in every adapter.
 */
import { createHash, type JsonWebKey } from 'node:crypto'
import {
  AuthError,
  ConfigError,
  DpopProofInvalidError,
  DpopProofMissingError,
  DpopProofReplayedError,
} from '../errors.js'
import { join, type MaybePromise } from '../internal/awaitable.js'
import { decodeBase64url } from '../internal/base64url.js'
import { type Duration, durationMs } from '../internal/duration.js'
import type { RevocationStore } from '../stores/store.js'
import { ALGORITHMS, type Algorithm, familyOf, isAlgorithm, verifyBytes } from './algorithms.js'
import type { CoreEvents } from './events.js'
import type { GuardState } from './guard.js'
import { invalid, parseSegment } from './jws.js'
import { jwkThumbprint, type LoadedKey, loadKey } from './keys.js'
import { storeFailure } from './revocation.js'

/** The `dpop` option of `createAuth`. `false` refuses DPoP-bound tokens and the DPoP scheme altogether. */
export interface DpopOptions {
  /** Algorithms a proof may be signed with. Default: every asymmetric one. */
  algorithms?: readonly Algorithm[]
  /** How far a proof's `iat` may be from now, either way. Default `'60s'`. */
  iatWindow?: Duration
  /** Accept only DPoP-bound tokens: a bearer token is refused. Default false. */
  required?: boolean
  /**
   * Where proof ids (`jti`) are remembered, to refuse a replayed proof: any RevocationStore (its
   * atomic `consumeRefreshToken`, under `dpop:<jkt>:<jti>`, kept for the iat window). Default: the
   * `revocation` store, so instances that share it share replay detection; without one, a cache in
   * this process (100,000 proofs at most: more within one window refuse with a 503).
   */
  replayStore?: RevocationStore
  /**
   * The public origin clients send requests to (`https://api.example.com`), when the framework does
   * not know it (a proxy it does not trust rewrites the scheme or host). Default: the request's own.
   */
  origin?: string
}

const KNOWN: ReadonlySet<string> = new Set(['algorithms', 'iatWindow', 'required', 'replayStore', 'origin'])
const ASYMMETRIC: readonly Algorithm[] = ALGORITHMS.filter((a) => familyOf(a) !== 'HS')
const MAX_PROOF = 8192
const MAX_JTI = 256

/** Remembers proof ids: true the first time an id is seen (until `expiresAt`), false after. */
interface ReplayCheck {
  consume(id: string, expiresAt: number, now: number): MaybePromise<boolean>
}

/** DPoP as one auth object uses it: the settings, the proof-header cache and the replay check. */
export interface DpopState {
  readonly algorithms: ReadonlySet<Algorithm>
  /** The algorithms, space-separated, for `WWW-Authenticate: DPoP algs="..."`. */
  readonly algs: string
  readonly windowMs: number
  readonly required: boolean
  readonly origin: string | undefined
  readonly replay: ReplayCheck
  /** Checked proof headers by their segment: a client signs every proof with the same key. */
  readonly headers: Map<string, ProofHeader>
}

interface ProofHeader {
  readonly alg: Algorithm
  readonly key: LoadedKey
  readonly jkt: string
}

/** Proof ids in this process, when no store is shared. Bounded; full means refusing (fail closed). */
class LocalReplayCache implements ReplayCheck {
  private readonly seen = new Map<string, number>()
  constructor(private readonly max: number) {}
  consume(id: string, expiresAt: number, now: number): boolean {
    const seen = this.seen
    const until = seen.get(id)
    if (until !== undefined && until > now) return false
    if (seen.size >= this.max) {
      // Entries arrive in about the order they expire (one window for all): drop from the oldest on.
      for (const [key, end] of seen) {
        if (end > now) break
        seen.delete(key)
      }
      if (seen.size >= this.max) throw new Error('DPoP replay cache full')
    }
    seen.delete(id)
    seen.set(id, expiresAt)
    return true
  }
}

function storeReplay(store: RevocationStore): ReplayCheck {
  return {
    consume: (id, expiresAt) =>
      Promise.resolve(store.consumeRefreshToken(id, expiresAt)).then((r) => r.firstUse),
  }
}

function parseUrl(text: unknown): URL | undefined {
  if (typeof text !== 'string') return undefined
  try {
    return new URL(text)
  } catch {
    return undefined
  }
}

/** Checks the `dpop` option; undefined when DPoP is turned off (`dpop: false`). */
export function resolveDpop(
  options: DpopOptions | false | undefined,
  revocation: RevocationStore | undefined,
): DpopState | undefined {
  if (options === false) return undefined
  const o = options ?? {}
  if (typeof o !== 'object' || o === null) throw new ConfigError('dpop must be an object or false')
  for (const key of Object.keys(o))
    if (!KNOWN.has(key))
      throw new ConfigError(`dpop: unknown option "${key}" (known: ${[...KNOWN].join(', ')})`)
  const algorithms = o.algorithms ?? ASYMMETRIC
  if (
    !Array.isArray(algorithms) ||
    algorithms.length === 0 ||
    algorithms.some((a) => !isAlgorithm(a) || familyOf(a) === 'HS')
  )
    throw new ConfigError(
      'dpop.algorithms must be a non-empty list of asymmetric algorithms (RS, PS, ES, EdDSA)',
    )
  const windowMs = durationMs(o.iatWindow ?? '60s', 'dpop.iatWindow')
  if (windowMs < 1000 || windowMs > 3_600_000)
    throw new ConfigError('dpop.iatWindow must be between one second and one hour')
  let origin: string | undefined
  if (o.origin !== undefined) {
    const url = parseUrl(o.origin)
    if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.pathname !== '/' || url.search)
      throw new ConfigError('dpop.origin must be an origin such as https://api.example.com')
    origin = url.origin
  }
  const store = o.replayStore ?? revocation
  if (o.replayStore !== undefined && typeof o.replayStore?.consumeRefreshToken !== 'function')
    throw new ConfigError('dpop.replayStore must be a RevocationStore')
  return {
    algorithms: new Set(algorithms),
    algs: algorithms.join(' '),
    windowMs,
    required: o.required === true,
    origin,
    replay: store ? storeReplay(store) : new LocalReplayCache(100_000),
    headers: new Map(),
  }
}

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth']

function badProof(why: string): DpopProofInvalidError {
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

/** The `cnf.jkt` of verified claims, or undefined for a token that is not DPoP-bound. */
export function boundKey(claims: object): string | undefined {
  const cnf = (claims as { cnf?: unknown }).cnf
  if (cnf === null || typeof cnf !== 'object') return undefined
  const jkt = (cnf as { jkt?: unknown }).jkt
  return typeof jkt === 'string' ? jkt : undefined
}

/**
 * The guard's DPoP step: a DPoP-bound token needs a valid, unseen proof for this request; the DPoP
 * scheme needs a DPoP-bound token; `required` refuses every token that is not bound.
 */
export function dpopStep(state: GuardState): MaybePromise<GuardState> {
  const { deps, found } = state
  const dpop = deps.dpop
  const jkt = boundKey(state.claims)
  if (jkt === undefined) {
    if (found.scheme === 'dpop') throw invalid('the DPoP scheme needs a DPoP-bound token')
    if (dpop?.required) throw new DpopProofMissingError('Only DPoP-bound tokens are accepted')
    return state
  }
  if (dpop === undefined) throw invalid('DPoP-bound tokens are not accepted')
  if (found.location === 'headers' && found.scheme !== 'dpop')
    throw new DpopProofMissingError(
      'DPoP-bound token: send it as "Authorization: DPoP <token>" with a DPoP proof',
    )
  const { view } = state
  if (view.url === undefined) throw badProof('this adapter does not give the request URL (RequestView.url)')
  const proof = checkProof(
    dpop,
    view.header('dpop'),
    { method: view.method, url: view.url(), accessToken: found.token },
    state.now,
  )
  if (proof.jkt !== jkt) throw invalid('bound to another DPoP key')
  return join(consumeProof(dpop, deps.events, proof, state.now), () => state, undefined)
}

/** Whether an error is about the DPoP proof (its challenge says `invalid_dpop_proof`). */
function isProofError(err: AuthError): boolean {
  return (
    err.code === 'DPOP_PROOF_MISSING' ||
    err.code === 'DPOP_PROOF_INVALID' ||
    err.code === 'DPOP_PROOF_REPLAYED'
  )
}

function quoted(text: string): string {
  return text.replace(/[\\"]/g, '').replace(/[^\x20-\x7e]/g, '')
}

/**
 * The `WWW-Authenticate` challenge of a refusal under the DPoP scheme (RFC 9449 §7.1), or undefined
 * when the Bearer one (responses.ts) applies: for requests that used the DPoP scheme, proof errors,
 * and, when DPoP is required, every refusal.
 */
export function dpopChallenge(
  dpop: DpopState,
  err: AuthError,
  usedDpop: boolean,
  status: number = err.status,
): string | undefined {
  if (!usedDpop && !isProofError(err) && !dpop.required) return undefined
  if (err.code === 'TOKEN_MISSING') return `DPoP algs="${dpop.algs}"`
  if (status !== 401 && status !== 403) return undefined
  const code = isProofError(err)
    ? 'invalid_dpop_proof'
    : status === 403
      ? 'insufficient_scope'
      : 'invalid_token'
  const scope =
    err.code === 'INSUFFICIENT_SCOPE'
      ? `, scope="${(err as unknown as { scopes: string[] }).scopes.join(' ')}"`
      : ''
  return `DPoP error="${code}", error_description="${quoted(err.message)}"${scope}, algs="${dpop.algs}"`
}
