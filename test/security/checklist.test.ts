/**
 * The security checklist (../shared/SECURITY-CHECKLIST.md), line by line: one `describe` per section,
 * one `it` per line, named after the line and its source. test/core already proves most lines at the
 * core level; here each is proved over HTTP against the reference server (SQLite in a temporary
 * folder, argon2 lowered through LATCHKEY_ARGON2 except where a test needs the real cost). Lines or
 * parts of lines the server cannot exercise (it has no setting for them) call the core directly and
 * name the core test that covers them in full.
 *
 * Coverage: checklist line → tests (this file: "checklist"; others in test/security/ and test/core/)
 *
 * | # | line | tests |
 * |---|------|-------|
 * | A1 | algorithms from configuration, bound to keys; `none` impossible | checklist A1; http-attacks "alg none…", "an algorithm outside the configured key set"; core tokens "header attacks" |
 * | A2 | HMAC secret ≥ hash length; PEM/SSH/JWK secrets; RSA < 2048; wrong EC curve | checklist A2 (server start-up refusals); core keys "configuration refusals" (empty secret, every form) |
 * | A3 | HS and asymmetric never mixed; HS signed with the public key fails | checklist A3; http-attacks "key confusion…"; core tokens "key confusion", keys "allowMixedAlgorithms" |
 * | A4 | kid only a Map lookup; jku/x5u/jwk/x5c ignored; unknown kid; crit | checklist A4; http-attacks "kid is only a Map lookup", "jku, x5u…", "crit"; core keys "kid is only a Map lookup" |
 * | A5 | compact JWS only; strict canonical base64url | checklist A5; http-attacks "encoding"; fuzz "single-character change"; core tokens "encoding", differential (b) |
 * | C1 | exp required; exp/nbf/iat finite numbers; small leeway | checklist C1; http-attacks "RFC 7519 §4.1.4/§4.1.5/NumericDate"; core tokens "exp", "nbf", "claims of the wrong shape" |
 * | C2 | aud refused unless configured; iss exact when configured | checklist C2 (aud over HTTP; iss in the core: the server has no issuer setting); http-attacks "aud", "iss"; core tokens "aud", "iss" |
 * | C3 | sub non-empty string of an existing, active user | checklist C3; http-attacks "sub…"; revocation "disabled users", "deleted user"; core guard "user loading" |
 * | C4 | `type` required; each guard one kind | checklist C4; http-attacks "type confusion", "fresh claim forged on a refresh"; core guard "fresh and refresh guards" |
 * | C5 | payload a JSON object; no `__proto__` merging | checklist C5; http-attacks "__proto__ and constructor…", "not UTF-8 JSON objects"; core tokens "JSON edge cases" |
 * | C6 | revocation keyed on jti, not text | checklist C6 (ECDSA high-s twin of a logged-out token); revocation "keyed on jti"; revocations last until exp + leeway: core login "revocations last until exp plus the leeway", store contract "keeps a token past its own exp revoked…", "keeps every entry until the expiry it was given…" |
 * | L1 | scheme case-insensitive, exactly `Bearer <token>` | checklist L1; http-attacks "RFC 6750 §2.1…", "repeated Authorization headers"; core guard "the Authorization header" |
 * | L2 | query tokens off by default; never logged when on | checklist L2; http-attacks "query string…"; test/server/variants "query location" |
 * | L3 | cookies HttpOnly, Secure, SameSite=Lax, `__Host-`; clearing repeats attributes | checklist L3 (`__Host-` in the core: no server setting); core login "cookie attributes" |
 * | L4 | CSRF against the signed claim, constant time, unsafe methods only | checklist L4 (also a cookie token without a `csrf` claim and no header, every unsafe method and the refresh cookie); http-attacks "CSRF" (every method, planted cookie, lengths); core guard "CSRF double submit" |
 * | L5 | no state change on GET; logout POST only; login JSON only | checklist L5; test/server/api-suite "accepts only application/json" |
 * | P1 | argon2id OWASP parameters, 16-byte salt, rehash, off the event loop, bounded | checklist P1; test/server/config "passwords", variants "password hashes" |
 * | P2 | same answer and time; rate limit with Retry-After; per-address limiter; lock-out hides the password | checklist P2; login "account enumeration", "rate limit" |
 * | P3 | 8 to 1024, refused before hashing, no truncation, no rules, NUL kept | checklist P3; login "passwords" |
 * | P4 | email trimmed, lower-cased, NFC, control characters refused | checklist P4; login "email normalisation" |
 * | R1 | no-store; JSON errors with a code; 401 WWW-Authenticate: Bearer | checklist R1; every expectRefused (401 ⇒ WWW-Authenticate); fuzz (every 4xx is {msg, code}) |
 * | R2 | logs never hold passwords, tokens, cookies (log the jti) | checklist R2; http-attacks "query string" (no token in logs) |
 * | R3 | revocation store failing ⇒ refuse | checklist R3 (database); faults "Redis stopped mid-run", "PostgreSQL…"; core guard "revocation" |
 * | R4 | login right after logout-all / password change works | checklist R4; revocation "logout-all", "password change"; core login "logoutEverywhere" |
 * | R5 | concurrent refreshes: one wins; reuse revokes the family | checklist R5; revocation "rotated refresh token reused", "concurrent refreshes"; core login "refresh rotation" |
 */
