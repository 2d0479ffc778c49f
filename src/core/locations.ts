import { ConfigError, type MissingToken, TokenInvalidError, TokenMissingError } from '../errors.js'
import type { AuthConfig } from './config.js'
import { requireCsrfSent } from './csrf.js'
import { flaskHeaderToken, flaskJsonToken, headerValue, pyStrip } from './flask/request.js'
import type { TokenLocation } from './options.js'
import type { RequestView, TokenType } from './types.js'

/** A token and where it was found. */
export interface FoundToken {
  token: string
  location: TokenLocation
  /** `'dpop'` for a token sent as `Authorization: DPoP <token>` (RFC 9449). */
  scheme?: 'dpop'
}

function describe(config: AuthConfig, location: TokenLocation, type: TokenType): string {
  switch (location) {
    case 'headers':
      return `the ${config.headerName} header`
    case 'cookies':
      return `the ${type === 'access' ? config.cookies.accessName : config.cookies.refreshName} cookie`
    case 'json':
      return `the "${type === 'access' ? config.json.accessKey : config.json.refreshKey}" key of a JSON body`
    case 'query':
      return `the "${config.queryParam}" query parameter`
  }
}

function looked(
  config: AuthConfig,
  view: RequestView,
  location: TokenLocation,
  type: TokenType,
): MissingToken {
  switch (location) {
    case 'headers': {
      // Sent, but not as "<type> <token>" (another scheme): Flask-JWT-Extended words it apart.
      const value = headerValue(config, view)
      const otherScheme = config.headerType !== '' && value !== undefined && pyStrip(value, ',') !== ''
      return { location, name: config.headerName, type: config.headerType, otherScheme }
    }
    case 'cookies':
      return { location, name: type === 'access' ? config.cookies.accessName : config.cookies.refreshName }
    case 'json':
      return {
        location,
        name: type === 'access' ? config.json.accessKey : config.json.refreshKey,
        // As Flask-JWT-Extended decides: by the declared content type, not by what a parser made of it.
        jsonBody: isJsonType(view.header('content-type')),
      }
    case 'query':
      return { location, name: config.queryParam }
  }
}

/** `application/json` or `application/*+json`, as Werkzeug's `request.is_json` decides. */
export function isJsonType(value: string | string[] | undefined): boolean {
  const first = Array.isArray(value) ? value[0] : value
  if (first === undefined) return false
  const type = (first.split(';', 1)[0] ?? '').trim().toLowerCase()
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'))
}

