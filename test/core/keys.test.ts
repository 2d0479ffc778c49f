import {
  createPublicKey,
  createSecretKey,
  generateKeyPairSync,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto'
import {
  calculateJwkThumbprint,
  createLocalJWKSet,
  type JWK,
  exportJWK as joseExportJWK,
  jwtVerify,
  SignJWT,
} from 'jose'
import { describe, expect, it } from 'vitest'
import { ConfigError, createAuth, jwkThumbprint, type KeyConfig, TokenInvalidError } from '../../src/index.js'
import {
  b64,
  bearer,
  decodeSegment,
  expectAuthError,
  forge,
  frozenClock,
  keyPairs,
  makeView,
  NOW,
  SECRET,
  type SignAlg,
  thrown,
} from './helpers.js'

const K = keyPairs()
type Pair = { privateKey: KeyObject; publicKey: KeyObject }
type AsymAlg = Exclude<SignAlg, 'HS256' | 'HS384' | 'HS512'>

const ASYMMETRIC: [AsymAlg, Pair][] = [
  ['RS256', K.rsa],
  ['RS384', K.rsa],
  ['RS512', K.rsa],
  ['PS256', K.rsa],
  ['PS384', K.rsa],
  ['PS512', K.rsa],
  ['ES256', K.p256],
  ['ES384', K.p384],
  ['ES512', K.p521],
  ['EdDSA', K.ed25519],
]

/** The same key pair in each input form latchkey accepts. */
const FORMS: Record<string, (p: Pair) => { priv: unknown; pub: unknown }> = {
  'PEM (pkcs8 + spki)': (p) => ({
    priv: p.privateKey.export({ type: 'pkcs8', format: 'pem' }),
    pub: p.publicKey.export({ type: 'spki', format: 'pem' }),
  }),
  'JWK object': (p) => ({
    priv: p.privateKey.export({ format: 'jwk' }),
    pub: p.publicKey.export({ format: 'jwk' }),
  }),
  KeyObject: (p) => ({ priv: p.privateKey, pub: p.publicKey }),
}

const clock = frozenClock()
const joseOptions = (alg: string) => ({
  algorithms: [alg],
  requiredClaims: ['exp'],
  currentDate: new Date(NOW),
})

function configError(fn: () => unknown, message: RegExp): void {
  const err = thrown(fn)
  expect(err).toBeInstanceOf(ConfigError)
  expect((err as Error).message).toMatch(message)
}

describe('every algorithm signs tokens that latchkey and jose both verify', () => {
  describe.each(ASYMMETRIC)('%s', (alg, pair) => {
    it.each(Object.keys(FORMS))('key as %s', async (form) => {
      const { priv, pub } = FORMS[form]!(pair)
      const signer = createAuth({ keys: { privateKey: priv as string, algorithm: alg }, clock: clock.fn })
      const issued = signer.issueToken('access', 'u1')
      const [h] = issued.token.split('.')
      const header = decodeSegment(h!)
      const thumbprint = await calculateJwkThumbprint((await joseExportJWK(pair.publicKey)) as JWK)
      expect(header).toEqual({ alg, typ: 'JWT', kid: thumbprint })

      expect(signer.decodeToken(issued.token).claims).toEqual(issued.claims)
      const verifier = createAuth({ keys: { publicKey: pub as string, algorithm: alg }, clock: clock.fn })
      expect(verifier.decodeToken(issued.token).claims.jti).toBe(issued.claims.jti)
      // A verify-only key set cannot sign.
      expect(() => verifier.createAccessToken('u1')).toThrow(/no key can sign/)

      const { payload, protectedHeader } = await jwtVerify(issued.token, pair.publicKey, joseOptions(alg))
      expect(payload).toEqual(issued.claims)
      expect(protectedHeader.alg).toBe(alg)
    })

    it('verifies a token jose signed with latchkey claims', async () => {
      const token = await new SignJWT({ type: 'access', jti: 'j-jose' })
        .setProtectedHeader({ alg })
        .setSubject('u9')
        .setIssuedAt(NOW / 1000)
        .setExpirationTime(NOW / 1000 + 60)
        .sign(pair.privateKey)
      const verifier = createAuth({ keys: { publicKey: pair.publicKey, algorithm: alg }, clock: clock.fn })
      expect(verifier.decodeToken(token).claims.sub).toBe('u9')
    })
  })

  it.each([
    ['HS256', 32],
    ['HS384', 48],
    ['HS512', 64],
  ] as const)('%s with a secret of exactly %i bytes, as text and as bytes', async (alg, bytes) => {
    const text = 's'.repeat(bytes)
    for (const secret of [text, new TextEncoder().encode(text)]) {
      const auth = createAuth({ keys: { secret, algorithm: alg }, clock: clock.fn })
      const issued = auth.issueToken('refresh', 'u1')
      expect(decodeSegment(issued.token.split('.')[0]!)).toEqual({ alg, typ: 'JWT' })
      expect(auth.decodeToken(issued.token).claims).toEqual(issued.claims)
      const { payload } = await jwtVerify(issued.token, new TextEncoder().encode(text), joseOptions(alg))
      expect(payload).toEqual(issued.claims)
      const joseToken = await new SignJWT({ type: 'access', jti: 'j' })
        .setProtectedHeader({ alg })
        .setSubject('u2')
        .setExpirationTime(NOW / 1000 + 60)
        .sign(new TextEncoder().encode(text))
      expect(auth.decodeToken(joseToken).claims.sub).toBe('u2')
    }
  })

  it('defaults a secret to HS256', () => {
    const auth = createAuth({ keys: { secret: SECRET } })
    expect(decodeSegment(auth.createAccessToken('u').split('.')[0]!).alg).toBe('HS256')
  })
})

describe('configuration refusals', () => {
  it.each([
    ['HS256', 31, 32],
    ['HS384', 47, 48],
    ['HS512', 63, 64],
  ] as const)('%s secret of %i bytes is refused (needs %i)', (alg, len, min) => {
    configError(
      () => createAuth({ keys: { secret: 'x'.repeat(len), algorithm: alg } }),
      new RegExp(`${alg} secret is ${len} bytes; it must be at least ${min} random bytes`),
    )
    configError(
      () => createAuth({ keys: { secret: new Uint8Array(len), algorithm: alg } }),
      new RegExp(`${alg} secret is ${len} bytes`),
    )
  })

  it('counts bytes, not characters, and refuses an empty secret', () => {
    // 11 three-byte characters = 33 bytes: accepted for HS256.
    expect(() => createAuth({ keys: { secret: '€'.repeat(11) } })).not.toThrow()
    configError(() => createAuth({ keys: { secret: '' } }), /HS256 secret is 0 bytes/)
  })

  const rsaPem = K.rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string
  it.each([
    ['a PEM public key', rsaPem, /looks like a PEM key/],
    ['a PEM with leading white space', `\n\n  ${rsaPem}`, /looks like a PEM key/],
    ['a PKCS#1 PEM', K.rsa.publicKey.export({ type: 'pkcs1', format: 'pem' }) as string, /a PEM key/],
    ['a private key PEM', K.p256.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, /a PEM key/],
    [
      'an SSH RSA key',
      'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDx7 user@host-with-a-long-enough-comment',
      /an SSH key/,
    ],
    ['an SSH Ed25519 key', `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${'A'.repeat(40)} me`, /an SSH key/],
    [
      'an SSH ECDSA key',
      `ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTY${'B'.repeat(30)}`,
      /an SSH key/,
    ],
    ['a JWK in text form', JSON.stringify(K.rsa.publicKey.export({ format: 'jwk' })), /looks like a JWK/],
    ['an oct JWK in text form', JSON.stringify({ kty: 'oct', k: 'A'.repeat(43) }), /looks like a JWK/],
  ])('a secret that is really %s is refused', (_what, secret, message) => {
    configError(() => createAuth({ keys: { secret } }), message)
    configError(() => createAuth({ keys: { secret: new TextEncoder().encode(secret) } }), message)
  })

  it('refuses a secret of another type', () => {
    configError(
      () => createAuth({ keys: { secret: 12345 as unknown as string } }),
      /secret must be a string, bytes, a secret KeyObject or an oct JWK/,
    )
    configError(() => createAuth({ keys: { secret: K.rsa.publicKey } }), /not a public key/)
    configError(() => createAuth({ keys: { secret: { kty: 'oct' } } }), /needs its "k" member/)
  })

  it('takes an HS secret as an oct JWK or a secret KeyObject; jose verifies its tokens', async () => {
    const raw = Buffer.from(SECRET)
    const jwk = { kty: 'oct', k: raw.toString('base64url') }
    for (const secret of [jwk, createSecretKey(raw)]) {
      const auth = createAuth({ keys: { secret }, clock: clock.fn })
      const token = auth.createAccessToken('u1')
      expect(auth.decodeToken(token).claims.sub).toBe('u1')
      const { payload } = await jwtVerify(token, raw, { currentDate: new Date(clock.now) })
      expect(payload.sub).toBe('u1')
    }
    // An oct JWK shorter than the hash is refused like any short secret.
    configError(
      () => createAuth({ keys: { secret: { kty: 'oct', k: Buffer.alloc(16).toString('base64url') } } }),
      /at least 32/,
    )
  })

  it('refuses RSA keys under 2048 bits, private or public', () => {
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 })
    for (const alg of ['RS256', 'PS256'] as const) {
      configError(
        () => createAuth({ keys: { privateKey: small.privateKey, algorithm: alg } }),
        /RSA keys must be at least 2048 bits \(got 1024\)/,
      )
      configError(
        () => createAuth({ keys: { publicKey: small.publicKey, algorithm: alg } }),
        /at least 2048 bits/,
      )
    }
  })

  it.each([
    ['ES256', K.p384.privateKey, /ES256 needs an EC key on curve prime256v1, got ec secp384r1/],
    ['ES384', K.p256.privateKey, /ES384 needs an EC key on curve secp384r1, got ec prime256v1/],
    ['ES512', K.p256.publicKey, /ES512 needs an EC key on curve secp521r1/],
    [
      'ES256',
      generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey,
      /ES256 needs an EC key on curve prime256v1, got ec secp256k1/,
    ],
  ] as const)('%s with an EC key on the wrong curve is refused', (alg, key, message) => {
    const cfg: KeyConfig =
      key.type === 'private' ? { privateKey: key, algorithm: alg } : { publicKey: key, algorithm: alg }
    configError(() => createAuth({ keys: cfg }), message)
  })

  it.each([
    ['RS256', K.p256.privateKey, /RS256 needs an RSA key, got ec/],
    ['PS384', K.ed25519.privateKey, /PS384 needs an RSA key, got ed25519/],
    ['ES256', K.rsa.privateKey, /ES256 needs an EC key on curve prime256v1, got rsa/],
    ['EdDSA', K.rsa.privateKey, /EdDSA needs an Ed25519 or Ed448 key, got rsa/],
    ['EdDSA', K.p256.publicKey, /EdDSA needs an Ed25519 or Ed448 key, got ec/],
    ['HS256', K.rsa.privateKey, /HS256 needs \{ secret \}, not an asymmetric key/],
  ] as const)('%s with a mismatched key is refused', (alg, key, message) => {
    const cfg: KeyConfig =
      key.type === 'private' ? { privateKey: key, algorithm: alg } : { publicKey: key, algorithm: alg }
    configError(() => createAuth({ keys: cfg }), message)
  })

  it('refuses a secret with an asymmetric algorithm, and unknown or mis-cased algorithms', () => {
    configError(
      () => createAuth({ keys: { secret: SECRET, algorithm: 'RS256' as 'HS256' } }),
      /a secret can only be used with HS256, HS384 or HS512, not RS256/,
    )
    for (const alg of ['none', 'None', 'rs256', 'HS256 ', 'ES256K', '']) {
      configError(
        () => createAuth({ keys: { privateKey: K.rsa.privateKey, algorithm: alg as 'RS256' } }),
        /algorithm must be one of/,
      )
      configError(
        () => createAuth({ keys: { secret: SECRET, algorithm: alg as 'HS256' } }),
        /HS256, HS384 or HS512/,
      )
    }
  })

  it('refuses keys it cannot read and keys of the wrong kind', () => {
    configError(
      () =>
        createAuth({
          keys: {
            privateKey: '-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----',
            algorithm: 'RS256',
          },
        }),
      /keys: cannot read the private key/,
    )
    configError(
      () => createAuth({ keys: { privateKey: K.rsa.publicKey, algorithm: 'RS256' } }),
      /cannot read the private key \(it is a public key\)/,
    )
    configError(
      () => createAuth({ keys: { privateKey: 42 as unknown as string, algorithm: 'RS256' } }),
      /the private key must be PEM text, a JWK object or a KeyObject/,
    )
    configError(
      () => createAuth({ keys: { secret: SECRET, privateKey: K.rsa.privateKey } as unknown as KeyConfig }),
      /give exactly one of secret, privateKey or publicKey \(got secret, privateKey\)/,
    )
    configError(() => createAuth({ keys: {} as KeyConfig }), /got none/)
    configError(() => createAuth({ keys: [] }), /configure at least one key/)
    configError(() => createAuth({ keys: { secret: SECRET, kid: '' } }), /kid must be a non-empty string/)
    configError(
      () => createAuth({ keys: { secret: SECRET, kid: 'k'.repeat(257) } }),
      /at most 256 characters/,
    )
  })

  it('refuses HS and asymmetric keys together unless allowMixedAlgorithms', () => {
    const keys: KeyConfig[] = [
      { secret: SECRET, kid: 'hs' },
      { privateKey: K.p256.privateKey, algorithm: 'ES256', kid: 'es' },
    ]
    configError(
      () => createAuth({ keys }),
      /HS and asymmetric keys in one key set.*allowMixedAlgorithms: true/,
    )
    const auth = createAuth({ keys, allowMixedAlgorithms: true, clock: clock.fn })
    const hs = auth.createAccessToken('u1')
    expect(decodeSegment(hs.split('.')[0]!)).toMatchObject({ alg: 'HS256', kid: 'hs' })
    const es = createAuth({ keys: keys[1]!, clock: clock.fn }).createAccessToken('u1')
    expect(auth.decodeToken(es).header.kid).toBe('es')
    expect(auth.decodeToken(hs).header.kid).toBe('hs')
  })

  it('refuses a kid used twice (explicit, or the same key twice under its thumbprint)', () => {
    configError(
      () =>
        createAuth({
          keys: [
            { secret: SECRET, kid: 'a' },
            { secret: `${SECRET}2`, kid: 'a' },
          ],
        }),
      /kid "a" is used twice/,
    )
    // RS256 and PS256 from one RSA key get one thumbprint: explicit kids are needed.
    configError(
      () =>
        createAuth({
          keys: [
            { privateKey: K.rsa.privateKey, algorithm: 'RS256' },
            { privateKey: K.rsa.privateKey, algorithm: 'PS256' },
          ],
        }),
      /is used twice/,
    )
  })

  it('refuses several keys when one has no kid', () => {
    configError(
      () => createAuth({ keys: [{ secret: SECRET, kid: 'a' }, { secret: `${SECRET}2` }] }),
      /when several keys are configured, each needs a kid/,
    )
    // The message names the key at fault.
    configError(
      () =>
        createAuth({
          keys: [
            { secret: SECRET, kid: 'a' },
            { secret: 'short', kid: 'b' },
          ],
        }),
      /^keys\[1\]: the HS256 secret is 5 bytes/,
    )
  })
})