import { createHmac, generateKeyPairSync, type KeyObject } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { hash as argon2Hash, parseOptions } from '@node-rs/argon2'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAuth, TokenInvalidError } from '../../src/index.js'
import { type RawSettings, ServerConfigError } from '../../src/server/config.js'
import { forge } from '../core/helpers.js'
import { tempDir } from '../server/helpers.js'
import {
  b64,
  claimsFor,
  cookieValue,
  expectRefused,
  forgeHS,
  fresh,
  headerOf,
  loginSession,
  me,
  median,
  meWith,
  newSession,
  PASSWORD,
  type SecurityServer,
  type Session,
  type StartOptions,
  startSecurityServer,
  TEST_SECRET,
  type TokenBody,
  timed,
} from './helpers.js'

const keys = tempDir('latchkey-checklist-keys-')
const pem = (key: KeyObject) => key.export({ type: 'pkcs8', format: 'pem' }) as string
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
const keyFile = (name: string, key: KeyObject) => {
  const path = join(keys.dir, name)
  writeFileSync(path, pem(key), { mode: 0o600 })
  return path
}
const RS256_FILE = keyFile('rs256.pem', rsa.privateKey)
const ES256_FILE = keyFile('es256.pem', ec.privateKey)

let hs: SecurityServer
let rs: SecurityServer
let es: SecurityServer
let alice: Session

beforeAll(async () => {
  ;[hs, rs, es] = await Promise.all([
    startSecurityServer({}, { probes: true }),
    startSecurityServer({ privateKeyFile: RS256_FILE, algorithm: 'RS256' }),
    startSecurityServer({ privateKeyFile: ES256_FILE, algorithm: 'ES256' }),
  ])
  alice = await newSession(hs)
})

afterAll(async () => {
  await Promise.all([hs?.close(), rs?.close(), es?.close()])
  keys.remove()
})

/** Starts a server for one test and closes it after `use`. */
async function withServer<T>(
  settings: RawSettings,
  use: (server: SecurityServer) => Promise<T>,
  options: StartOptions = {},
): Promise<T> {
  const server = await startSecurityServer(settings, options)
  try {
    return await use(server)
  } finally {
    await server.close()
  }
}

/** The server refuses to start with these settings, with one line naming the setting. */
async function refusesToStart(settings: RawSettings, message: RegExp) {
  const error = await startSecurityServer(settings).then(
    async (server) => {
      await server.close()
      return undefined
    },
    (e: unknown) => e,
  )
  expect(error, JSON.stringify(Object.keys(settings))).toBeInstanceOf(ServerConfigError)
  expect((error as Error).message).toMatch(message)
  expect((error as Error).message).not.toContain('\n')
}

const hsToken = (overrides: Record<string, unknown> = {}, header?: unknown) =>
  forgeHS(header ?? headerOf(alice.access), claimsFor(alice.id, overrides))

