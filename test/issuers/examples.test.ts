/**
 * The identity-provider examples run against the real provider: a client-credentials token reads
 * orders, a token without the scope is refused with 403, DPoP-bound tokens pass with a proof.
 */
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as expressIdp from '../../examples/express-idp.js'
import * as honoIdp from '../../examples/hono-idp.js'
import { dpopProof, newDpopKey, RESOURCE, startProvider, type TestProvider } from './provider.js'

let provider: TestProvider
beforeAll(async () => {
  provider = await startProvider()
})
afterAll(() => provider.close())

interface Started {
  address(): AddressInfo | string | null
  close(callback?: (err?: Error) => void): unknown
  closeAllConnections?(): void
}

describe.each([
  ['express-idp', (issuer: string) => expressIdp.start(0, issuer, RESOURCE) as Promise<Started>],
  ['hono-idp', (issuer: string) => honoIdp.start(0, issuer, RESOURCE) as Promise<Started>],
])('examples/%s.ts', (_name, start) => {
  it("guards its routes with the provider's tokens and their scopes", async () => {
    const server = await start(provider.issuer)
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    try {
      const token = await provider.clientCredentials({ scope: 'read:orders' })
      const ok = await fetch(`${base}/orders`, { headers: { authorization: `Bearer ${token}` } })
      expect(ok.status).toBe(200)
      expect(await ok.json()).toEqual({
        orders: [],
        caller: 'svc',
        issuer: provider.issuer,
        scopes: ['read:orders'],
      })
      const none = await provider.clientCredentials({ scope: 'admin' })
      const refused = await fetch(`${base}/orders`, { headers: { authorization: `Bearer ${none}` } })
      expect(refused.status).toBe(403)
      expect(refused.headers.get('www-authenticate')).toMatch(/insufficient_scope/)
      const key = await newDpopKey()
      const bound = await provider.clientCredentials({ dpop: key })
      const proof = await dpopProof(key, 'GET', `${base}/orders`, bound)
      const dpop = await fetch(`${base}/orders`, { headers: { authorization: `DPoP ${bound}`, dpop: proof } })
      expect(dpop.status).toBe(200)
      expect((await fetch(`${base}/orders`)).status).toBe(401)
    } finally {
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections?.()
      })
    }
  })
})
