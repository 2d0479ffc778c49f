/**
 * Trusted issuers, scopes and DPoP through `createAuth`, without a provider: configuration checks,
 * the generic profile's scope claims (Auth0, Entra ID, Keycloak), revocation of providers' tokens,
 * DPoP-bound first-party tokens across refresh and two instances, `dpop: false` and `required`.
 */
import { createHash, generateKeyPairSync, randomUUID } from 'node:crypto'
import * as jose from 'jose'
import { describe, expect, it } from 'vitest'
import { normalizeHtu } from '../../src/core/dpop-proof.js'
import {
  type AuthError,
  type AuthOptions,
  ConfigError,
  createAuth,
  MemoryRevocationStore,
  type RequestView,
} from '../../src/index.js'
import { bearer, makeView, NOW, NOW_S, SECRET } from '../core/helpers.js'
import { dpopProof, newDpopKey } from './provider.js'

const ISSUER = 'https://tenant.example-idp.com/'
const API = 'https://api.example.com'
const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const KEYS = [{ publicKey: pair.publicKey, algorithm: 'ES256' as const, kid: 'k1' }]
const NO_KEYS = { key: (): undefined => undefined }

async function idpToken(claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}) {
  return new jose.SignJWT({
    iss: ISSUER,
    sub: 'auth0|42',
    aud: API,
    iat: NOW_S,
    exp: NOW_S + 600,
    client_id: 'c1',
    jti: randomUUID(),
    ...claims,
  })
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'k1', ...header })
    .sign(pair.privateKey)
}

function auth(options: Partial<AuthOptions<string>> = {}) {
  return createAuth<string>({
    keys: { secret: SECRET },
    issuers: [{ issuer: ISSUER, audience: API, keys: KEYS }],
    clock: () => NOW,
    ...options,
  })
}

const refusal = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: AuthError) => e,
  )

describe('configuration', () => {
  it.each([
    [{ issuer: ISSUER, keys: KEYS }, /audience is required/],
    [{ issuer: ISSUER, audience: API }, /give keys .* or keySource/],
    [{ issuer: ISSUER, audience: API, keys: KEYS, keySource: NO_KEYS }, /exactly one/],
    [{ issuer: ISSUER, audience: API, keys: KEYS, tenant: 'x' }, /unknown option "tenant"/],
    [{ issuer: 'not a url', audience: API, keys: KEYS }, /issuer identifier/],
    [{ issuer: ISSUER, audience: API, keys: KEYS, profile: 'auth0' }, /profile must be/],
    [{ issuer: ISSUER, audience: API, keySource: NO_KEYS, algorithms: ['HS256'] }, /HS algorithms/],
    [{ issuer: ISSUER, audience: API, keys: KEYS, scopeClaims: [] }, /scopeClaims/],
  ])('refuses %j', (issuer, message) => {
    expect(() => createAuth({ issuers: [issuer as never] })).toThrow(message)
  })

  it('refuses an issuer listed twice, or that is also the app own issuer', () => {
    const one = { issuer: ISSUER, audience: API, keys: KEYS }
    expect(() => createAuth({ issuers: [one, one] })).toThrow(/listed twice/)
    expect(() => createAuth({ keys: { secret: SECRET }, issuer: ISSUER, issuers: [one] })).toThrow(
      /own issuer/,
    )
  })

  it('keys may be left out only when issuers are given; then nothing can be signed', async () => {
    expect(() => createAuth({})).toThrow(/keys is required/)
    const only = createAuth({ issuers: [{ issuer: ISSUER, audience: API, keys: KEYS }], clock: () => NOW })
    expect((await only.authenticate(makeView({ headers: bearer(await idpToken()) }))).issuer).toBe(ISSUER)
    await expect(only.login('u1')).rejects.toThrow(ConfigError)
  })

  it.each([
    [{ algorithms: ['HS256'] }, /asymmetric/],
    [{ iatWindow: '0s' }, /iatWindow/],
    [{ origin: 'https://api.example.com/path' }, /origin/],
    [{ nonce: true }, /unknown option "nonce"/],
  ])('refuses dpop %j', (dpop, message) => {
    expect(() => auth({ dpop: dpop as never })).toThrow(message)
  })

  it('refuses a bad scopes requirement at the first request', async () => {
    const a = auth()
    const view = makeView({ headers: bearer(await idpToken()) })
    await expect(a.authenticate(view, { scopes: ['two words'] })).rejects.toThrow(ConfigError)
    await expect(a.authenticate(view, { scopes: { every: ['x'] } as never })).rejects.toThrow(/unknown key/)
  })
})

