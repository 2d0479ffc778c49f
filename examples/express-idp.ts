/**
 * An Express API that accepts an identity provider's access tokens (OpenID Connect discovery finds
 * its keys): `OIDC_ISSUER=https://tenant.example-idp.com/ API_AUDIENCE=https://api.example.com npx tsx examples/express-idp.ts`.
 * Profiles and scope claims per provider: docs/identity-providers.md.
 */
import type { Server } from 'node:http'
import { fileURLToPath } from 'node:url'
import express from 'express'
import { latchkey } from '../src/adapters/express.js'
import { createAuth } from '../src/index.js'
import { oidcIssuer } from '../src/issuers.js'

export function createApp(issuer: string, audience: string) {
  const provider = oidcIssuer({ issuer, audience }) // RFC 9068 tokens; see the docs for Auth0, Entra ID, ...
  const auth = createAuth({ issuers: [provider] })
  const { requireAuth, errorHandler } = latchkey(auth)

  const app = express()
  app.use(express.json())
  app.get('/orders', requireAuth({ scopes: ['read:orders'] }), (req, res) => {
    res.json({ orders: [], caller: req.auth.sub, issuer: req.auth.issuer, scopes: req.auth.scopes })
  })
  app.post('/orders', requireAuth({ scopes: ['write:orders'] }), (req, res) => {
    res.status(201).json({ placedBy: req.auth.sub })
  })
  // Readiness: the provider's keys are at hand (fetched now if they are not).
  app.get('/readyz', (_req, res, next) => {
    provider.keySource.ready().then(() => res.json({ ok: true }), next)
  })
  app.use(errorHandler()) // 401/403/503 as {msg, code} with WWW-Authenticate
  return { app, auth, provider }
}

export function start(
  port = 3000,
  issuer = process.env.OIDC_ISSUER ?? '',
  audience = process.env.API_AUDIENCE ?? '',
): Promise<Server> {
  const { app } = createApp(issuer, audience)
  const server = app.listen(port, '127.0.0.1')
  return new Promise((resolve) => server.once('listening', () => resolve(server)))
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const server = await start(Number(process.env.PORT ?? 3000))
  console.log('listening on', server.address())
}
