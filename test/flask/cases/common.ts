/** What the case files share: the base app, app variants and request builders. */

import type { FlaskConfig } from '../../../src/flask.js'
import type { Req } from '../exchange.js'
import type { AppSpec, Features } from '../spec.js'
import { SECRET } from '../tokens.js'

/** The base app: Flask-JWT-Extended's defaults and a 64-byte secret (headers only). */
export const BASE: AppSpec = { config: { JWT_SECRET_KEY: SECRET } }

/** The base app with more settings (and callbacks). */
export function app(config: FlaskConfig, features?: Features): AppSpec {
  return { config: { JWT_SECRET_KEY: SECRET, ...config }, ...(features ? { features } : {}) }
}

/** Every location, in Flask-JWT-Extended's order of the setting. */
export const ALL_LOCATIONS = app({ JWT_TOKEN_LOCATION: ['headers', 'cookies', 'json', 'query_string'] })

/** A request with `Authorization: Bearer <token>`. */
export function bearer(token: string, path = '/protected', method = 'GET'): Req {
  return { method, path, headers: [['Authorization', `Bearer ${token}`]] }
}

/** A request with one Authorization header value as given. */
export function authorization(value: string, path = '/protected'): Req {
  return { path, headers: [['Authorization', value]] }
}

/** The claims of a token, read without verifying (to send back its CSRF value, say). */
export function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'))
}

/** The `csrf` claim of a token. */
export const csrfOf = (token: string) => String(claimsOf(token).csrf)

export const COOKIES = app({ JWT_TOKEN_LOCATION: ['cookies'] })
export const JSON_ONLY = app({ JWT_TOKEN_LOCATION: ['json'] })
export const QUERY = app({ JWT_TOKEN_LOCATION: ['query_string'] })