const BAD_CHARS = /[\s,;"]/

/**
 * Refuses a header token with characters no token has (space, comma, semicolon, quote), with a
 * message that names the header's expected form. Called only once a header token failed to verify:
 * such a token can never verify, so a valid request skips scanning the whole token.
 */
export function checkHeaderSyntax(config: AuthConfig, token: string): void {
  if (!BAD_CHARS.test(token)) return
  const type = config.headerType
  throw new TokenInvalidError(
    type === ''
      ? `${config.headerName} header must hold only the token`
      : `${config.headerName} header must be exactly "${type} <token>"`,
  )
}

function fromHeader(config: AuthConfig, view: RequestView): string | undefined {
  if (config.compat) return flaskHeaderToken(config, view)
  let value = view.header(config.headerNameLower)
  if (Array.isArray(value)) {
    if (value.length > 1) throw new TokenInvalidError(`Repeated ${config.headerName} headers`)
    value = value[0]
  }
  if (value === undefined || value === '') return undefined
  const type = config.headerType
  if (type === '') return value
  // The usual spelling ("Bearer <token>") needs no lower-casing.
  if (value.length > type.length + 1 && value.startsWith(type) && value.charCodeAt(type.length) === 32) {
    return value.slice(type.length + 1)
  }
  const space = value.indexOf(' ')
  const scheme = space < 0 ? value : value.slice(0, space)
  // Another scheme (Basic, ...) is simply not our token: fall through to the next location.
  if (scheme.length !== type.length || scheme.toLowerCase() !== type.toLowerCase()) return undefined
  const token = space < 0 ? '' : value.slice(space + 1)
  if (token === '') {
    throw new TokenInvalidError(`${config.headerName} header must be exactly "${type} <token>"`)
  }
  // Characters that cannot be in a token are reported by checkHeaderSyntax if the token fails.
  return token
}

/**
 * A token sent with the DPoP scheme (`Authorization: DPoP <token>`, RFC 9449 §7.1), where the header
 * is the standard one (the Bearer scheme in the Authorization header).
 */
function fromDpopHeader(config: AuthConfig, view: RequestView): string | undefined {
  if (config.headerType.toLowerCase() !== 'bearer') return undefined
  const value = view.header(config.headerNameLower)
  if (typeof value !== 'string' || value.length < 6 || value.charCodeAt(4) !== 32) return undefined
  if (value.slice(0, 4).toLowerCase() !== 'dpop') return undefined
  const token = value.slice(5)
  if (token === '' || token.includes(' '))
    throw new TokenInvalidError(`${config.headerName} header must be exactly "DPoP <token>"`)
  return token
}

/** A JSON body's token: only a body the request declares as JSON (never a form's field) carries one. */
function fromJson(config: AuthConfig, view: RequestView, type: TokenType): string | undefined {
  const body = view.body
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return undefined
  if (!isJsonType(view.header('content-type'))) return undefined
  const key = type === 'access' ? config.json.accessKey : config.json.refreshKey
  if (!Object.hasOwn(body, key)) return undefined
  if (config.compat) return flaskJsonToken(body as Record<string, unknown>, key)
  const value = (body as Record<string, unknown>)[key]
  if (value === undefined || value === null || value === '') return undefined
  if (typeof value !== 'string') throw new TokenInvalidError(`"${key}" must be a string`)
  return value
}

function fromQuery(config: AuthConfig, view: RequestView): string | undefined {
  let value = view.query(config.queryParam)
  if (Array.isArray(value)) {
    if (value.length > 1) throw new TokenInvalidError(`Repeated "${config.queryParam}" query parameters`)
    value = value[0]
  }
  if (!value) return undefined
  const prefix = config.queryPrefix
  if (prefix === '') return value
  if (!value.startsWith(prefix))
    throw new TokenInvalidError(
      `Invalid value for query parameter '${config.queryParam}'. Expected the value to start with '${prefix}'`,
    )
  return value.slice(prefix.length)
}

/**
 * The locations a guard looks in, in order: its own `locations`, else the configured ones of the
 * token type it wants. The one rule, read by the guard and by adapters (which parse a body only when
 * `json` is among them).
 */
export function locationsFor(
  config: AuthConfig,
  options: { refresh?: boolean; locations?: readonly TokenLocation[] } | undefined,
): readonly TokenLocation[] {
  return options?.locations ?? (options?.refresh ? config.refreshLocations : config.accessLocations)
}

/**
 * Looks for a token in `locations`, in order. Only a missing token falls through to the next
 * location; a malformed one stops here (Flask-JWT-Extended's rule), and so does everything after.
 */
export function findToken(
  config: AuthConfig,
  view: RequestView,
  type: TokenType,
  locations: readonly TokenLocation[],
  acceptDpop = false,
): FoundToken {
  for (const location of locations) {
    let token: string | undefined
    if (location === 'headers') {
      token = fromHeader(config, view)
      if (token === undefined && acceptDpop) {
        token = fromDpopHeader(config, view)
        if (token !== undefined) return { token, location, scheme: 'dpop' }
      }
    } else if (location === 'cookies')
      token =
        view.cookie(type === 'access' ? config.cookies.accessName : config.cookies.refreshName) || undefined
    else if (location === 'json') token = fromJson(config, view, type)
    else if (location === 'query') token = fromQuery(config, view)
    // Guards check their locations when they are made (guard-options.ts); this is the last line.
    else throw new ConfigError(`latchkey: unknown token location ${JSON.stringify(location)}`)
    if (token !== undefined) {
      // Flask-JWT-Extended refuses a cookie token without its CSRF value before decoding it.
      if (location === 'cookies' && config.compat) requireCsrfSent(config, view, type)
      return { token, location }
    }
  }
  const tried = locations.map((l) => describe(config, l, type))
  throw new TokenMissingError(
    `Missing ${type} token: looked in ${tried.join(', ')}`,
    locations,
    locations.map((location) => looked(config, view, location, type)),
  )
}

/**
 * Builds a cookie lookup over a raw Cookie header, parsed on first use. Adapters use it when their
 * framework has no cookie parser of its own. The first occurrence of a name wins (RFC 6265 §5.4:
 * the most specific path comes first).
 */
export function cookieReader(header: string | string[] | undefined): (name: string) => string | undefined {
  let jar: Map<string, string> | undefined
  return (name) => {
    if (!jar) {
      jar = new Map()
      const raw = Array.isArray(header) ? header.join('; ') : (header ?? '')
      for (const part of raw.split(';')) {
        const eq = part.indexOf('=')
        if (eq < 0) continue
        const key = part.slice(0, eq).trim()
        if (!key || jar.has(key)) continue
        let value = part.slice(eq + 1).trim()
        if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1)
        if (value.includes('%')) {
          try {
            value = decodeURIComponent(value)
          } catch {
            // keep the raw value; a token with a stray % is refused by the decoder anyway
          }
        }
        jar.set(key, value)
      }
    }
    return jar.get(name)
  }
}
