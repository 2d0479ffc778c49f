import {
  type AuthError,
  type AuthErrorCode,
  ConfigError,
  DEFAULT_STATUS,
  type InsufficientScopeError,
  type MissingToken,
  type TokenMissingError,
  type UserNotFoundError,
} from '../errors.js'
import { NO_CSRF_CLAIM } from './csrf.js'

/** A rendered error: what every adapter sends. */
export interface ErrorResponse {
  status: number
  body: Record<string, unknown>
  headers: Record<string, string | string[]>
}

/** How errors are rendered. */
export interface ErrorOptions {
  /**
   * Start from a preset: 'flask-jwt-extended' answers as Flask-JWT-Extended 4.x does: its statuses,
   * its and PyJWT's message texts, and a body of the message alone (`{"msg": ...}`, no `code`).
   */
  preset?: 'latchkey' | 'flask-jwt-extended'
  /** Status per code, over the preset. */
  statuses?: Partial<Record<AuthErrorCode, number>>
  /** Message per code, over the preset. */
  messages?: Partial<Record<AuthErrorCode, string>>
  /** Key of the message in the JSON body. Default 'msg'. */
  messageKey?: string
  /** Put the stable `code` in the body. Default true; false under the flask-jwt-extended preset. */
  includeCode?: boolean
  /**
   * Full control: return a response to use it, or undefined for the default, which it is given
   * (`rendered.body.msg` is the preset's text). `error.header` and `error.claims` hold the token
   * where it was decoded: Flask-JWT-Extended's `expired_token_loader` and its kin, in one place.
   *
   * @example
   * ```ts
   * errors: {
   *   handler: (error, rendered) =>
   *     error.code === 'TOKEN_EXPIRED'
   *       ? { ...rendered, status: 419, body: { msg: 'Session expired', sub: error.claims?.sub } }
   *       : undefined,
   * }
   * ```
   */
  handler?: (error: AuthError, rendered: ErrorResponse) => ErrorResponse | undefined
}

/** Flask-JWT-Extended's default statuses (its invalid/wrong-type loaders answer 422). */
const FLASK_STATUSES: Partial<Record<AuthErrorCode, number>> = {
  TOKEN_INVALID: 422,
  TOKEN_NOT_YET_VALID: 422,
  WRONG_TOKEN_TYPE: 422,
  CSRF_FAILED: 401,
  CLAIMS_REJECTED: 400,
}

/**
 * Flask-JWT-Extended's text of an error. Token errors raised by the guard and `verifyTokenSync`
 * under the preset already carry PyJWT's words (see flask/pyjwt.ts); errors an app makes itself are
 * given Flask-JWT-Extended's text for their code.
 */
function flaskMessage(err: AuthError): string | undefined {
  switch (err.code) {
    case 'TOKEN_MISSING':
      return flaskMissing(err as TokenMissingError)
    case 'TOKEN_EXPIRED':
      return 'Token has expired'
    case 'TOKEN_INVALID':
      return err.message.endsWith('signature verification failed')
        ? 'Signature verification failed'
        : err.message
    case 'TOKEN_NOT_YET_VALID':
      return err.message.startsWith('The token is not yet valid')
        ? err.message
        : 'The token is not yet valid (nbf)'
    case 'WRONG_TOKEN_TYPE':
      return err.message === 'Only access tokens are allowed'
        ? 'Only non-refresh tokens are allowed'
        : 'Only refresh tokens are allowed'
    case 'FRESH_TOKEN_REQUIRED':
      return 'Fresh token required'
    case 'TOKEN_REVOKED':
      return 'Token has been revoked'
    case 'USER_NOT_FOUND': {
      const identity = (err as UserNotFoundError).identity
      return identity === undefined ? 'Error loading the user' : `Error loading the user ${identity}`
    }
    case 'CLAIMS_REJECTED':
      return 'User claims verification failed'
    case 'CSRF_FAILED':
      return err.message === NO_CSRF_CLAIM ? 'Missing claim: csrf' : err.message
    default:
      return undefined
  }
}

/** Flask-JWT-Extended's status of an error: a cookie token without a `csrf` claim is a decode error (422). */
function flaskStatus(err: AuthError): number | undefined {
  if (err.code === 'CSRF_FAILED' && err.message === NO_CSRF_CLAIM) return 422
  return FLASK_STATUSES[err.code]
}

// Flask-JWT-Extended's name for each location, and its text for a token missing there, as in its
// 4.x releases with JWT_QUERY_STRING_VALUE_PREFIX (the "paramater" spelling included: apps and tests
// match these texts; earlier 4.x quoted the query parameter with double quotes).
const FLASK_LOCATION = {
  headers: 'headers',
  cookies: 'cookies',
  json: 'json',
  query: 'query_string',
} as const

