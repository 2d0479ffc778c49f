import {
  createHash,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  type JsonWebKey,
  KeyObject,
} from 'node:crypto'
import { ConfigError } from '../errors.js'
import { encodeBase64url } from '../internal/base64url.js'
import {
  type Algorithm,
  EC_PARAMS,
  familyOf,
  hashOf,
  isAlgorithm,
  type SignatureCheck,
  signatureCheck,
} from './algorithms.js'
import { hmacText, type MacText } from './hmac.js'

/** An HMAC secret (HS256/384/512). At least as many bytes as the hash: 32, 48 or 64. */
export interface SecretKeyConfig {
  /** Text (UTF-8), bytes, a secret KeyObject, or an `oct` JWK (`{ kty: 'oct', k }`). */
  secret: string | Uint8Array | KeyObject | JsonWebKey
  algorithm?: 'HS256' | 'HS384' | 'HS512'
  kid?: string
  /** Keep verifying tokens signed with this key, but never sign with it (rotation). */
  verifyOnly?: boolean
  /**
   * Accept a secret shorter than RFC 7518 §3.2 requires (the hash's size), with a warning: only to
   * keep an existing app's tokens valid while it moves to latchkey (Flask-JWT-Extended accepts any
   * secret). Rotate to a long random secret (a new key with its `kid`) as soon as the move is done.
   */
  insecureShortSecretForMigration?: boolean
}

/** A private key (PEM text, a JWK object or a `KeyObject`) bound to one asymmetric algorithm. */
export interface PrivateKeyConfig {
  privateKey: string | Uint8Array | JsonWebKey | KeyObject
  algorithm: Algorithm
  /** Defaults to the key's RFC 7638 thumbprint. */
  kid?: string
  verifyOnly?: boolean
}

/** A public key for verification only (a service that checks tokens another service issues). */
export interface PublicKeyConfig {
  publicKey: string | Uint8Array | JsonWebKey | KeyObject
  algorithm: Algorithm
  kid?: string
}

/** One key, bound to exactly one algorithm. */
export type KeyConfig = SecretKeyConfig | PrivateKeyConfig | PublicKeyConfig

/** A loaded key: the KeyObjects and the one algorithm they may be used with. */
export interface LoadedKey {
  readonly kid: string | undefined
  readonly algorithm: Algorithm
  readonly signKey: KeyObject | undefined
  readonly verifyKey: KeyObject
  /** The public JWK (asymmetric keys only), for the JWKS document. */
  readonly publicJwk: JsonWebKey | undefined
  /** HS keys: the MAC of a signing input as base64url text, prepared once (see hmac.ts). */
  readonly macText?: MacText
  /** Asymmetric keys: the signature check, prepared once (see `signatureCheck` in algorithms.ts). */
  readonly verifySignature?: SignatureCheck
}

/** A JSON Web Key Set document (RFC 7517 §5). */
export interface JWKS {
  keys: JsonWebKey[]
}

const MIN_HMAC_BYTES = { HS256: 32, HS384: 48, HS512: 64 } as const

function looksLikeKeyText(text: string): string | undefined {
  const t = text.trim()
  if (t.includes('-----BEGIN')) return 'a PEM key'
  if (/^(ssh-(rsa|ed25519|dss)|ecdsa-sha2-)/.test(t)) return 'an SSH key'
  if (t.startsWith('{') && /"kty"\s*:/.test(t)) return 'a JWK'
  return undefined
}

/** The bytes of a secret given as text, bytes, a secret KeyObject or an `oct` JWK. */
function secretBytes(secret: SecretKeyConfig['secret'], where: string): Buffer {
  if (typeof secret === 'string') return Buffer.from(secret, 'utf8')
  if (secret instanceof Uint8Array) return Buffer.from(secret)
  if (secret instanceof KeyObject) {
    if (secret.type !== 'secret')
      throw new ConfigError(`${where}: secret must be a secret key, not a ${secret.type} key`)
    return secret.export()
  }
  if (secret && typeof secret === 'object' && (secret as JsonWebKey).kty === 'oct') {
    const k = (secret as JsonWebKey).k
    if (typeof k !== 'string' || k === '') throw new ConfigError(`${where}: an oct JWK needs its "k" member`)
    return Buffer.from(k, 'base64url')
  }
  throw new ConfigError(`${where}: secret must be a string, bytes, a secret KeyObject or an oct JWK`)
}