describe('key rotation', () => {
  const OLD = `${SECRET}-old`
  const NEW = `${SECRET}-new`
  const REMOVED = `${SECRET}-removed`
  const sign = (secret: string, kid: string) =>
    createAuth({ keys: { secret, kid }, clock: clock.fn }).createAccessToken('u1')

  const rotated = createAuth({
    keys: [
      { secret: OLD, kid: 'old', verifyOnly: true },
      { secret: NEW, kid: 'new' },
      { secret: `${SECRET}-next`, kid: 'next' },
    ],
    clock: clock.fn,
  })

  it('signs with the first key that can sign', () => {
    const token = rotated.createAccessToken('u1')
    expect(decodeSegment(token.split('.')[0]!).kid).toBe('new')
    expect(rotated.decodeToken(token).header.kid).toBe('new')
    // And that is really the "new" secret: a verifier holding only it accepts the token.
    expect(
      createAuth({ keys: { secret: NEW, kid: 'new' }, clock: clock.fn }).decodeToken(token).claims.sub,
    ).toBe('u1')
  })

  it('accepts a token signed with a retired (verify-only) key and with every other configured key', () => {
    expect(rotated.decodeToken(sign(OLD, 'old')).claims.sub).toBe('u1')
    expect(rotated.decodeToken(sign(`${SECRET}-next`, 'next')).claims.sub).toBe('u1')
  })

  it('refuses a token signed with a removed key', () => {
    const err = expectAuthError(
      () => rotated.decodeToken(sign(REMOVED, 'removed')),
      TokenInvalidError,
      'TOKEN_INVALID',
    )
    expect(err.message).toBe('Invalid token: unknown key id or algorithm')
  })

  it('refuses a token that names a configured kid but was signed with another key', () => {
    expectAuthError(() => rotated.decodeToken(sign(REMOVED, 'new')), TokenInvalidError, 'TOKEN_INVALID')
  })

  it('refuses a token without kid when several keys share its algorithm', () => {
    const token = createAuth({ keys: { secret: NEW }, clock: clock.fn }).createAccessToken('u1')
    expectAuthError(() => rotated.decodeToken(token), TokenInvalidError, 'TOKEN_INVALID')
  })

  it('rotates asymmetric keys: a retired key verifies, a public-only key verifies, neither signs', () => {
    const oldSigner = createAuth({
      keys: { privateKey: K.rsa.privateKey, algorithm: 'RS256' },
      clock: clock.fn,
    })
    const partner = createAuth({
      keys: { privateKey: K.ed25519.privateKey, algorithm: 'EdDSA' },
      clock: clock.fn,
    })
    const auth = createAuth({
      keys: [
        { privateKey: K.rsa.privateKey, algorithm: 'RS256', verifyOnly: true },
        { publicKey: K.ed25519.publicKey, algorithm: 'EdDSA' },
        { privateKey: K.p256.privateKey, algorithm: 'ES256' },
      ],
      clock: clock.fn,
    })
    expect(decodeSegment(auth.createAccessToken('u1').split('.')[0]!).alg).toBe('ES256')
    expect(auth.decodeToken(oldSigner.createAccessToken('u2')).claims.sub).toBe('u2')
    expect(auth.decodeToken(partner.createAccessToken('u3')).claims.sub).toBe('u3')
    const removed = createAuth({
      keys: { privateKey: K.p384.privateKey, algorithm: 'ES384' },
      clock: clock.fn,
    })
    expectAuthError(
      () => auth.decodeToken(removed.createAccessToken('u1')),
      TokenInvalidError,
      'TOKEN_INVALID',
    )
  })

  it('says so when every key is verify-only', () => {
    const auth = createAuth({ keys: { secret: SECRET, verifyOnly: true } })
    expect(() => auth.createAccessToken('u1')).toThrow(TypeError)
    expect(() => auth.createAccessToken('u1')).toThrow(/no key can sign/)
  })
})