describe('Algorithms and keys', () => {
  it('A1 RFC 8725 §3.1, §2.1: algorithms come from configuration, bound to keys; the header never chooses; `none` is impossible in every spelling', async () => {
    const [, payload, signature] = alice.access.split('.')
    for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
      for (const sig of ['', signature]) {
        expectRefused(await meWith(hs, `${b64({ alg })}.${payload}.${sig}`), 401, 'TOKEN_INVALID', `${alg}`)
      }
    }
    // The HS256 server's own secret under HS512 and an RS256 header: the key decides, not the token.
    const kid = headerOf(alice.access).kid
    const input = `${b64({ alg: 'HS512', kid })}.${b64(claimsFor(alice.id))}`
    const hs512 = `${input}.${createHmac('sha512', TEST_SECRET).update(input).digest('base64url')}`
    expectRefused(await meWith(hs, hs512), 401, 'TOKEN_INVALID', 'HS512 with the HS256 secret')
    expectRefused(await meWith(hs, hsToken({}, { alg: 'RS256', kid })), 401, 'TOKEN_INVALID', 'RS256 header')
    expect((await meWith(hs, hsToken())).status).toBe(200)
  })

  it('A2 RFC 7518 §3.2–3.4, RFC 8725 §2.2, §3.5: short secrets, secrets that are a PEM, an SSH key or a JWK, RSA keys under 2048 bits and EC keys on the wrong curve stop the server at start-up', async () => {
    await refusesToStart({ secret: 'x'.repeat(31) }, /^LATCHKEY_SECRET: /)
    await refusesToStart(
      { secret: rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string },
      /^LATCHKEY_SECRET: /,
    )
    await refusesToStart(
      {
        secret: `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGq7dcyV9uSGCYMVzoJtvu8iHwWGWMm0kBZ8f8gvlYc0 user@host`,
      },
      /^LATCHKEY_SECRET: /,
    )
    await refusesToStart(
      { secret: JSON.stringify(ec.publicKey.export({ format: 'jwk' })) },
      /^LATCHKEY_SECRET: /,
    )
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 })
    await refusesToStart(
      { privateKeyFile: keyFile('rsa1024.pem', weak.privateKey), algorithm: 'RS256' },
      /^LATCHKEY_PRIVATE_KEY_FILE: .*2048/,
    )
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' })
    await refusesToStart(
      { privateKeyFile: keyFile('p384.pem', p384.privateKey), algorithm: 'ES256' },
      /^LATCHKEY_PRIVATE_KEY_FILE: /,
    )
    // The core refuses an empty secret too (the server reads an empty variable as unset).
    expect(() => createAuth({ keys: { secret: '' } })).toThrow(/secret/)
  })

  it('A3 RFC 8725 §3.1, jsonwebtoken 2015, CVE-2022-23540: HS and asymmetric algorithms are never mixed; an HS256 token signed with the public key (PEM, PEM without white space, PKCS#1, JWK text) fails', async () => {
    const spki = rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string
    const rsUser = await newSession(rs)
    const kid = headerOf(rsUser.access).kid
    for (const [what, secret] of [
      ['spki PEM', spki],
      ['PEM without white space', spki.replace(/\s+/g, '')],
      ['PKCS#1 PEM', rsa.publicKey.export({ type: 'pkcs1', format: 'pem' }) as string],
      ['JWK text', JSON.stringify(rsa.publicKey.export({ format: 'jwk' }))],
    ] as const) {
      for (const header of [{ alg: 'HS256' }, { alg: 'HS256', kid }]) {
        expectRefused(
          await meWith(rs, forgeHS(header, claimsFor(rsUser.id), secret)),
          401,
          'TOKEN_INVALID',
          what,
        )
      }
    }
    // The server cannot even be configured with both kinds.
    await refusesToStart(
      { privateKeyFile: RS256_FILE, algorithm: 'RS256', previousSecrets: 'y'.repeat(40) },
      /LATCHKEY_PREVIOUS_SECRETS/,
    )
  })

  it('A4 RFC 8725 §3.10, RFC 7515 §4.1.2–4.1.6, §4.1.11: kid is only a lookup; jku, x5u, jwk and x5c are never key sources; an unknown kid and unknown crit fail cleanly', async () => {
    const esUser = await newSession(es)
    const attacker = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
    const jwk = attacker.publicKey.export({ format: 'jwk' })
    const serverKid = headerOf(esUser.access).kid
    for (const [what, header] of [
      ['jwk', { alg: 'ES256', jwk, kid: serverKid }],
      ['jku', { alg: 'ES256', jku: 'http://127.0.0.1:1/jwks.json', kid: serverKid }],
      ['x5u', { alg: 'ES256', x5u: 'http://127.0.0.1:1/cert.pem' }],
      ['x5c', { alg: 'ES256', x5c: ['MIIB'] }],
      ['kid path', { alg: 'ES256', kid: '../../../../etc/passwd' }],
      ['kid SQL', { alg: 'ES256', kid: "' OR 1=1 --" }],
      ['kid __proto__', { alg: 'ES256', kid: '__proto__' }],
      ['kid unknown', { alg: 'ES256', kid: 'no-such-key' }],
    ] as const) {
      expectRefused(
        await meWith(es, forge('ES256', attacker.privateKey, header, claimsFor(esUser.id))),
        401,
        'TOKEN_INVALID',
        what,
      )
    }
    const signedCrit = forge(
      'ES256',
      ec.privateKey,
      { alg: 'ES256', kid: serverKid, crit: ['x-ext'], 'x-ext': 1 },
      claimsFor(esUser.id),
    )
    expectRefused(await meWith(es, signedCrit), 401, 'TOKEN_INVALID', 'crit')
    // Control: the same key, without crit, passes.
    expect(
      (
        await meWith(
          es,
          forge('ES256', ec.privateKey, { alg: 'ES256', kid: serverKid }, claimsFor(esUser.id)),
        )
      ).status,
    ).toBe(200)
  })

  it('A5 RFC 7515 §3.1, §7.1, RFC 4648 §3.5: compact JWS only (three segments), strict canonical base64url (no +, /, =, white space; canonical trailing bits)', async () => {
    const [h, p, s] = alice.access.split('.')
    const last = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.indexOf(s!.at(-1)!)
    const twin = `${s!.slice(0, -1)}${'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'[last ^ 1]}`
    expect(Buffer.from(twin, 'base64url').equals(Buffer.from(s!, 'base64url'))).toBe(true)
    for (const [what, token] of [
      ['four segments', `${h}.${p}.${s}.${s}`],
      ['five segments (JWE)', `${h}.${p}.${p}.${p}.${s}`],
      ['two segments', `${h}.${p}`],
      ['padding', `${h}.${p}.${s}=`],
      [
        'standard alphabet',
        `${h}.${p}.${s!.replace(/[-_]/g, (c) => (c === '-' ? '+' : '/'))}${/[-_]/.test(s!) ? '' : '+'}`,
      ],
      ['non-canonical trailing bits', `${h}.${p}.${twin}`],
    ] as const) {
      expectRefused(await meWith(hs, token), 401, 'TOKEN_INVALID', what)
    }
    expectRefused(await me(hs, `Bearer ${h}. ${p}.${s}`), 401, 'TOKEN_INVALID', 'white space')
  })
})