function loadSecret(cfg: SecretKeyConfig, where: string): LoadedKey {
  const algorithm = cfg.algorithm ?? 'HS256'
  if (!(algorithm in MIN_HMAC_BYTES)) {
    throw new ConfigError(`${where}: a secret can only be used with HS256, HS384 or HS512, not ${algorithm}`)
  }
  const bytes = secretBytes(cfg.secret, where)
  // Bytes too: `secret: fs.readFileSync('public.pem')` is the classic key-confusion misconfiguration.
  const kind = looksLikeKeyText(bytes.toString('latin1'))
  if (kind) {
    throw new ConfigError(
      `${where}: the secret looks like ${kind}; use { privateKey, algorithm } for asymmetric keys, and a random secret for HS algorithms`,
    )
  }
  const min = MIN_HMAC_BYTES[algorithm]
  if (bytes.length < min) {
    const problem = `${where}: the ${algorithm} secret is ${bytes.length} bytes; it must be at least ${min} random bytes (for example: openssl rand -base64 ${min})`
    if (cfg.insecureShortSecretForMigration !== true || bytes.length === 0) throw new ConfigError(problem)
    console.warn(`latchkey: ${problem}. insecureShortSecretForMigration accepts it for a migration only.`)
  }
  const key = createSecretKey(bytes)
  return {
    kid: checkKid(cfg.kid, where),
    algorithm,
    signKey: cfg.verifyOnly ? undefined : key,
    verifyKey: key,
    publicJwk: undefined,
    macText: hmacText(hashOf(algorithm)!, bytes),
  }
}

function checkKid(kid: unknown, where: string): string | undefined {
  if (kid === undefined) return undefined
  if (typeof kid !== 'string' || kid.length === 0 || kid.length > 256) {
    throw new ConfigError(`${where}: kid must be a non-empty string of at most 256 characters`)
  }
  return kid
}

function toKeyObject(input: unknown, kind: 'private' | 'public', where: string): KeyObject {
  try {
    if (input instanceof KeyObject) {
      if (kind === 'private' && input.type !== 'private') throw new Error(`it is a ${input.type} key`)
      if (kind === 'public' && input.type === 'secret') throw new Error('it is a secret key')
      return kind === 'public' && input.type === 'private' ? createPublicKey(input) : input
    }
    if (typeof input === 'string' || input instanceof Uint8Array) {
      return kind === 'private' ? createPrivateKey(input as string) : createPublicKey(input as string)
    }
    if (input && typeof input === 'object') {
      const jwk = input as JsonWebKey
      return kind === 'private'
        ? createPrivateKey({ key: jwk, format: 'jwk' })
        : createPublicKey({ key: jwk, format: 'jwk' })
    }
  } catch (err) {
    throw new ConfigError(`${where}: cannot read the ${kind} key (${(err as Error).message})`, { cause: err })
  }
  throw new ConfigError(`${where}: the ${kind} key must be PEM text, a JWK object or a KeyObject`)
}

/** Refuses a key whose type does not fit the algorithm, RSA under 2048 bits, or an EC key on the wrong curve. */
function checkAsymmetric(key: KeyObject, algorithm: Algorithm, where: string): void {
  const fam = familyOf(algorithm)
  const type = key.asymmetricKeyType
  const details = key.asymmetricKeyDetails ?? {}
  if (fam === 'HS') throw new ConfigError(`${where}: ${algorithm} needs { secret }, not an asymmetric key`)
  if (fam === 'RS' || fam === 'PS') {
    if (type !== 'rsa' && !(fam === 'PS' && type === 'rsa-pss')) {
      throw new ConfigError(`${where}: ${algorithm} needs an RSA key, got ${type}`)
    }
    if ((details.modulusLength ?? 0) < 2048) {
      throw new ConfigError(`${where}: RSA keys must be at least 2048 bits (got ${details.modulusLength})`)
    }
  } else if (fam === 'ES') {
    const want = EC_PARAMS[algorithm as keyof typeof EC_PARAMS].curve
    if (type !== 'ec' || details.namedCurve !== want) {
      throw new ConfigError(
        `${where}: ${algorithm} needs an EC key on curve ${want}, got ${type} ${details.namedCurve ?? ''}`.trim(),
      )
    }
  } else if (type !== 'ed25519' && type !== 'ed448') {
    throw new ConfigError(`${where}: EdDSA needs an Ed25519 or Ed448 key, got ${type}`)
  }
}

/** RFC 7638 JWK thumbprint (SHA-256), used as the default `kid` of asymmetric keys. */
export function jwkThumbprint(jwk: JsonWebKey): string {
  const members =
    jwk.kty === 'RSA'
      ? { e: jwk.e, kty: jwk.kty, n: jwk.n }
      : jwk.kty === 'EC'
        ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }
        : { crv: jwk.crv, kty: jwk.kty, x: jwk.x }
  return encodeBase64url(createHash('sha256').update(JSON.stringify(members)).digest())
}

