/**
 * `latchkey keygen`: a private key file (PEM, owner-only) and its public JWKS, for
 * LATCHKEY_PRIVATE_KEY_FILE. HS algorithms print a random secret instead.
 */
import { generateKeyPairSync, type KeyPairKeyObjectResult, randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { ALGORITHMS, type Algorithm, createAuth } from '../../index.js'
import { restrictToOwner } from '../../server/keys.js'
import { usage } from '../errors.js'
import type { CliIO } from '../io.js'
import { print } from '../io.js'
import { parse } from '../shared.js'

/** `latchkey keygen --help`. */
export const KEYGEN_HELP = `Usage: latchkey keygen --alg ALG [--out DIR] [--force]

Generates a signing key.
  --alg ALG    ES256 (recommended), ES384, ES512, EdDSA, RS256..512, PS256..512 write
               DIR/latchkey-private.pem (mode 0600) and DIR/jwks.json (the public key);
               HS256, HS384, HS512 print a random secret for LATCHKEY_SECRET.
  --out DIR    where to write (default ./keys); existing files are kept unless --force.
               A folder keygen creates gets a .gitignore that ignores everything in it, so
               the private key never lands in a git repository by mistake.
`

const HS = new Set(['HS256', 'HS384', 'HS512'])

/** A new private key for `alg`, as PKCS#8 PEM. */
function privateKeyPem(alg: Algorithm): string {
  let pair: KeyPairKeyObjectResult
  if (alg === 'EdDSA') pair = generateKeyPairSync('ed25519')
  else if (alg.startsWith('ES')) {
    const namedCurve = { ES256: 'prime256v1', ES384: 'secp384r1', ES512: 'secp521r1' }[alg as 'ES256']
    pair = generateKeyPairSync('ec', { namedCurve })
  } else {
    // RS and PS: a modulus as strong as the hash (NIST SP 800-57 pairs SHA-384 with 3072 bits).
    const modulusLength = { '256': 2048, '384': 3072, '512': 4096 }[alg.slice(2) as '256']
    pair = generateKeyPairSync('rsa', { modulusLength })
  }
  return pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
}

/** `latchkey keygen`: resolves with the exit code. */
export async function keygen(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parse(args, {
    alg: { type: 'string' },
    out: { type: 'string' },
    force: { type: 'boolean' },
  })
  if (values.help) {
    io.stdout.write(KEYGEN_HELP)
    return 0
  }
  if (positionals.length > 0) throw usage(`unexpected argument "${positionals[0]}"`)
  const alg = values.alg
  if (typeof alg !== 'string') throw usage('--alg is required, for example --alg ES256')
  if (!(ALGORITHMS as readonly string[]).includes(alg))
    throw usage(`--alg must be one of ${ALGORITHMS.join(', ')} (got "${alg}")`)
  if (HS.has(alg)) {
    const bytes = { HS256: 32, HS384: 48, HS512: 64 }[alg as 'HS256']
    // Twice the minimum length: base64url text of 2n random bytes.
    print(io, randomBytes(bytes * 2).toString('base64url'))
    io.stderr.write(`Set it as LATCHKEY_SECRET (HS256 is what the server uses for secrets).\n`)
    return 0
  }
  const dir = resolve(io.cwd, typeof values.out === 'string' ? values.out : 'keys')
  const keyFile = join(dir, 'latchkey-private.pem')
  const jwksFile = join(dir, 'jwks.json')
  if (!values.force) {
    for (const file of [keyFile, jwksFile])
      if (existsSync(file)) throw usage(`${file} exists; pass --force to replace it`)
  }
  const privateKey = privateKeyPem(alg as Algorithm)
  // The core computes the kid (RFC 7638 thumbprint) and the public JWK exactly as the server will.
  const jwks = createAuth({ keys: { privateKey, algorithm: alg as Algorithm } }).jwks()
  const created = !existsSync(dir)
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const gitignore = join(dir, '.gitignore')
  // Only in a folder of our own: a `*` in an existing folder (--out .) would hide a whole project.
  if (created) writeFileSync(gitignore, '# Written by latchkey keygen: keep keys out of git.\n*\n')
  const ignored = existsSync(gitignore) && /^\*$/m.test(readFileSync(gitignore, 'utf8'))
  writeFileSync(keyFile, privateKey, { mode: 0o600 })
  // The mode above applies only to a new file; a replaced one (--force) is restricted too.
  restrictToOwner(keyFile)
  writeFileSync(jwksFile, `${JSON.stringify(jwks, null, 2)}\n`)
  print(io, `Wrote ${keyFile} (private, mode 0600) and ${jwksFile} (public, kid ${jwks.keys[0]?.kid}).`)
  print(
    io,
    ignored
      ? `${dir} has a .gitignore that keeps both files out of git.`
      : `Keep ${keyFile} out of version control (add it to .gitignore).`,
  )
  print(io, `Use it with: LATCHKEY_PRIVATE_KEY_FILE=${keyFile} LATCHKEY_ALGORITHM=${alg}`)
  return 0
}
