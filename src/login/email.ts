/**
 * Email addresses, normalised one way everywhere (signup, login, CLI), so one person has one
 * account whatever they type:
 *
 * 1. surrounding white space is trimmed;
 * 2. the address is lower-cased with Unicode's default, locale-independent case mapping
 *    (`String.prototype.toLowerCase`), the local part included: almost every provider treats it
 *    case-insensitively, and two accounts differing only in case are a support and phishing hazard;
 * 3. the result is put in Unicode Normalization Form C (NFC), so a precomposed "é" and "e" followed
 *    by a combining accent are the same address.
 *
 * Control characters (Unicode category Cc) and invisible format characters (Cf: zero-width spaces,
 * bidirectional overrides, ...) are refused rather than stripped: silently changing an address is
 * worse than asking for it again.
 */

/** Longest address accepted (RFC 5321's path limit less the angle brackets). */
export const MAX_EMAIL_LENGTH = 254

const INVISIBLE = /[\p{Cc}\p{Cf}]/u
// With the u flag a surrogate pair is one code point, so this matches lone surrogates only.
const LONE_SURROGATE = /\p{Cs}/u
const SHAPE = /^[^\s@]+@[^\s@]+$/u

/** Trims, lower-cases and NFC-normalises an email address (see the module comment). */
export function normalizeEmail(input: string): string {
  return input.trim().toLowerCase().normalize('NFC')
}

/**
 * Why a normalised address cannot be used, or undefined when it can. `strict` (signup) also
 * requires the `local@domain` shape; login only refuses what is never safe, so that an account
 * created under older rules can still log in.
 */
export function emailProblem(email: string, options: { strict: boolean }): string | undefined {
  if (email.length === 0) return 'email must not be empty'
  if (email.length > MAX_EMAIL_LENGTH) return `email must be at most ${MAX_EMAIL_LENGTH} characters`
  if (INVISIBLE.test(email)) return 'email must not contain control or invisible characters'
  if (LONE_SURROGATE.test(email)) return 'email must be valid Unicode'
  if (options.strict && !SHAPE.test(email)) return 'email must look like name@example.com'
  return undefined
}
