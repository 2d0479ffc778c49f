/**
 * The account lifecycle across two `latchkey serve` processes sharing one PostgreSQL and one Redis,
 * with a real SMTP server in this process: a session ended through one instance is refused by the
 * other at once, and a reset link asked for on one works on the other and ends sessions everywhere.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { postgresUrl, probePostgres, probeRedis, redisUrl, requireService } from '../helpers/services.js'
import { linkOf, startSmtp, tokenOf } from '../helpers/smtp.js'
import { claimsOf, TEST_SECRET, type TokenBody } from './harness.js'
import { createPgSchema, deleteRedisPrefix, uniqueSuffix } from './helpers.js'
import { killLeftovers, serveCli } from './processes.js'

afterEach(killLeftovers)

const postgres = await requireService('PostgreSQL', probePostgres)
const redis = await requireService('Redis', probeRedis)

describe.skipIf(postgres.skip || redis.skip)(
  'account lifecycle across two processes on PostgreSQL and Redis',
  () => {
    it('a session ended on A is refused on B; a reset asked on B and done on A ends every session on both', async () => {
      const schema = await createPgSchema(postgresUrl())
      const prefix = `latchkey-lifecycle:${uniqueSuffix()}:`
      const smtp = await startSmtp()
      try {
        const env = {
          DATABASE_URL: schema.url,
          REDIS_URL: redisUrl(),
          LATCHKEY_REDIS_PREFIX: prefix,
          LATCHKEY_SECRET: TEST_SECRET,
          SMTP_URL: smtp.url,
          MAIL_FROM: 'latchkey <no-reply@example.test>',
          LATCHKEY_PUBLIC_URL: 'https://app.example.test',
        }
        const a = await serveCli(env)
        const b = await serveCli(env)
        const A = a.client
        const B = b.client
        const email = `two-${uniqueSuffix()}@example.com`
        const password = 'correct horse battery'

        // Sign up on A, verify on B with the link from the mail.
        expect((await A.signup(email, password)).status).toBe(202)
        const verify = await smtp.waitFor((m) => m.to.includes(email) && /^Confirm/.test(m.subject))
        expect(linkOf(verify)).toMatch(/^https:\/\/app\.example\.test\/#verify-email=/)
        expect(
          (await B.post('/auth/email/verify', { token: tokenOf(linkOf(verify), 'verify-email') })).status,
        ).toBe(200)

        // Two logins on B; A lists both; ending one on A is refused by B at once.
        const phone = await B.login(email, password, { headers: { 'user-agent': 'Phone' } })
        const laptop = await B.login(email, password, { headers: { 'user-agent': 'Laptop' } })
        const listed = await A.get<{ sessions: { id: string; user_agent: string; current: boolean }[] }>(
          '/auth/sessions',
          { token: laptop.body.access_token },
        )
        expect(listed.body.sessions.map((s) => [s.user_agent, s.current])).toEqual([
          ['Laptop', true],
          ['Phone', false],
        ])
        const phoneFamily = claimsOf(phone.body.access_token).fam as string
        const ended = await A.request('DELETE', `/auth/sessions/${phoneFamily}`, {
          token: laptop.body.access_token,
        })
        expect(ended.status).toBe(200)
        expect((await B.get('/auth/me', { token: phone.body.access_token })).body.code).toBe('TOKEN_REVOKED')
        expect(
          (await B.post<TokenBody>('/auth/refresh', undefined, { token: phone.body.refresh_token })).body
            .code,
        ).toBe('TOKEN_REVOKED')
        expect((await B.get('/auth/me', { token: laptop.body.access_token })).status).toBe(200)

        // Forgot on B, reset on A: the laptop login ends on B too.
        expect((await B.post('/auth/password/forgot', { email })).status).toBe(202)
        const reset = await smtp.waitFor((m) => m.to.includes(email) && /^Reset/.test(m.subject))
        const done = await A.post('/auth/password/reset', {
          token: tokenOf(linkOf(reset), 'reset-password'),
          new_password: 'a brand new password',
        })
        expect(done.status).toBe(200)
        expect((await B.get('/auth/me', { token: laptop.body.access_token })).body.code).toBe('TOKEN_REVOKED')
        expect((await B.login(email, 'a brand new password')).status).toBe(200)

        for (const server of [a.server, b.server]) {
          server.child.kill('SIGTERM')
          expect(await server.exited).toBe(0)
        }
      } finally {
        await smtp.close()
        await deleteRedisPrefix(redisUrl(), prefix)
        await schema.drop()
      }
    }, 180_000)
  },
)
