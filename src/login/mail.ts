/**
 * Mail: what the login API sends (password reset links, email verification links, the notice that
 * someone tried to sign up with an address that has an account), and through what. Every template,
 * plain text and HTML, is in this file.
 *
 * A {@link Mailer} delivers; `latchkey/login/smtp` has one over SMTP (nodemailer), and
 * {@link LogMailer} writes each mail's link to the log instead, for development.
 */
import type { LoginLogger } from './errors.js'

/** Which mail it is. */
export type MailKind = 'reset-password' | 'verify-email' | 'signup-existing'

/** One mail, ready to send. */
export interface MailMessage {
  kind: MailKind
  to: string
  subject: string
  text: string
  html: string
  /** The link the mail carries, if any (LogMailer logs it; tests follow it). */
  link?: string
}

/** Delivers mail. `send` rejects when delivery fails; the login API logs it (never to the client). */
export interface Mailer {
  send(message: MailMessage): Promise<void>
  /** Closes connections. Optional. */
  close?(): Promise<void>
}

/**
 * Writes each mail (recipient, subject, link) to the log instead of sending it: for development
 * without SMTP. The log then holds working reset links: never use it in production.
 *
 * @example
 * ```ts
 * createLoginApi({ auth, store, mailer: new LogMailer(logger) })
 * ```
 */
export class LogMailer implements Mailer {
  readonly #log: LoginLogger
  constructor(log: LoginLogger) {
    this.#log = log
  }

  async send(message: MailMessage): Promise<void> {
    this.#log.info(
      { mail: message.kind, to: message.to, subject: message.subject, link: message.link },
      `mail not sent (no SMTP configured): ${message.subject}${message.link ? ` ${message.link}` : ''}`,
    )
  }
}

/** What every template gets. */
export interface TemplateInput {
  /** The product name mails speak for. */
  appName: string
  /** The recipient. */
  email: string
}

/** What a link-carrying template gets. */
export interface LinkTemplateInput extends TemplateInput {
  /** The link to open, or undefined when the API has no public URL (the token is then shown). */
  link: string | undefined
  /** The token itself, for an app that has no page to link to. */
  token: string
  /** How long the link works, in words ("30 minutes"). */
  validFor: string
}

/** A rendered mail. */
export interface RenderedMail {
  subject: string
  text: string
  html: string
}

/** The templates; replace any of them through the `mail.templates` option of `createLoginApi`. */
export interface MailTemplates {
  resetPassword(input: LinkTemplateInput): RenderedMail
  verifyEmail(input: LinkTemplateInput): RenderedMail
  /** Sent instead of a verification mail when someone signs up with an address that has an account. */
  signupExisting(input: TemplateInput & { appLink: string | undefined }): RenderedMail
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
}

/** Escapes text for HTML content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!)
}

function page(title: string, paragraphs: string[]): string {
  const body = paragraphs.map((p) => `<p style="margin:0 0 16px">${p}</p>`).join('\n      ')
  return `<!doctype html>
<html lang="en">
  <head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
  <body style="font-family:system-ui,-apple-system,Segoe UI,sans-serif;line-height:1.5;color:#1b1f24;max-width:560px;margin:0 auto;padding:24px">
      ${body}
  </body>
</html>
`
}

function button(link: string, label: string): string {
  const href = escapeHtml(link)
  return `<a href="${href}" style="display:inline-block;padding:10px 18px;background:#2f5bd3;color:#fff;border-radius:6px;text-decoration:none">${escapeHtml(label)}</a><br><span style="font-size:13px;color:#57606a">or open ${href}</span>`
}

function action(input: LinkTemplateInput, label: string): { text: string; html: string } {
  if (input.link !== undefined) return { text: `${label}: ${input.link}`, html: button(input.link, label) }
  return {
    text: `Your code: ${input.token}`,
    html: `Your code: <code style="font-size:15px">${escapeHtml(input.token)}</code>`,
  }
}

/** The built-in templates: short, plain, one link each. */
export const defaultTemplates: MailTemplates = {
  resetPassword(input) {
    const subject = `Reset your ${input.appName} password`
    const go = action(input, 'Choose a new password')
    const ignore = 'If you did not ask for this, ignore this mail: your password stays as it is.'
    const text = [
      `Someone (hopefully you) asked to reset the password of ${input.email} at ${input.appName}.`,
      '',
      go.text,
      '',
      `This works once, within ${input.validFor}. Setting the new password logs out every session.`,
      ignore,
      '',
    ].join('\n')
    const html = page(subject, [
      `Someone (hopefully you) asked to reset the password of <strong>${escapeHtml(input.email)}</strong> at ${escapeHtml(input.appName)}.`,
      go.html,
      `This works once, within ${escapeHtml(input.validFor)}. Setting the new password logs out every session.`,
      escapeHtml(ignore),
    ])
    return { subject, text, html }
  },
  verifyEmail(input) {
    const subject = `Confirm your email address for ${input.appName}`
    const go = action(input, 'Confirm this address')
    const ignore = 'If you did not sign up, ignore this mail.'
    const text = [
      `Please confirm that ${input.email} is your address at ${input.appName}.`,
      '',
      go.text,
      '',
      `This works within ${input.validFor}.`,
      ignore,
      '',
    ].join('\n')
    const html = page(subject, [
      `Please confirm that <strong>${escapeHtml(input.email)}</strong> is your address at ${escapeHtml(input.appName)}.`,
      go.html,
      `This works within ${escapeHtml(input.validFor)}.`,
      escapeHtml(ignore),
    ])
    return { subject, text, html }
  },
  signupExisting(input) {
    const subject = `Sign-up attempt at ${input.appName}`
    const reset = input.appLink
    const text = [
      `Someone tried to sign up at ${input.appName} with ${input.email}, which already has an account.`,
      '',
      'If it was you: just log in. Forgot your password? Ask for a reset link on the login page.',
      'If it was not you: nothing changed, and you can ignore this mail.',
      ...(reset === undefined ? [] : ['', `Log in: ${reset}`]),
      '',
    ].join('\n')
    const html = page(subject, [
      `Someone tried to sign up at ${escapeHtml(input.appName)} with <strong>${escapeHtml(input.email)}</strong>, which already has an account.`,
      'If it was you: just log in. Forgot your password? Ask for a reset link on the login page.',
      'If it was not you: nothing changed, and you can ignore this mail.',
      ...(reset === undefined ? [] : [button(reset, 'Log in')]),
    ])
    return { subject, text, html }
  },
}

/** "30 minutes", "1 hour", "2 days": a lifetime in words for a mail. */
export function lifetimeInWords(ms: number): string {
  const units: [number, string][] = [
    [86_400_000, 'day'],
    [3_600_000, 'hour'],
    [60_000, 'minute'],
    [1_000, 'second'],
  ]
  for (const [size, name] of units) {
    if (ms >= size && ms % size === 0) {
      const n = ms / size
      return `${n} ${name}${n === 1 ? '' : 's'}`
    }
  }
  const minutes = Math.max(1, Math.round(ms / 60_000))
  return `${minutes} minute${minutes === 1 ? '' : 's'}`
}
