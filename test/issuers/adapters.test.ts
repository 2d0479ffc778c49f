/**
 * Tokens of a real OpenID Connect provider (oidc-provider in process), obtained as clients obtain
 * them, against routes guarded by every adapter: valid, wrong audience, wrong issuer, expired,
 * unknown kid, key rotation at the provider, a provider out of reach on a cold start (503), scopes,
 * claim checks, whose tokens a route accepts, logout, and DPoP (proofs missing, replayed, for another
 * URL or method, by another key; first-party tokens bound at login too). The cache's behaviour in
 * detail (stale keys while the provider is down, Cache-Control, hangs): keys.test.ts.
 */
import { randomUUID } from 'node:crypto'
import * as jose from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Auth, createAuth, MemoryRevocationStore } from '../../src/index.js'
import { oidcIssuer } from '../../src/issuers.js'
import type { RunningApp } from '../conformance/suite.js'
import { ADAPTERS, type User } from './apps.js'
import {
  type DpopKey,
  dpopProof,
  newDpopKey,
  newKey,
  OTHER_RESOURCE,
  RESOURCE,
  startProvider,
  type TestProvider,
} from './provider.js'

const SECRET = 'issuers-suite-secret-0123456789-abcdefghijklmnopqrstuvwxyz'

let provider: TestProvider
let stranger: TestProvider

beforeAll(async () => {
  ;[provider, stranger] = await Promise.all([startProvider(), startProvider()])
})
afterAll(async () => {
  await Promise.all([provider.close(), stranger.close()])
})

interface Reply {
  status: number
  body: Record<string, unknown>
  headers: Headers
}

async function call(
  app: RunningApp,
  method: string,
  path: string,
  init: { token?: string; scheme?: string; dpop?: string; json?: unknown } = {},
): Promise<Reply> {
  const headers: Record<string, string> = {}
  if (init.token !== undefined) headers.authorization = `${init.scheme ?? 'Bearer'} ${init.token}`
  if (init.dpop !== undefined) headers.dpop = init.dpop
  let body: string | undefined
  if (init.json !== undefined) {
    headers['content-type'] = 'application/json'
    body = JSON.stringify(init.json)
  }
  const response = await fetch(app.url + path, { method, headers, body })
  const text = await response.text()
  return { status: response.status, body: text ? JSON.parse(text) : {}, headers: response.headers }
}

/** A token that looks like the provider's but is signed by a key it never published. */
async function forged(claims: Record<string, unknown> = {}): Promise<string> {
  const key = await newKey('ES256')
  const now = Math.floor(Date.now() / 1000)
  return new jose.SignJWT({
    sub: 'svc',
    client_id: 'svc',
    scope: 'read:orders',
    jti: randomUUID(),
    ...claims,
  })
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: key.kid })
    .setIssuer(provider.issuer)
    .setAudience(RESOURCE)
    .setIssuedAt(now)
    .setExpirationTime(now + 600)
    .sign(await jose.importJWK(key, 'ES256'))
}

