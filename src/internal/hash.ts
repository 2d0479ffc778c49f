/**
 * What the HMAC, RSA and algorithm code share about the SHA-2 hashes JWS uses: their names, digest
 * sizes, and Node's one-shot `crypto.hash`.
 */
import * as nodeCrypto from 'node:crypto'

/** The hashes of the JWS algorithms (SHA-256, -384, -512), by node:crypto's names. */
export type Hash = 'sha256' | 'sha384' | 'sha512'

/** Digest length in bytes. */
export const DIGEST_BYTES: Readonly<Record<Hash, number>> = { sha256: 32, sha384: 48, sha512: 64 }

/**
 * Node's one-shot hash (20.12+, 21.7+), looked up without a named import that could fail to link;
 * undefined where the runtime lacks it. Returns a string for a text encoding, a Buffer for 'buffer'.
 */
export const oneShotHash = (
  nodeCrypto as { hash?: (alg: string, data: Uint8Array, encoding: string) => string | Buffer }
).hash