describe('Claims', () => {
  it('C1 RFC 7519 §4.1.4–4.1.6: exp is required; exp, nbf and iat are finite numbers; leeway is small (0 by default, at most 5 minutes)', async () => {
    const now = Math.floor(Date.now() / 1000)
    expectRefused(await meWith(hs, hsToken({ exp: undefined })), 401, 'TOKEN_INVALID', 'no exp')
    expectRefused(await meWith(hs, hsToken({ exp: String(now + 900) })), 401, 'TOKEN_INVALID', 'exp string')
    expectRefused(await meWith(hs, hsToken({ nbf: [now] })), 401, 'TOKEN_INVALID', 'nbf array')
    expectRefused(await meWith(hs, hsToken({ iat: 'now' })), 401, 'TOKEN_INVALID', 'iat string')
    expectRefused(
      await meWith(hs, hsToken({ exp: now - 1 })),
      401,
      'TOKEN_EXPIRED',
      'expired a second ago, leeway 0',
    )
    expectRefused(
      await meWith(hs, hsToken({ nbf: now + 2 })),
      401,
      'TOKEN_NOT_YET_VALID',
      'nbf in 2 s, leeway 0',
    )
    await refusesToStart({ leeway: '6m' }, /^LATCHKEY_LEEWAY .*5m/)
  })

  it('C2 RFC 7519 §4.1.3, RFC 8725 §3.8, §3.9: a token with aud is refused unless the verifier has a matching audience; iss is compared exactly when configured', async () => {
    for (const aud of ['latchkey', ['latchkey', 'other']]) {
      expectRefused(await meWith(hs, hsToken({ aud })), 401, 'TOKEN_INVALID', JSON.stringify(aud))
    }
    // The reference server configures no audience or issuer; the comparison itself is the core's
    // (full cases: test/core/tokens.test.ts "aud" and "iss").
    const verifier = createAuth({
      keys: { secret: 's'.repeat(32) },
      issuer: 'https://issuer.example',
      audience: 'api',
    })
    const signer = createAuth({
      keys: { secret: 's'.repeat(32) },
      issuer: 'https://issuer.example/',
      audience: 'api',
    })
    expect(() => verifier.decodeToken(signer.createAccessToken('u1'))).toThrow(TokenInvalidError)
    const exact = createAuth({
      keys: { secret: 's'.repeat(32) },
      issuer: 'https://issuer.example',
      audience: 'api',
    })
    expect(verifier.decodeToken(exact.createAccessToken('u1')).claims.sub).toBe('u1')
  })

  it('C3 RFC 7519 §4.1.2, RFC 8725 §3.8: sub is a non-empty string and must map to an existing, active user', async () => {
    for (const sub of [undefined, '', 7, ['a']])
      expectRefused(
        await meWith(hs, hsToken({ sub })),
        401,
        'TOKEN_INVALID',
        JSON.stringify(sub) ?? 'missing',
      )
    expectRefused(await meWith(hs, hsToken({ sub: 'no-such-user' })), 401, 'USER_NOT_FOUND', 'unknown')
    const bob = await newSession(hs)
    await hs.app.latchkey.users.setActive(bob.id, false)
    expectRefused(await meWith(hs, bob.access), 401, 'USER_INACTIVE', 'inactive')
  })

  it('C4 RFC 8725 §2.8, §3.11, §3.12: access and refresh tokens differ in a required `type`; each guard accepts exactly one kind; a token without `type` is refused', async () => {
    expectRefused(await meWith(hs, alice.refresh), 401, 'WRONG_TOKEN_TYPE', 'refresh on an access route')
    expectRefused(
      await timed(() => hs.client.post('/auth/refresh', undefined, { token: alice.access })),
      401,
      'WRONG_TOKEN_TYPE',
      'access on the refresh route',
    )
    expectRefused(await meWith(hs, hsToken({ type: undefined })), 401, 'TOKEN_INVALID', 'no type')
    expectRefused(
      await timed(() => hs.client.post('/auth/refresh', undefined, { token: hsToken({ type: undefined }) })),
      401,
      'TOKEN_INVALID',
      'no type on the refresh route',
    )
  })

  it('C5 RFC 7519 §7.2 step 10, prototype-pollution advisories: the payload must be a JSON object; claims are never merged into an object with a prototype (`__proto__`)', async () => {
    const header = JSON.stringify(headerOf(alice.access))
    const claims = JSON.stringify(claimsFor(alice.id))
    for (const payload of [`[${claims}]`, '"text"', '1', 'null'])
      expectRefused(await meWith(hs, forgeHS(header, payload)), 401, 'TOKEN_INVALID', payload.slice(0, 6))
    const polluting = forgeHS(header, `{"__proto__":{"polluted":true},${claims.slice(1)}`)
    expect((await meWith(hs, polluting)).status).toBe(200)
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined()
    const standIn = forgeHS(
      header,
      `{"__proto__":{"type":"access"},${JSON.stringify(claimsFor(alice.id, { type: undefined })).slice(1)}`,
    )
    expectRefused(await meWith(hs, standIn), 401, 'TOKEN_INVALID', '__proto__ stand-in')
  })

  it('C6 checklist "Revocation is keyed on jti, never on the token text": the ECDSA high-s twin of a logged-out token (same claims, other text) is refused too', async () => {
    const esUser = await newSession(es)
    // P-256's order n: (r, s) and (r, n - s) both verify, so one token has two valid texts.
    const n = BigInt('0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551')
    const [h, p, sig] = esUser.access.split('.')
    const raw = Buffer.from(sig!, 'base64url')
    const s = BigInt(`0x${raw.subarray(32).toString('hex')}`)
    const twin = Buffer.concat([
      raw.subarray(0, 32),
      Buffer.from((n - s).toString(16).padStart(64, '0'), 'hex'),
    ])
    const twinToken = `${h}.${p}.${twin.toString('base64url')}`
    expect(twinToken).not.toBe(esUser.access)
    // Before the logout, the twin is a valid token of its own...
    expect((await meWith(es, twinToken)).status).toBe(200)
    expect((await es.client.post('/auth/logout', undefined, { token: esUser.access })).status).toBe(200)
    // ...after it, both are refused: the revocation names the jti, which both carry.
    expectRefused(await meWith(es, esUser.access), 401, 'TOKEN_REVOKED', 'original')
    expectRefused(await meWith(es, twinToken), 401, 'TOKEN_REVOKED', 'high-s twin')
  })
})