describe('kid is only a Map lookup', () => {
  const auth = createAuth({
    keys: [
      { secret: SECRET, kid: 'k1' },
      { secret: `${SECRET}-2`, kid: 'k2' },
    ],
    clock: clock.fn,
  })
  const payload = {
    sub: 'u1',
    iat: NOW / 1000,
    exp: NOW / 1000 + 60,
    jti: 'j',
    type: 'access',
  }

  it.each([
    '__proto__',
    'constructor',
    'toString',
    'hasOwnProperty',
    'valueOf',
    '../../etc/passwd',
    '/dev/null',
    "' OR 1=1 --",
    'k1\u0000',
    'K1',
    ' k1',
    'https://attacker.example/key',
  ])('kid %j fails cleanly', (kid) => {
    // Signed with the real secret of k1: only the lookup can refuse it.
    const token = forge('HS256', SECRET, { alg: 'HS256', typ: 'JWT', kid }, payload)
    const err = expectAuthError(() => auth.decodeToken(token), TokenInvalidError, 'TOKEN_INVALID')
    expect(err.message).toBe('Invalid token: unknown key id or algorithm')
  })

  it.each([1, null, true, ['k1'], { k: 'k1' }])('kid of the wrong type %j fails cleanly', (kid) => {
    const token = forge('HS256', SECRET, { alg: 'HS256', kid }, payload)
    expectAuthError(() => auth.decodeToken(token), TokenInvalidError, 'TOKEN_INVALID')
  })

  it('a configured kid with a matching signature passes (the control case)', () => {
    expect(auth.decodeToken(forge('HS256', SECRET, { alg: 'HS256', kid: 'k1' }, payload)).claims.jti).toBe(
      'j',
    )
  })

  it('refuses a configured kid with another algorithm than its key', () => {
    const long = SECRET + SECRET
    const auth512 = createAuth({ keys: { secret: long, kid: 'k1' }, clock: clock.fn })
    const token = forge('HS512', long, { alg: 'HS512', kid: 'k1' }, payload)
    expectAuthError(() => auth512.decodeToken(token), TokenInvalidError, 'TOKEN_INVALID')
  })
})

