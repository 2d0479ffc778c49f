/**
 * `latchkey/login/smtp`: the login API's mail over SMTP, through nodemailer (connection pooling,
 * TLS, authentication, MIME: everything a mail needs that we would rather not write).
 */
import nodemailer, { type Transporter } from 'nodemailer'
import type { Mailer, MailMessage } from './mail.js'

/** Options of {@link SmtpMailer}. */
export interface SmtpMailerOptions {
  /**
   * `smtp://user:pass@host:587` (STARTTLS when the server offers it), `smtps://...:465` (TLS from the
   * start); nodemailer's URL options apply (`?pool=true`, ...).
   */
  url: string
  /** The sender: `Example <no-reply@example.com>`. */
  from: string
  /** How long to wait for a connection, the greeting and each command, in milliseconds. Default 10 000. */
  timeoutMs?: number
}

/**
 * Sends the login API's mail over SMTP.
 *
 * @example
 * ```ts
 * const mailer = new SmtpMailer({ url: process.env.SMTP_URL!, from: process.env.MAIL_FROM! })
 * const api = createLoginApi({ auth, store, mailer, publicUrl: 'https://app.example.com' })
 * ```
 */
export class SmtpMailer implements Mailer {
  readonly #transport: Transporter
  readonly #from: string

  constructor(options: SmtpMailerOptions) {
    if (!/^smtps?:\/\/./.test(options.url))
      throw new TypeError('SmtpMailer: url must start with smtp:// or smtps://')
    if (!options.from) throw new TypeError('SmtpMailer: from is required')
    const timeout = options.timeoutMs ?? 10_000
    const url = new URL(options.url)
    for (const [name, value] of [
      ['connectionTimeout', timeout],
      ['greetingTimeout', timeout],
      ['socketTimeout', timeout],
    ] as const)
      if (!url.searchParams.has(name)) url.searchParams.set(name, String(value))
    this.#transport = nodemailer.createTransport(url.toString())
    this.#from = options.from
  }

  async send(message: MailMessage): Promise<void> {
    await this.#transport.sendMail({
      from: this.#from,
      to: message.to,
      subject: message.subject,
      text: message.text,
      html: message.html,
    })
  }

  /** Checks the connection and the login (for start-up); rejects with the reason. */
  async verify(): Promise<void> {
    await this.#transport.verify()
  }

  async close(): Promise<void> {
    this.#transport.close()
  }
}
