/**
 * No endpoint tells an outsider whether an email has an account (OWASP ASVS 4.0.3 V2.2.x, OWASP
 * Authentication Cheat Sheet "Authentication and Error Messages"): sign-up with a taken address,
 * login with an unknown one, a password reset request and a request for a new verification mail
 * each answer an address with an account and one without with the same status, the same body, the
 * same headers, and about the same time (ratio of the fastest tries within [0.5, 2]).
 *
 * The server runs with the real OWASP argon2id parameters (sign-up and login hash on both paths) and
 * mails through a real SMTP server in process: the mail that differs between the two paths is made
 * after the answer. Between timed requests the test waits for that work to finish, so each request
 * is timed on an idle server; the bound is wide because other test files share the two CPUs: it
 * catches a path that skips or adds real work (a missing hash is a ratio of 20 and more), it is not
 * a measurement of equality. Each path's fastest try is compared, not the medians: the other files
 * only ever add time, and on the 2 ms paths a median of ten could double under them (a full run read
 * 4.82 against 2.38 ms once, where the file alone reads ratios of 0.93–1.49).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startSmtp, type TestSmtp } from '../helpers/smtp.js'
import type { Reply } from '../server/harness.js'
import { fresh, PASSWORD, type SecurityServer, startSecurityServer, timed } from './helpers.js'

let server: SecurityServer
let smtp: TestSmtp

beforeAll(async () => {
  smtp = await startSmtp()
  server = await startSecurityServer({
    argon2: 'm=19456,t=2,p=1',
    loginMaxFailures: '1000000',
    mailMaxPerEmail: '1000000',
    mailMaxPerAddress: '1000000',
    smtpUrl: smtp.url,
    mailFrom: 'latchkey <no-reply@example.test>',
    publicUrl: 'https://app.example.test',
  })
})

afterAll(async () => {
  await server?.close()
  await smtp?.close()
})

/** Every response header but those that differ per response by design. */
function stableHeaders(reply: Reply<unknown>): Record<string, string> {
  const out: Record<string, string> = {}
  reply.headers.forEach((value, name) => {
    if (!['date', 'x-request-id', 'keep-alive', 'connection'].includes(name)) out[name] = value
  })
  return out
}

const idle = () => server.app.latchkey.login.idle()

/** An account (verified or not) and its address. */
async function account(prefix: string): Promise<string> {
  const { email } = fresh(prefix)
  expect((await server.client.signup(email, PASSWORD)).status).toBe(202)
  await idle()
  return email
}

interface Case {
  name: string
  /** The request for an address with an account (`email`) or without (`fresh`). */
  send(email: string, from: string): Promise<Reply<unknown>>
  /** A new address that has an account, for each try (sign-up needs a fresh taken one each time? no: any). */
  known(): Promise<string>
  status: number
}

const cases: Case[] = [
  {
    name: 'POST /auth/signup (email taken)',
    send: (email) => server.client.signup(email, 'another long password'),
    known: () => account('taken'),
    status: 202,
  },
  {
    name: 'POST /auth/login (unknown email vs wrong password)',
    send: (email, from) => server.client.login(email, 'not the password', { from }),
    known: () => account('login'),
    status: 401,
  },
  {
    name: 'POST /auth/password/forgot',
    send: (email, from) => server.client.post('/auth/password/forgot', { email }, { from }),
    known: () => account('forgot'),
    status: 202,
  },
  {
    name: 'POST /auth/email/resend (an unverified account)',
    send: (email, from) => server.client.post('/auth/email/resend', { email }, { from }),
    known: () => account('resend'),
    status: 202,
  },
]

describe('account enumeration: an address with an account and one without answer alike', () => {
  it.each(cases)('$name: same status, body and headers', async ({ send, known, status }) => {
    const email = await known()
    const { from } = fresh()
    const withAccount = await send(email, from)
    await idle()
    const without = await send(fresh('nobody').email, from)
    await idle()
    expect(withAccount.status).toBe(status)
    expect(without.status).toBe(status)
    expect(without.text).toBe(withAccount.text)
    expect(stableHeaders(without)).toEqual(stableHeaders(withAccount))
    expect(withAccount.cookies).toEqual([])
  })

  it.each(cases)(
    '$name: about the same time, ratio of the fastest tries within [0.5, 2]',
    async ({ send, known }) => {
      const { from } = fresh()
      // One address with an account per try for sign-up would change nothing: the taken path is the
      // same every time. Ten interleaved tries each, after a warm-up of both.
      const email = await known()
      const attempt = async (address: string) => {
        const reply = await timed(() => send(address, from))
        await idle()
        return reply.ms
      }
      await attempt(email)
      await attempt(fresh('warm').email)
      const withAccount: number[] = []
      const without: number[] = []
      for (let i = 0; i < 10; i++) {
        // Alternate which goes first, so neither always follows the other.
        if (i % 2 === 0) {
          withAccount.push(await attempt(email))
          without.push(await attempt(fresh('unknown').email))
        } else {
          without.push(await attempt(fresh('unknown').email))
          withAccount.push(await attempt(email))
        }
      }
      const ratio = Math.min(...without) / Math.min(...withAccount)
      const detail = `fastest without ${Math.min(...without).toFixed(2)} ms / with ${Math.min(...withAccount).toFixed(2)} ms`
      expect(ratio, detail).toBeGreaterThanOrEqual(0.5)
      expect(ratio, detail).toBeLessThanOrEqual(2)
    },
  )

  it('and the mail that differs does arrive: a reset link for the account, nothing for the unknown address', async () => {
    const email = await account('mailed')
    const nobody = fresh('nobody').email
    await server.client.post('/auth/password/forgot', { email }, { from: fresh().from })
    await server.client.post('/auth/password/forgot', { email: nobody }, { from: fresh().from })
    await smtp.waitFor((m) => m.to.includes(email) && /^Reset/.test(m.subject))
    await idle()
    expect(smtp.to(nobody)).toEqual([])
  })
})
