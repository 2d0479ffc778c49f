/**
 * DPoP (RFC 9449): sender-constrained tokens. A token whose claims hold `cnf.jkt` (the RFC 7638
 * thumbprint of the client's public key) is accepted only with a DPoP proof: a JWT in the `DPoP`
 * header, signed with that key, for this request's method and URL, recent, made for this token
 * (`ath`), and never seen before (`jti`). Tokens of trusted issuers and the app's own tokens (a login
 * can bind its tokens to the client's key) are checked the same way, in every adapter. This file: the
 * `dpop` option, when a proof is needed (the guard's step) and the challenge of a refusal; checking
 * one proof is dpop-proof.ts.
 */
import { type AuthError, ConfigError, DpopProofMissingError } from '../errors.js'
import { join, type MaybePromise } from '../internal/awaitable.js'
import { type Duration, durationMs } from '../internal/duration.js'
import type { RevocationStore } from '../stores/store.js'
import { ALGORITHMS, type Algorithm, familyOf, isAlgorithm } from './algorithms.js'
import { badProof, checkProof, consumeProof, type ProofHeader, parseUrl } from './dpop-proof.js'
import type { GuardState } from './guard.js'
import { invalid } from './jws.js'

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
