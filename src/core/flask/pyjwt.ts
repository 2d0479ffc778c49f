/**
 * A refused token, explained as Flask-JWT-Extended 4.x and PyJWT 2.x would explain it (the
 * flask-jwt-extended error preset): their words, and the error their order of checks meets first.
 *
 * latchkey decides (verify.ts); this file only words the refusal, and runs only on the refusal path.
 * It replays what `decode_token` does with a token: PyJWT's unverified read (segments, base64url
 * with its padding rules, Python's JSON), the header checks, the algorithm, the signature, then the
 * claims in PyJWT's order (iat, nbf, exp, iss, aud, sub, jti) and Flask-JWT-Extended's own (the
 * identity claim, the CSRF value). An expired token is checked further, as Flask-JWT-Extended
 * decodes it a second time without the expiry: a later failure is the one it reports.
 *
 * Where PyJWT would accept a token latchkey refuses (the differences docs/migrating-from-flask.md
 * lists), latchkey's refusal stands, worded in PyJWT's manner where there is one.
 */
import {
  AuthError,
  CsrfError,
  type TokenData,
  TokenExpiredError,
  TokenInvalidError,
  TokenNotYetValidError,
} from '../../errors.js'
import { familyOf, isAlgorithm, signBytes, verifyBytes } from '../algorithms.js'
import type { VerifyDeps } from '../verify.js'
import { pyJsonLoads } from './pyjson.js'

const EXPLAINED: ReadonlySet<string> = new Set(['TOKEN_INVALID', 'TOKEN_EXPIRED', 'TOKEN_NOT_YET_VALID'])

// latchkey's own refusals (jws.ts, verify.ts), by the step of verification they come from.
const SIGNATURE_STEP = ['signature verification failed', 'bad signature encoding']
const KEY_STEP = ['no key for this token', 'unknown key id or algorithm', 'algorithm not allowed']
const SHAPE_STEP = [
  'not a string',
  'too long',
  'expected three dot-separated segments',
  'header is not',
  'unsupported critical header parameters',
  'kid must be a string',
]

type Step = 'shape' | 'key' | 'signature' | 'claims'

function stepOf(err: AuthError): Step {
  if (err.code !== 'TOKEN_INVALID') return 'claims'
  const why = err.message.replace(/^Invalid token: /, '')
  if (SIGNATURE_STEP.includes(why)) return 'signature'
  if (KEY_STEP.includes(why)) return 'key'
  if (SHAPE_STEP.some((start) => why.startsWith(start))) return 'shape'
  return 'claims'
}

const invalid = (message: string) => new TokenInvalidError(message)

/**
 * The error to report for a refused token under the flask-jwt-extended preset. `csrf` is the CSRF
 * value the request sent with a cookie token on a method that needs one (undefined otherwise).
 * Anything but a token error is returned as it is.
 */
export function explainRefusal(deps: VerifyDeps, token: string, err: unknown, csrf?: string): unknown {
  if (!(err instanceof AuthError) || !EXPLAINED.has(err.code)) return err
  return explain(deps, token, err, csrf === '' ? undefined : csrf) ?? err
}

function explain(
  deps: VerifyDeps,
  token: string,
  err: AuthError,
  csrf: string | undefined,
): AuthError | undefined {
  // PyJWS._load: split at the last dot, then at the first.
  const last = token.lastIndexOf('.')
  const first = last < 0 ? -1 : token.indexOf('.')
  if (last < 0 || first === last) return invalid('Not enough segments')
  const headerSegment = token.slice(0, first)
  const payloadSegment = token.slice(first + 1, last)
  const signatureSegment = token.slice(last + 1)
  const headerBytes = segment(headerSegment, 'header')
  if (headerBytes instanceof AuthError) return headerBytes
  const header = pyJsonLoads(headerBytes)
  if (!header.ok) return invalid(`Invalid header string: ${header.error}`)
  if (!isObject(header.value)) return invalid('Invalid header string: must be a json object')
  const h = header.value
  const detached = h.b64 === false
  if (detached && payloadSegment !== '') return invalid("Payload segment must be empty when 'b64' is false.")
  const payloadBytes = detached ? new Uint8Array() : segment(payloadSegment, 'payload')
  if (payloadBytes instanceof AuthError) return payloadBytes
  const signature = segment(signatureSegment, 'crypto')
  if (signature instanceof AuthError) return signature
  const headerProblem = checkHeader(h)
  if (headerProblem) return headerProblem
  // PyJWT's unverified read of the payload comes before the key and the signature.
  const payload = pyJsonLoads(payloadBytes)
  if (!payload.ok) return invalid(`Invalid payload string: ${payload.error}`)
  if (!isObject(payload.value)) return invalid('Invalid payload string: must be a json object')
  const claims = payload.value

  if (!Object.hasOwn(h, 'alg')) return invalid('Algorithm not specified')
  const alg = h.alg
  const allowed = isAlgorithm(alg) && (deps.keys.algorithms.has(alg) || deps.resolveKey !== undefined)
  if (!allowed) return invalid('The specified alg value is not allowed')

  const step = stepOf(err)
  if (step === 'signature') return invalid('Signature verification failed')
  if (step !== 'claims') {
    // Refused before its signature was checked: PyJWT would check it with the key it is given.
    const valid = signatureValid(deps, alg, `${headerSegment}.${payloadSegment}`, signature)
    if (valid === false) return invalid('Signature verification failed')
    if (valid === undefined || step === 'shape') return latchkeyWords(err)
  }
  return claimsError(deps, claims, h, err, csrf) ?? latchkeyWords(err)
}

