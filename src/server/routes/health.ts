/** `GET /healthz`: the database (and Redis, when configured) answer. */
import type { FastifyInstance } from 'fastify'
import { routeSchemas } from '../schemas.js'
import type { RouteDeps } from './context.js'

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timed out')), ms)
    }),
  ])
}

/** Registers the health route. */
export function healthRoutes(app: FastifyInstance, { database, redis }: RouteDeps): void {
  app.get('/healthz', { schema: routeSchemas.healthz }, async (_request, reply) => {
    reply.header('cache-control', 'no-store')
    const checks: [string, Promise<unknown>][] = [['database', database.ping()]]
    if (redis) checks.push(['redis', redis.ping()])
    for (const [name, check] of checks) {
      try {
        await withTimeout(check, 2_000)
      } catch {
        return reply
          .code(503)
          .send({ status: 'unavailable', msg: `${name} unavailable`, code: 'SERVICE_UNAVAILABLE' })
      }
    }
    return { status: 'ok' }
  })
}
