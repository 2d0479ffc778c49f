/**
 * Revocation over HTTP against the reference server (database store, SQLite): logout, rotated refresh
 * reuse, logout everywhere, password change and disabled users. The store contracts are tested in
 * test/stores and test/revocation, the core's rules in test/core/login.test.ts ("refresh rotation",
 * "logout", "logoutEverywhere"); here each is an attack a client can try with tokens it once held.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCliCaptured } from '../server/helpers.js'
import {
  expectRefused,
  forgeHS,
  headerOf,
  loginSession,
  meWith,
  newSession,
  PASSWORD,
  type SecurityServer,
  startSecurityServer,
  TEST_ARGON2,
  TEST_SECRET,
  type TokenBody,
  timed,
} from './helpers.js'

let server: SecurityServer

beforeAll(async () => {
  server = await startSecurityServer({ loginMaxFailures: '100' })
})

afterAll(async () => {
  await server?.close()
})

const refresh = (token: string) =>
  timed(() => server.client.post<TokenBody>('/auth/refresh', undefined, { token }))

async function expectAllRevoked(tokens: { access: string[]; refresh: string[] }, what: string) {
  for (const access of tokens.access)
    expectRefused(await meWith(server, access), 401, 'TOKEN_REVOKED', `${what}: access`)
  for (const token of tokens.refresh)
    expectRefused(await refresh(token), 401, 'TOKEN_REVOKED', `${what}: refresh`)
}

describe('revocation (checklist "Revocation is keyed on jti"; RFC 6819 §5.2.2.3; OAuth 2.0 Security BCP §4.14)', () => {
  it('logout: the access token and every refresh token of that login are refused (401 TOKEN_REVOKED); other logins keep working', async () => {
    const a = await newSession(server)
    const b = await loginSession(server, a)
    const logout = await server.client.post('/auth/logout', undefined, { token: a.access })
    expect(logout.status).toBe(200)
    await expectAllRevoked({ access: [a.access], refresh: [a.refresh] }, 'logged out')
    // Logging out again with the revoked token is refused, not a 500.
    expectRefused(
      await timed(() => server.client.post('/auth/logout', undefined, { token: a.access })),
      401,
      'TOKEN_REVOKED',
      'second logout',
    )
    expect((await meWith(server, b.access)).status).toBe(200)
    expect((await refresh(b.refresh)).status).toBe(200)
  })

  it('revocation is keyed on jti, not on the text: another text with a revoked jti is refused, another spelling is malformed', async () => {
    const a = await newSession(server)
    expect((await server.client.post('/auth/logout', undefined, { token: a.access })).status).toBe(200)
    const claims = JSON.parse(Buffer.from(a.access.split('.')[1]!, 'base64url').toString()) as Record<
      string,
      unknown
    >
    // Same jti, different text (as a re-signed ECDSA token or an added claim would be): still revoked.
    const sameJti = forgeHS(headerOf(a.access), { ...claims, fam: undefined, extra: 1 })
    expect(sameJti).not.toBe(a.access)
    expectRefused(await meWith(server, sameJti), 401, 'TOKEN_REVOKED', 'same jti')
    // The family is revoked too: a token of the same login with a new jti is refused.
    expectRefused(
      await meWith(server, forgeHS(headerOf(a.access), { ...claims, jti: 'new-jti' })),
      401,
      'TOKEN_REVOKED',
      'same family',
    )
    // Neither jti nor family revoked: accepted (revocation is per login, not per user).
    const unrelated = forgeHS(headerOf(a.access), { ...claims, jti: 'another-jti', fam: 'another-family' })
    expect((await meWith(server, unrelated)).status).toBe(200)
    // Another spelling of the revoked text (padding Node would ignore) is not a way around: malformed.
    const [h, p, sig] = a.access.split('.')
    expectRefused(await meWith(server, `${h}.${p}.${sig}=`), 401, 'TOKEN_INVALID', 'padded')
  })

  it('rotated refresh token reused → 401 TOKEN_REVOKED, and the whole family is revoked', async () => {
    const a = await newSession(server)
    const first = await refresh(a.refresh)
    expect(first.status).toBe(200)
    const second = await refresh(first.body.refresh_token)
    expect(second.status).toBe(200)
    // The thief replays the first refresh token.
    expectRefused(await refresh(a.refresh), 401, 'TOKEN_REVOKED', 'reuse')
    // Everything of that login is gone: the original access token and every rotated pair.
    await expectAllRevoked(
      {
        access: [a.access, first.body.access_token, second.body.access_token],
        refresh: [first.body.refresh_token, second.body.refresh_token],
      },
      'family',
    )
    // The user can log in again at once.
    const again = await loginSession(server, a)
    expect((await meWith(server, again.access)).status).toBe(200)
  })

  it('concurrent refreshes with one token: exactly one 200, the others 401 TOKEN_REVOKED (and the family goes)', async () => {
    const a = await newSession(server)
    const replies = await Promise.all(Array.from({ length: 8 }, () => refresh(a.refresh)))
    const won = replies.filter((r) => r.status === 200)
    expect(won).toHaveLength(1)
    for (const reply of replies.filter((r) => r.status !== 200))
      expectRefused(reply, 401, 'TOKEN_REVOKED', 'loser')
    // A reuse was seen: the winner's pair is revoked with the family.
    expectRefused(await meWith(server, won[0]!.body.access_token), 401, 'TOKEN_REVOKED', 'winner after reuse')
  })

  it("logout-all: every token of the user from every login is refused; another user's are not; a new login works at once", async () => {
    const a = await newSession(server)
    const b = await loginSession(server, a)
    const rotated = await refresh(b.refresh)
    expect(rotated.status).toBe(200)
    const other = await newSession(server)
    expect((await server.client.post('/auth/logout-all', undefined, { token: a.access })).status).toBe(200)
    await expectAllRevoked(
      {
        access: [a.access, b.access, rotated.body.access_token],
        refresh: [a.refresh, rotated.body.refresh_token],
      },
      'logout-all',
    )
    expect((await meWith(server, other.access)).status).toBe(200)
    // In the same second (the cut-off compares milliseconds): no waiting.
    const after = await loginSession(server, a)
    expect((await meWith(server, after.access)).status).toBe(200)
    expect((await refresh(after.refresh)).status).toBe(200)
  })

  it("password change: every earlier token, the caller's included, is refused; the returned pair and a new login work at once", async () => {
    const a = await newSession(server)
    const b = await loginSession(server, a)
    const newPassword = 'an entirely new password'
    const change = await timed(() =>
      server.client.post<TokenBody>(
        '/auth/password',
        { current_password: PASSWORD, new_password: newPassword },
        { token: a.access },
      ),
    )
    expect(change.status).toBe(200)
    expect(change.headers.get('cache-control')).toBe('no-store')
    await expectAllRevoked(
      { access: [a.access, b.access], refresh: [a.refresh, b.refresh] },
      'password change',
    )
    expect((await meWith(server, change.body.access_token)).status).toBe(200)
    expect((await refresh(change.body.refresh_token)).status).toBe(200)
    // The old password is gone, the new one logs in immediately.
    expectRefused(
      await server.client.login(a.email, PASSWORD, { from: a.from }),
      401,
      'INVALID_CREDENTIALS',
      'old password',
    )
    const fresh = await loginSession(server, { ...a, password: newPassword })
    expect((await meWith(server, fresh.access)).status).toBe(200)
  })

  describe('disabled users (checklist: sub must map to an existing, active user)', () => {
    const cli = (args: string[]) =>
      runCliCaptured(args, {
        cwd: server.dir,
        env: {
          DATABASE_URL: server.config.databaseUrl,
          LATCHKEY_SECRET: TEST_SECRET,
          LATCHKEY_ARGON2: TEST_ARGON2,
        },
      })

    it('disabled in the database (users repository) → 401 USER_INACTIVE on the very next request', async () => {
      const a = await newSession(server)
      expect((await meWith(server, a.access)).status).toBe(200)
      expect(await server.app.latchkey.users.setActive(a.id, false)).toBeTruthy()
      expectRefused(await meWith(server, a.access), 401, 'USER_INACTIVE', 'access')
      expectRefused(await refresh(a.refresh), 401, 'USER_INACTIVE', 'refresh')
      // Login says so only after the right password.
      expectRefused(
        await server.client.login(a.email, 'wrong password', { from: a.from }),
        401,
        'INVALID_CREDENTIALS',
        'login, wrong password',
      )
      expectRefused(
        await server.client.login(a.email, PASSWORD, { from: a.from }),
        401,
        'USER_INACTIVE',
        'login',
      )
    })

    it('`latchkey users disable` revokes current tokens (401 TOKEN_REVOKED) and any later token is USER_INACTIVE; enabling does not revive old tokens', async () => {
      const a = await newSession(server)
      const run = await cli(['users', 'disable', a.email.toUpperCase()])
      expect(run).toMatchObject({ code: 0, err: '' })
      expect(run.out).toContain(`Disabled ${a.email}`)
      // The CLI revokes every token issued before now, so the revocation check answers first.
      expectRefused(await meWith(server, a.access), 401, 'TOKEN_REVOKED', 'access')
      expectRefused(await refresh(a.refresh), 401, 'TOKEN_REVOKED', 'refresh')
      // A token issued after the disable (by anyone holding the key) meets the inactive user.
      await new Promise((r) => setTimeout(r, 2))
      const later = server.app.latchkey.auth.createAccessToken(a.id)
      expectRefused(await meWith(server, later), 401, 'USER_INACTIVE', 'later token')
      expectRefused(
        await server.client.login(a.email, PASSWORD, { from: a.from }),
        401,
        'USER_INACTIVE',
        'login',
      )
      // Enabled again: old sessions stay dead, a new login works.
      expect((await cli(['users', 'enable', a.email])).code).toBe(0)
      expectRefused(await meWith(server, a.access), 401, 'TOKEN_REVOKED', 'old access after enable')
      const again = await loginSession(server, a)
      expect((await meWith(server, again.access)).status).toBe(200)
    })

    it('a deleted user (sub with no row) → 401 USER_NOT_FOUND', async () => {
      const a = await newSession(server)
      await server.app.latchkey.database.db.deleteFrom('users').where('id', '=', a.id).execute()
      expectRefused(await meWith(server, a.access), 401, 'USER_NOT_FOUND', 'access')
      expectRefused(await refresh(a.refresh), 401, 'USER_NOT_FOUND', 'refresh')
    })
  })
})
