/**
 * Login and passwords over HTTP against the reference server: account enumeration (responses and
 * timing), the login rate limit and its reset, email normalisation, password edge cases and signup
 * races. Server-level unit tests of the pieces live in test/server/config.test.ts ("emails",
 * "passwords"); the API suite (test/server/api-suite.ts) covers the ordinary flows.
 *
 * The timing test runs the server with the real OWASP argon2id parameters (m=19456, t=2, p=1); the
 * others lower the cost through the documented LATCHKEY_ARGON2 knob.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Reply } from '../server/harness.js'
import {
  BOUND_MS,
  expectRefused,
  fresh,
  median,
  PASSWORD,
  type SecurityServer,
  sleep,
  startSecurityServer,
  timed,
} from './helpers.js'

let owasp: SecurityServer
let limited: SecurityServer
let plain: SecurityServer

beforeAll(async () => {
  ;[owasp, limited, plain] = await Promise.all([
    startSecurityServer({ argon2: 'm=19456,t=2,p=1', loginMaxFailures: '1000' }),
    startSecurityServer({ loginMaxFailures: '3', loginWindow: '2s' }),
    startSecurityServer({ loginMaxFailures: '3' }),
  ])
})

afterAll(async () => {
  await Promise.all([owasp?.close(), limited?.close(), plain?.close()])
})

/** Every response header except those that differ per response by design (date, request id). */
function stableHeaders(reply: Reply<unknown>): Record<string, string> {
  const out: Record<string, string> = {}
  reply.headers.forEach((value, name) => {
    if (name !== 'date' && name !== 'x-request-id') out[name] = value
  })
  return out
}

describe('account enumeration (OWASP ASVS 4.0.3 V2.2; checklist "Login and passwords")', () => {
  it('unknown email and wrong password: same status, body and headers (401 INVALID_CREDENTIALS)', async () => {
    const who = fresh('enum')
    expect((await owasp.client.signup(who.email, PASSWORD)).status).toBe(202)
    const wrong = await owasp.client.login(who.email, 'not the password', { from: who.from })
    const unknown = await owasp.client.login(fresh('nobody').email, 'not the password', { from: who.from })
    expectRefused(wrong, 401, 'INVALID_CREDENTIALS', 'wrong password')
    expect(unknown.status).toBe(wrong.status)
    expect(unknown.text).toBe(wrong.text)
    expect(stableHeaders(unknown)).toEqual(stableHeaders(wrong))
    expect(wrong.headers.get('www-authenticate')).toBe('Bearer')
    expect(wrong.headers.get('cache-control')).toBe('no-store')
    expect(wrong.cookies).toEqual([])
  })

  it('and similar time with the real OWASP argon2id parameters: ratio of medians within [0.5, 2]', async () => {
    // Ten interleaved tries each, after a warm-up. Both paths run one argon2id verification (the
    // unknown email against a dummy hash made with the same parameters); without the dummy, an
    // unknown email would answer in about a millisecond against tens for a wrong password. The
    // bound is wide because other test files share the two CPUs: it is a robustness bound that
    // catches a missing verification (a ratio of 20 or more), not a measurement of equality.
    const who = fresh('timing')
    expect((await owasp.client.signup(who.email, PASSWORD)).status).toBe(202)
    const attempt = async (email: string) => {
      const reply = await timed(() => owasp.client.login(email, 'not the password', { from: who.from }))
      expectRefused(reply, 401, 'INVALID_CREDENTIALS', email)
      return reply.ms
    }
    await attempt(who.email)
    await attempt(fresh('warm').email)
    const wrong: number[] = []
    const unknown: number[] = []
    for (let i = 0; i < 10; i++) {
      // Alternate which goes first, so neither always follows the other.
      if (i % 2 === 0) {
        wrong.push(await attempt(who.email))
        unknown.push(await attempt(fresh('unknown').email))
      } else {
        unknown.push(await attempt(fresh('unknown').email))
        wrong.push(await attempt(who.email))
      }
    }
    const ratio = median(unknown) / median(wrong)
    expect(
      ratio,
      `unknown ${median(unknown).toFixed(1)} ms / wrong ${median(wrong).toFixed(1)} ms`,
    ).toBeGreaterThanOrEqual(0.5)
    expect(ratio).toBeLessThanOrEqual(2)
    // Both really hashed: an OWASP argon2id verification takes milliseconds, not microseconds.
    expect(median(unknown)).toBeGreaterThan(5)
  })
})

