/**
 * Differential check against jose's `jwtVerify`, the reference: the same identity-provider tokens go
 * through latchkey (a trusted issuer) and jose (issuer, audience, `typ` and required claims as the
 * profile says), and both must accept or refuse each one alike, with the same claims when accepted.
 * Tokens come from the real provider and from a corpus of variants signed by a test key (every claim
 * and header rule of RFC 9068 broken once, and a few combinations).
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto'
import * as jose from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Auth, createAuth } from '../../src/index.js'
import { oidcIssuer } from '../../src/issuers.js'
import { NOW, NOW_S } from '../core/helpers.js'
import { OTHER_RESOURCE, RESOURCE, startProvider, type TestProvider } from './provider.js'

const ISSUER = 'https://idp.example.com/'
const RFC9068_REQUIRED = ['iss', 'exp', 'aud', 'sub', 'client_id', 'iat', 'jti']

type Variant = {
  name: string
  header?: Record<string, unknown>
  claims: Record<string, unknown>
  kid?: string
}

const base = {
  iss: ISSUER,
  sub: 'user-1',
  aud: RESOURCE,
  client_id: 'client-1',
  iat: NOW_S - 10,
  exp: NOW_S + 600,
  jti: 'jti-1',
  scope: 'read:orders',
}

function without(name: string): Record<string, unknown> {
  const claims: Record<string, unknown> = { ...base }
  delete claims[name]
  return claims
}

const VARIANTS: Variant[] = [
  { name: 'valid', claims: base },
  { name: 'typ application/at+jwt', header: { typ: 'application/at+jwt' }, claims: base },
  { name: 'typ AT+JWT', header: { typ: 'AT+JWT' }, claims: base },
  { name: 'typ JWT', header: { typ: 'JWT' }, claims: base },
  { name: 'no typ', header: { typ: undefined }, claims: base },
  { name: 'aud list with ours', claims: { ...base, aud: [OTHER_RESOURCE, RESOURCE] } },
  { name: 'aud list without ours', claims: { ...base, aud: [OTHER_RESOURCE] } },
  { name: 'aud other', claims: { ...base, aud: OTHER_RESOURCE } },
  { name: 'aud empty list', claims: { ...base, aud: [] } },
  { name: 'aud a number', claims: { ...base, aud: 42 } },
  { name: 'exp past', claims: { ...base, exp: NOW_S - 1 } },
  { name: 'exp now', claims: { ...base, exp: NOW_S } },
  { name: 'exp a string', claims: { ...base, exp: String(NOW_S + 600) } },
  { name: 'nbf future', claims: { ...base, nbf: NOW_S + 60 } },
  { name: 'nbf past', claims: { ...base, nbf: NOW_S - 60 } },
  { name: 'nbf a string', claims: { ...base, nbf: 'soon' } },
  { name: 'iat a string', claims: { ...base, iat: 'then' } },
  { name: 'iss other', claims: { ...base, iss: 'https://other.example.com/' } },
  { name: 'iss without the slash', claims: { ...base, iss: 'https://idp.example.com' } },
  ...RFC9068_REQUIRED.map((name) => ({ name: `no ${name}`, claims: without(name) })),
  { name: 'unknown kid', claims: base, kid: 'not-published' },
  { name: 'exp past and aud other', claims: { ...base, exp: NOW_S - 100, aud: OTHER_RESOURCE } },
]

describe('differential: trusted-issuer tokens, latchkey against jose jwtVerify', () => {
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const kid = 'test-key'
  let latchkey: Auth
  let generic: Auth
  const tokens: { name: string; token: string }[] = []

  beforeAll(async () => {
    const keys = [{ publicKey: pair.publicKey, algorithm: 'ES256' as const, kid }]
    latchkey = createAuth({ issuers: [{ issuer: ISSUER, audience: RESOURCE, keys }], clock: () => NOW })
    generic = createAuth({
      issuers: [{ issuer: ISSUER, audience: RESOURCE, profile: 'generic', keys }],
      clock: () => NOW,
    })
    for (const v of VARIANTS) {
      const header = { alg: 'ES256', typ: 'at+jwt', kid: v.kid ?? kid, ...v.header }
      if (header.typ === undefined) delete (header as { typ?: string }).typ
      tokens.push({
        name: v.name,
        token: await new jose.SignJWT(v.claims as jose.JWTPayload)
          .setProtectedHeader(header as jose.JWTHeaderParameters)
          .sign(pair.privateKey),
      })
    }
    // A signature that does not match: the payload of one token with the signature of another.
    const [h, , s] = tokens[0]!.token.split('.')
    tokens.push({ name: 'tampered payload', token: `${h}.${tokens[5]!.token.split('.')[1]}.${s}` })
  })

  const jwks = (key: KeyObject) => async (header: jose.JWSHeaderParameters) => {
    if (header.kid !== kid) throw new Error('no such key')
    return key
  }

  async function both(auth: Auth, token: string, options: jose.JWTVerifyOptions) {
    const ours = await auth.verifyToken(token).then(
      (d) => ({ ok: true as const, claims: d.claims as unknown }),
      (e: Error) => ({ ok: false as const, why: e.message }),
    )
    const theirs = await jose.jwtVerify(token, jwks(pair.publicKey), options).then(
      (r) => ({ ok: true as const, claims: r.payload as unknown }),
      (e: Error) => ({ ok: false as const, why: e.message }),
    )
    return { ours, theirs }
  }

  it('RFC 9068 profile: the same verdict as jose with typ at+jwt and the required claims, on every variant', async () => {
    const options: jose.JWTVerifyOptions = {
      issuer: ISSUER,
      audience: RESOURCE,
      typ: 'at+jwt',
      algorithms: ['ES256'],
      requiredClaims: RFC9068_REQUIRED,
      currentDate: new Date(NOW),
    }
    let accepted = 0
    for (const { name, token } of tokens) {
      const { ours, theirs } = await both(latchkey, token, options)
      expect(ours.ok, `${name}: latchkey ${JSON.stringify(ours)}, jose ${JSON.stringify(theirs)}`).toBe(
        theirs.ok,
      )
      if (ours.ok && theirs.ok) {
        expect(ours.claims).toEqual(theirs.claims)
        accepted++
      }
    }
    expect(accepted).toBe(5) // valid, two other spellings of at+jwt, an aud list holding ours, nbf past
  })

  it('generic profile: the same verdict as jose without typ, with exp, aud and sub required', async () => {
    const options: jose.JWTVerifyOptions = {
      issuer: ISSUER,
      audience: RESOURCE,
      algorithms: ['ES256'],
      requiredClaims: ['exp', 'aud', 'sub'],
      currentDate: new Date(NOW),
    }
    for (const { name, token } of tokens) {
      const { ours, theirs } = await both(generic, token, options)
      expect(ours.ok, `${name}: latchkey ${JSON.stringify(ours)}, jose ${JSON.stringify(theirs)}`).toBe(
        theirs.ok,
      )
      if (ours.ok && theirs.ok) expect(ours.claims).toEqual(theirs.claims)
    }
  })
})

describe("differential: the real provider's tokens", () => {
  let provider: TestProvider
  let other: TestProvider
  beforeAll(async () => {
    ;[provider, other] = await Promise.all([startProvider(), startProvider()])
  })
  afterAll(() => Promise.all([provider.close(), other.close()]))

  it('valid (client credentials, authorization code), for another audience, of another provider: the same verdicts', async () => {
    const auth = createAuth({ issuers: [oidcIssuer({ issuer: provider.issuer, audience: RESOURCE })] })
    const remote = jose.createRemoteJWKSet(new URL(`${provider.issuer}/jwks`))
    const tokens = [
      await provider.clientCredentials(),
      await provider.clientCredentials({ scope: 'read:orders write:orders admin' }),
      await provider.authorizationCode('alice'),
      await provider.clientCredentials({ resource: OTHER_RESOURCE }),
      await other.clientCredentials(),
    ]
    const verdicts: boolean[] = []
    for (const token of tokens) {
      const ours = await auth.verifyToken(token).then(
        (d) => d.claims as unknown,
        () => undefined,
      )
      const theirs = await jose
        .jwtVerify(token, remote, {
          issuer: provider.issuer,
          audience: RESOURCE,
          typ: 'at+jwt',
          requiredClaims: RFC9068_REQUIRED,
        })
        .then(
          (r) => r.payload as unknown,
          () => undefined,
        )
      expect(ours).toEqual(theirs)
      verdicts.push(ours !== undefined)
    }
    expect(verdicts).toEqual([true, true, true, false, false])
  })
})
