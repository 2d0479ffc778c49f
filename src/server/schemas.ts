/**
 * JSON Schemas of the routes. Fastify validates requests and serialises responses with them, and
 * @fastify/swagger turns them into /openapi.json, so the documentation cannot drift from the code.
 */
import { MAX_EMAIL_LENGTH } from './email.js'
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from './passwords.js'

/** `{msg, code}`: every error. */
export const errorSchema = {
  type: 'object',
  description: 'An error: a human-readable message and a stable machine-readable code.',
  properties: {
    msg: { type: 'string' },
    code: { type: 'string', examples: ['INVALID_CREDENTIALS'] },
  },
  required: ['msg', 'code'],
} as const

/** A user as the API shows it (never the password hash). */
export const userSchema = {
  type: 'object',
  properties: {
    id: { type: 'string', format: 'uuid' },
    email: { type: 'string', format: 'email' },
    name: { type: ['string', 'null'] },
  },
  required: ['id', 'email', 'name'],
} as const

const userResponse = {
  type: 'object',
  properties: { user: userSchema },
  required: ['user'],
} as const

/** A login, refresh or password change. */
export const tokenPairSchema = {
  type: 'object',
  properties: {
    msg: { type: 'string' },
    access_token: { type: 'string' },
    refresh_token: { type: 'string' },
    token_type: { type: 'string', const: 'Bearer' },
    expires_in: { type: 'integer', description: 'Access token lifetime in seconds' },
  },
  required: ['msg', 'access_token', 'refresh_token', 'token_type', 'expires_in'],
} as const

const accessOnlySchema = {
  type: 'object',
  properties: {
    msg: { type: 'string' },
    access_token: { type: 'string' },
    token_type: { type: 'string', const: 'Bearer' },
    expires_in: { type: 'integer' },
  },
  required: ['msg', 'access_token', 'token_type', 'expires_in'],
} as const

const messageSchema = {
  type: 'object',
  properties: { msg: { type: 'string' } },
  required: ['msg'],
} as const

const password = (min: number | undefined, description: string) =>
  ({
    type: 'string',
    ...(min === undefined ? {} : { minLength: min }),
    maxLength: MAX_PASSWORD_LENGTH,
    description,
  }) as const

const email = {
  type: 'string',
  minLength: 1,
  // Room for surrounding white space, which is trimmed; the normalised address must fit 254.
  maxLength: MAX_EMAIL_LENGTH + 64,
  description: 'Trimmed, lower-cased and NFC-normalised before use',
} as const

const errors = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((s) => [s, errorSchema])) as Record<number, typeof errorSchema>

const authErrors = errors(401, 403, 503)
const bearer: { [scheme: string]: string[] }[] = [{ bearerAuth: [] }, { cookieAuth: [] }]

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
  signup: {
    summary: 'Create an account',
    description: `Password: ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters, no other rules. Only application/json.`,
    tags: ['auth'],
    body: {
      type: 'object',
      properties: {
        email,
        password: password(
          MIN_PASSWORD_LENGTH,
          `${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters`,
        ),
        name: { type: 'string', maxLength: 200 },
      },
      required: ['email', 'password'],
    },
    response: { 201: userResponse, ...errors(400, 409, 415, 503) },
  },
  login: {
    summary: 'Log in with email and password',
    description:
      'Returns a fresh access token and a refresh token; with cookies as a token location, also sets the token and CSRF cookies (persistent only with remember). Failed attempts per (client address, email) are limited: 429 with Retry-After. Only application/json.',
    tags: ['auth'],
    body: {
      type: 'object',
      properties: {
        email,
        password: password(undefined, 'No minimum here, so accounts made under older rules still log in'),
        remember: { type: 'boolean', default: false },
      },
      required: ['email', 'password'],
    },
    response: { 200: tokenPairSchema, ...errors(400, 401, 415, 429, 503) },
  },
  refresh: {
    summary: 'Exchange a refresh token',
    description:
      'The refresh token comes in the Authorization header, the refresh cookie (with the X-CSRF-TOKEN header), or the "refresh_token" key of a JSON body. Returns a new non-fresh access token and a rotated refresh token; presenting a rotated one again revokes the whole login (TOKEN_REVOKED).',
    tags: ['auth'],
    security: bearer,
    response: { 200: tokenPairSchema, ...authErrors, ...errors(400, 415) },
  },
  freshLogin: {
    summary: 'Confirm the password for a fresh access token',
    tags: ['auth'],
    security: bearer,
    body: {
      type: 'object',
      properties: {
        password: password(undefined, 'The current password'),
        remember: { type: 'boolean', default: false, description: 'Persistent access cookie' },
      },
      required: ['password'],
    },
    response: { 200: accessOnlySchema, ...authErrors, ...errors(400, 415, 429) },
  },
  me: {
    summary: 'The current user',
    tags: ['auth'],
    security: bearer,
    response: { 200: userResponse, ...authErrors },
  },
  logout: {
    summary: 'Log out this login',
    description: 'Revokes the access token and every token of its login (refresh family); clears cookies.',
    tags: ['auth'],
    security: bearer,
    response: { 200: messageSchema, ...authErrors, ...errors(415) },
  },
  logoutAll: {
    summary: 'Log out everywhere',
    description:
      'Every token of the user issued before now is refused; clears cookies. A new login works at once.',
    tags: ['auth'],
    security: bearer,
    response: { 200: messageSchema, ...authErrors, ...errors(415) },
  },
  password: {
    summary: 'Change the password',
    description:
      "Needs a fresh access token (FRESH_TOKEN_REQUIRED otherwise). Every token issued before the change, the caller's included, is refused; the response carries a new token pair.",
    tags: ['auth'],
    security: bearer,
    body: {
      type: 'object',
      properties: {
        current_password: password(undefined, 'The current password'),
        new_password: password(
          MIN_PASSWORD_LENGTH,
          `${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters`,
        ),
        remember: { type: 'boolean', default: false },
      },
      required: ['current_password', 'new_password'],
    },
    response: { 200: tokenPairSchema, ...authErrors, ...errors(400, 415, 429) },
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
