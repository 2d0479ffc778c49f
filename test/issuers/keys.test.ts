/**
 * The remote key set against a real provider: key rotation, a provider that is down or hangs (cached
 * keys keep working; a cold start answers 503, fast, and does not retry before the cooldown),
 * Cache-Control, discovery, concurrency, several providers at once, and the synchronous fast path.
 * The key set's clock is moved by hand; the provider is taken down through its TCP proxy.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import * as jose from 'jose'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { verifyRequest } from '../../src/adapters/fetch.js'
import { type AuthError, ConfigError, createAuth, IssuerUnavailableError } from '../../src/index.js'
import { type OidcIssuerOptions, oidcIssuer } from '../../src/issuers.js'
import { bearer, makeView } from '../core/helpers.js'
import {
  newKey,
  OTHER_RESOURCE,
  type ProviderKey,
  RESOURCE,
  startProvider,
  type TestProvider,
} from './provider.js'

let provider: TestProvider
beforeAll(async () => {
  provider = await startProvider()
})
afterAll(() => provider.close())
afterEach(() => {
  provider.setJwksCacheControl(undefined)
})

/** An auth object trusting `provider`, with a key-set clock the test moves. */
function setup(options: Partial<OidcIssuerOptions> = {}, target: TestProvider = provider) {
  const clock = {
    now: Date.now(),
    advance(ms: number) {
      clock.now += ms
    },
  }
  const errors: unknown[] = []
  const issuer = oidcIssuer({
    issuer: target.issuer,
    audience: RESOURCE,
    clock: () => clock.now,
    onError: (e) => errors.push(e),
    ...options,
  })
  const auth = createAuth({ issuers: [issuer] })
  const check = (token: string) => auth.authenticate(makeView({ headers: bearer(token) }))
  const refusal = (token: string) =>
    check(token).then(
      () => undefined,
      (err: AuthError) => err,
    )
  return { auth, issuer, clock, errors, check, refusal }
}

/** Signs an access token with one of the provider's own keys (as the provider would). */
async function signWith(key: ProviderKey, claims: Record<string, unknown> = {}, iss = provider.issuer) {
  const now = Math.floor(Date.now() / 1000)
  return new jose.SignJWT({
    sub: 'svc',
    client_id: 'svc',
    jti: crypto.randomUUID(),
    scope: 'read:orders',
    ...claims,
  })
    .setProtectedHeader({ alg: key.alg, typ: 'at+jwt', kid: key.kid })
    .setIssuer(iss)
    .setAudience(RESOURCE)
    .setIssuedAt(now)
    .setExpirationTime(now + 600)
    .sign(await jose.importJWK(key, key.alg))
}

describe('key rotation at the provider', () => {
  it('old tokens keep working until their keys leave the set; new keys are fetched on first sight', async () => {
    const [k1, k2] = [provider.keys()[0]!, await newKey('RS256')]
    const { check, refusal, clock, issuer } = setup({ cacheMaxAge: '1m' })
    const old = await provider.clientCredentials()
    expect((await check(old)).sub).toBe('svc')

    // The provider publishes k2 and signs with it; k1 stays published.
    await provider.rotate([k2, k1])
    const fresh = await provider.clientCredentials()
    expect(jose.decodeProtectedHeader(fresh).kid).toBe(k2.kid)
    clock.advance(31_000) // past the cooldown: an unknown kid may refetch
    const fetches = provider.jwksFetches()
    expect((await check(fresh)).sub).toBe('svc')
    expect(provider.jwksFetches()).toBe(fetches + 1)
    expect((await check(old)).sub).toBe('svc')

    // k1 leaves the set: once the cache refreshes, its tokens are refused.
    await provider.rotate([k2])
    clock.advance(61_000) // past cacheMaxAge: the next request refreshes in the background
    expect((await check(old)).sub).toBe('svc') // served from the cache while it refreshes
    await issuer.keySource.ready()
    expect(await refusal(old)).toMatchObject({
      code: 'TOKEN_INVALID',
      message: 'Invalid token: unknown key id or algorithm',
    })
    expect((await check(fresh)).sub).toBe('svc')
    await provider.rotate([k1])
  })
})