describe('resolveKey: keys that live elsewhere', () => {
  const issuer = createAuth({
    keys: { privateKey: K.rsa2.privateKey, algorithm: 'RS256', kid: 'remote-1' },
    clock: clock.fn,
  })
  const calls: unknown[] = []
  const remote: KeyConfig = { publicKey: K.rsa2.publicKey, algorithm: 'RS256', kid: 'remote-1' }
  const auth = createAuth({
    keys: { privateKey: K.p256.privateKey, algorithm: 'ES256', kid: 'local' },
    resolveKey: (header) => {
      calls.push(header)
      return header.kid === 'remote-1' ? remote : undefined
    },
    clock: clock.fn,
  })

  it('verifies a token with a key from the resolver, which receives the header', () => {
    calls.length = 0
    expect(auth.decodeToken(issuer.createAccessToken('u5')).claims.sub).toBe('u5')
    expect(calls).toEqual([{ alg: 'RS256', typ: 'JWT', kid: 'remote-1' }])
  })

  it('is not asked when a configured key matches', () => {
    calls.length = 0
    expect(auth.decodeToken(auth.createAccessToken('u1')).claims.sub).toBe('u1')
    expect(calls).toEqual([])
  })

  it('refuses when the resolver has no key', () => {
    const other = createAuth({
      keys: { privateKey: K.rsa2.privateKey, algorithm: 'RS256', kid: 'remote-2' },
      clock: clock.fn,
    })
    expectAuthError(() => auth.decodeToken(other.createAccessToken('u1')), TokenInvalidError, 'TOKEN_INVALID')
  })

  it("refuses when the resolver's key is for another algorithm than the token's", () => {
    const ps = createAuth({
      keys: { privateKey: K.rsa2.privateKey, algorithm: 'PS256', kid: 'remote-1' },
      clock: clock.fn,
    })
    expectAuthError(() => auth.decodeToken(ps.createAccessToken('u1')), TokenInvalidError, 'TOKEN_INVALID')
  })

  it('a resolver that throws on a hostile kid refuses the token (TOKEN_INVALID), never a 500', () => {
    const throwing = createAuth({
      keys: { privateKey: K.p256.privateKey, algorithm: 'ES256', kid: 'local' },
      resolveKey: () => {
        throw new Error('lookup failed')
      },
      clock: clock.fn,
    })
    expectAuthError(
      () => throwing.decodeToken(issuer.createAccessToken('u1')),
      TokenInvalidError,
      'TOKEN_INVALID',
    )
  })

  it('a resolver cannot hand an HS secret to an asymmetric verifier (RFC 8725 §3.1)', () => {
    const secret = 'resolved-hs-secret-0123456789-abcdefghijklmnop'
    const hsIssuer = createAuth({ keys: { secret, kid: 'hs-remote' }, clock: clock.fn })
    const asym = createAuth({
      keys: { privateKey: K.p256.privateKey, algorithm: 'ES256', kid: 'local' },
      resolveKey: (header) => (header.kid === 'hs-remote' ? { secret, kid: 'hs-remote' } : undefined),
      clock: clock.fn,
    })
    expectAuthError(
      () => asym.decodeToken(hsIssuer.createAccessToken('u1')),
      TokenInvalidError,
      'TOKEN_INVALID',
    )
    const mixed = createAuth({
      keys: { privateKey: K.p256.privateKey, algorithm: 'ES256', kid: 'local' },
      allowMixedAlgorithms: true,
      resolveKey: (header) => (header.kid === 'hs-remote' ? { secret, kid: 'hs-remote' } : undefined),
      clock: clock.fn,
    })
    expect(mixed.decodeToken(hsIssuer.createAccessToken('u1')).claims.sub).toBe('u1')
  })

  it('refuses a token from the right kid signed by another key', () => {
    const forger = createAuth({
      keys: { privateKey: K.rsa.privateKey, algorithm: 'RS256', kid: 'remote-1' },
      clock: clock.fn,
    })
    expectAuthError(
      () => auth.decodeToken(forger.createAccessToken('u1')),
      TokenInvalidError,
      'TOKEN_INVALID',
    )
  })
})