function flaskMissingAt(looked: MissingToken): string {
  switch (looked.location) {
    case 'headers':
      return looked.otherScheme
        ? `Missing '${looked.type}' type in '${looked.name}' header. Expected '${looked.name}: ${looked.type} <JWT>'`
        : `Missing ${looked.name} Header`
    case 'cookies':
      return `Missing cookie "${looked.name}"`
    case 'json':
      return looked.jsonBody
        ? `Missing "${looked.name}" key in json data.`
        : 'Invalid content-type. Must be application/json.'
    case 'query':
      return `Missing '${looked.name}' query paramater`
  }
}

function flaskMissing(err: TokenMissingError): string {
  const looked = err.looked
  if (looked.length === 0) {
    // Made by the app without the guard's details: name the locations only.
    const names = err.locations.map((l) => FLASK_LOCATION[l as keyof typeof FLASK_LOCATION] ?? l)
    return names.length === 1 && names[0] === 'headers'
      ? 'Missing Authorization Header'
      : `Missing JWT in ${names.join(' or ')}`
  }
  if (looked.length === 1) return flaskMissingAt(looked[0]!)
  const names = looked.map((l) => FLASK_LOCATION[l.location])
  const start = names.slice(0, -1).join(', ')
  return `Missing JWT in ${start} or ${names.at(-1)} (${looked.map(flaskMissingAt).join('; ')})`
}

function quote(text: string): string {
  return text.replace(/[\\"]/g, '').replace(/[^\x20-\x7e]/g, '')
}

/** Renders an AuthError: status, JSON body `{msg, code}` and headers (RFC 6750 WWW-Authenticate on 401s). */
export function renderError(options: ErrorOptions, err: AuthError): ErrorResponse {
  const rendered = renderDefault(options, err)
  return options.handler?.(err, rendered) ?? rendered
}

function renderDefault(options: ErrorOptions, err: AuthError): ErrorResponse {
  const flask = options.preset === 'flask-jwt-extended'
  const status =
    options.statuses?.[err.code] ?? (flask ? flaskStatus(err) : undefined) ?? DEFAULT_STATUS[err.code]
  const message = options.messages?.[err.code] ?? (flask ? flaskMessage(err) : undefined) ?? err.message
  const headers: Record<string, string | string[]> = { ...err.headers, 'cache-control': 'no-store' }
  // A challenge the error brings (the DPoP scheme's, RFC 9449) is kept; else RFC 6750's.
  if (status === 401 && headers['www-authenticate'] === undefined) {
    headers['www-authenticate'] =
      err.code === 'TOKEN_MISSING'
        ? 'Bearer'
        : `Bearer error="invalid_token", error_description="${quote(message)}"`
  }
  if (status === 403 && err.code === 'INSUFFICIENT_SCOPE' && headers['www-authenticate'] === undefined) {
    const scopes = (err as InsufficientScopeError).scopes.map(quote).join(' ')
    headers['www-authenticate'] =
      `Bearer error="insufficient_scope", error_description="${quote(message)}", scope="${scopes}"`
  }
  if (err.code === 'REVOCATION_UNAVAILABLE') headers['retry-after'] = '1'
  if (err.code === 'ISSUER_UNAVAILABLE') headers['retry-after'] ??= '1'
  const body: Record<string, unknown> = { [options.messageKey ?? 'msg']: message }
  if (options.includeCode ?? !flask) body.code = err.code
  return { status, body, headers }
}

/** A typo in a preset name or an error code would otherwise silently change every error response. */
export function checkErrorOptions(errors: ErrorOptions | undefined): void {
  if (errors === undefined) return
  if (errors.preset !== undefined && errors.preset !== 'latchkey' && errors.preset !== 'flask-jwt-extended')
    throw new ConfigError(
      `errors.preset must be 'latchkey' or 'flask-jwt-extended' (got ${JSON.stringify(errors.preset)})`,
    )
  for (const key of ['statuses', 'messages'] as const) {
    const table = errors[key]
    if (table === undefined) continue
    if (typeof table !== 'object' || table === null) throw new ConfigError(`errors.${key} must be an object`)
    for (const [code, value] of Object.entries(table)) {
      if (!Object.hasOwn(DEFAULT_STATUS, code))
        throw new ConfigError(
          `errors.${key}: unknown error code "${code}" (known: ${Object.keys(DEFAULT_STATUS).join(', ')})`,
        )
      if (key === 'statuses' && !(Number.isInteger(value) && value >= 100 && value <= 599))
        throw new ConfigError(`errors.statuses.${code} must be an HTTP status (100-599)`)
      if (key === 'messages' && typeof value !== 'string')
        throw new ConfigError(`errors.messages.${code} must be a string`)
    }
  }
  if (errors.messageKey !== undefined && (typeof errors.messageKey !== 'string' || errors.messageKey === ''))
    throw new ConfigError('errors.messageKey must be a non-empty string')
  if (errors.includeCode !== undefined && typeof errors.includeCode !== 'boolean')
    throw new ConfigError('errors.includeCode must be true or false')
  if (errors.handler !== undefined && typeof errors.handler !== 'function')
    throw new ConfigError('errors.handler must be a function')
}