describe('rate limit per (client address, account) (OWASP ASVS 4.0.3 V2.2.1)', () => {
  it('3 failures, then 429 TOO_MANY_ATTEMPTS with Retry-After, the right password included; reset after the 2 s window', async () => {
    const who = fresh('limit')
    expect((await limited.client.signup(who.email, PASSWORD)).status).toBe(202)
    for (let i = 0; i < 3; i++) {
      expectRefused(
        await limited.client.login(who.email, `wrong ${i}`, { from: who.from }),
        401,
        'INVALID_CREDENTIALS',
        `failure ${i + 1}`,
      )
    }
    const locked = await limited.client.login(who.email, 'wrong again', { from: who.from })
    expectRefused(locked, 429, 'TOO_MANY_ATTEMPTS', 'locked, wrong password')
    const retryAfter = Number(locked.headers.get('retry-after'))
    expect(retryAfter).toBeGreaterThanOrEqual(1)
    expect(retryAfter).toBeLessThanOrEqual(2)
    // The right password gets the very same answer: a lock-out never reveals the password.
    const right = await limited.client.login(who.email, PASSWORD, { from: who.from })
    expectRefused(right, 429, 'TOO_MANY_ATTEMPTS', 'locked, right password')
    expect(right.text).toBe(locked.text)
    const { 'retry-after': _a, ...rightHeaders } = stableHeaders(right)
    const { 'retry-after': _b, ...lockedHeaders } = stableHeaders(locked)
    expect(rightHeaders).toEqual(lockedHeaders)
    expect(right.headers.get('retry-after')).toMatch(/^[12]$/)
    // Another client address is counted separately.
    expect((await limited.client.login(who.email, PASSWORD, { from: fresh().from })).status).toBe(200)
    // After the window the right password works again, and a success forgets the counter.
    await sleep(2_100)
    expect((await limited.client.login(who.email, PASSWORD, { from: who.from })).status).toBe(200)
    for (let i = 0; i < 3; i++)
      expect((await limited.client.login(who.email, 'wrong', { from: who.from })).status).toBe(401)
    expect((await limited.client.login(who.email, 'wrong', { from: who.from })).status).toBe(429)
  })

  it('parallel guesses cannot overrun the limit: of 20 at once, at most 3 are checked', async () => {
    const who = fresh('burst')
    expect((await limited.client.signup(who.email, PASSWORD)).status).toBe(202)
    const replies = await Promise.all(
      Array.from({ length: 20 }, (_, i) => limited.client.login(who.email, `guess ${i}`, { from: who.from })),
    )
    const statuses = replies.map((r) => r.status).sort()
    expect(statuses.filter((s) => s === 401)).toHaveLength(3)
    expect(statuses.filter((s) => s === 429)).toHaveLength(17)
    for (const reply of replies)
      expect((reply.body as { code: string }).code).toBe(
        reply.status === 401 ? 'INVALID_CREDENTIALS' : 'TOO_MANY_ATTEMPTS',
      )
  })
})