describe('Locations, cookies and CSRF', () => {
  it('L1 RFC 6750 §2.1, RFC 9110 §11.1: the Authorization scheme is matched case-insensitively and the value must be exactly `Bearer <token>`', async () => {
    for (const scheme of ['Bearer', 'bearer', 'BEARER'])
      expect((await me(hs, `${scheme} ${alice.access}`)).status).toBe(200)
    for (const value of [
      `Bearer  ${alice.access}`,
      `Bearer ${alice.access} x`,
      'Bearer',
      `Bearer ${alice.access},x`,
    ])
      expectRefused(await me(hs, value), 401, 'TOKEN_INVALID', value.slice(0, 10))
    expectRefused(await me(hs, `Basic ${alice.access}`), 401, 'TOKEN_MISSING', 'another scheme')
  })

  it('L2 RFC 6750 §2.3, §5.3: query-string tokens are off by default; when on, the server never logs the URL with the token', async () => {
    expectRefused(
      await timed(() => hs.client.get(`/auth/me?jwt=${alice.access}`)),
      401,
      'TOKEN_MISSING',
      'default',
    )
    await withServer({ tokenLocations: 'headers,query' }, async (server) => {
      const session = await newSession(server)
      const reply = await server.client.get(`/auth/me?jwt=${session.access}&x=1`)
      expect(reply.status).toBe(200)
      const logs = server.logs.join('\n')
      expect(logs).toContain('jwt=%5BREDACTED%5D')
      expect(logs).not.toContain(session.access.split('.')[2])
    })
  })

  it('L3 RFC 6265bis §4.1.2, ASVS 4.0.3 V3.4.1–V3.4.5: token cookies are HttpOnly, Secure in production, SameSite=Lax; `__Host-` is available; clearing repeats every attribute', async () => {
    // Production default: LATCHKEY_COOKIE_SECURE=true.
    await withServer({ cookieSecure: 'true' }, async (server) => {
      const who = fresh('cookies')
      expect((await server.client.signup(who.email, PASSWORD)).status).toBe(202)
      const login = await server.client.login(who.email, PASSWORD, { from: who.from })
      const line = (list: string[], name: string) => list.find((c) => c.startsWith(`${name}=`))!
      const attributes = (cookie: string) =>
        cookie
          .split('; ')
          .slice(1)
          .filter((a) => !/^(Max-Age|Expires)=/i.test(a))
          .sort()
      for (const name of ['access_token_cookie', 'refresh_token_cookie']) {
        expect(attributes(line(login.cookies, name))).toEqual(
          expect.arrayContaining(['HttpOnly', 'Secure', 'SameSite=Lax']),
        )
      }
      for (const name of ['csrf_access_token', 'csrf_refresh_token']) {
        expect(line(login.cookies, name)).not.toContain('HttpOnly')
        expect(attributes(line(login.cookies, name))).toEqual(
          expect.arrayContaining(['Secure', 'SameSite=Lax']),
        )
      }
      expect(line(login.cookies, 'refresh_token_cookie')).toContain('Path=/auth/refresh')
      const access = login.body.access_token
      const logout = await server.client.post('/auth/logout', undefined, { token: access })
      expect(logout.status).toBe(200)
      for (const name of [
        'access_token_cookie',
        'refresh_token_cookie',
        'csrf_access_token',
        'csrf_refresh_token',
      ]) {
        const cleared = line(logout.cookies, name)
        expect(cleared).toMatch(new RegExp(`^${name}=;`))
        expect(cleared).toMatch(/Max-Age=0|Expires=Thu, 01 Jan 1970/)
        expect(attributes(cleared), name).toEqual(attributes(line(login.cookies, name)))
      }
    })
    // `__Host-` is the core's `cookies.hostPrefix` (the reference server has no setting for it);
    // full case: test/core/login.test.ts "hostPrefix names every cookie __Host-…".
    const auth = createAuth({
      keys: { secret: 's'.repeat(32) },
      tokenLocations: ['cookies'],
      cookies: { hostPrefix: true },
    })
    const session = await auth.login('u1')
    const list = session.headers['set-cookie'] as string[]
    expect(
      list.every(
        (c) =>
          c.startsWith('__Host-') &&
          c.includes('; Path=/;') &&
          c.includes('; Secure') &&
          !c.includes('Domain='),
      ),
    ).toBe(true)
  })

  it('L4 OWASP CSRF Prevention Cheat Sheet (signed double submit), ASVS 4.0.3 V4.2.2: on unsafe methods a cookie token needs the CSRF header, compared in constant time with the signed `csrf` claim (not the cookie); header tokens need none', async () => {
    const cookie = `access_token_cookie=${alice.access}; csrf_access_token=${alice.csrf}`
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
      const send = (headers: Record<string, string>) =>
        timed(() =>
          hs.client.request(method, '/probe', {
            headers: { cookie, ...headers },
            ...(method === 'DELETE' ? {} : { body: '{}' }),
          }),
        )
      expectRefused(await send({}), 403, 'CSRF_FAILED', `${method} missing`)
      // Unequal lengths: digests are compared, so timingSafeEqual never throws (no 500).
      expectRefused(await send({ 'x-csrf-token': 'a' }), 403, 'CSRF_FAILED', `${method} short`)
      expectRefused(await send({ 'x-csrf-token': 'a'.repeat(4096) }), 403, 'CSRF_FAILED', `${method} long`)
      // A planted cookie echoed in the header does not match the signed claim.
      const planted = await timed(() =>
        hs.client.request(method, '/probe', {
          headers: {
            cookie: `access_token_cookie=${alice.access}; csrf_access_token=evil`,
            'x-csrf-token': 'evil',
          },
          ...(method === 'DELETE' ? {} : { body: '{}' }),
        }),
      )
      expectRefused(planted, 403, 'CSRF_FAILED', `${method} planted`)
      expect((await send({ 'x-csrf-token': alice.csrf })).status).toBe(200)
      const header = await hs.client.request(method, '/probe', {
        token: alice.access,
        ...(method === 'DELETE' ? {} : { body: '{}' }),
      })
      expect(header.status).toBe(200)
    }
    expect((await hs.client.get('/probe', { headers: { cookie } })).status).toBe(200)

    // A cookie token without a `csrf` claim and no header: nothing to compare is not a match, for the
    // access guard on every unsafe method and for the refresh cookie at /auth/refresh.
    const bare = forgeHS(headerOf(alice.access), claimsFor(alice.id))
    const bareRefresh = forgeHS(
      headerOf(alice.refresh),
      claimsFor(alice.id, { type: 'refresh', fresh: undefined }),
    )
    expect(JSON.stringify(claimsFor(alice.id))).not.toContain('csrf')
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
      for (const cookies of [
        `access_token_cookie=${bare}`,
        `access_token_cookie=${bare}; csrf_access_token=x`,
      ]) {
        const reply = await timed(() =>
          hs.client.request(method, '/probe', {
            headers: { cookie: cookies },
            ...(method === 'DELETE' ? {} : { body: '{}' }),
          }),
        )
        expectRefused(reply, 403, 'CSRF_FAILED', `${method} no claim, no header`)
      }
    }
    for (const path of ['/auth/logout', '/auth/logout-all']) {
      const reply = await timed(() =>
        hs.client.request('POST', path, { headers: { cookie: `access_token_cookie=${bare}` }, body: '{}' }),
      )
      expectRefused(reply, 403, 'CSRF_FAILED', `${path} no claim, no header`)
    }
    const refreshed = await timed(() =>
      hs.client.request('POST', '/auth/refresh', {
        headers: { cookie: `refresh_token_cookie=${bareRefresh}` },
      }),
    )
    expectRefused(refreshed, 403, 'CSRF_FAILED', '/auth/refresh no claim, no header')
    // The same tokens are good otherwise: a safe method, and the Authorization header, take them.
    expect(
      (await hs.client.get('/probe', { headers: { cookie: `access_token_cookie=${bare}` } })).status,
    ).toBe(200)
    expect((await hs.client.request('POST', '/probe', { token: bare, body: '{}' })).status).toBe(200)
    expect((await hs.client.request('POST', '/auth/refresh', { token: bareRefresh })).status).toBe(200)
  })

  it('L5 RFC 9110 §9.2.1, OWASP CSRF Prevention Cheat Sheet, Fetch standard (CORS-safelisted Content-Type): no state change on GET (logout is POST only); login accepts only application/json', async () => {
    for (const path of ['/auth/logout', '/auth/logout-all', '/auth/refresh', '/auth/password'])
      expectRefused(
        await timed(() => hs.client.get(path, { token: alice.access })),
        404,
        'NOT_FOUND',
        `GET ${path}`,
      )
    expect((await meWith(hs, alice.access)).status).toBe(200)
    const body = JSON.stringify({ email: alice.email, password: PASSWORD })
    for (const contentType of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      null,
    ]) {
      const reply = await timed(() => hs.client.request('POST', '/auth/login', { body, contentType }))
      expectRefused(reply, 415, 'UNSUPPORTED_MEDIA_TYPE', String(contentType))
    }
  })
})

