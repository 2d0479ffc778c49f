import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { CsrfError } from '../errors.js'
import type { AuthConfig } from './config.js'
import type { RequestView } from './types.js'

/** A new random CSRF value (128 bits, base64url). */
export function newCsrfValue(): string {
  return randomBytes(16).toString('base64url')
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest()
}

/**
 * Double submit, checked against the `csrf` claim inside the signed token (not merely against the
 * CSRF cookie, which a sibling subdomain could plant). Only unsafe methods need it; only tokens from
 * cookies are checked (the caller decides). Digests make the compared lengths equal, so
 * `timingSafeEqual` never throws and nothing leaks through the length.
 */
export function checkCsrf(config: AuthConfig, view: RequestView, claimValue: unknown): void {
  if (!config.csrf.enabled || !config.csrf.methods.has(view.method.toUpperCase())) return
  let sent = view.header(config.csrf.headerName.toLowerCase())
  if (Array.isArray(sent)) sent = sent.length === 1 ? sent[0] : undefined
  if ((sent === undefined || sent === '') && config.csrf.formField) {
    const body = view.body
    if (body && typeof body === 'object' && Object.hasOwn(body, config.csrf.formField)) {
      const field = (body as Record<string, unknown>)[config.csrf.formField]
      if (typeof field === 'string') sent = field
    }
  }
  if (sent === undefined || sent === '') throw new CsrfError('Missing CSRF token')
  if (typeof claimValue !== 'string' || claimValue === '') throw new CsrfError('Token has no CSRF value')
  if (!timingSafeEqual(digest(sent), digest(claimValue)))
    throw new CsrfError('CSRF double submit tokens do not match')
}