describe('resolveKey answering with a promise (keys fetched from elsewhere)', () => {
  const issuer = createAuth({
    keys: { privateKey: K.rsa2.privateKey, algorithm: 'RS256', kid: 'remote-1' },
    clock: clock.fn,
  })
  const remote: KeyConfig = { publicKey: K.rsa2.publicKey, algorithm: 'RS256', kid: 'remote-1' }
  function remoteAuth(resolve: (header: { kid?: string }) => Promise<KeyConfig | undefined>) {
    const calls: unknown[] = []
    const auth = createAuth({
      keys: { privateKey: K.p256.privateKey, algorithm: 'ES256', kid: 'local' },
      resolveKey: (header) => {
        calls.push(header.kid)
        return resolve(header)
      },
      clock: clock.fn,
    })
    return { auth, calls }
  }
  const fetched = async (header: { kid?: string }) => {
    await new Promise((r) => setTimeout(r, 2))
    return header.kid === 'remote-1' ? remote : undefined
  }

  it('the guard and verifyToken wait for the key; decodeToken, synchronous, says to use them', async () => {
    const { auth } = remoteAuth(fetched)
    const token = issuer.createAccessToken('u7')
    expect((await auth.verifyToken(token)).claims.sub).toBe('u7')
    const context = await auth.authenticate(makeView({ headers: bearer(token) }))
    expect(context).toMatchObject({ isAuthenticated: true, sub: 'u7', header: { kid: 'remote-1' } })
    const fresh = issuer.createAccessToken('u8')
    expect(() => auth.decodeToken(fresh)).toThrow(/resolveKey answered with a promise.*verifyToken/)
  })

  it('configured keys never wait, and never ask the resolver', () => {
    const { auth, calls } = remoteAuth(fetched)
    const result = auth.check(makeView({ headers: bearer(auth.createAccessToken('u1')) }))
    expect(result).toMatchObject({ sub: 'u1' })
    expect(calls).toEqual([])
  })

  it('a resolver that rejects, has no key, or answers a key of another algorithm refuses the token (401)', async () => {
    const cases: [string, (header: { kid?: string }) => Promise<KeyConfig | undefined>][] = [
      ['rejects', async () => Promise.reject(new Error('JWKS endpoint down'))],
      ['no key', async () => undefined],
      ['another algorithm', async () => ({ ...remote, algorithm: 'PS256' }) as KeyConfig],
      ['a key that does not load', async () => ({ publicKey: 'not a key', algorithm: 'RS256' }) as KeyConfig],
    ]
    for (const [what, resolve] of cases) {
      const { auth } = remoteAuth(resolve)
      const token = issuer.createAccessToken('u1')
      const refused = await auth.verifyToken(token).catch((e: unknown) => e)
      expect(refused, what).toBeInstanceOf(TokenInvalidError)
      const guarded = await auth.authenticate(makeView({ headers: bearer(token) })).catch((e: unknown) => e)
      expect(guarded, what).toBeInstanceOf(TokenInvalidError)
      expect(auth.errorResponse(guarded as TokenInvalidError).status, what).toBe(401)
    }
  })

  it('a resolver answer whose then getter throws is a refused token (401), not a 500', async () => {
    const { auth } = remoteAuth(
      () =>
        ({
          // biome-ignore lint/suspicious/noThenProperty: the point of the test
          get then() {
            throw new Error('hostile getter')
          },
        }) as unknown as Promise<KeyConfig>,
    )
    await expect(auth.verifyToken(issuer.createAccessToken('u1'))).rejects.toBeInstanceOf(TokenInvalidError)
  })

  it('decodeToken throws the TypeError every time, and starts no verification behind the caller', async () => {
    const { auth, calls } = remoteAuth(fetched)
    const token = issuer.createAccessToken('u1')
    for (let i = 0; i < 3; i++) expect(() => auth.decodeToken(token)).toThrow(TypeError)
    await new Promise((r) => setTimeout(r, 10))
    expect(() => auth.decodeToken(token)).toThrow(TypeError) // nothing was cached meanwhile
    expect(calls).toHaveLength(4)
  })

  it('a forged token with the right kid is refused once the key arrives', async () => {
    const { auth } = remoteAuth(fetched)
    const forger = createAuth({
      keys: { privateKey: K.rsa.privateKey, algorithm: 'RS256', kid: 'remote-1' },
      clock: clock.fn,
    })
    await expect(auth.verifyToken(forger.createAccessToken('u1'))).rejects.toBeInstanceOf(TokenInvalidError)
  })

  it('a token verified twice is served from the verified-token cache: the resolver is not asked again', async () => {
    const { auth, calls } = remoteAuth(fetched)
    const token = issuer.createAccessToken('u9')
    for (let i = 0; i < 4; i++) expect((await auth.verifyToken(token)).claims.sub).toBe('u9')
    // Verified (and the resolver asked) on the first two presentations, served from the cache after.
    expect(calls).toEqual(['remote-1', 'remote-1'])
  })
})

