/**
 * RS256/384/512 (RSASSA-PKCS1-v1_5) verification the way RFC 8017 §8.2.2 describes it: recover the
 * encoded message from the signature with the public key (RSAVP1, `crypto.publicDecrypt`, which
 * also checks the type-1 padding `00 01 FF…FF 00`), encode the expected one (DigestInfo of the hash
 * of the signing input) and compare the two in full.
 *
 * Why not `crypto.verify`: on Node each call sets up an OpenSSL digest-verify context (signature
 * and digest fetched by name, a fresh EVP_PKEY_CTX, a sign job object), about a third of an RS256
 * verification's cost on the benchmark machine (2048-bit key, in a loop: 34 µs per `crypto.verify`,
 * 28 µs for `publicDecrypt` and `crypto.hash`, 21 µs for OpenSSL's bare RSA verify; in a busy
 * server 4–5% of the guard's added cost). The RSA operation here is the same one OpenSSL's RSA_verify
 * does, and its check is the same: the whole recovered block must equal the expected encoding
 * (OpenSSL compares its own re-encoding byte for byte too), so a signature that `crypto.verify`
 * refuses is refused here (test/core/rsa-pkcs1.test.ts holds both to the same answers, forged
 * encodings included).
 *
 * Used on Node only: other runtimes (Bun, Deno, Workers) keep `crypto.verify`, whose behaviour
 * their own suites check.
 */

import { type KeyObject, publicDecrypt } from 'node:crypto'
import { DIGEST_BYTES, type Hash, oneShotHash } from '../internal/hash.js'
import { IS_NODE } from '../internal/runtime.js'

/**
 * The DER prefix of each hash's DigestInfo (RFC 8017 §9.2, note 1): `SEQUENCE { AlgorithmIdentifier
 * { OID, NULL }, OCTET STRING` header; the digest follows.
 */
const DIGEST_INFO: Readonly<Record<Hash, Buffer>> = {
  sha256: Buffer.from('3031300d060960864801650304020105000420', 'hex'),
  sha384: Buffer.from('3041300d060960864801650304020205000430', 'hex'),
  sha512: Buffer.from('3051300d060960864801650304020305000440', 'hex'),
}

/** Whether {@link pkcs1Verifier} can serve this key here: an `rsa` key, on Node with `crypto.hash`. */
export function canRecoverPkcs1(key: KeyObject): boolean {
  return (
    IS_NODE &&
    typeof oneShotHash === 'function' &&
    typeof publicDecrypt === 'function' &&
    key.type === 'public' &&
    key.asymmetricKeyType === 'rsa' &&
    typeof key.asymmetricKeyDetails?.modulusLength === 'number'
  )
}

/**
 * A check of RSASSA-PKCS1-v1_5 signatures made with `hash` by the public `key` (see
 * {@link canRecoverPkcs1}): whether `signature` signs `data`. A signature of the wrong length (RFC
 * 8017 §8.2.2 step 1), a value not below the modulus, a bad padding or any other encoding of the
 * digest is refused.
 */
export function pkcs1Verifier(hash: Hash, key: KeyObject): (data: Buffer, signature: Buffer) => boolean {
  const size = Math.ceil(key.asymmetricKeyDetails!.modulusLength! / 8)
  const prefix = DIGEST_INFO[hash]
  const digestLength = DIGEST_BYTES[hash]
  const encodedLength = prefix.length + digestLength
  const digest = oneShotHash!
  return (data, signature) => {
    if (signature.length !== size) return false
    let recovered: Buffer
    try {
      recovered = publicDecrypt(key, signature)
    } catch {
      // Bad padding, or a value not below the modulus: not a signature of this key.
      return false
    }
    if (recovered.length !== encodedLength) return false
    for (let i = 0; i < prefix.length; i++) if (recovered[i] !== prefix[i]) return false
    // The digest as a latin1 string (one character per byte): a string is the lighter object to make.
    const expected = digest(hash, data, 'latin1') as string
    for (let i = 0; i < digestLength; i++)
      if (recovered[prefix.length + i] !== expected.charCodeAt(i)) return false
    return true
  }
}