describe('Login and passwords', () => {
  it('P1 OWASP Password Storage Cheat Sheet, ASVS 4.0.3 V2.4.1, V2.4.2: argon2id with explicit OWASP parameters and a 16-byte salt, rehashed on login when the parameters change, hashed off the event loop', async () => {
    await withServer({ argon2: 'm=19456,t=2,p=1', loginMaxFailures: '100' }, async (server) => {
      const who = fresh('argon')
      expect((await server.client.signup(who.email, PASSWORD)).status).toBe(202)
      const user = (await server.app.latchkey.users.findByEmail(who.email))!
      expect(user.passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/)
      const salt = user.passwordHash.split('$')[4]!
      expect(Buffer.from(salt, 'base64').length).toBe(16)
      // A hash made with weaker parameters is upgraded at the next successful login.
      const weak = await argon2Hash(PASSWORD, { algorithm: 2, memoryCost: 1024, timeCost: 1, parallelism: 1 })
      expect(await server.app.latchkey.users.setPasswordHash(user.id, weak)).toBe(true)
      expect((await server.client.login(who.email, PASSWORD, { from: who.from })).status).toBe(200)
      const upgraded = (await server.app.latchkey.users.findById(user.id))!.passwordHash
      expect(parseOptions(upgraded)).toMatchObject({ memoryCost: 19_456, timeCost: 2, parallelism: 1 })
      // Off the event loop: while logins hash, the server keeps answering cheap requests at once.
      const logins = Array.from({ length: 8 }, () =>
        server.client.login(who.email, 'wrong password', { from: fresh().from }),
      )
      const pings: number[] = []
      for (let i = 0; i < 5; i++) pings.push((await timed(() => server.client.get('/healthz'))).ms)
      const started = performance.now()
      await Promise.all(logins)
      const hashing = performance.now() - started
      expect(median(pings)).toBeLessThan(Math.max(50, hashing))
    })
  })

  it('P2 ASVS 4.0.3 V2.2.1, OWASP Authentication Cheat Sheet: same status, body and headers for unknown email and wrong password; failures limited per (address, account) with Retry-After, optionally per address; a lock-out gives the right password the same answer', async () => {
    await withServer({ loginMaxFailures: '3', loginAddressMaxFailures: '5' }, async (server) => {
      const who = fresh('p2')
      expect((await server.client.signup(who.email, PASSWORD)).status).toBe(202)
      const wrong = await server.client.login(who.email, 'nope', { from: who.from })
      const unknown = await server.client.login(fresh().email, 'nope', { from: who.from })
      expectRefused(wrong, 401, 'INVALID_CREDENTIALS', 'wrong')
      expect([unknown.status, unknown.text, unknown.headers.get('www-authenticate')]).toEqual([
        wrong.status,
        wrong.text,
        wrong.headers.get('www-authenticate'),
      ])
      for (let n = 0; n < 2; n++)
        expect((await server.client.login(who.email, 'nope', { from: who.from })).status).toBe(401)
      const locked = await server.client.login(who.email, 'nope', { from: who.from })
      expectRefused(locked, 429, 'TOO_MANY_ATTEMPTS', 'locked')
      expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0)
      const right = await server.client.login(who.email, PASSWORD, { from: who.from })
      expectRefused(right, 429, 'TOO_MANY_ATTEMPTS', 'locked, right password')
      expect(right.text).toBe(locked.text)
      // The per-address limiter: five failures over any emails from one address, then 429 for all.
      const stuffer = fresh('stuffer').from
      for (let i = 0; i < 5; i++)
        expect((await server.client.login(fresh().email, 'guess', { from: stuffer })).status).toBe(401)
      const other = fresh('victim')
      expect((await server.client.signup(other.email, PASSWORD)).status).toBe(202)
      expectRefused(
        await server.client.login(other.email, PASSWORD, { from: stuffer }),
        429,
        'TOO_MANY_ATTEMPTS',
        'per address',
      )
      expect((await server.client.login(other.email, PASSWORD, { from: other.from })).status).toBe(200)
    })
  })

  it('P3 NIST SP 800-63B §5.1.1.2, ASVS 4.0.3 V2.1.2, V2.1.3, V2.1.9: passwords of 8 to 1024 characters, longer refused before hashing, no truncation, no composition rules; a NUL is kept', async () => {
    const signup = (password: string) => hs.client.signup(fresh().email, password)
    expectRefused(await signup('1234567'), 400, 'VALIDATION_FAILED', '7')
    expect((await signup('12345678')).status).toBe(202)
    expect((await signup('x'.repeat(1024))).status).toBe(202)
    expectRefused(await timed(() => signup('x'.repeat(1025))), 400, 'VALIDATION_FAILED', '1025')
    const who = fresh('p3')
    const long = `${'a'.repeat(100)}b`
    expect((await hs.client.signup(who.email, long)).status).toBe(202)
    // bcrypt would stop at 72 bytes; argon2id takes it all.
    expectRefused(
      await hs.client.login(who.email, `${'a'.repeat(100)}c`, { from: who.from }),
      401,
      'INVALID_CREDENTIALS',
      'last character differs',
    )
    const nul = fresh('p3-nul')
    expect((await hs.client.signup(nul.email, 'abc\u0000def-secret')).status).toBe(202)
    expectRefused(
      await hs.client.login(nul.email, 'abc\u0000xyz-secret', { from: nul.from }),
      401,
      'INVALID_CREDENTIALS',
      'after the NUL',
    )
    expect((await hs.client.login(nul.email, 'abc\u0000def-secret', { from: nul.from })).status).toBe(200)
  })

  it('P4 checklist, Unicode UAX #15 (NFC): emails are trimmed, lower-cased and NFC-normalised; control characters are refused', async () => {
    const local = `p4-${Date.now().toString(36)}`
    const signup = await hs.client.signup(` ${local.toUpperCase()}@EXAMPLE.com\t`, PASSWORD)
    expect(signup.status).toBe(202)
    expect((await hs.app.latchkey.users.findByEmail(`${local}@example.com`))?.email).toBe(
      `${local}@example.com`,
    )
    const nfc = `zoë-${local}@example.com`
    expect((await hs.client.signup(nfc.normalize('NFD'), PASSWORD)).status).toBe(202)
    expect((await hs.app.latchkey.users.findByEmail(nfc.normalize('NFC')))?.email).toBe(nfc.normalize('NFC'))
    expect((await hs.client.login(nfc.normalize('NFC'), PASSWORD, { from: fresh().from })).status).toBe(200)
    expectRefused(
      await hs.client.signup(`${local}\u0000x@example.com`, PASSWORD),
      400,
      'VALIDATION_FAILED',
      'NUL',
    )
    expectRefused(
      await hs.client.signup(`${local}\u200bx@example.com`, PASSWORD),
      400,
      'VALIDATION_FAILED',
      'ZWSP',
    )
  })
})