describe('JWKS', () => {
  const explicit = K.rsa2
  const auth = createAuth({
    keys: [
      { privateKey: K.rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, algorithm: 'RS256' },
      { privateKey: K.p256.privateKey.export({ format: 'jwk' }), algorithm: 'ES256' },
      { privateKey: K.ed25519.privateKey, algorithm: 'EdDSA', verifyOnly: true },
      { publicKey: explicit.publicKey, algorithm: 'PS256', kid: 'partner' },
    ],
    clock: clock.fn,
  })

  it('lists every public key as jose exports it, with the RFC 7638 thumbprint as default kid', async () => {
    const expected = []
    for (const [pub, alg, kid] of [
      [K.rsa.publicKey, 'RS256', undefined],
      [K.p256.publicKey, 'ES256', undefined],
      [K.ed25519.publicKey, 'EdDSA', undefined],
      [explicit.publicKey, 'PS256', 'partner'],
    ] as const) {
      const jwk = await joseExportJWK(pub)
      expected.push({ ...jwk, kid: kid ?? (await calculateJwkThumbprint(jwk)), alg, use: 'sig' })
    }
    const jwks = auth.jwks()
    expect(jwks).toEqual({ keys: expected })
    for (const key of jwks.keys) {
      expect(key).not.toHaveProperty('d')
      expect(key).not.toHaveProperty('p')
    }
  })

  it('jwkThumbprint agrees with jose for RSA, EC and OKP keys', async () => {
    for (const pair of [K.rsa, K.p256, K.p384, K.p521, K.ed25519]) {
      const jwk = pair.publicKey.export({ format: 'jwk' }) as JsonWebKey
      expect(jwkThumbprint(jwk)).toBe(await calculateJwkThumbprint(jwk as JWK))
    }
  })

  it('verifies the tokens of each key through jose createLocalJWKSet', async () => {
    const set = createLocalJWKSet(auth.jwks() as { keys: JWK[] })
    const token = auth.createAccessToken('u1')
    expect(decodeSegment(token.split('.')[0]!).alg).toBe('RS256')
    const { payload } = await jwtVerify(token, set, joseOptions('RS256'))
    expect(payload.sub).toBe('u1')
    // Retired keys stay published so their tokens keep verifying.
    const retired = createAuth({
      keys: { privateKey: K.ed25519.privateKey, algorithm: 'EdDSA' },
      clock: clock.fn,
    })
    const old = await jwtVerify(retired.createAccessToken('u2'), set, joseOptions('EdDSA'))
    expect(old.payload.sub).toBe('u2')
    const partner = createAuth({
      keys: { privateKey: explicit.privateKey, algorithm: 'PS256', kid: 'partner' },
      clock: clock.fn,
    })
    const p = await jwtVerify(partner.createAccessToken('u3'), set, joseOptions('PS256'))
    expect(p.protectedHeader.kid).toBe('partner')
  })

  it('never publishes HS keys', () => {
    expect(createAuth({ keys: { secret: SECRET } }).jwks()).toEqual({ keys: [] })
    const mixed = createAuth({
      keys: [
        { secret: SECRET, kid: 'hs' },
        { privateKey: K.p256.privateKey, algorithm: 'ES256', kid: 'es' },
      ],
      allowMixedAlgorithms: true,
    })
    const keys = mixed.jwks().keys
    expect(keys.map((k) => k.kid)).toEqual(['es'])
    expect(JSON.stringify(mixed.jwks())).not.toContain(b64(SECRET))
    expect(keys.every((k) => k.kty !== 'oct' && !('k' in k))).toBe(true)
  })

  it('hands out copies: changing the document does not change the keys', () => {
    const doc = auth.jwks()
    doc.keys[0]!.n = 'tampered'
    doc.keys.pop()
    expect(auth.jwks().keys).toHaveLength(4)
    expect(auth.jwks().keys[0]!.n).toBe((K.rsa.publicKey.export({ format: 'jwk' }) as JsonWebKey).n)
  })

  it('derives the public key from a private JWK given as publicKey', () => {
    const jwk = K.p256.privateKey.export({ format: 'jwk' })
    const verifier = createAuth({ keys: { publicKey: jwk, algorithm: 'ES256' } })
    const expected = createPublicKey(K.p256.privateKey).export({ format: 'jwk' })
    expect(verifier.jwks().keys[0]).toMatchObject({ x: expected.x, y: expected.y })
    expect(verifier.jwks().keys[0]).not.toHaveProperty('d')
  })
})
