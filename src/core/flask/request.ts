/**
 * Flask-JWT-Extended's reading of a request (`compat: 'flask-jwt-extended'`), as its 4.x
 * `view_decorators.py` reads it: the Authorization header as a comma-separated list of credentials
 * split on any whitespace, and a JSON body whose falsy value is no token. Only what differs from
 * latchkey's own reading lives here; locations.ts calls it under `compat`.
 */
import { TokenInvalidError } from '../../errors.js'
import type { AuthConfig } from '../config.js'
import type { RequestView } from '../types.js'

// Python's str.isspace() characters (str.split(), str.strip() and re's \s on str use them).
const PY_SPACE =
  '\\t\\n\\v\\f\\r \\x1c-\\x1f\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000'
const SPACE_RUN = new RegExp(`[${PY_SPACE}]+`)
const COMMA_LIST = new RegExp(`,[${PY_SPACE}]*`)
const EDGE_SPACE = new RegExp(`^[${PY_SPACE}]+|[${PY_SPACE}]+$`, 'g')

/** Python's `str.split()`: words between runs of whitespace, none empty. */
export function pySplit(text: string): string[] {
  return text.split(SPACE_RUN).filter((word) => word !== '')
}

/** Python's `text.strip().strip(chars)`. */
export function pyStrip(text: string, chars: string): string {
  let out = text.replace(EDGE_SPACE, '')
  while (out !== '' && chars.includes(out[0]!)) out = out.slice(1)
  while (out !== '' && chars.includes(out.at(-1)!)) out = out.slice(0, -1)
  return out
}

/**
 * The configured header's value. Repeated headers are joined with commas, as WSGI servers join them
 * for Flask (and as one header's list of credentials is then read).
 */
export function headerValue(config: AuthConfig, view: RequestView): string | undefined {
  const value = view.header(config.headerNameLower)
  return Array.isArray(value) ? value.join(',') : value
}

/**
 * The token of the Authorization header, read as Flask-JWT-Extended reads it: the value, stripped
 * of whitespace and commas, is a comma-separated list; exactly one entry must start with the type
 * (`Bearer`, compared exactly) and hold two words. No entry of the type is no token (the next
 * location is tried); an entry of another shape is a bad header.
 */
export function flaskHeaderToken(config: AuthConfig, view: RequestView): string | undefined {
  const raw = headerValue(config, view)
  const value = raw === undefined ? '' : pyStrip(raw, ',')
  if (value === '') return undefined
  const name = config.headerName
  const type = config.headerType
  if (type === '') {
    const parts = pySplit(value)
    if (parts.length !== 1) throw new TokenInvalidError(`Bad ${name} header. Expected '${name}: <JWT>'`)
    return parts[0]
  }
  const entries = value.split(COMMA_LIST).filter((entry) => entry !== '' && pySplit(entry)[0] === type)
  if (entries.length !== 1) return undefined
  const parts = pySplit(entries[0]!)
  if (parts.length !== 2) throw new TokenInvalidError(`Bad ${name} header. Expected '${name}: ${type} <JWT>'`)
  return parts[1]
}

/** Python's truthiness of a JSON value. */
function truthy(value: unknown): boolean {
  if (value === null || value === undefined || value === false || value === 0 || value === '') return false
  if (Array.isArray(value)) return value.length > 0
  if (typeof value === 'object') return Object.keys(value).length > 0
  return true
}

/** A JSON body's token: a falsy value is none; anything but a string is not a token (PyJWT's words). */
export function flaskJsonToken(body: Record<string, unknown>, key: string): string | undefined {
  const value = body[key]
  if (!truthy(value)) return undefined
  if (typeof value !== 'string')
    throw new TokenInvalidError("Invalid token type. Token must be a <class 'bytes'>")
  return value
}
