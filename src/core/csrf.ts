import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { CsrfError, type TokenData } from '../errors.js'
import type { AuthConfig } from './config.js'
import type { RequestView, TokenType } from './types.js'

/** The message of a cookie token without a `csrf` claim on an unsafe method (its preset text: `Missing claim: csrf`). */
export const NO_CSRF_CLAIM = 'Token has no CSRF value'

/** A new random CSRF value (128 bits, base64url). */
export function newCsrfValue(): string {
  return randomBytes(16).toString('base64url')
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest()
}

/** True for the content types of HTML forms, whose fields may carry the CSRF value. */
function isFormType(value: string | string[] | undefined): boolean {
  const first = (Array.isArray(value) ? value[0] : value)?.split(';', 1)[0]?.trim().toLowerCase()
  return first === 'application/x-www-form-urlencoded' || first === 'multipart/form-data'
}

/**
 * The CSRF value a request sent for a token of `type`: its header, else (when configured) a field
 * of a form body. Undefined when the method needs none (CSRF off, or a safe method); '' when the
 * method needs one and none was sent.
 */
export function sentCsrf(config: AuthConfig, view: RequestView, type: TokenType): string | undefined {
  const csrf = config.csrf
  if (!csrf.enabled || !csrf.methods.has(view.method.toUpperCase())) return undefined
  const access = type === 'access'
  let sent = view.header((access ? csrf.headerName : csrf.refreshHeaderName).toLowerCase())
  if (Array.isArray(sent)) sent = sent.length === 1 ? sent[0] : undefined
  const formField = access ? csrf.formField : csrf.refreshFormField
  if ((sent === undefined || sent === '') && formField && isFormType(view.header('content-type'))) {
    const body = view.body
    if (body && typeof body === 'object' && Object.hasOwn(body, formField)) {
      const field = (body as Record<string, unknown>)[formField]
      if (typeof field === 'string') sent = field
    }
  }
  return sent ?? ''
}

/**
 * Flask-JWT-Extended's order (`compat`): a cookie token on a method that needs the CSRF value is
 * refused before it is decoded when no value was sent.
 */
export function requireCsrfSent(config: AuthConfig, view: RequestView, type: TokenType): void {
  if (sentCsrf(config, view, type) === '') throw new CsrfError('Missing CSRF token')
}

/**
 * Double submit, checked against the `csrf` claim inside the signed token (not merely against the
 * CSRF cookie, which a sibling subdomain could plant). Only unsafe methods need it; only tokens from
 * cookies are checked (the caller decides). Digests make the compared lengths equal, so
 * `timingSafeEqual` never throws and nothing leaks through the length.
 */
export function checkCsrf(
  config: AuthConfig,
  view: RequestView,
  claims: { csrf?: unknown },
  type: TokenType = 'access',
  header?: TokenData,
): void {
  const sent = sentCsrf(config, view, type)
  if (sent === undefined) return
  if (sent === '') throw new CsrfError('Missing CSRF token')
  const claimValue = claims.csrf
  if (typeof claimValue !== 'string' || claimValue === '') throw new CsrfError(NO_CSRF_CLAIM)
  if (!timingSafeEqual(digest(sent), digest(claimValue)))
    throw new CsrfError('CSRF double submit tokens do not match', {
      header,
      claims: claims as TokenData,
    })
}
