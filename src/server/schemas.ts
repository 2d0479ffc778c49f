/**
 * JSON Schemas of the server's own routes (health, keys, metrics). Fastify serialises responses with
 * them, and @fastify/swagger turns them into /openapi.json; the auth routes' schemas are the login
 * API's (`loginSchemas` of `latchkey/login`).
 */
export { errorSchema } from '../login/index.js'

const statusOk = {
  type: 'object',
  properties: { status: { type: 'string', const: 'ok' } },
  required: ['status'],
} as const

/** The answers of a readiness check. */
const readiness = {
  200: statusOk,
  503: {
    type: 'object',
    properties: {
      status: { type: 'string', const: 'unavailable' },
      msg: { type: 'string' },
      code: { type: 'string' },
    },
    required: ['status', 'msg', 'code'],
  },
} as const

/** Every route's schema. */
export const routeSchemas = {
  livez: {
    summary: 'Liveness',
    description:
      '200 while the process serves requests. Asks no dependency: a database outage must not get healthy instances restarted.',
    tags: ['operations'],
    response: { 200: statusOk },
  },
  readyz: {
    summary: 'Readiness',
    description:
      '200 when the database (and Redis, if configured) answer within their deadlines; 503 with Retry-After otherwise (and while shutting down). For readiness probes and load balancers.',
    tags: ['operations'],
    response: readiness,
  },
  healthz: {
    summary: 'Readiness (the compatibility name of /readyz)',
    description: 'The same as /readyz.',
    tags: ['operations'],
    response: readiness,
  },
  jwks: {
    summary: 'Public keys (JWKS)',
    description:
      'The public keys that verify tokens; an empty list with HS256 secrets, which are never published.',
    tags: ['keys'],
    response: {
      200: {
        type: 'object',
        properties: {
          keys: { type: 'array', items: { type: 'object', additionalProperties: true } },
        },
        required: ['keys'],
      },
    },
  },
  metrics: {
    summary: 'Prometheus metrics',
    tags: ['operations'],
    produces: ['text/plain'],
  },
} as const