describe('email normalisation (checklist: trimmed, lower-cased, NFC, control characters refused)', () => {
  it('"Ada@Example.com " and "ada@example.com" are one account', async () => {
    const local = `ada-${fresh().email.split('@')[0]}`
    const signup = await plain.client.signup(` ${local.toUpperCase()}@Example.COM `, PASSWORD)
    expect(signup.status).toBe(202)
    expect((await plain.app.latchkey.users.findByEmail(`${local}@example.com`))?.email).toBe(
      `${local}@example.com`,
    )
    expect((await plain.client.login(`${local}@example.com`, PASSWORD, { from: fresh().from })).status).toBe(
      200,
    )
    expect(
      (await plain.client.login(`\t${local}@EXAMPLE.com\n`, PASSWORD, { from: fresh().from })).status,
    ).toBe(200)
    // Signing up again is answered as any sign-up, and changes nothing: the other password does not log in.
    expect((await plain.client.signup(`${local}@example.com`, 'another password')).status).toBe(202)
    expectRefused(
      await plain.client.login(`${local}@example.com`, 'another password', { from: fresh().from }),
      401,
      'INVALID_CREDENTIALS',
      'again',
    )
  })

  it('NFC and NFD spellings of one address are one account (both ways)', async () => {
    const n = fresh().email.split('@')[0]
    const nfc = `josé-${n}@exämple.com`.normalize('NFC')
    const nfd = nfc.normalize('NFD')
    expect(nfd).not.toBe(nfc)
    const signup = await plain.client.signup(nfd, PASSWORD)
    expect(signup.status).toBe(202)
    expect((await plain.app.latchkey.users.findByEmail(nfc))?.email).toBe(nfc)
    expect((await plain.client.login(nfc, PASSWORD, { from: fresh().from })).status).toBe(200)
    expect((await plain.client.login(nfd, PASSWORD, { from: fresh().from })).status).toBe(200)
    expect((await plain.client.login(nfd.toUpperCase(), PASSWORD, { from: fresh().from })).status).toBe(200)
    expect((await plain.client.signup(nfc, 'another password')).status).toBe(202)
    expectRefused(
      await plain.client.login(nfc, 'another password', { from: fresh().from }),
      401,
      'INVALID_CREDENTIALS',
      'NFC after NFD',
    )
    // Only NFC is applied (documented): compatibility forms (NFKC) are other addresses.
    const fullWidth = `ｊｏｓｅ-${n}@exämple.com`
    expectRefused(
      await plain.client.login(fullWidth, PASSWORD, { from: fresh().from }),
      401,
      'INVALID_CREDENTIALS',
      'full-width letters',
    )
  })

  it('control and invisible characters are refused, never stripped: 400 VALIDATION_FAILED', async () => {
    const n = fresh().email.split('@')[0]
    for (const email of [
      `a\u0000${n}@example.com`,
      `a\u200b${n}@example.com`,
      `a\u202e${n}@example.com`,
      `a\u0007${n}@example.com`,
    ]) {
      expectRefused(
        await plain.client.signup(email, PASSWORD),
        400,
        'VALIDATION_FAILED',
        JSON.stringify(email),
      )
      expectRefused(
        await plain.client.login(email, PASSWORD, { from: fresh().from }),
        400,
        'VALIDATION_FAILED',
        JSON.stringify(email),
      )
    }
  })
})