describe('Responses and operations', () => {
  it('R1 RFC 6749 §5.1, RFC 6750 §3: token responses carry Cache-Control: no-store; errors are JSON {msg, code}; 401s carry WWW-Authenticate: Bearer', async () => {
    const session = await newSession(hs)
    const login = await hs.client.login(session.email, PASSWORD, { from: session.from })
    const refreshed = await hs.client.post<TokenBody>('/auth/refresh', undefined, { token: session.refresh })
    for (const reply of [login, refreshed]) {
      expect(reply.status).toBe(200)
      expect(reply.headers.get('cache-control')).toBe('no-store')
    }
    const error = await meWith(hs, 'garbage')
    expectRefused(error, 401, 'TOKEN_INVALID', 'garbage')
    expect(Object.keys(error.body).sort()).toEqual(['code', 'msg'])
    expect(error.headers.get('content-type')).toMatch(/^application\/json/)
    expect(error.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/)
    const missing = await me(hs)
    expectRefused(missing, 401, 'TOKEN_MISSING', 'missing')
    const csrf = await hs.client.request('POST', '/probe', {
      headers: { cookie: `access_token_cookie=${alice.access}` },
      body: '{}',
    })
    expect(Object.keys(csrf.body).sort()).toEqual(['code', 'msg'])
  })

  it('R2 ASVS 4.0.3 V7.1.1, V7.1.2: logs never contain passwords, tokens or cookies (they name the jti)', async () => {
    await withServer({}, async (server) => {
      const secret = 'a very secret password 1234'
      const who = fresh('logs')
      expect((await server.client.signup(who.email, secret)).status).toBe(202)
      expect((await server.client.login(who.email, 'wrong horse', { from: who.from })).status).toBe(401)
      const login = await server.client.login(who.email, secret, { from: who.from })
      const csrf = cookieValue(login.cookies, 'csrf_access_token')!
      await server.client.get('/auth/me', { cookies: login.cookies })
      await server.client.get('/auth/me', { token: login.body.access_token })
      const refreshed = await server.client.post<TokenBody>('/auth/refresh', {
        refresh_token: login.body.refresh_token,
      })
      const logout = await server.client.post('/auth/logout', undefined, {
        token: refreshed.body.access_token,
      })
      // A second login, logged out through its cookies and CSRF header.
      const second = await server.client.login(who.email, secret, { from: who.from })
      const cookieLogout = await server.client.post('/auth/logout', undefined, {
        cookies: second.cookies,
        headers: { 'x-csrf-token': cookieValue(second.cookies, 'csrf_access_token')! },
      })
      expect(cookieLogout.status).toBe(200)
      expect(logout.status).toBe(200)
      const logs = server.logs.join('\n')
      for (const [what, value] of [
        ['password', secret],
        ['wrong password', 'wrong horse'],
        ['access token', login.body.access_token.split('.')[2]!],
        ['refresh token', login.body.refresh_token.split('.')[2]!],
        ['rotated token', refreshed.body.refresh_token.split('.')[2]!],
        ['csrf value', csrf],
        ['second access cookie', second.body.access_token.split('.')[2]!],
      ] as const) {
        expect(logs.includes(value), what).toBe(false)
      }
      const jti = JSON.parse(
        Buffer.from(refreshed.body.access_token.split('.')[1]!, 'base64url').toString(),
      ).jti
      expect(logs).toContain(jti)
    })
  })

  it('R3 checklist "fail closed": a revocation store that cannot answer means refusing (503 REVOCATION_UNAVAILABLE), never accepting', async () => {
    await withServer({}, async (server) => {
      const session = await newSession(server)
      expect((await meWith(server, session.access)).status).toBe(200)
      // The database (the store here) goes away under the running server.
      await server.app.latchkey.database.close()
      const reply = await meWith(server, session.access)
      expectRefused(reply, 503, 'REVOCATION_UNAVAILABLE', 'me')
      expect(reply.headers.get('retry-after')).toBe('1')
      expectRefused(
        await timed(() => server.client.post('/auth/refresh', undefined, { token: session.refresh })),
        503,
        'REVOCATION_UNAVAILABLE',
        'refresh',
      )
    })
    // Redis and PostgreSQL outages: test/security/faults.test.ts.
  })

  it('R4 checklist "no seconds-resolution cut-off": a new login right after logout-all or a password change works', async () => {
    const session = await newSession(hs)
    expect((await hs.client.post('/auth/logout-all', undefined, { token: session.access })).status).toBe(200)
    const again = await loginSession(hs, session)
    expect((await meWith(hs, again.access)).status).toBe(200)
    const changed = await hs.client.post<TokenBody>(
      '/auth/password',
      { current_password: PASSWORD, new_password: 'a brand new password' },
      { token: again.access },
    )
    expect(changed.status).toBe(200)
    expect((await meWith(hs, changed.body.access_token)).status).toBe(200)
    const third = await loginSession(hs, { ...session, password: 'a brand new password' })
    expect((await meWith(hs, third.access)).status).toBe(200)
    expectRefused(await meWith(hs, again.access), 401, 'TOKEN_REVOKED', 'before the change')
  })

  it('R5 RFC 6819 §5.2.2.3, OAuth 2.0 Security BCP §4.14.2: of concurrent refreshes with one refresh token exactly one wins; reuse revokes the family', async () => {
    const session = await newSession(hs)
    const replies = await Promise.all(
      Array.from({ length: 10 }, () =>
        hs.client.post<TokenBody>('/auth/refresh', undefined, { token: session.refresh }),
      ),
    )
    expect(replies.filter((r) => r.status === 200)).toHaveLength(1)
    for (const reply of replies.filter((r) => r.status !== 200))
      expectRefused(reply, 401, 'TOKEN_REVOKED', 'loser')
    const winner = replies.find((r) => r.status === 200)!
    expectRefused(await meWith(hs, winner.body.access_token), 401, 'TOKEN_REVOKED', 'family revoked')
    expectRefused(await meWith(hs, session.access), 401, 'TOKEN_REVOKED', 'original access')
  })
})