describe('routing by iss', () => {
  it("the app's own tokens pass next to the provider's; a foreign iss is refused", async () => {
    const a = auth()
    expect((await a.authenticate(makeView({ headers: bearer(a.createAccessToken('u1')) }))).issuer).toBe(null)
    const foreign = await new jose.SignJWT({ sub: 'x', iss: 'https://evil.example/', exp: NOW_S + 60 })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode(SECRET))
    expect(await refusal(a.authenticate(makeView({ headers: bearer(foreign) })))).toMatchObject({
      message: 'Invalid token: issuer not accepted',
    })
  })

  it('verifyToken accepts, as the guards, by source', async () => {
    const a = auth()
    const idp = await idpToken()
    expect((await a.verifyToken(idp)).issuer).toBe(ISSUER)
    await expect(a.verifyToken(idp, { accept: 'self' })).rejects.toThrow('issuer not accepted')
    await expect(a.verifyToken(a.createAccessToken('u1'), { accept: [ISSUER] })).rejects.toThrow(
      'issuer not accepted',
    )
    await expect(a.verifyToken(idp, { type: 'refresh' })).rejects.toMatchObject({ code: 'WRONG_TOKEN_TYPE' })
  })

  it("a provider's token is never fresh and never a refresh token", async () => {
    const a = auth()
    const view = makeView({ headers: bearer(await idpToken()) })
    expect(await refusal(a.authenticate(view, { fresh: true }))).toMatchObject({
      code: 'FRESH_TOKEN_REQUIRED',
    })
    expect(await refusal(a.authenticate(view, { refresh: true }))).toMatchObject({ code: 'WRONG_TOKEN_TYPE' })
  })
})

