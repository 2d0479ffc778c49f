/**
 * The server's own error: a status, a stable code and a message, rendered as `{msg, code}` like
 * latchkey's token errors.
 */

/** Codes the server adds to the core's (`TOKEN_EXPIRED`, ...). */
export type ServerErrorCode =
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
  | 'TOO_MANY_ATTEMPTS'
  | 'SERVICE_UNAVAILABLE'
  | 'SERVER_BUSY'
  | 'INTERNAL_ERROR'

/** An error the server answers with as is: status, `{msg, code}` body and extra headers. */
export class ApiError extends Error {
  readonly status: number
  readonly code: ServerErrorCode
  readonly headers: Record<string, string>

  constructor(status: number, code: ServerErrorCode, message: string, headers: Record<string, string> = {}) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
    this.headers = headers
  }
}

/** 401 for a wrong password and an unknown email alike: same status, body and headers. */
export function invalidCredentials(): ApiError {
  return new ApiError(401, 'INVALID_CREDENTIALS', 'Invalid email or password', {
    'www-authenticate': 'Bearer',
  })
}

/** 400 for a body that passed the schema but not the server's own checks. */
export function validationFailed(message: string): ApiError {
  return new ApiError(400, 'VALIDATION_FAILED', message)
}

/**
 * 503 for a backend (database, Redis) that could not answer: the server fails closed and the client
 * may retry. Never a 500, which would say the request itself broke something.
 */
export function serviceUnavailable(message = 'Service temporarily unavailable; try again shortly'): ApiError {
  return new ApiError(503, 'SERVICE_UNAVAILABLE', message, { 'retry-after': '1' })
}

/**
 * Runs a backend call (database, Redis) that must fail closed: any failure but an ApiError the call
 * chose itself becomes a logged 503 the client may retry.
 */
export async function orUnavailable<T>(
  log: { error(obj: object, msg: string): void },
  call: () => Promise<T>,
  message?: string,
): Promise<T> {
  try {
    return await call()
  } catch (error) {
    // Answers the route already chose (409 EMAIL_TAKEN, say) pass through.
    if (error instanceof ApiError) throw error
    log.error({ err: error }, 'backend unavailable')
    throw serviceUnavailable(message)
  }
}
