/**
 * JSON Schemas of the login API's routes. The API validates request bodies against them (the same
 * checks on every adapter), and the Fastify plugin hands them to Fastify, so @fastify/swagger turns
 * them into the OpenAPI document: the documentation cannot drift from the code.
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
    id: { type: 'string' },
    email: { type: 'string', format: 'email' },
    name: { type: ['string', 'null'] },
    email_verified: { type: 'boolean' },
  },
  required: ['id', 'email', 'name', 'email_verified'],
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

/** One login in the sessions list. */
export const sessionSchema = {
  type: 'object',
  properties: {
    id: { type: 'string', description: 'The refresh family of the login (the `fam` claim of its tokens)' },
    created_at: { type: 'string', format: 'date-time' },
    last_used_at: { type: 'string', format: 'date-time' },
    user_agent: { type: ['string', 'null'] },
    address: {
      type: ['string', 'null'],
      description: 'Coarse client address: an IPv4 /24 or an IPv6 /48, never the exact one',
    },
    current: { type: 'boolean', description: 'The login of the token that asks' },
  },
  required: ['id', 'created_at', 'last_used_at', 'user_agent', 'address', 'current'],
} as const

const password = (min: number | undefined, description: string) =>
  ({
    type: 'string',
    ...(min === undefined ? {} : { minLength: min }),
    maxLength: MAX_PASSWORD_LENGTH,
    description,
  }) as const

const newPassword = password(
  MIN_PASSWORD_LENGTH,
  `${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters`,
)

const email = {
  type: 'string',
  minLength: 1,
  // Room for surrounding white space, which is trimmed; the normalised address must fit 254.
  maxLength: MAX_EMAIL_LENGTH + 64,
  description: 'Trimmed, lower-cased and NFC-normalised before use',
} as const

const linkToken = {
  type: 'string',
  minLength: 1,
  maxLength: 256,
  description: 'The token of the mailed link',
} as const

const errors = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((s) => [s, errorSchema])) as Record<number, typeof errorSchema>

const authErrors = errors(401, 403, 503)
const bearer: { [scheme: string]: string[] }[] = [{ bearerAuth: [] }, { cookieAuth: [] }]

const ENUMERATION_SAFE =
  'Answers the same (status, body, headers, and about the same time) whether or not the email has an account.'

/** Every route's schema, by route name. */
export const loginSchemas = {
  signup: {
    summary: 'Create an account',
    description: `Password: ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters, no other rules. Only application/json. ${ENUMERATION_SAFE} A new address gets a verification mail; an address that has an account gets a mail saying someone tried to sign up with it, and the account is unchanged.`,
    tags: ['auth'],
    body: {
      type: 'object',
      properties: {
        email,
        password: newPassword,
        name: { type: 'string', maxLength: 200 },
      },
      required: ['email', 'password'],
    },
    response: { 202: messageSchema, ...errors(400, 415, 503) },
  },
  login: {
    summary: 'Log in with email and password',
    description:
      'Returns a fresh access token and a refresh token; with cookies as a token location, also sets the token and CSRF cookies (persistent only with remember). Failed attempts per (client address, email) are limited: 429 with Retry-After. USER_INACTIVE and USER_UNVERIFIED come only after the right password. Only application/json.',
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
    response: { 200: tokenPairSchema, ...errors(400, 401, 403, 415, 429, 503) },
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
      "Needs a fresh access token (FRESH_TOKEN_REQUIRED otherwise). Every token issued before the change, the caller's included, is refused, and pending reset links stop working; the response carries a new token pair.",
    tags: ['auth'],
    security: bearer,
    body: {
      type: 'object',
      properties: {
        current_password: password(undefined, 'The current password'),
        new_password: newPassword,
        remember: { type: 'boolean', default: false },
      },
      required: ['current_password', 'new_password'],
    },
    response: { 200: tokenPairSchema, ...authErrors, ...errors(400, 409, 415, 429) },
  },
  forgotPassword: {
    summary: 'Ask for a password reset link',
    description: `${ENUMERATION_SAFE} An active account gets a mail with a single-use link (short-lived; a newer request or a password change invalidates it). Limited per client address and per email: 429 with Retry-After. Only application/json.`,
    tags: ['account'],
    body: { type: 'object', properties: { email }, required: ['email'] },
    response: { 202: messageSchema, ...errors(400, 415, 429, 503) },
  },
  resetPassword: {
    summary: 'Set a new password with a reset link',
    description:
      'Uses the token of the mailed link (once). Every session of the account ends; log in with the new password. Clears cookies. Only application/json.',
    tags: ['account'],
    body: {
      type: 'object',
      properties: { token: linkToken, new_password: newPassword },
      required: ['token', 'new_password'],
    },
    response: { 200: messageSchema, ...errors(400, 415, 503) },
  },
  verifyEmail: {
    summary: 'Confirm an email address with the mailed link',
    description: 'Uses the token of the verification link (once). Only application/json.',
    tags: ['account'],
    body: { type: 'object', properties: { token: linkToken }, required: ['token'] },
    response: { 200: messageSchema, ...errors(400, 415, 503) },
  },
  resendVerification: {
    summary: 'Send the verification mail again',
    description: `${ENUMERATION_SAFE} An unverified account gets a new link (earlier ones stop working). Limited per client address and per email: 429 with Retry-After. Only application/json.`,
    tags: ['account'],
    body: { type: 'object', properties: { email }, required: ['email'] },
    response: { 202: messageSchema, ...errors(400, 415, 429, 503) },
  },
  sessions: {
    summary: "The user's logins",
    description:
      'One entry per login (refresh family) that has not ended: when it started and was last used, its user agent and a coarse address; `current` marks the login of the asking token.',
    tags: ['account'],
    security: bearer,
    response: {
      200: {
        type: 'object',
        properties: { sessions: { type: 'array', items: sessionSchema } },
        required: ['sessions'],
      },
      ...authErrors,
    },
  },
  endSession: {
    summary: 'End one login',
    description:
      'Revokes every token of that login on every instance (its refresh family). Ending the current login also clears its cookies.',
    tags: ['account'],
    security: bearer,
    params: {
      type: 'object',
      properties: { id: { type: 'string', maxLength: 128 } },
      required: ['id'],
    },
    response: { 200: messageSchema, ...authErrors, ...errors(404) },
  },
  deleteAccount: {
    summary: 'Delete the account',
    description:
      'Needs a fresh access token (FRESH_TOKEN_REQUIRED otherwise). Revokes every token of the user, ends every session, forgets pending links and deletes the account. Clears cookies.',
    tags: ['account'],
    security: bearer,
    response: { 200: messageSchema, ...authErrors },
  },
} as const

/** Names of the login API's routes. */
export type LoginRouteName = keyof typeof loginSchemas
