/**
 * One-time tokens of mailed links (password reset, email verification): 256 random bits, handed out
 * once in the mail, stored only as their SHA-256, so a copy of the table opens nothing.
 */
import { createHash, randomBytes } from 'node:crypto'

/** A new token: 32 random bytes, base64url (43 characters). */
export function newLinkToken(): string {
  return randomBytes(32).toString('base64url')
}

/** The stored form of a token: its SHA-256, hex. */
export function hashLinkToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex')
}

/** Where mailed links point: a function of the token, or a base URL the API appends to. */
export interface LinkOptions {
  /** The page that takes a reset token and asks for the new password. */
  resetPassword?: (token: string) => string
  /** The page that takes a verification token and confirms it. */
  verifyEmail?: (token: string) => string
}

/** The links of a public URL: `${url}/#reset-password=TOKEN` and `${url}/#verify-email=TOKEN`. */
export function linksFor(publicUrl: () => string | undefined, given: LinkOptions = {}) {
  const base = () => publicUrl()?.replace(/\/+$/, '')
  // A fragment never reaches a server's logs, nor a Referer header.
  const at = (name: string) => (token: string) => {
    const url = base()
    return url === undefined ? undefined : `${url}/#${name}=${encodeURIComponent(token)}`
  }
  return {
    resetPassword: given.resetPassword ?? at('reset-password'),
    verifyEmail: given.verifyEmail ?? at('verify-email'),
    app: () => {
      const url = base()
      return url === undefined ? undefined : `${url}/`
    },
  }
}