describe('the generic profile: scopes where each provider puts them', () => {
  const generic = (scopeClaims?: string[]) =>
    auth({
      issuers: [
        {
          issuer: ISSUER,
          audience: API,
          keys: KEYS,
          profile: 'generic',
          ...(scopeClaims ? { scopeClaims } : {}),
        },
      ],
    })
  const scopesOf = async (a: ReturnType<typeof auth>, claims: Record<string, unknown>) =>
    (await a.authenticate(makeView({ headers: bearer(await idpToken(claims, { typ: 'JWT' })) }))).scopes

  it('Auth0: scope and permissions', async () => {
    expect(
      await scopesOf(generic(['scope', 'permissions']), {
        scope: 'openid read:orders',
        permissions: ['write:orders'],
      }),
    ).toEqual(['openid', 'read:orders', 'write:orders'])
  })

  it('Entra ID: scp as text (delegated) and roles (application)', async () => {
    const entra = generic(['scp', 'roles'])
    expect(await scopesOf(entra, { scp: 'Orders.Read User.Read' })).toEqual(['Orders.Read', 'User.Read'])
    expect(await scopesOf(entra, { roles: ['Orders.Read.All'] })).toEqual(['Orders.Read.All'])
  })

  it("Keycloak: realm roles and a client's roles, by path", async () => {
    const keycloak = auth({
      issuers: [
        {
          issuer: ISSUER,
          audience: API,
          keys: KEYS,
          profile: 'generic',
          scopeClaims: ['scope', 'realm_access.roles', ['resource_access', 'orders.api', 'roles']],
        },
      ],
    })
    expect(
      await scopesOf(keycloak, {
        scope: 'profile',
        realm_access: { roles: ['staff'] },
        resource_access: { 'orders.api': { roles: ['refunds'] } },
      }),
    ).toEqual(['profile', 'staff', 'refunds'])
  })

  it('Cognito: no aud (client_id instead), token_use must be access, groups as scopes', async () => {
    const cognito = auth({
      issuers: [
        {
          issuer: ISSUER,
          audience: 'app-client-1',
          keys: KEYS,
          profile: 'generic',
          audienceClaim: 'client_id',
          requireClaims: { token_use: 'access' },
          scopeClaims: ['scope', 'cognito:groups'],
        },
      ],
    })
    const claims = {
      aud: undefined,
      client_id: 'app-client-1',
      token_use: 'access',
      'cognito:groups': ['staff'],
    }
    expect(await scopesOf(cognito, claims)).toEqual(['staff'])
    const idToken = await idpToken({ ...claims, token_use: 'id' }, { typ: 'JWT' })
    expect(await refusal(cognito.authenticate(makeView({ headers: bearer(idToken) })))).toMatchObject({
      message: 'Invalid token: token_use not accepted',
    })
    const otherClient = await idpToken({ ...claims, client_id: 'app-client-2' }, { typ: 'JWT' })
    expect(await refusal(cognito.authenticate(makeView({ headers: bearer(otherClient) })))).toMatchObject({
      message: 'Invalid token: audience not accepted',
    })
  })

  it('scp as a list; a scope claim of another type refuses the token', async () => {
    expect(await scopesOf(generic(), { scp: ['a', 'b'] })).toEqual(['a', 'b'])
    const bad = await idpToken({ scp: { read: true } }, { typ: 'JWT' })
    expect(await refusal(generic().authenticate(makeView({ headers: bearer(bad) })))).toMatchObject({
      message: 'Invalid token: scp must be a string or a list of strings',
    })
  })

  it('the generic profile takes any typ but a DPoP proof, and needs no client_id or jti', async () => {
    const g = generic()
    const plain = await idpToken({ client_id: undefined, jti: undefined }, { typ: 'JWT' })
    expect((await g.authenticate(makeView({ headers: bearer(plain) }))).sub).toBe('auth0|42')
    const proofTyp = await idpToken({}, { typ: 'dpop+jwt' })
    expect(await refusal(g.authenticate(makeView({ headers: bearer(proofTyp) })))).toMatchObject({
      code: 'TOKEN_INVALID',
      message: 'Invalid token: a DPoP proof is not an access token',
    })
  })
})

describe("revoking providers' tokens", () => {
  it('logout revokes a token without jti under its issuer; logout everywhere under "<iss> <sub>"', async () => {
    const store = new MemoryRevocationStore({ sweepIntervalMs: 0 })
    // The store keeps entries by the real clock: so does this auth object, and so do its tokens.
    const a = auth({
      revocation: store,
      clock: Date.now,
      issuers: [{ issuer: ISSUER, audience: API, keys: KEYS, profile: 'generic' }],
    })
    const now = Math.floor(Date.now() / 1000)
    const noJti = await idpToken({ jti: undefined, iat: now - 1, exp: now + 600 }, { typ: 'JWT' })
    const view = () => makeView({ headers: bearer(noJti) })
    const ctx = await a.authenticate(view())
    await a.logout(ctx)
    expect(await refusal(a.authenticate(view()))).toMatchObject({ code: 'TOKEN_REVOKED' })
    const digest = createHash('sha256').update(noJti.split('.')[1]!).digest('base64url')
    expect(
      await store.isRevoked({
        jti: `${ISSUER} sha256:${digest}`,
        sub: 'x',
        family: undefined,
        issuedAt: 1,
        expiresAt: undefined,
      }),
    ).toBe(true)

    const other = await idpToken({ sub: 'auth0|7', iat: now - 1, exp: now + 600 }, { typ: 'JWT' })
    expect((await a.authenticate(makeView({ headers: bearer(other) }))).sub).toBe('auth0|7')
    await a.logoutEverywhere(`${ISSUER} auth0|7`)
    expect(await refusal(a.authenticate(makeView({ headers: bearer(other) })))).toMatchObject({
      code: 'TOKEN_REVOKED',
    })
    // The app's own user of the same name is another identity.
    expect((await a.authenticate(makeView({ headers: bearer(a.createAccessToken('auth0|7')) }))).sub).toBe(
      'auth0|7',
    )
  })
})