/** PyJWS._decode_base64url_segment: up to two '=' of padding, canonical base64url otherwise. */
function segment(text: string, name: string): Uint8Array | AuthError {
  const error = invalid(`Invalid ${name} padding`)
  let stripped = text
  let padding = 0
  while (stripped.endsWith('=')) {
    stripped = stripped.slice(0, -1)
    padding++
    if (padding > 2) return error
  }
  if (padding > 0 && text.length % 4 !== 0) return error
  if (stripped.length % 4 === 1 || !/^[A-Za-z0-9_-]*$/.test(stripped)) return error
  const bytes = Buffer.from(stripped, 'base64url')
  if (bytes.toString('base64url') !== stripped) return error
  return bytes
}

/** PyJWS._validate_headers and the `b64` rules of decode_complete. */
function checkHeader(h: Record<string, unknown>): AuthError | undefined {
  if (Object.hasOwn(h, 'kid') && typeof h.kid !== 'string')
    return invalid('Key ID header parameter must be a string')
  if (Object.hasOwn(h, 'crit')) {
    const crit = h.crit
    if (!Array.isArray(crit) || crit.length === 0)
      return invalid("Invalid 'crit' header: must be a non-empty list")
    for (const ext of crit) {
      if (typeof ext !== 'string') return invalid("Invalid 'crit' header: values must be strings")
      if (ext !== 'b64') return invalid(`Unsupported critical extension: ${ext}`)
      if (!Object.hasOwn(h, ext)) return invalid(`Critical extension '${ext}' is missing from headers`)
    }
  }
  if (h.b64 === false) {
    const crit = Array.isArray(h.crit) ? h.crit : []
    if (!crit.includes('b64'))
      return invalid("The 'b64' header parameter requires 'b64' to be listed in 'crit'.")
    return invalid(
      'It is required that you pass in a value for the "detached_payload" argument to decode a message having the b64 header set to false.',
    )
  }
  return undefined
}

/**
 * Whether the signature verifies with a configured key of the algorithm (PyJWT ignores `kid`);
 * undefined when no configured key has the algorithm (a key `resolveKey` would give).
 */
function signatureValid(
  deps: VerifyDeps,
  alg: string,
  input: string,
  signature: Uint8Array,
): boolean | undefined {
  if (!isAlgorithm(alg)) return false
  const keys = deps.keys.keys.filter((k) => k.algorithm === alg)
  if (keys.length === 0) return undefined
  const bytes = Buffer.from(signature)
  return keys.some((k) =>
    familyOf(alg) === 'HS'
      ? signBytes(alg, k.verifyKey, input).equals(bytes)
      : verifyBytes(alg, k.verifyKey, input, bytes),
  )
}

/** Python's int() of a JSON value, or undefined where it raises. */
function pyInt(value: unknown): number | undefined {
  if (typeof value === 'boolean') return value ? 1 : 0
  if (typeof value === 'bigint') return Number(value)
  if (typeof value === 'number') return Number.isFinite(value) ? Math.trunc(value) : undefined
  if (typeof value === 'string') {
    const m = /^\s*([+-]?)(\d+(?:_\d+)*)\s*$/.exec(value)
    return m ? Number(`${m[1]}${m[2]!.replaceAll('_', '')}`) : undefined
  }
  return undefined
}

