/**
 * A Hono API (Node, Bun, Deno, workers) that accepts an identity provider's access tokens, DPoP-bound
 * ones included: `OIDC_ISSUER=https://sso.example.com/realms/shop API_AUDIENCE=orders-api npx tsx examples/hono-idp.ts`.
 * Profiles and scope claims per provider: docs/identity-providers.md.
 */
import { fileURLToPath } from 'node:url'
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { type AuthVariables, errorHandler, requireAuth } from '../src/adapters/hono.js'
import { createAuth } from '../src/index.js'
import { oidcIssuer } from '../src/issuers.js'

export function createApp(issuer: string, audience: string) {
  const auth = createAuth({
    issuers: [
      // Keycloak, say: tokens without typ at+jwt, roles in realm_access.roles.
      oidcIssuer({ issuer, audience, profile: 'generic', scopeClaims: ['scope', 'realm_access.roles'] }),
    ],
  })
  const app = new Hono<{ Variables: AuthVariables }>()
  app.onError(errorHandler(auth))
  app.get('/orders', requireAuth(auth, { scopes: ['read:orders'] }), (c) => {
    const { sub, issuer: from, scopes } = c.get('auth')
    return c.json({ orders: [], caller: sub, issuer: from, scopes })
  })
  // Staff only: one of two roles, and a check of the token's claims.
  app.get(
    '/refunds',
    requireAuth(auth, {
      scopes: { any: ['staff', 'refunds'] },
      claimCheck: (claims: { azp?: string }) => claims.azp !== 'public-kiosk',
    }),
    (c) => c.json({ refunds: [] }),
  )
  return { app, auth }
}

export function start(
  port = 3000,
  issuer = process.env.OIDC_ISSUER ?? '',
  audience = process.env.API_AUDIENCE ?? '',
  hostname = '127.0.0.1',
) {
  const { app } = createApp(issuer, audience)
  return new Promise<ReturnType<typeof serve>>((resolve) => {
    const server = serve({ fetch: app.fetch, port, hostname }, () => resolve(server))
  })
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const server = await start(Number(process.env.PORT ?? 3000))
  console.log('listening on', server.address())
}