function loadAsymmetric(cfg: PrivateKeyConfig | PublicKeyConfig, where: string): LoadedKey {
  if (!isAlgorithm(cfg.algorithm)) {
    throw new ConfigError(
      `${where}: algorithm must be one of HS256..512, RS256..512, PS256..512, ES256..512, EdDSA (got ${String(cfg.algorithm)})`,
    )
  }
  const isPrivate = 'privateKey' in cfg
  const signKey = isPrivate ? toKeyObject(cfg.privateKey, 'private', where) : undefined
  const verifyKey = signKey
    ? createPublicKey(signKey)
    : toKeyObject((cfg as PublicKeyConfig).publicKey, 'public', where)
  checkAsymmetric(verifyKey, cfg.algorithm, where)
  const exported = verifyKey.export({ format: 'jwk' })
  const kid = checkKid(cfg.kid, where) ?? jwkThumbprint(exported)
  const publicJwk: JsonWebKey = { ...exported, kid, alg: cfg.algorithm, use: 'sig' }
  return {
    kid,
    algorithm: cfg.algorithm,
    signKey: isPrivate && !(cfg as PrivateKeyConfig).verifyOnly ? signKey : undefined,
    verifyKey,
    publicJwk,
    verifySignature: signatureCheck(cfg.algorithm, verifyKey),
  }
}

/** Loads one key configuration, validating it. Throws ConfigError with what to fix. */
export function loadKey(cfg: KeyConfig, where = 'keys'): LoadedKey {
  if (!cfg || typeof cfg !== 'object')
    throw new ConfigError(
      `${where}: expected { secret } or { privateKey, algorithm } or { publicKey, algorithm }`,
    )
  const kinds = ['secret', 'privateKey', 'publicKey'].filter((k) => k in cfg)
  if (kinds.length !== 1) {
    throw new ConfigError(
      `${where}: give exactly one of secret, privateKey or publicKey (got ${kinds.join(', ') || 'none'})`,
    )
  }
  if ('secret' in cfg) return loadSecret(cfg, where)
  return loadAsymmetric(cfg, where)
}

/**
 * The configured keys: one signs (the first that can), every one verifies; lookup by `kid` is a
 * `Map` lookup and nothing else (never a path, a URL or a property of an object).
 */
export class KeySet {
  readonly keys: readonly LoadedKey[]
  readonly signing: LoadedKey | undefined
  readonly algorithms: ReadonlySet<Algorithm>
  private readonly mixed: boolean
  private readonly byKid = new Map<string, LoadedKey>()
  private readonly byAlgorithm = new Map<Algorithm, LoadedKey[]>()

  constructor(
    configs: KeyConfig | readonly KeyConfig[],
    options: { allowMixedAlgorithms?: boolean; allowEmpty?: boolean } = {},
  ) {
    const list = Array.isArray(configs) ? configs : [configs as KeyConfig]
    if (list.length === 0 && !options.allowEmpty) throw new ConfigError('keys: configure at least one key')
    this.keys = list.map((c, i) => loadKey(c, list.length > 1 ? `keys[${i}]` : 'keys'))
    for (const k of this.keys) {
      if (k.kid !== undefined) {
        if (this.byKid.has(k.kid)) throw new ConfigError(`keys: kid "${k.kid}" is used twice`)
        this.byKid.set(k.kid, k)
      }
      const same = this.byAlgorithm.get(k.algorithm) ?? []
      same.push(k)
      this.byAlgorithm.set(k.algorithm, same)
    }
    if (this.keys.length > 1 && this.keys.some((k) => k.kid === undefined)) {
      throw new ConfigError('keys: when several keys are configured, each needs a kid')
    }
    this.algorithms = new Set(this.keys.map((k) => k.algorithm))
    const families = new Set(this.keys.map((k) => (familyOf(k.algorithm) === 'HS' ? 'HS' : 'asym')))
    if (families.size > 1 && !options.allowMixedAlgorithms) {
      throw new ConfigError(
        'keys: HS and asymmetric keys in one key set let a verifier accept both kinds; set allowMixedAlgorithms: true if you really mean it',
      )
    }
    this.mixed = options.allowMixedAlgorithms === true
    this.signing = this.keys.find((k) => k.signKey !== undefined)
  }

  /** The key for a token header, or undefined. `kid` is looked up in a Map; alg must match the key's. */
  select(alg: Algorithm, kid: string | undefined): LoadedKey | undefined {
    if (kid !== undefined) {
      const key = this.byKid.get(kid)
      return key && key.algorithm === alg ? key : undefined
    }
    const candidates = this.byAlgorithm.get(alg)
    return candidates?.length === 1 ? candidates[0] : undefined
  }

  /** Whether a key of `alg` may join this verifier (resolved keys): same family unless mixing is allowed. */
  allows(alg: Algorithm): boolean {
    // No configured key (an API of identity providers' tokens): no family to keep apart.
    return (
      this.mixed ||
      this.keys.length === 0 ||
      this.keys.some((k) => (familyOf(k.algorithm) === 'HS') === (familyOf(alg) === 'HS'))
    )
  }

  /** The public keys as a JWKS document (HS secrets are never published). */
  jwks(): JWKS {
    return { keys: this.keys.flatMap((k) => (k.publicJwk ? [{ ...k.publicJwk }] : [])) }
  }
}

/** Bytes of the smallest HMAC secret for each HS algorithm. */
export function minSecretBytes(alg: 'HS256' | 'HS384' | 'HS512'): number {
  return MIN_HMAC_BYTES[alg]
}
