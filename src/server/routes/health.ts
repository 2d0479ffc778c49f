/**
 * Health: `GET /livez` (the process serves: for liveness probes, never touches a dependency, so a
 * database outage does not get healthy instances restarted) and `GET /readyz` (the database, and
 * Redis when configured, answer within their deadlines: for readiness probes and load balancers).
 * `GET /healthz` is `/readyz`, kept for compatibility.
 */
import type { FastifyInstance, FastifyReply } from 'fastify'
import { withDeadline } from '../deadline.js'
import { routeSchemas } from '../schemas.js'
import type { RouteDeps } from './context.js'

/** Registers the health routes. */
export function healthRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { database, redisConnection, config } = deps

  /** Every check starts at once and each has its own deadline: one slow dependency never hides another. */
  async function failing(): Promise<string[]> {
    const checks: [string, Promise<unknown>][] = [
      ['database', withDeadline(database.ping(), config.dbReadTimeoutMs, 'database ping')],
    ]
    if (redisConnection) {
      const { redis } = redisConnection
      checks.push([
        'redis',
        withDeadline(redis.ping(), config.redisTimeoutMs, 'redis ping').then(() => {
          if (!redisConnection.acceptable()) throw new Error('Redis has no persistence')
        }),
      ])
    }
    const results = await Promise.allSettled(checks.map(([, check]) => check))
    return checks.filter((_, i) => results[i]?.status === 'rejected').map(([name]) => name)
  }

  const ready = async (_request: unknown, reply: FastifyReply) => {
    reply.header('cache-control', 'no-store')
    const down = await failing()
    if (down.length === 0) return { status: 'ok' }
    return reply
      .code(503)
      .header('retry-after', '1')
      .send({ status: 'unavailable', msg: `${down.join(' and ')} unavailable`, code: 'SERVICE_UNAVAILABLE' })
  }
  app.get('/readyz', { schema: routeSchemas.readyz }, ready)
  app.get('/healthz', { schema: routeSchemas.healthz }, ready)

  app.get('/livez', { schema: routeSchemas.livez }, async (_request, reply) => {
    reply.header('cache-control', 'no-store')
    return { status: 'ok' }
  })
}