describe('passwords (OWASP ASVS 4.0.3 V2.1.1, V2.1.2, V2.1.9)', () => {
  it('empty: 400 VALIDATION_FAILED at signup, an ordinary wrong password (401) at login', async () => {
    const who = fresh('empty')
    expectRefused(await plain.client.signup(who.email, ''), 400, 'VALIDATION_FAILED', 'signup')
    expect((await plain.client.signup(who.email, PASSWORD)).status).toBe(202)
    expectRefused(
      await plain.client.login(who.email, '', { from: who.from }),
      401,
      'INVALID_CREDENTIALS',
      'login',
    )
  })

  it('1 MiB: refused before hashing and fast, with the documented 413 PAYLOAD_TOO_LARGE (bodies over 64 KiB)', async () => {
    const who = fresh('huge')
    expect((await owasp.client.signup(who.email, PASSWORD)).status).toBe(202)
    const huge = 'p'.repeat(1024 * 1024)
    expectRefused(
      await timed(() => owasp.client.login(who.email, huge, { from: who.from })),
      413,
      'PAYLOAD_TOO_LARGE',
      '1 MiB login',
    )
    expectRefused(
      await timed(() => owasp.client.signup(fresh().email, huge)),
      413,
      'PAYLOAD_TOO_LARGE',
      '1 MiB signup',
    )
  })

  it('1 025 characters: 400 VALIDATION_FAILED before the password check (the lock-out counter does not move); 1 024 works', async () => {
    const who = fresh('long')
    const longest = 'é'.repeat(1_024)
    expect((await plain.client.signup(who.email, longest)).status).toBe(202)
    expectRefused(await plain.client.signup(fresh().email, `${longest}x`), 400, 'VALIDATION_FAILED', 'signup')
    // Five times over the limit of three failures: none of them counted.
    for (let i = 0; i < 5; i++) {
      expectRefused(
        await timed(() => plain.client.login(who.email, `${longest}${i}`, { from: who.from })),
        400,
        'VALIDATION_FAILED',
        `login ${i}`,
      )
    }
    expect((await plain.client.login(who.email, longest, { from: who.from })).status).toBe(200)
    // Characters are code points: 1 024 astral characters (2 048 UTF-16 units) are 1 024 characters.
    const emoji = '🔑'.repeat(1_024)
    expect((await plain.client.signup(fresh().email, emoji)).status).toBe(202)
    // No composition rules.
    expect((await plain.client.signup(fresh().email, 'aaaaaaaa')).status).toBe(202)
  })

  it('a NUL is kept, never truncated: "abc\\u0000def…" and "abc\\u0000xyz…" are different passwords', async () => {
    const who = fresh('nul')
    // Padded to the 8-character minimum; what matters is what follows the NUL.
    const password = 'abc\u0000def-password'
    expect((await plain.client.signup(who.email, password)).status).toBe(202)
    for (const other of ['abc\u0000xyz-password', 'abc', 'abc\u0000', 'abc\u0000def']) {
      expectRefused(
        await plain.client.login(who.email, other, { from: fresh().from }),
        401,
        'INVALID_CREDENTIALS',
        JSON.stringify(other),
      )
    }
    expect((await plain.client.login(who.email, password, { from: fresh().from })).status).toBe(200)
    // A trailing NUL is a character too.
    const trailing = fresh('nul-end')
    expect((await plain.client.signup(trailing.email, 'password\u0000')).status).toBe(202)
    expectRefused(
      await plain.client.login(trailing.email, 'password', { from: trailing.from }),
      401,
      'INVALID_CREDENTIALS',
      'without the trailing NUL',
    )
    // A lone surrogate has no UTF-8 form: refused rather than hashed as U+FFFD.
    expectRefused(
      await plain.client.signup(fresh().email, 'password\ud800'),
      400,
      'VALIDATION_FAILED',
      'lone surrogate',
    )
  })
})

describe('signup races', () => {
  it('20 concurrent signups of one address (in several spellings): all 202, exactly one account, whose password logs in', async () => {
    const who = fresh('race')
    const spellings = [who.email, who.email.toUpperCase(), ` ${who.email}`, `${who.email}\t`]
    const start = performance.now()
    const replies = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        plain.client.signup(spellings[i % spellings.length]!, `${PASSWORD} ${i}`),
      ),
    )
    expect(replies.map((r) => r.status)).toEqual(Array(20).fill(202))
    expect(new Set(replies.map((r) => r.text)).size).toBe(1)
    // Exactly one password is the account's: the winner's.
    const logins = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        plain.client.login(who.email, `${PASSWORD} ${i}`, { from: fresh().from }),
      ),
    )
    expect(logins.filter((r) => r.status === 200)).toHaveLength(1)
    for (const reply of logins.filter((r) => r.status !== 200))
      expectRefused(reply, 401, 'INVALID_CREDENTIALS', 'loser')
    expect(performance.now() - start).toBeLessThan(40 * BOUND_MS)
  })
})
