/**
 * The login API's own errors: a status, a stable code and a message, rendered as `{msg, code}` like
 * latchkey's token errors (which the API renders through `auth.errorResponse`).
 */

/** Codes the login API answers with, besides the core's token codes (`TOKEN_EXPIRED`, ...). */
export type LoginErrorCode =
  | 'VALIDATION_FAILED'
  | 'INVALID_JSON'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'PAYLOAD_TOO_LARGE'
  | 'BAD_REQUEST'
  | 'HEADERS_TOO_LARGE'
  | 'REQUEST_TIMEOUT'
  | 'NOT_FOUND'
  | 'EMAIL_TAKEN'
  | 'CONFLICT'
  | 'INVALID_CREDENTIALS'
  | 'USER_INACTIVE'
  | 'USER_UNVERIFIED'
  | 'TOO_MANY_ATTEMPTS'
  | 'INVALID_LINK'
  | 'SESSION_NOT_FOUND'
  | 'SERVICE_UNAVAILABLE'
  | 'SERVER_BUSY'
  | 'INTERNAL_ERROR'

/** An error the login API answers with as is: status, `{msg, code}` body and extra headers. */
export class LoginError extends Error {
  readonly status: number
  readonly code: LoginErrorCode
  readonly headers: Record<string, string>

  constructor(status: number, code: LoginErrorCode, message: string, headers: Record<string, string> = {}) {
    super(message)
    this.name = 'LoginError'
    this.status = status
    this.code = code
    this.headers = headers
  }
}

/** 401 for a wrong password and an unknown email alike: same status, body and headers. */
export function invalidCredentials(): LoginError {
  return new LoginError(401, 'INVALID_CREDENTIALS', 'Invalid email or password', {
    'www-authenticate': 'Bearer',
  })
}

/** 400 for a body that does not have the shape a route needs. */
export function validationFailed(message: string): LoginError {
  return new LoginError(400, 'VALIDATION_FAILED', message)
}

/**
 * 503 for a backend (database, Redis) that could not answer: the API fails closed and the client
 * may retry. Never a 500, which would say the request itself broke something.
 */
export function serviceUnavailable(
  message = 'Service temporarily unavailable; try again shortly',
): LoginError {
  return new LoginError(503, 'SERVICE_UNAVAILABLE', message, { 'retry-after': '1' })
}

/** 429 with `Retry-After` until `resetAt` (epoch milliseconds). */
export function tooManyAttempts(resetAt: number, message: string, now = Date.now()): LoginError {
  const seconds = Math.max(1, Math.ceil((resetAt - now) / 1000))
  return new LoginError(429, 'TOO_MANY_ATTEMPTS', message, { 'retry-after': String(seconds) })
}

/** The logger the login API writes to: pino's and Fastify's loggers fit, and so does `console`-like code. */
export interface LoginLogger {
  info(obj: object, msg: string): void
  warn(obj: object, msg: string): void
  error(obj: object, msg: string): void
}

/** A logger that drops everything. */
export const silentLogger: LoginLogger = {
  info() {},
  warn() {},
  error() {},
}

/**
 * Runs a backend call (database, Redis) that must fail closed: any failure but a LoginError the call
 * chose itself becomes a logged 503 the client may retry.
 */
export async function orUnavailable<T>(
  log: LoginLogger,
  call: () => Promise<T>,
  message?: string,
): Promise<T> {
  try {
    return await call()
  } catch (error) {
    // Answers the route already chose (409 CONFLICT, say) pass through.
    if (error instanceof LoginError) throw error
    log.error({ err: error }, 'backend unavailable')
    throw serviceUnavailable(message)
  }
}
