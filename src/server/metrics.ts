/**
 * Prometheus metrics (prom-client), on a registry of the server's own rather than the global one,
 * so several servers in one process (tests) never collide. Off unless `LATCHKEY_METRICS=true`.
 */
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client'
import type { Auth } from '../index.js'

/** Outcomes of POST /auth/login. */
export type { LoginOutcome } from '../login/index.js'

/** The server's metrics. */
export class ServerMetrics {
  readonly registry = new Registry()
  readonly logins = new Counter({
    name: 'latchkey_logins_total',
    help: 'Password logins by outcome',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  })
  readonly refreshes = new Counter({
    name: 'latchkey_refreshes_total',
    help: 'Refresh tokens exchanged for new tokens',
    registers: [this.registry],
  })
  readonly revocations = new Counter({
    name: 'latchkey_revocations_total',
    help: 'Revocations by kind: logout (a token and its family) or everywhere (every token of a user)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  })
  readonly refreshReuse = new Counter({
    name: 'latchkey_refresh_reuse_detected_total',
    help: 'Rotated refresh tokens presented again (their family was revoked)',
    registers: [this.registry],
  })
  readonly tokenFailures = new Counter({
    name: 'latchkey_token_failures_total',
    help: 'Requests refused by a token guard, by error code',
    labelNames: ['code'] as const,
    registers: [this.registry],
  })
  readonly requestDuration = new Histogram({
    name: 'latchkey_http_request_duration_seconds',
    help: 'HTTP request latency by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  })

  constructor() {
    collectDefaultMetrics({ register: this.registry })
  }

  /** Counts the auth object's events. */
  observe<User>(auth: Auth<User>): void {
    auth.on('refresh', () => this.refreshes.inc())
    auth.on('logout', ({ everywhere }) =>
      this.revocations.inc({ kind: everywhere ? 'everywhere' : 'logout' }),
    )
    auth.on('refreshReuseDetected', () => this.refreshReuse.inc())
    auth.on('unauthorized', ({ error }) => this.tokenFailures.inc({ code: error.code }))
  }
}
