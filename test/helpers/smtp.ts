/**
 * A real SMTP server in process (`smtp-server`), for tests that follow the links of the mail the
 * login API sends: every message is parsed (`mailparser`) and kept, and tests wait for the one they
 * expect. Plain SMTP on 127.0.0.1, any sender and recipient, no authentication.
 */
import type { AddressInfo } from 'node:net'
import { simpleParser } from 'mailparser'
import smtp from 'smtp-server'

/** A received mail. */
export interface ReceivedMail {
  from: string
  to: string[]
  subject: string
  text: string
  html: string
}

/** A running SMTP server. */
export interface TestSmtp {
  /** `smtp://127.0.0.1:PORT`, for SMTP_URL. */
  url: string
  mails: ReceivedMail[]
  /** The first mail (received or to come) that matches; rejects after `timeoutMs`. */
  waitFor(match: (mail: ReceivedMail) => boolean, timeoutMs?: number): Promise<ReceivedMail>
  /** Mails to `address`, in order of arrival. */
  to(address: string): ReceivedMail[]
  close(): Promise<void>
}

/** Starts an SMTP server on an ephemeral port of 127.0.0.1. */
export async function startSmtp(): Promise<TestSmtp> {
  const mails: ReceivedMail[] = []
  const waiters: { match: (mail: ReceivedMail) => boolean; resolve: (mail: ReceivedMail) => void }[] = []
  const server = new smtp.SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      simpleParser(stream).then(
        (parsed) => {
          const mail: ReceivedMail = {
            from: parsed.from?.text ?? '',
            to: session.envelope.rcptTo.map((r) => r.address),
            subject: parsed.subject ?? '',
            text: parsed.text ?? '',
            html: typeof parsed.html === 'string' ? parsed.html : '',
          }
          mails.push(mail)
          for (const waiter of [...waiters])
            if (waiter.match(mail)) {
              waiters.splice(waiters.indexOf(waiter), 1)
              waiter.resolve(mail)
            }
          callback()
        },
        (error: Error) => callback(error),
      )
    },
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const { port } = server.server.address() as AddressInfo
  return {
    url: `smtp://127.0.0.1:${port}`,
    mails,
    waitFor(match, timeoutMs = 10_000) {
      const seen = mails.find(match)
      if (seen) return Promise.resolve(seen)
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1)
          reject(
            new Error(
              `no matching mail within ${timeoutMs} ms (received: ${mails.map((m) => `${m.to} "${m.subject}"`).join(', ')})`,
            ),
          )
        }, timeoutMs)
        const waiter = {
          match,
          resolve: (mail: ReceivedMail) => {
            clearTimeout(timer)
            resolve(mail)
          },
        }
        waiters.push(waiter)
      })
    },
    to: (address) => mails.filter((m) => m.to.includes(address)),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

/** The first http(s) link of a mail's plain text. */
export function linkOf(mail: ReceivedMail): string {
  const link = /https?:\/\/\S+/.exec(mail.text)?.[0]
  if (!link) throw new Error(`no link in mail "${mail.subject}":\n${mail.text}`)
  return link
}

/** The token a link carries in its fragment (`#reset-password=TOKEN`, `#verify-email=TOKEN`). */
export function tokenOf(link: string, name: 'reset-password' | 'verify-email'): string {
  const fragment = new URL(link).hash.slice(1)
  const token = new URLSearchParams(fragment).get(name)
  if (!token) throw new Error(`no ${name} token in ${link}`)
  return token
}
