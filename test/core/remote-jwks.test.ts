/**
 * Keys that live elsewhere, fetched by an asynchronous `resolveKey` over jose's `createRemoteJWKSet`
 * with its defaults (for a sibling latchkey deployment's tokens; identity providers' tokens have the
 * `issuers` option, tested in test/issuers/), against a real JWKS served over HTTP by another
 * latchkey, the issuer, which rotates its keys the documented way.
 */
import { generateKeyPairSync, KeyObject } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createRemoteJWKSet } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Auth, createAuth, type KeyConfig, TokenInvalidError } from '../../src/index.js'
import { bearer, makeView } from './helpers.js'

const first = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const second = generateKeyPairSync('ec', { namedCurve: 'P-256' })
// The issuer publishes its next key (verify-only) ahead of signing with it, as a rotation should.
let issuer: Auth = createAuth({
  keys: [
    { privateKey: first.privateKey, algorithm: 'ES256', kid: 'first' },
    { privateKey: second.privateKey, algorithm: 'ES256', kid: 'second', verifyOnly: true },
  ],
})
let server: Server
let jwksUrl: URL
let served = 0

beforeAll(async () => {
  server = createServer((_req, res) => {
    served++
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify(issuer.jwks()))
  })
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  jwksUrl = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`)
})
afterAll(() => new Promise<void>((done) => server.close(() => done())))

/** The recipe, as documented. */
function remoteKeys(url: URL): (header: { alg: string; kid?: string }) => Promise<KeyConfig> {
  const jwks = createRemoteJWKSet(url) // jose's defaults: 30 s cooldown, 10 min cache
  // jose returns the same CryptoKey for the same JWK: keeping one KeyConfig per CryptoKey lets
  // latchkey load each key once.
  const configs = new WeakMap<object, KeyConfig>()
  return async (header) => {
    const key = await jwks(header as Parameters<typeof jwks>[0])
    let config = configs.get(key)
    if (!config) {
      config = {
        publicKey: KeyObject.from(key),
        algorithm: header.alg as KeyConfig['algorithm'],
      } as KeyConfig
      configs.set(key, config)
    }
    return config
  }
}

describe('keys from a JWKS URL (asynchronous resolveKey over jose createRemoteJWKSet)', () => {
  let api: Auth
  beforeAll(() => {
    api = createAuth({
      keys: { secret: 'the-api-own-secret-of-at-least-32-bytes!' },
      allowMixedAlgorithms: true, // its own HS256 key, and the issuer's ES256 keys
      resolveKey: remoteKeys(jwksUrl),
    })
  })

  it("verifies the issuer's tokens in the guard, fetching the JWKS once", async () => {
    served = 0
    for (const sub of ['u1', 'u2', 'u3']) {
      const context = await api.authenticate(makeView({ headers: bearer(issuer.createAccessToken(sub)) }))
      expect(context.sub).toBe(sub)
    }
    expect(served).toBe(1)
  })

  it('follows a key rotation at the issuer that published the new key ahead, without a refetch', async () => {
    served = 0
    issuer = createAuth({
      keys: [
        { privateKey: second.privateKey, algorithm: 'ES256', kid: 'second' },
        { publicKey: first.publicKey, algorithm: 'ES256', kid: 'first' },
      ],
    })
    const rotated = issuer.createAccessToken('u4')
    expect((await api.verifyToken(rotated)).claims.sub).toBe('u4')
    expect(served).toBe(0)
  })

  it('refuses a token whose kid the issuer does not publish (401, not a 500)', async () => {
    const stranger = createAuth({
      keys: { privateKey: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, algorithm: 'ES256' },
    })
    const refused = await api
      .authenticate(makeView({ headers: bearer(stranger.createAccessToken('x')) }))
      .catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(TokenInvalidError)
    expect(api.errorResponse(refused as TokenInvalidError).status).toBe(401)
  })
})
