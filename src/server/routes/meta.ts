/** What the server publishes about itself: its public keys, its OpenAPI document, its metrics. */
import type { FastifyInstance } from 'fastify'
import { routeSchemas } from '../schemas.js'
import type { RouteDeps } from './context.js'

/** Registers `/.well-known/jwks.json`, `/openapi.json` and (when enabled) `/metrics`. */
export function metaRoutes(app: FastifyInstance, { auth, metrics }: RouteDeps): void {
  app.get('/.well-known/jwks.json', { schema: routeSchemas.jwks }, async (_request, reply) => {
    // Short cache: verifiers pick up a new key within minutes of a rotation starting.
    reply.header('cache-control', 'public, max-age=300')
    return auth.jwks()
  })

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())

  if (metrics) {
    app.get('/metrics', { schema: routeSchemas.metrics }, async (_request, reply) => {
      reply.header('content-type', metrics.registry.contentType).header('cache-control', 'no-store')
      return metrics.registry.metrics()
    })
  }
}
