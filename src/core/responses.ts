import { type AuthError, type AuthErrorCode, DEFAULT_STATUS } from '../errors.js'

/** A rendered error: what every adapter sends. */
export interface ErrorResponse {
  status: number
  body: Record<string, unknown>
  headers: Record<string, string | string[]>
}

/** How errors are rendered. */
export interface ErrorOptions {
  /** Start from a preset: 'flask-jwt-extended' reproduces its statuses and `msg` texts. */
  preset?: 'latchkey' | 'flask-jwt-extended'
  /** Status per code, over the preset. */
  statuses?: Partial<Record<AuthErrorCode, number>>
  /** Message per code, over the preset. */
  messages?: Partial<Record<AuthErrorCode, string>>
  /** Key of the message in the JSON body. Default 'msg'. */
  messageKey?: string
  /** Full control: return a response to use it, or undefined for the default. */
  handler?: (error: AuthError) => ErrorResponse | undefined
}

/** Flask-JWT-Extended's default statuses (its invalid/wrong-type loaders answer 422). */
const FLASK_STATUSES: Partial<Record<AuthErrorCode, number>> = {
  TOKEN_INVALID: 422,
  TOKEN_NOT_YET_VALID: 422,
  WRONG_TOKEN_TYPE: 422,
  CSRF_FAILED: 401,
  CLAIMS_REJECTED: 400,
}

function flaskMessage(err: AuthError): string | undefined {
  switch (err.code) {
    case 'TOKEN_MISSING': {
      const locations = (err as AuthError & { locations?: readonly string[] }).locations ?? []
      if (locations.length === 1 && locations[0] === 'headers') return 'Missing Authorization Header'
      if (locations.length === 1 && locations[0] === 'cookies') return 'Missing cookie'
      return `Missing JWT in ${locations.join(' or ')}`
    }
    case 'TOKEN_EXPIRED':
      return 'Token has expired'
    case 'TOKEN_INVALID':
      return err.message.endsWith('signature verification failed')
        ? 'Signature verification failed'
        : err.message
    case 'TOKEN_NOT_YET_VALID':
      return 'The token is not yet valid (nbf)'
    case 'WRONG_TOKEN_TYPE':
      return err.message === 'Only access tokens are allowed'
        ? 'Only non-refresh tokens are allowed'
        : 'Only refresh tokens are allowed'
    case 'FRESH_TOKEN_REQUIRED':
      return 'Fresh token required'
    case 'TOKEN_REVOKED':
      return 'Token has been revoked'
    case 'USER_NOT_FOUND':
      return 'Error loading the user'
    case 'CLAIMS_REJECTED':
      return 'User claims verification failed'
    default:
      return undefined
  }
}

function quote(text: string): string {
  return text.replace(/[\\"]/g, '').replace(/[^\x20-\x7e]/g, '')
}

/** Renders an AuthError: status, JSON body `{msg, code}` and headers (RFC 6750 WWW-Authenticate on 401s). */
export function renderError(options: ErrorOptions, err: AuthError): ErrorResponse {
  const custom = options.handler?.(err)
  if (custom) return custom
  const flask = options.preset === 'flask-jwt-extended'
  const status =
    options.statuses?.[err.code] ?? (flask ? FLASK_STATUSES[err.code] : undefined) ?? DEFAULT_STATUS[err.code]
  const message = options.messages?.[err.code] ?? (flask ? flaskMessage(err) : undefined) ?? err.message
  const headers: Record<string, string | string[]> = { ...err.headers, 'cache-control': 'no-store' }
  if (status === 401) {
    headers['www-authenticate'] =
      err.code === 'TOKEN_MISSING'
        ? 'Bearer'
        : `Bearer error="invalid_token", error_description="${quote(message)}"`
  }
  if (err.code === 'REVOCATION_UNAVAILABLE') headers['retry-after'] = '1'
  return { status, body: { [options.messageKey ?? 'msg']: message, code: err.code }, headers }
}