describe.each(Object.entries(ADAPTERS))('%s: identity-provider tokens', (_name, start) => {
  let app: RunningApp
  let auth: Auth<User>
  let skewMs = 0
  /** The key set's clock: moved past the cooldown by the tests that need a refetch. */
  let keySkewMs = 0
  const errors: unknown[] = []
  let trusted: ReturnType<typeof oidcIssuer>

  beforeAll(async () => {
    trusted = oidcIssuer({
      issuer: provider.issuer,
      audience: RESOURCE,
      onError: (e) => errors.push(e),
      clock: () => Date.now() + keySkewMs,
    })
    auth = createAuth<User>({
      keys: { secret: SECRET },
      issuers: [trusted],
      identify: (user) => user.id,
      revocation: new MemoryRevocationStore({ sweepIntervalMs: 0 }),
      loadUser: (sub, claims) => ({ id: sub, kind: claims.iss === undefined ? 'staff' : 'client' }),
      clock: () => Date.now() + skewMs,
    })
    app = await start(auth)
  })
  afterAll(() => app.close())

  it('a client-credentials token passes; the context has the issuer and the scopes', async () => {
    const token = await provider.clientCredentials({ scope: 'read:orders' })
    const reply = await call(app, 'GET', '/orders', { token })
    expect(reply.status).toBe(200)
    expect(reply.body).toEqual({
      sub: 'svc',
      issuer: provider.issuer,
      scopes: ['read:orders'],
      user: { id: 'svc', kind: 'client' },
    })
  })

  it("a user's token (authorization code with PKCE) loads the user", async () => {
    const token = await provider.authorizationCode('alice', { scope: 'read:orders write:orders' })
    const reply = await call(app, 'POST', '/orders', { token })
    expect(reply.status).toBe(200)
    expect(reply.body).toMatchObject({ sub: 'alice', scopes: ['read:orders', 'write:orders'] })
  })

  it('a token for another API (wrong audience) is refused', async () => {
    const token = await provider.clientCredentials({ resource: OTHER_RESOURCE })
    const reply = await call(app, 'GET', '/orders', { token })
    expect(reply.status).toBe(401)
    expect(reply.body).toEqual({ msg: 'Invalid token: audience not accepted', code: 'TOKEN_INVALID' })
    expect(reply.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/)
  })

  it('a token of an issuer that is not trusted is refused without a request to it', async () => {
    const token = await stranger.clientCredentials()
    const before = [...stranger.served.values()].reduce((a, b) => a + b, 0)
    const reply = await call(app, 'GET', '/orders', { token })
    expect(reply.status).toBe(401)
    expect(reply.body).toEqual({ msg: 'Invalid token: issuer not accepted', code: 'TOKEN_INVALID' })
    expect([...stranger.served.values()].reduce((a, b) => a + b, 0)).toBe(before)
  })

  it('an expired token is refused', async () => {
    const token = await provider.clientCredentials()
    skewMs = 3_600_000
    try {
      const reply = await call(app, 'GET', '/orders', { token })
      expect(reply.status).toBe(401)
      expect(reply.body.code).toBe('TOKEN_EXPIRED')
    } finally {
      skewMs = 0
    }
  })

  it('an unknown kid refetches the JWKS once, then is refused without another fetch', async () => {
    await call(app, 'GET', '/orders', { token: await provider.clientCredentials() }) // keys cached
    keySkewMs += 31_000 // past the cooldown since the last fetch
    const before = provider.jwksFetches()
    const first = await call(app, 'GET', '/orders', { token: await forged() })
    expect(first.status).toBe(401)
    expect(first.body).toEqual({ msg: 'Invalid token: unknown key id or algorithm', code: 'TOKEN_INVALID' })
    expect(provider.jwksFetches()).toBe(before + 1)
    for (let i = 0; i < 5; i++) {
      const again = await call(app, 'GET', '/orders', { token: await forged() })
      expect(again.status).toBe(401)
    }
    expect(provider.jwksFetches()).toBe(before + 1)
  })

  it('a missing scope answers 403 insufficient_scope naming the scope', async () => {
    const token = await provider.clientCredentials({ scope: 'read:orders' })
    const reply = await call(app, 'POST', '/orders', { token })
    expect(reply.status).toBe(403)
    expect(reply.body).toEqual({
      msg: 'Insufficient scope: requires write:orders',
      code: 'INSUFFICIENT_SCOPE',
    })
    expect(reply.headers.get('www-authenticate')).toBe(
      'Bearer error="insufficient_scope", error_description="Insufficient scope: requires write:orders", scope="write:orders"',
    )
  })

  it('any-of scopes: one of them is enough', async () => {
    const admin = await provider.clientCredentials({ scope: 'admin' })
    expect((await call(app, 'GET', '/reports', { token: admin })).status).toBe(200)
    const reader = await provider.clientCredentials({ scope: 'read:orders' })
    const refused = await call(app, 'GET', '/reports', { token: reader })
    expect(refused.status).toBe(403)
    expect(refused.headers.get('www-authenticate')).toMatch(/scope="admin reports"$/)
  })

  it('a claimCheck refuses with 403 CLAIMS_REJECTED, and passes the right client', async () => {
    const svc = await provider.clientCredentials()
    const refused = await call(app, 'GET', '/admin', { token: svc })
    expect(refused.status).toBe(403)
    expect(refused.body.code).toBe('CLAIMS_REJECTED')
    const admin = await provider.clientCredentials({ client: 'admin-client' })
    expect((await call(app, 'GET', '/admin', { token: admin })).status).toBe(200)
  })

  it("routes accept the app's own tokens, the providers', or both", async () => {
    const own = (await call(app, 'POST', '/login', { json: { username: 'carol' } })).body
      .access_token as string
    const idp = await provider.clientCredentials()
    expect((await call(app, 'GET', '/self', { token: own })).status).toBe(200)
    expect((await call(app, 'GET', '/self', { token: idp })).body).toEqual({
      msg: 'Invalid token: issuer not accepted',
      code: 'TOKEN_INVALID',
    })
    expect((await call(app, 'GET', '/idp', { token: idp })).status).toBe(200)
    expect((await call(app, 'GET', '/idp', { token: own })).status).toBe(401)
    // Both, with scopes from the app's own `scope` claim.
    const both = await call(app, 'GET', '/orders', { token: own })
    expect(both.status).toBe(200)
    expect(both.body).toEqual({
      sub: 'carol',
      issuer: null,
      scopes: ['read:orders'],
      user: { id: 'carol', kind: 'staff' },
    })
  })

  it("logout revokes a provider's token in the revocation store", async () => {
    const token = await provider.clientCredentials()
    expect((await call(app, 'POST', '/logout', { token })).status).toBe(200)
    const reply = await call(app, 'GET', '/orders', { token })
    expect(reply.status).toBe(401)
    expect(reply.body.code).toBe('TOKEN_REVOKED')
  })

  it('key rotation at the provider: old tokens pass until their key leaves the set', async () => {
    const [k1, k2] = [provider.keys()[0]!, await newKey('ES256')]
    const old = await provider.clientCredentials()
    expect((await call(app, 'GET', '/orders', { token: old })).status).toBe(200)
    try {
      await provider.rotate([k2, k1])
      const fresh = await provider.clientCredentials()
      keySkewMs += 31_000 // past the cooldown: the new kid may be fetched
      expect((await call(app, 'GET', '/orders', { token: fresh })).status).toBe(200)
      expect((await call(app, 'GET', '/orders', { token: old })).status).toBe(200)
      await provider.rotate([k2])
      keySkewMs += 11 * 60_000 // past the keys' freshness: refreshed in the background
      expect((await call(app, 'GET', '/orders', { token: old })).status).toBe(200)
      await trusted.keySource.ready()
      const refused = await call(app, 'GET', '/orders', { token: old })
      expect(refused.status).toBe(401)
      expect(refused.body.msg).toBe('Invalid token: unknown key id or algorithm')
      expect((await call(app, 'GET', '/orders', { token: fresh })).status).toBe(200)
    } finally {
      await provider.rotate([k1])
      keySkewMs += 31_000
    }
  })

  it('a provider out of reach on a cold start: 503 ISSUER_UNAVAILABLE with Retry-After, not 401', async () => {
    // Port 9 (discard) on 127.0.0.1: nothing listens, the connection is refused at once.
    const down = 'http://127.0.0.1:9'
    const coldAuth = createAuth<User>({ issuers: [oidcIssuer({ issuer: down, audience: RESOURCE })] })
    const cold = await start(coldAuth)
    try {
      const key = await newKey('ES256')
      const now = Math.floor(Date.now() / 1000)
      const token = await new jose.SignJWT({ sub: 'svc', client_id: 'svc', jti: randomUUID() })
        .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: key.kid })
        .setIssuer(down)
        .setAudience(RESOURCE)
        .setIssuedAt(now)
        .setExpirationTime(now + 600)
        .sign(await jose.importJWK(key, 'ES256'))
      for (let i = 0; i < 2; i++) {
        const reply = await call(cold, 'GET', '/orders', { token })
        expect(reply.status).toBe(503)
        expect(reply.body.code).toBe('ISSUER_UNAVAILABLE')
        expect(Number(reply.headers.get('retry-after'))).toBeGreaterThan(0)
      }
    } finally {
      await cold.close()
    }
  })

  describe('DPoP-bound tokens', () => {
    let key: DpopKey
    let token: string
    const url = () => `${app.url}/orders`
    beforeAll(async () => {
      key = await newDpopKey()
      token = await provider.clientCredentials({ dpop: key })
    })

    it('pass with a proof for this request', async () => {
      const reply = await call(app, 'GET', '/orders', {
        token,
        scheme: 'DPoP',
        dpop: await dpopProof(key, 'GET', url(), token),
      })
      expect(reply.status).toBe(200)
      expect(reply.body.sub).toBe('svc')
    })

    it('without a proof: 401 DPOP_PROOF_MISSING with the DPoP challenge', async () => {
      const reply = await call(app, 'GET', '/orders', { token, scheme: 'DPoP' })
      expect(reply.status).toBe(401)
      expect(reply.body.code).toBe('DPOP_PROOF_MISSING')
      expect(reply.headers.get('www-authenticate')).toMatch(
        /^DPoP error="invalid_dpop_proof", .*algs="RS256 /,
      )
    })

    it('as a Bearer token (a downgrade): refused', async () => {
      const reply = await call(app, 'GET', '/orders', {
        token,
        dpop: await dpopProof(key, 'GET', url(), token),
      })
      expect(reply.status).toBe(401)
      expect(reply.body.code).toBe('DPOP_PROOF_MISSING')
    })

    it('a replayed proof is refused', async () => {
      const proof = await dpopProof(key, 'GET', url(), token)
      expect((await call(app, 'GET', '/orders', { token, scheme: 'DPoP', dpop: proof })).status).toBe(200)
      const replay = await call(app, 'GET', '/orders', { token, scheme: 'DPoP', dpop: proof })
      expect(replay.status).toBe(401)
      expect(replay.body).toEqual({ msg: 'DPoP proof replayed', code: 'DPOP_PROOF_REPLAYED' })
    })

    it('a proof for another URL, method, token or time is refused', async () => {
      const cases: [string, string, string][] = [
        [
          await dpopProof(key, 'GET', `${app.url}/reports`, token),
          'GET',
          'htu does not match the request URL',
        ],
        [await dpopProof(key, 'POST', url(), token), 'GET', 'htm does not match the request method'],
        [await dpopProof(key, 'GET', url(), 'another-token'), 'GET', 'ath does not match the access token'],
        [
          await dpopProof(key, 'GET', url(), token, { iat: Math.floor(Date.now() / 1000) - 3600 }),
          'GET',
          'iat is outside the acceptable window',
        ],
      ]
      for (const [proof, method, why] of cases) {
        const reply = await call(app, method, '/orders', { token, scheme: 'DPoP', dpop: proof })
        expect(reply.status).toBe(401)
        expect(reply.body).toEqual({ msg: `Invalid DPoP proof: ${why}`, code: 'DPOP_PROOF_INVALID' })
      }
    })

    it('the query and a differently spelled URL do not matter (htu normalised)', async () => {
      const spelled = url().replace('http://127.0.0.1', 'HTTP://127.0.0.1')
      const reply = await call(app, 'GET', '/orders?page=2', {
        token,
        scheme: 'DPoP',
        dpop: await dpopProof(key, 'GET', spelled, token),
      })
      expect(reply.status).toBe(200)
    })

    it("a proof by another key than the token's is refused as a bad binding", async () => {
      const other = await newDpopKey()
      const reply = await call(app, 'GET', '/orders', {
        token,
        scheme: 'DPoP',
        dpop: await dpopProof(other, 'GET', url(), token),
      })
      expect(reply.status).toBe(401)
      expect(reply.body).toEqual({ msg: 'Invalid token: bound to another DPoP key', code: 'TOKEN_INVALID' })
      expect(reply.headers.get('www-authenticate')).toMatch(/^DPoP error="invalid_token"/)
    })

    it('the DPoP scheme with a token that is not bound is refused', async () => {
      const bearer = await provider.clientCredentials()
      const reply = await call(app, 'GET', '/orders', {
        token: bearer,
        scheme: 'DPoP',
        dpop: await dpopProof(key, 'GET', url(), bearer),
      })
      expect(reply.status).toBe(401)
      expect(reply.body.code).toBe('TOKEN_INVALID')
    })

    it("the app's own tokens, bound to the client's key at login, need proofs too", async () => {
      const loginUrl = `${app.url}/login`
      const tokens = (
        await call(app, 'POST', '/login', {
          json: { username: 'dora' },
          dpop: await dpopProof(key, 'POST', loginUrl),
        })
      ).body
      const own = tokens.access_token as string
      expect(jose.decodeJwt(own).cnf).toEqual({ jkt: key.jkt })
      const ok = await call(app, 'GET', '/self', {
        token: own,
        scheme: 'DPoP',
        dpop: await dpopProof(key, 'GET', `${app.url}/self`, own),
      })
      expect(ok.status).toBe(200)
      expect((await call(app, 'GET', '/self', { token: own })).body.code).toBe('DPOP_PROOF_MISSING')
    })
  })
})