describe('a provider that is down', () => {
  it('cached keys keep working past their freshness while refreshes fail, until staleIfError', async () => {
    const { check, refusal, clock, errors } = setup({ cacheMaxAge: '1m', staleIfError: '10m' })
    const token = await provider.clientCredentials()
    expect((await check(token)).sub).toBe('svc')
    await provider.proxy.stop()
    clock.advance(5 * 60_000)
    expect((await check(token)).sub).toBe('svc') // stale, a refresh attempted in the background
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(errors.length).toBe(1)
    clock.advance(10 * 60_000) // beyond staleIfError: the keys no longer answer alone
    const err = await refusal(token)
    expect(err).toBeInstanceOf(IssuerUnavailableError)
    expect(err?.status).toBe(503)
    await provider.proxy.start()
  })

  it('a cold start answers 503 (not 401) within the timeout, and does not retry before the cooldown', async () => {
    await provider.proxy.stop()
    const { auth, check, refusal, clock, errors } = setup({ timeout: '1s' })
    const token = await provider.clientCredentials().catch(() => undefined)
    const any = token ?? (await signWith(provider.keys()[0]!))
    const started = Date.now()
    const first = await refusal(any)
    expect(Date.now() - started).toBeLessThan(3000)
    expect(first).toMatchObject({ code: 'ISSUER_UNAVAILABLE', status: 503 })
    expect(errors.length).toBe(1)
    // Within the cooldown: refused at once, without another attempt.
    expect(await refusal(any)).toMatchObject({ code: 'ISSUER_UNAVAILABLE' })
    expect(errors.length).toBe(1)
    // Rendered by an adapter: 503 with Retry-After.
    const reply = await verifyRequest(auth, new Request('http://api/x', { headers: bearer(any) }))
    expect(reply.ok).toBe(false)
    if (!reply.ok) {
      expect(reply.response.status).toBe(503)
      expect(Number(reply.response.headers.get('retry-after'))).toBeGreaterThan(0)
    }
    // The provider comes back; after the cooldown the next token fetches and passes.
    await provider.proxy.start()
    clock.advance(31_000)
    expect((await check(await provider.clientCredentials())).sub).toBe('svc')
  })

  it('a provider that hangs: 503 once the timeout passes', async () => {
    provider.proxy.stall()
    try {
      const { refusal } = setup({ timeout: '300ms' })
      const started = Date.now()
      expect(await refusal(await signWith(provider.keys()[0]!))).toMatchObject({ code: 'ISSUER_UNAVAILABLE' })
      expect(Date.now() - started).toBeLessThan(3000)
    } finally {
      // Held connections are cut: their bytes belong to requests that gave up.
      await provider.proxy.stop()
      await provider.proxy.start()
    }
  })
})

describe('caching', () => {
  it('Cache-Control max-age sets the freshness (between the cooldown and cacheMaxAge)', async () => {
    provider.setJwksCacheControl('public, max-age=120')
    const { check, issuer, clock } = setup({ cacheMaxAge: '10m' })
    const token = await provider.clientCredentials()
    await check(token)
    const fetches = provider.jwksFetches()
    clock.advance(100_000)
    await check(token)
    expect(issuer.keySource.status().fresh).toBe(true)
    expect(provider.jwksFetches()).toBe(fetches)
    clock.advance(25_000) // 125 s: stale, refreshed in the background
    await check(token)
    await issuer.keySource.ready()
    expect(provider.jwksFetches()).toBe(fetches + 1)
  })

  it('no-store still caches for the cooldown (never a fetch per request)', async () => {
    provider.setJwksCacheControl('no-store')
    const { check, clock } = setup()
    const token = await provider.clientCredentials()
    await check(token)
    const fetches = provider.jwksFetches()
    for (let i = 0; i < 10; i++) await check(token)
    clock.advance(29_000)
    await check(token)
    expect(provider.jwksFetches()).toBe(fetches)
  })

  it('concurrent requests on a cold set share one discovery and one JWKS fetch', async () => {
    const { check } = setup()
    const before = {
      jwks: provider.jwksFetches(),
      meta: provider.served.get('/.well-known/openid-configuration') ?? 0,
    }
    const tokens = await Promise.all(Array.from({ length: 5 }, () => provider.clientCredentials()))
    const contexts = await Promise.all(tokens.flatMap((t) => [check(t), check(t), check(t), check(t)]))
    expect(contexts).toHaveLength(20)
    expect(provider.jwksFetches()).toBe(before.jwks + 1)
    expect(provider.served.get('/.well-known/openid-configuration')).toBe(before.meta + 1)
  })

  it('a cached key verifies synchronously (verifyTokenSync); before the first fetch it cannot', async () => {
    const { auth, check } = setup()
    const token = await provider.clientCredentials()
    expect(() => auth.verifyTokenSync(token)).toThrow(ConfigError)
    await check(token)
    const other = await provider.clientCredentials()
    const decoded = auth.verifyTokenSync(other)
    expect(decoded.issuer).toBe(provider.issuer)
    expect(decoded.claims.sub).toBe('svc')
    // The guard answers without a promise too.
    expect(auth.check(makeView({ headers: bearer(other) }))).not.toBeInstanceOf(Promise)
  })
})