/** Python's truthiness of a JSON value. */
function truthy(value: unknown): boolean {
  if (value === undefined || value === null || value === false || value === 0 || value === '' || value === 0n)
    return false
  if (Array.isArray(value)) return value.length > 0
  if (isObject(value)) return Object.keys(value).length > 0
  return true
}

/** PyJWT's claim checks, in its order, then Flask-JWT-Extended's; undefined when they all pass. */
function claimsError(
  deps: VerifyDeps,
  claims: Record<string, unknown>,
  header: Record<string, unknown>,
  err: AuthError,
  csrf: string | undefined,
): AuthError | undefined {
  const { config } = deps
  const now = config.clock() / 1000
  const leeway = config.leewayMs / 1000
  const data = { header: header as TokenData, claims: claims as TokenData }
  if (Object.hasOwn(claims, 'iat')) {
    const iat = pyInt(claims.iat)
    if (iat === undefined) return invalid('Issued At claim (iat) must be an integer.')
    if (iat > now + leeway)
      return new TokenNotYetValidError({ message: 'The token is not yet valid (iat)', ...data })
  }
  if (Object.hasOwn(claims, 'nbf')) {
    const nbf = pyInt(claims.nbf)
    if (nbf === undefined) return invalid('Not Before claim (nbf) must be an integer.')
    if (nbf > now + leeway)
      return new TokenNotYetValidError({ message: 'The token is not yet valid (nbf)', ...data })
  }
  let expired = false
  if (Object.hasOwn(claims, 'exp')) {
    const exp = pyInt(claims.exp)
    if (exp === undefined) return invalid('Expiration Time claim (exp) must be an integer.')
    expired = exp <= now - leeway
  }
  // From here on, as Flask-JWT-Extended's second decode of an expired token (allow_expired) checks.
  const issuer = config.issuer
  if (issuer) {
    if (!Object.hasOwn(claims, 'iss')) return invalid('Token is missing the "iss" claim')
    if (typeof claims.iss !== 'string') return invalid('Payload Issuer (iss) must be a string')
    if (!issuer.includes(claims.iss)) return invalid('Invalid issuer')
  }
  const audience = config.audience
  if (audience) {
    if (!truthy(claims.aud)) return invalid('Token is missing the "aud" claim')
    const aud = typeof claims.aud === 'string' ? [claims.aud] : claims.aud
    if (!Array.isArray(aud) || aud.some((a) => typeof a !== 'string'))
      return invalid('Invalid claim format in token')
    if (!audience.some((a) => aud.includes(a))) return invalid("Audience doesn't match")
  }
  const verifySub = !config.allowNumericIdentity || config.identityClaim !== 'sub'
  if (verifySub && Object.hasOwn(claims, 'sub') && typeof claims.sub !== 'string')
    return invalid('Subject must be a string')
  if (Object.hasOwn(claims, 'jti') && typeof claims.jti !== 'string')
    return invalid('JWT ID must be a string')
  if (!Object.hasOwn(claims, config.identityClaim)) return invalid(`Missing claim: ${config.identityClaim}`)
  if (csrf !== undefined) {
    if (!Object.hasOwn(claims, 'csrf')) return invalid('Missing claim: csrf')
    // Flask-JWT-Extended crashes on a csrf claim that is not a string: latchkey's refusal stands.
    if (typeof claims.csrf !== 'string') return undefined
    if (claims.csrf !== csrf) return new CsrfError('CSRF double submit tokens do not match', data)
  }
  if (expired)
    return err instanceof TokenExpiredError ? err : new TokenExpiredError(Number(claims.exp) * 1000, data)
  return undefined
}

/**
 * latchkey's own refusal of a token PyJWT would accept, worded as PyJWT words the claim in
 * question where it has words for it.
 */
function latchkeyWords(err: AuthError): AuthError {
  if (err.code !== 'TOKEN_INVALID') return err
  const why = err.message.replace(/^Invalid token: /, '')
  const words: Record<string, string> = {
    'missing exp': 'Token is missing the "exp" claim',
    'exp must be a number': 'Expiration Time claim (exp) must be an integer.',
    'nbf must be a number': 'Not Before claim (nbf) must be an integer.',
    'iat must be a number': 'Issued At claim (iat) must be an integer.',
    'jti must be a non-empty string': 'Missing claim: jti',
    'missing or unknown token type': 'Missing claim: type',
    'audience not accepted': 'Invalid audience',
    'aud must be a string or a list of strings': 'Invalid claim format in token',
    'iss must be a string': 'Payload Issuer (iss) must be a string',
  }
  const text = words[why]
  return text === undefined ? err : new TokenInvalidError(text, { cause: err })
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}
