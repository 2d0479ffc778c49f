/** Flask-JWT-Extended 4.7's settings: their names, value forms and defaults. */

/**
 * Flask-JWT-Extended's 43 settings by their names and in their value forms (a `timedelta` as its
 * seconds, Python's `None` as `null` or absent).
 */
export interface FlaskJwtSettings {
  JWT_ACCESS_TOKEN_EXPIRES?: number | false
  JWT_ACCESS_COOKIE_NAME?: string
  JWT_ACCESS_COOKIE_PATH?: string
  JWT_ACCESS_CSRF_COOKIE_NAME?: string
  JWT_ACCESS_CSRF_COOKIE_PATH?: string
  JWT_ACCESS_CSRF_FIELD_NAME?: string
  JWT_ACCESS_CSRF_HEADER_NAME?: string
  JWT_ALGORITHM?: string
  JWT_COOKIE_CSRF_PROTECT?: boolean
  JWT_COOKIE_DOMAIN?: string | null
  JWT_COOKIE_SAMESITE?: string | null
  JWT_COOKIE_SECURE?: boolean
  JWT_CSRF_CHECK_FORM?: boolean
  JWT_CSRF_IN_COOKIES?: boolean
  JWT_CSRF_METHODS?: string[]
  JWT_DECODE_ALGORITHMS?: string[] | null
  JWT_DECODE_AUDIENCE?: string | string[] | null
  JWT_DECODE_ISSUER?: string | string[] | null
  JWT_DECODE_LEEWAY?: number
  JWT_ENCODE_AUDIENCE?: string | string[] | null
  JWT_ENCODE_ISSUER?: string | null
  JWT_ENCODE_NBF?: boolean
  JWT_ERROR_MESSAGE_KEY?: string
  JWT_HEADER_NAME?: string
  JWT_HEADER_TYPE?: string
  JWT_IDENTITY_CLAIM?: string
  JWT_JSON_KEY?: string
  JWT_PRIVATE_KEY?: string | null
  JWT_PUBLIC_KEY?: string | null
  JWT_QUERY_STRING_NAME?: string
  JWT_QUERY_STRING_VALUE_PREFIX?: string
  JWT_REFRESH_COOKIE_NAME?: string
  JWT_REFRESH_COOKIE_PATH?: string
  JWT_REFRESH_CSRF_COOKIE_NAME?: string
  JWT_REFRESH_CSRF_COOKIE_PATH?: string
  JWT_REFRESH_CSRF_FIELD_NAME?: string
  JWT_REFRESH_CSRF_HEADER_NAME?: string
  JWT_REFRESH_JSON_KEY?: string
  JWT_REFRESH_TOKEN_EXPIRES?: number | false
  JWT_SECRET_KEY?: string | null
  JWT_SESSION_COOKIE?: boolean
  JWT_TOKEN_LOCATION?: string | string[]
  JWT_VERIFY_SUB?: boolean
}

/**
 * A Flask `app.config`: Flask-JWT-Extended's settings; other keys are ignored, but for
 * `SECRET_KEY`, which Flask-JWT-Extended signs with when `JWT_SECRET_KEY` is unset.
 */
export interface FlaskConfig extends FlaskJwtSettings {
  /** Flask's own secret: Flask-JWT-Extended's fallback for `JWT_SECRET_KEY`. */
  SECRET_KEY?: string | null
  [setting: string]: unknown
}

/** Flask-JWT-Extended 4.7's defaults (`JWTManager._set_default_configuration_options`). */
export const FLASK_JWT_DEFAULTS: Readonly<Required<FlaskJwtSettings>> = Object.freeze({
  JWT_ACCESS_TOKEN_EXPIRES: 900,
  JWT_ACCESS_COOKIE_NAME: 'access_token_cookie',
  JWT_ACCESS_COOKIE_PATH: '/',
  JWT_ACCESS_CSRF_COOKIE_NAME: 'csrf_access_token',
  JWT_ACCESS_CSRF_COOKIE_PATH: '/',
  JWT_ACCESS_CSRF_FIELD_NAME: 'csrf_token',
  JWT_ACCESS_CSRF_HEADER_NAME: 'X-CSRF-TOKEN',
  JWT_ALGORITHM: 'HS256',
  JWT_COOKIE_CSRF_PROTECT: true,
  JWT_COOKIE_DOMAIN: null,
  JWT_COOKIE_SAMESITE: null,
  JWT_COOKIE_SECURE: false,
  JWT_CSRF_CHECK_FORM: false,
  JWT_CSRF_IN_COOKIES: true,
  JWT_CSRF_METHODS: ['POST', 'PUT', 'PATCH', 'DELETE'],
  JWT_DECODE_ALGORITHMS: null,
  JWT_DECODE_AUDIENCE: null,
  JWT_DECODE_ISSUER: null,
  JWT_DECODE_LEEWAY: 0,
  JWT_ENCODE_AUDIENCE: null,
  JWT_ENCODE_ISSUER: null,
  JWT_ENCODE_NBF: true,
  JWT_ERROR_MESSAGE_KEY: 'msg',
  JWT_HEADER_NAME: 'Authorization',
  JWT_HEADER_TYPE: 'Bearer',
  JWT_IDENTITY_CLAIM: 'sub',
  JWT_JSON_KEY: 'access_token',
  JWT_PRIVATE_KEY: null,
  JWT_PUBLIC_KEY: null,
  JWT_QUERY_STRING_NAME: 'jwt',
  JWT_QUERY_STRING_VALUE_PREFIX: '',
  JWT_REFRESH_COOKIE_NAME: 'refresh_token_cookie',
  JWT_REFRESH_COOKIE_PATH: '/',
  JWT_REFRESH_CSRF_COOKIE_NAME: 'csrf_refresh_token',
  JWT_REFRESH_CSRF_COOKIE_PATH: '/',
  JWT_REFRESH_CSRF_FIELD_NAME: 'csrf_token',
  JWT_REFRESH_CSRF_HEADER_NAME: 'X-CSRF-TOKEN',
  JWT_REFRESH_JSON_KEY: 'refresh_token',
  JWT_REFRESH_TOKEN_EXPIRES: 2_592_000,
  JWT_SECRET_KEY: null,
  JWT_SESSION_COOKIE: true,
  JWT_TOKEN_LOCATION: ['headers'],
  JWT_VERIFY_SUB: true,
})