describe('discovery', () => {
  it('a metadata document for another issuer is refused (503), never trusted', async () => {
    const key = await newKey()
    const server = createServer((req, res) => {
      res.setHeader('content-type', 'application/json')
      if (req.url === '/.well-known/openid-configuration')
        res.end(JSON.stringify({ issuer: 'https://evil.example/', jwks_uri: `${base}/jwks` }))
      else res.end(JSON.stringify({ keys: [key] }))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    try {
      const errors: unknown[] = []
      const auth = createAuth({
        issuers: [oidcIssuer({ issuer: base, audience: RESOURCE, onError: (e) => errors.push(e) })],
      })
      const err = await auth.authenticate(makeView({ headers: bearer(await signWith(key, {}, base)) })).then(
        () => undefined,
        (e: AuthError) => e,
      )
      expect(err).toMatchObject({ code: 'ISSUER_UNAVAILABLE' })
      expect(String(errors[0])).toMatch(/is for issuer "https:\/\/evil.example\/"/)
    } finally {
      server.close()
    }
  })

  it('jwksUri given directly skips discovery', async () => {
    const { check } = setup({ jwksUri: `${provider.issuer}/jwks` })
    const meta = provider.served.get('/.well-known/openid-configuration') ?? 0
    expect((await check(await provider.clientCredentials())).sub).toBe('svc')
    expect(provider.served.get('/.well-known/openid-configuration') ?? 0).toBe(meta)
  })

  it('a token of an unknown issuer makes no request, even on a cold key set', async () => {
    const { refusal } = setup()
    const served = [...provider.served.values()].reduce((a, b) => a + b, 0)
    const key = provider.keys()[0]!
    expect(await refusal(await signWith(key, {}, 'https://unknown.example/'))).toMatchObject({
      message: 'Invalid token: issuer not accepted',
    })
    expect([...provider.served.values()].reduce((a, b) => a + b, 0)).toBe(served)
  })
})

describe('several providers at once (multi-tenant)', () => {
  let second: TestProvider
  beforeAll(async () => {
    second = await startProvider({ keys: [await newKey('RS256')] })
  })
  afterAll(() => second.close())

  it('each issuer with its own audience and keys; a token signed by one and naming the other is refused', async () => {
    const auth = createAuth({
      issuers: [
        oidcIssuer({ issuer: provider.issuer, audience: RESOURCE }),
        oidcIssuer({ issuer: second.issuer, audience: OTHER_RESOURCE, algorithms: ['RS256'] }),
      ],
    })
    const check = (token: string) =>
      auth.authenticate(makeView({ headers: bearer(token) })).then(
        (ctx) => ctx.issuer,
        (err: AuthError) => err.message,
      )
    expect(await check(await provider.clientCredentials())).toBe(provider.issuer)
    expect(await check(await second.clientCredentials({ resource: OTHER_RESOURCE }))).toBe(second.issuer)
    // Each issuer's audience is its own.
    expect(await check(await second.clientCredentials({ resource: RESOURCE }))).toBe(
      'Invalid token: audience not accepted',
    )
    // Signed with the first provider's key, claiming the second as issuer.
    const spoofed = await signWith(provider.keys()[0]!, { aud: OTHER_RESOURCE }, second.issuer)
    expect(await check(spoofed)).toBe('Invalid token: algorithm not allowed')
    const spoofedRs = await signWith(await newKey('RS256'), { aud: OTHER_RESOURCE }, second.issuer)
    expect(await check(spoofedRs)).toBe('Invalid token: unknown key id or algorithm')
  })
})