/** A view with the request URL a DPoP proof is checked against. */
function dpopView(
  token: string,
  proof: string | undefined,
  url = 'https://api.example.com/me',
  method = 'GET',
): RequestView {
  const headers: Record<string, string> = { authorization: `DPoP ${token}` }
  if (proof !== undefined) headers.dpop = proof
  return { ...makeView({ method, headers }), url: () => url }
}

describe('DPoP-bound first-party tokens', () => {
  it('a login binds both tokens; refresh and reissueAccess keep the binding', async () => {
    const key = await newDpopKey()
    const a = auth({ clock: Date.now, revocation: new MemoryRevocationStore({ sweepIntervalMs: 0 }) })
    const { jkt } = await a.verifyDpopProof(await dpopProof(key, 'POST', 'https://api.example.com/login'), {
      method: 'POST',
      url: 'https://api.example.com/login',
    })
    expect(jkt).toBe(key.jkt)
    const tokens = await a.login('u1', { dpopJkt: jkt })
    const refreshUrl = 'https://api.example.com/refresh'
    const refreshView = dpopView(
      tokens.refreshToken,
      await dpopProof(key, 'POST', refreshUrl, tokens.refreshToken),
      refreshUrl,
      'POST',
    )
    const ctx = await a.authenticate(refreshView, { refresh: true })
    const next = await a.refresh(ctx)
    expect(jose.decodeJwt(next.accessToken).cnf).toEqual({ jkt })
    expect(jose.decodeJwt(next.refreshToken).cnf).toEqual({ jkt })
    const access = await a.authenticate(
      dpopView(next.accessToken, await dpopProof(key, 'GET', 'https://api.example.com/me', next.accessToken)),
    )
    expect(jose.decodeJwt(a.reissueAccess(access, { fresh: true }).accessToken).cnf).toEqual({ jkt })
    expect(() => a.createAccessToken('u1', { claims: { cnf: { jkt } } })).toThrow(/reserved claim "cnf"/)
    expect(() => a.createAccessToken('u1', { dpopJkt: 'short' })).toThrow(/thumbprint/)
  })

  it('two instances sharing a revocation store refuse a proof replayed on the other', async () => {
    const store = new MemoryRevocationStore({ sweepIntervalMs: 0 })
    const one = auth({ clock: Date.now, revocation: store })
    const two = auth({ clock: Date.now, revocation: store })
    const key = await newDpopKey()
    const token = one.createAccessToken('u1', { dpopJkt: key.jkt })
    const proof = await dpopProof(key, 'GET', 'https://api.example.com/me', token)
    expect((await one.authenticate(dpopView(token, proof))).sub).toBe('u1')
    expect(await refusal(two.authenticate(dpopView(token, proof)))).toMatchObject({
      code: 'DPOP_PROOF_REPLAYED',
    })
  })

  it('without a store, proofs are remembered in the process', async () => {
    const a = auth({ clock: Date.now })
    const key = await newDpopKey()
    const token = a.createAccessToken('u1', { dpopJkt: key.jkt })
    const proof = await dpopProof(key, 'GET', 'https://api.example.com/me', token)
    expect((await a.authenticate(dpopView(token, proof))).sub).toBe('u1')
    expect(await refusal(a.authenticate(dpopView(token, proof)))).toMatchObject({
      code: 'DPOP_PROOF_REPLAYED',
    })
  })

  it('malformed proofs are refused with what is wrong', async () => {
    const a = auth({ clock: Date.now })
    const key = await newDpopKey()
    const token = a.createAccessToken('u1', { dpopJkt: key.jkt })
    const url = 'https://api.example.com/me'
    const hs = await new jose.SignJWT({ htm: 'GET', htu: url, jti: 'x', iat: Math.floor(Date.now() / 1000) })
      .setProtectedHeader({ alg: 'HS256', typ: 'dpop+jwt' })
      .sign(new TextEncoder().encode(SECRET))
    const wrongTyp = await new jose.SignJWT({ htm: 'GET', htu: url, jti: 'y' })
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT', jwk: key.publicJwk })
      .setIssuedAt()
      .sign(key.privateKey)
    const privateJwk = await new jose.SignJWT({ htm: 'GET', htu: url, jti: 'z' })
      .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: await jose.exportJWK(key.privateKey) })
      .setIssuedAt()
      .sign(key.privateKey)
    const cases: [string | string[], string][] = [
      ['not.a.proof.at.all', 'expected three dot-separated segments'],
      [hs, 'algorithm not allowed'],
      [wrongTyp, 'typ must be dpop+jwt'],
      [privateJwk, 'jwk must be a public key'],
      [
        [await dpopProof(key, 'GET', url, token), await dpopProof(key, 'GET', url, token)],
        'more than one DPoP header',
      ],
    ]
    for (const [proof, why] of cases) {
      const view = dpopView(token, undefined)
      const withProof: RequestView = { ...view, header: (n) => (n === 'dpop' ? proof : view.header(n)) }
      expect(await refusal(a.authenticate(withProof))).toMatchObject({
        code: 'DPOP_PROOF_INVALID',
        message: `Invalid DPoP proof: ${why}`,
      })
    }
  })

  it('dpop.origin replaces the origin a proxy rewrote', async () => {
    const a = auth({ clock: Date.now, dpop: { origin: 'https://api.example.com' } })
    const key = await newDpopKey()
    const token = a.createAccessToken('u1', { dpopJkt: key.jkt })
    const proof = await dpopProof(key, 'GET', 'https://api.example.com/me', token)
    expect((await a.authenticate(dpopView(token, proof, 'http://10.0.0.5:3000/me'))).sub).toBe('u1')
  })

  it('dpop: false refuses bound tokens; dpop.required refuses bearer tokens with the DPoP challenge', async () => {
    const key = await newDpopKey()
    const off = auth({ dpop: false })
    const bound = off.createAccessToken('u1', { dpopJkt: key.jkt })
    expect(await refusal(off.authenticate(makeView({ headers: bearer(bound) })))).toMatchObject({
      message: 'Invalid token: DPoP-bound tokens are not accepted',
    })
    const required = auth({ dpop: { required: true, algorithms: ['ES256', 'EdDSA'] } })
    const err = await refusal(
      required.authenticate(makeView({ headers: bearer(required.createAccessToken('u1')) })),
    )
    expect(err).toMatchObject({ code: 'DPOP_PROOF_MISSING' })
    expect(required.errorResponse(err!).headers['www-authenticate']).toMatch(
      /^DPoP error="invalid_dpop_proof", error_description="Only DPoP-bound tokens are accepted", algs="ES256 EdDSA"$/,
    )
    const missing = await refusal(required.authenticate(makeView()))
    expect(required.errorResponse(missing!).headers['www-authenticate']).toBe('DPoP algs="ES256 EdDSA"')
  })
})

describe('htu normalisation (RFC 9449 §4.3, RFC 3986 §6.2.2 and §6.2.3)', () => {
  it.each([
    ['https://API.Example.com:443/a/../me?x=1#f', 'https://api.example.com/me'],
    ['http://api.example.com:80/%7euser/%2fx', 'http://api.example.com/~user/%2Fx'],
    ['https://api.example.com:8443/me', 'https://api.example.com:8443/me'],
  ])('%s → %s', (input, expected) => {
    expect(normalizeHtu(input)).toBe(expected)
  })
  it('refuses what is not an http(s) URL', () => {
    expect(normalizeHtu('ftp://x/y')).toBeUndefined()
    expect(normalizeHtu('/relative')).toBeUndefined()
  })
})
