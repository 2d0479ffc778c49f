/**
 * Attacks on tokens and token locations, over HTTP against the reference server. The core-level
 * versions of most of these live in test/core/tokens.test.ts, test/core/keys.test.ts and
 * test/core/guard.test.ts; this file shows that the server, with its adapter, body parser, header
 * limits and error handler, answers each with the exact status and code, never a 500, and within
 * {@link BOUND_MS} (a robustness bound, not a benchmark).
 *
 * Three servers: HS256 with the harness's known test secret (so claims attacks can be signed with
 * the server's real key: only the claims checks can refuse them), and ES256 and RS256 with key files
 * written here (key confusion, psychic signatures, header key sources).
 */
import { createHmac, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { forge } from '../core/helpers.js'
import { tempDir } from '../server/helpers.js'
import {
  BOUND_MS,
  b64,
  claimsFor,
  expectRefused,
  forgeHS,
  headerOf,
  me,
  meWith,
  newSession,
  rawCode,
  rawGet,
  type SecurityServer,
  type Session,
  startSecurityServer,
  TEST_SECRET,
  timed,
} from './helpers.js'

const keys = tempDir('latchkey-security-keys-')
const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
const attackerEc = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
const otherRsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
const pem = (key: KeyObject) => key.export({ type: 'pkcs8', format: 'pem' }) as string
writeFileSync(join(keys.dir, 'es256.pem'), pem(ec.privateKey), { mode: 0o600 })
writeFileSync(join(keys.dir, 'rs256.pem'), pem(rsa.privateKey), { mode: 0o600 })

let hs: SecurityServer
let es: SecurityServer
let rs: SecurityServer
let alice: Session
let esUser: Session
let rsUser: Session

beforeAll(async () => {
  ;[hs, es, rs] = await Promise.all([
    startSecurityServer({ loginMaxFailures: '1000' }, { probes: true }),
    startSecurityServer({ privateKeyFile: join(keys.dir, 'es256.pem'), algorithm: 'ES256' }),
    startSecurityServer({ privateKeyFile: join(keys.dir, 'rs256.pem'), algorithm: 'RS256' }),
  ])
  ;[alice, esUser, rsUser] = await Promise.all([newSession(hs), newSession(es), newSession(rs)])
})

afterAll(async () => {
  await Promise.all([hs?.close(), es?.close(), rs?.close()])
  keys.remove()
})

/** A correctly signed token of the HS server for alice, with claim overrides. */
const hsToken = (overrides: Record<string, unknown> = {}, header?: unknown) =>
  forgeHS(header ?? headerOf(alice.access), claimsFor(alice.id, overrides))

/** A token signed by `key` for `alg` (need not match the header) with the given header and claims. */
const signed = (
  alg: 'ES256' | 'RS256' | 'PS256' | 'ES384',
  key: KeyObject,
  header: unknown,
  claims: unknown,
) => forge(alg, key, header, claims)

describe('algorithm attacks (RFC 8725 §3.1, §3.2; jsonwebtoken 2015; CVE-2022-23540)', () => {
  it('controls: a token forged with the right key and valid claims is accepted by each server', async () => {
    expect((await meWith(hs, hsToken())).status).toBe(200)
    const esHeader = headerOf(esUser.access)
    expect((await meWith(es, signed('ES256', ec.privateKey, esHeader, claimsFor(esUser.id)))).status).toBe(
      200,
    )
    const rsHeader = headerOf(rsUser.access)
    expect((await meWith(rs, signed('RS256', rsa.privateKey, rsHeader, claimsFor(rsUser.id)))).status).toBe(
      200,
    )
  })

  for (const alg of ['none', 'None', 'NONE', 'nOnE', 'NoNe']) {
    it(`RFC 8725 §3.1: alg "${alg}" with an empty, a kept and no signature → 401 TOKEN_INVALID`, async () => {
      for (const [server, user] of [
        [hs, alice],
        [es, esUser],
      ] as const) {
        const [, payload, signature] = user.access.split('.')
        const header = b64({ alg, typ: 'JWT' })
        for (const token of [`${header}.${payload}.`, `${header}.${payload}.${signature}`]) {
          expectRefused(await meWith(server, token), 401, 'TOKEN_INVALID', `${alg} ${token.slice(-5)}`)
        }
        // Two segments: refused too (the Authorization value is a well-formed Bearer token).
        expectRefused(await meWith(server, `${header}.${payload}`), 401, 'TOKEN_INVALID', `${alg} 2 segments`)
      }
    })
  }

  describe('key confusion: HS256 signed with the server public key as the HMAC secret', () => {
    const spki = (key: KeyObject) => key.export({ type: 'spki', format: 'pem' }) as string
    const cases = (publicKey: KeyObject, rsaKey: boolean): [string, string | Buffer][] => [
      ['spki PEM', spki(publicKey)],
      ['spki PEM without white space', spki(publicKey).replace(/\s+/g, '')],
      ['spki PEM without its final newline', spki(publicKey).trimEnd()],
      ['DER', publicKey.export({ type: 'spki', format: 'der' })],
      ['JWK text', JSON.stringify(publicKey.export({ format: 'jwk' }))],
      ...(rsaKey
        ? ([['PKCS#1 PEM', publicKey.export({ type: 'pkcs1', format: 'pem' }) as string]] as [
            string,
            string,
          ][])
        : []),
    ]

    it.each(['RS256', 'ES256'] as const)(
      'jsonwebtoken 2015 / CVE-2022-23540 on the %s server → 401 TOKEN_INVALID',
      async (name) => {
        const server = name === 'RS256' ? rs : es
        const user = name === 'RS256' ? rsUser : esUser
        const publicKey = name === 'RS256' ? rsa.publicKey : ec.publicKey
        // The published JWKS is where an attacker takes the key from.
        const jwks = await server.client.get<{ keys: JsonWebKey[] }>('/.well-known/jwks.json')
        expect(jwks.status).toBe(200)
        const published = createPublicKey({ key: jwks.body.keys[0]! as never, format: 'jwk' })
        expect(published.export({ format: 'jwk' })).toEqual(publicKey.export({ format: 'jwk' }))
        const kid = headerOf(user.access).kid
        for (const [what, secret] of cases(published, name === 'RS256')) {
          for (const header of [
            { alg: 'HS256', typ: 'JWT' },
            { alg: 'HS256', typ: 'JWT', kid },
          ]) {
            const token = forgeHS(header, claimsFor(user.id), secret)
            expectRefused(await meWith(server, token), 401, 'TOKEN_INVALID', `${what} kid=${'kid' in header}`)
          }
        }
      },
    )
  })

  it('RFC 8725 §3.1: an algorithm outside the configured key set → 401 TOKEN_INVALID', async () => {
    const claims = claimsFor(alice.id)
    const kid = headerOf(alice.access).kid
    // The same secret under HS384/HS512: only the key binding can refuse it.
    for (const [alg, hash] of [
      ['HS384', 'sha384'],
      ['HS512', 'sha512'],
    ] as const) {
      const input = `${b64({ alg, typ: 'JWT', kid })}.${b64(claims)}`
      const token = `${input}.${createHmac(hash, TEST_SECRET).update(input).digest('base64url')}`
      expectRefused(await meWith(hs, token), 401, 'TOKEN_INVALID', alg)
    }
    // RS256 to the HS server, PS256 with the right RSA key to the RS256 server, ES384 to the ES256 one.
    expectRefused(
      await meWith(hs, signed('RS256', otherRsa.privateKey, { alg: 'RS256' }, claims)),
      401,
      'TOKEN_INVALID',
      'RS256 on HS',
    )
    const rsKid = headerOf(rsUser.access).kid
    expectRefused(
      await meWith(rs, signed('PS256', rsa.privateKey, { alg: 'PS256', kid: rsKid }, claimsFor(rsUser.id))),
      401,
      'TOKEN_INVALID',
      'PS256 on RS256',
    )
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' })
    expectRefused(
      await meWith(es, signed('ES384', p384.privateKey, { alg: 'ES384' }, claimsFor(esUser.id))),
      401,
      'TOKEN_INVALID',
      'ES384 on ES256',
    )
    for (const alg of ['hs256', 'HS256 ', '', null, 256, ['HS256']]) {
      expectRefused(
        await meWith(hs, forgeHS({ alg, typ: 'JWT', kid }, claims)),
        401,
        'TOKEN_INVALID',
        `alg ${JSON.stringify(alg)}`,
      )
    }
  })

  it('CVE-2022-21449: an ES256 signature of all zeros (raw, DER, one byte longer) → 401 TOKEN_INVALID', async () => {
    const input = `${b64(headerOf(esUser.access))}.${b64(claimsFor(esUser.id))}`
    for (const sig of [Buffer.alloc(64), Buffer.from('3006020100020100', 'hex'), Buffer.alloc(65)]) {
      expectRefused(
        await meWith(es, `${input}.${sig.toString('base64url')}`),
        401,
        'TOKEN_INVALID',
        `${sig.length} bytes`,
      )
    }
  })

  it('RFC 7515 §5.2: a stripped, truncated or borrowed signature → 401 TOKEN_INVALID', async () => {
    const bob = await newSession(hs)
    for (const [server, user, other] of [
      [hs, alice, bob.access],
      [es, esUser, es.app.latchkey.auth.createAccessToken(esUser.id)],
      [rs, rsUser, rs.app.latchkey.auth.createAccessToken(rsUser.id)],
    ] as const) {
      const [h, p, s] = user.access.split('.')
      const borrowed = other.split('.')[2]
      for (const token of [`${h}.${p}.`, `${h}.${p}.${s!.slice(0, 20)}`, `${h}.${p}.${borrowed}`]) {
        expectRefused(await meWith(server, token), 401, 'TOKEN_INVALID', token.slice(-12))
      }
    }
  })

  it('RFC 7515 §4.1.11: any crit header, even on a correctly signed token → 401 TOKEN_INVALID', async () => {
    const header = headerOf(alice.access)
    for (const crit of [['x-unknown'], ['exp'], ['b64'], [], 'exp']) {
      const token = hsToken({}, { ...header, crit, 'x-unknown': true, exp: 1, b64: true })
      expectRefused(await meWith(hs, token), 401, 'TOKEN_INVALID', JSON.stringify(crit))
    }
  })

  describe('RFC 8725 §3.10 / RFC 7515 §4.1.2–4.1.6: jku, x5u, jwk and x5c are never a source of keys', () => {
    const attackerJwk = attackerEc.publicKey.export({ format: 'jwk' })

    it('an attacker-signed token naming its key in any of them → 401 TOKEN_INVALID', async () => {
      const serverKid = headerOf(esUser.access).kid
      for (const [what, extra] of [
        ['jwk', { jwk: attackerJwk }],
        ['jwk with the server kid', { jwk: { ...attackerJwk, kid: serverKid }, kid: serverKid }],
        ['jku', { jku: 'http://127.0.0.1:1/jwks.json', kid: 'attacker' }],
        ['jku with the server kid', { jku: 'http://127.0.0.1:1/jwks.json', kid: serverKid }],
        ['x5u', { x5u: 'http://127.0.0.1:1/cert.pem' }],
        ['x5c', { x5c: [b64('not really a certificate')] }],
      ] as const) {
        const token = signed('ES256', attackerEc.privateKey, { alg: 'ES256', ...extra }, claimsFor(esUser.id))
        expectRefused(await meWith(es, token), 401, 'TOKEN_INVALID', what)
      }
    })

    it('the same headers on a token the server key signed are ignored (200)', async () => {
      const header = {
        ...headerOf(esUser.access),
        jwk: attackerJwk,
        jku: 'http://127.0.0.1:1/jwks.json',
        x5u: 'http://127.0.0.1:1/cert.pem',
        x5c: ['AAAA'],
      }
      expect((await meWith(es, signed('ES256', ec.privateKey, header, claimsFor(esUser.id)))).status).toBe(
        200,
      )
    })
  })

  it('kid is only a Map lookup: path traversal, SQL, prototype names, unknown ids → 401 TOKEN_INVALID', async () => {
    const kids = [
      '../../../../../../dev/null',
      '../latchkey-secret.key',
      '/etc/passwd',
      "' OR '1'='1",
      "x'; DROP TABLE users; --",
      '__proto__',
      'constructor',
      'toString',
      'hasOwnProperty',
      'unknown-key',
      '',
      'k'.repeat(2_000),
    ]
    for (const kid of kids) {
      // Signed with the real secret: only the kid lookup can refuse it.
      expectRefused(
        await meWith(hs, hsToken({}, { alg: 'HS256', typ: 'JWT', kid })),
        401,
        'TOKEN_INVALID',
        kid,
      )
      // And with the contents such a path would hold (empty for /dev/null).
      expectRefused(
        await meWith(hs, forgeHS({ alg: 'HS256', kid }, claimsFor(alice.id), '')),
        401,
        'TOKEN_INVALID',
        `${kid} empty secret`,
      )
    }
    for (const kid of [1, null, true, ['x'], { k: 1 }]) {
      expectRefused(
        await meWith(hs, hsToken({}, { alg: 'HS256', kid })),
        401,
        'TOKEN_INVALID',
        JSON.stringify(kid),
      )
    }
    // The users table is still there.
    expect((await meWith(hs, alice.access)).status).toBe(200)
  })
})

describe('claims (RFC 7519 §4.1, RFC 8725 §3.8–3.11), signed with the server key', () => {
  it('RFC 7519 §4.1.4: missing exp → TOKEN_INVALID; past exp → TOKEN_EXPIRED; far-future exp is accepted', async () => {
    const now = Math.floor(Date.now() / 1000)
    expectRefused(await meWith(hs, hsToken({ exp: undefined })), 401, 'TOKEN_INVALID', 'missing')
    expectRefused(await meWith(hs, hsToken({ exp: now - 1 })), 401, 'TOKEN_EXPIRED', 'past')
    expectRefused(await meWith(hs, hsToken({ exp: -1 })), 401, 'TOKEN_EXPIRED', 'negative')
    expectRefused(await meWith(hs, hsToken({ exp: 0 })), 401, 'TOKEN_EXPIRED', 'zero')
    // A number is a number: fractional and huge values are compared, not refused for their type.
    expect((await meWith(hs, hsToken({ exp: now + 100.5 }))).status).toBe(200)
    expect((await meWith(hs, hsToken({ exp: 1e300 }))).status).toBe(200)
  })

  it('RFC 7519 §4.1.5: future nbf → TOKEN_NOT_YET_VALID; past or missing nbf is accepted', async () => {
    const now = Math.floor(Date.now() / 1000)
    expectRefused(await meWith(hs, hsToken({ nbf: now + 60 })), 401, 'TOKEN_NOT_YET_VALID', 'future')
    expect((await meWith(hs, hsToken({ nbf: now - 60 }))).status).toBe(200)
    expect((await meWith(hs, hsToken({ nbf: undefined }))).status).toBe(200)
  })

  it('RFC 7519 §2 NumericDate: exp, nbf, iat of the wrong type → 401 TOKEN_INVALID', async () => {
    const later = Math.floor(Date.now() / 1000) + 900
    const wrong = [String(later), [later], { n: later }, null, true, '']
    for (const claim of ['exp', 'nbf', 'iat', 'iat_ms']) {
      for (const value of wrong) {
        expectRefused(
          await meWith(hs, hsToken({ [claim]: value })),
          401,
          'TOKEN_INVALID',
          `${claim}=${JSON.stringify(value)}`,
        )
      }
    }
    // Infinity and NaN cannot be written in JSON; 1e400 parses to Infinity and must not pass as "never".
    const base = JSON.stringify(claimsFor(alice.id))
      .slice(1, -1)
      .replace(/"exp":\d+,?/, '')
    for (const text of ['1e400', '-1e400']) {
      const token = forgeHS(headerOf(alice.access), `{${base},"exp":${text}}`)
      expectRefused(await meWith(hs, token), 401, 'TOKEN_INVALID', `exp ${text}`)
    }
  })

  it('sub: missing, empty or not a string → TOKEN_INVALID; an unknown id → USER_NOT_FOUND', async () => {
    for (const sub of [undefined, '', 42, ['x'], { id: alice.id }, null, true]) {
      expectRefused(
        await meWith(hs, hsToken({ sub })),
        401,
        'TOKEN_INVALID',
        `sub=${JSON.stringify(sub) ?? 'missing'}`,
      )
    }
    for (const sub of [
      'no-such-user',
      '__proto__',
      'constructor',
      "' OR '1'='1",
      '00000000-0000-0000-0000-000000000000',
    ])
      expectRefused(await meWith(hs, hsToken({ sub })), 401, 'USER_NOT_FOUND', sub)
  })

  it('RFC 7519 §4.1.3: a token with aud is refused, the server having no audience configured', async () => {
    for (const aud of ['latchkey', ['latchkey'], 'https://api.example', [], 1]) {
      expectRefused(await meWith(hs, hsToken({ aud })), 401, 'TOKEN_INVALID', JSON.stringify(aud))
    }
  })

  it('iss: any non-string is refused; the server configures no issuer, so a string is not compared (core: test/core/tokens.test.ts "iss")', async () => {
    for (const iss of [1, ['a'], { a: 1 }, true, null]) {
      expectRefused(await meWith(hs, hsToken({ iss })), 401, 'TOKEN_INVALID', JSON.stringify(iss))
    }
    expect((await meWith(hs, hsToken({ iss: 'https://anyone.example' }))).status).toBe(200)
  })

  it('RFC 8725 §3.11 type confusion: refresh on /auth/me and access on /auth/refresh → WRONG_TOKEN_TYPE', async () => {
    expectRefused(await meWith(hs, alice.refresh), 401, 'WRONG_TOKEN_TYPE', 'refresh as access')
    expectRefused(
      await timed(() => hs.client.post('/auth/refresh', undefined, { token: alice.access })),
      401,
      'WRONG_TOKEN_TYPE',
      'access as refresh',
    )
    expectRefused(
      await timed(() => hs.client.post('/auth/refresh', { refresh_token: alice.access })),
      401,
      'WRONG_TOKEN_TYPE',
      'access as refresh in the body',
    )
    // Missing or unknown types are not a kind at all.
    for (const type of [undefined, 'ACCESS', 'id', '', 1, null]) {
      expectRefused(await meWith(hs, hsToken({ type })), 401, 'TOKEN_INVALID', `type=${JSON.stringify(type)}`)
    }
  })

  it('a fresh claim forged on a refresh token never makes anything fresh', async () => {
    const forged = hsToken({ type: 'refresh', fresh: true, fam: 'forged-family' })
    const password = { current_password: alice.password, new_password: 'another long password' }
    expectRefused(
      await timed(() => hs.client.post('/auth/password', password, { token: forged })),
      401,
      'WRONG_TOKEN_TYPE',
      'refresh on the fresh route',
    )
    const refreshed = await hs.client.post<{ access_token: string }>('/auth/refresh', undefined, {
      token: forged,
    })
    expect(refreshed.status).toBe(200)
    const claims = JSON.parse(Buffer.from(refreshed.body.access_token.split('.')[1]!, 'base64url').toString())
    expect(claims.fresh).toBe(false)
    expectRefused(
      await timed(() => hs.client.post('/auth/password', password, { token: refreshed.body.access_token })),
      401,
      'FRESH_TOKEN_REQUIRED',
      'access from the forged refresh',
    )
  })

  it('duplicate JSON keys: the last one wins, as in jose (RFC 7515 §4: refuse or take the last)', async () => {
    const header = JSON.stringify(headerOf(alice.access))
    const body = JSON.stringify(claimsFor(alice.id)).slice(1, -1)
    // The same claims with sub given twice: the second (unknown) one is the identity.
    const twoSubs = forgeHS(
      header,
      `{"sub":"${alice.id}",${body.replace(/"sub":"[^"]*",/, '')},"sub":"nobody"}`,
    )
    expectRefused(await meWith(hs, twoSubs), 401, 'USER_NOT_FOUND', 'sub twice')
    const typeTwice = forgeHS(header, `{${body},"type":"refresh"}`)
    expectRefused(await meWith(hs, typeTwice), 401, 'WRONG_TOKEN_TYPE', 'type twice')
    const algTwice = forgeHS(
      `{"alg":"HS256","kid":"${headerOf(alice.access).kid}","alg":"none"}`,
      `{${body}}`,
    )
    expectRefused(await meWith(hs, algTwice), 401, 'TOKEN_INVALID', 'alg twice, none last')
    const algNoneFirst = forgeHS(
      `{"alg":"none","kid":"${headerOf(alice.access).kid}","alg":"HS256"}`,
      `{${body}}`,
    )
    expect((await meWith(hs, algNoneFirst)).status).toBe(200)
  })

  it('__proto__ and constructor members are data: no pollution, no stand-in for missing claims', async () => {
    const body = JSON.stringify(claimsFor(alice.id)).slice(1, -1)
    const header = JSON.stringify(headerOf(alice.access))
    const polluting = forgeHS(
      header,
      `{"__proto__":{"polluted":"yes","isAdmin":true},"constructor":{"prototype":{"polluted":"yes"}},${body}}`,
    )
    expect((await meWith(hs, polluting)).status).toBe(200)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined()
    // A __proto__ member cannot supply a claim that is missing.
    const withoutType = JSON.stringify(claimsFor(alice.id, { type: undefined })).slice(1, -1)
    const standIn = forgeHS(header, `{"__proto__":{"type":"access"},${withoutType}}`)
    expectRefused(await meWith(hs, standIn), 401, 'TOKEN_INVALID', 'type from __proto__')
    const subStandIn = forgeHS(
      header,
      `{"__proto__":{"sub":"${alice.id}"},${JSON.stringify(claimsFor(alice.id, { sub: undefined })).slice(1, -1)}}`,
    )
    expectRefused(await meWith(hs, subStandIn), 401, 'TOKEN_INVALID', 'sub from __proto__')
    // Nor can a __proto__ header member supply or change the algorithm.
    const headerProto = forgeHS(`{"__proto__":{"alg":"none"},${header.slice(1)}`, `{${body}}`)
    expect((await meWith(hs, headerProto)).status).toBe(200)
    const headerOnlyProto = forgeHS('{"__proto__":{"alg":"HS256"}}', `{${body}}`)
    expectRefused(await meWith(hs, headerOnlyProto), 401, 'TOKEN_INVALID', 'alg from __proto__')
    // The request bodies too: Fastify's parser refuses __proto__ keys (secure-json-parse).
    const reply = await timed(() =>
      hs.client.request('POST', '/auth/login', {
        body: `{"email":"a@example.com","password":"x","__proto__":{"polluted":1}}`,
      }),
    )
    expectRefused(reply, 400, 'INVALID_JSON', 'body __proto__')
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })
})

describe('encoding (RFC 7515 §7.1, RFC 4648 §5; express-jwt/fast-jwt advisories)', () => {
  /** A real token whose segments contain "-" or "_" (so alphabet swaps change it). */
  function tokenWithUrlChars(): string {
    for (let i = 0; i < 500; i++) {
      const token = hs.app.latchkey.auth.createAccessToken(alice.id, { claims: { n: i, k: '??>>~~' } })
      const [, p, s] = token.split('.')
      if (/[-_]/.test(p!) && /[-_]/.test(s!)) return token
    }
    throw new Error('no token with - or _')
  }

  it('the standard alphabet, padding and non-canonical trailing bits → 401 TOKEN_INVALID', async () => {
    const token = tokenWithUrlChars()
    expect((await meWith(hs, token)).status).toBe(200)
    const parts = token.split('.')
    const variants: [string, string][] = []
    for (const i of [1, 2]) {
      const swapped = [...parts]
      swapped[i] = parts[i]!.replace(/-/g, '+').replace(/_/g, '/')
      variants.push([`segment ${i} in the standard alphabet`, swapped.join('.')])
      const padded = [...parts]
      padded[i] = `${parts[i]}${'='.repeat((4 - (parts[i]!.length % 4)) % 4 || 4)}`
      variants.push([`segment ${i} padded`, padded.join('.')])
    }
    // The signature: 32 bytes = 43 characters, the last one carrying 2 unused bits. Changing them
    // gives the same bytes to Node's decoder: a second spelling of one token.
    const sig = parts[2]!
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    const last = alphabet.indexOf(sig.at(-1)!)
    for (let bits = 1; bits < 4; bits++) {
      const other = `${sig.slice(0, -1)}${alphabet[(last & ~3) | ((last + bits) & 3)]}`
      expect(Buffer.from(other, 'base64url').equals(Buffer.from(sig, 'base64url'))).toBe(true)
      variants.push([`signature with trailing bits ${bits}`, `${parts[0]}.${parts[1]}.${other}`])
    }
    for (const [what, variant] of variants)
      expectRefused(await meWith(hs, variant), 401, 'TOKEN_INVALID', what)
    // White space inside the Authorization value is not part of a Bearer token.
    for (const [what, value] of [
      ['a space', `Bearer ${parts[0]}. ${parts[1]}.${parts[2]}`],
      ['a tab', `Bearer ${parts[0]}.\t${parts[1]}.${parts[2]}`],
    ]) {
      expectRefused(await me(hs, value!), 401, 'TOKEN_INVALID', what)
    }
    // Characters outside any base64 alphabet.
    for (const bad of ['*', '%3D', '!', 'é', '\\'])
      expectRefused(await meWith(hs, `${parts[0]}.${parts[1]}${bad}.${parts[2]}`), 401, 'TOKEN_INVALID', bad)
  })

  it('two, four or five segments (JWE-shaped) and empty segments → 401 TOKEN_INVALID', async () => {
    const [h, p, s] = alice.access.split('.')
    const jweHeader = b64({ alg: 'dir', enc: 'A256GCM', kid: headerOf(alice.access).kid })
    for (const [what, token] of [
      ['two', `${h}.${p}`],
      ['four', `${h}.${p}.${s}.${s}`],
      ['a trailing dot', `${h}.${p}.${s}.`],
      [
        'five, JWE-shaped',
        `${jweHeader}.${b64('key')}.${b64('iv-iv-iv-iv')}.${b64('ciphertext')}.${b64('tag')}`,
      ],
      ['five with the real header', `${h}..${b64('iv')}.${p}.${s}`],
      ['empty', '..'],
      ['empty header', `.${p}.${s}`],
      ['empty payload', `${h}..${s}`],
      ['one dot', '.'],
      ['no dot', 'abc'],
    ] as const) {
      expectRefused(await meWith(hs, token), 401, 'TOKEN_INVALID', what)
    }
  })

  it('signed headers and payloads that are not UTF-8 JSON objects → 401 TOKEN_INVALID', async () => {
    const header = JSON.stringify(headerOf(alice.access))
    const claims = JSON.stringify(claimsFor(alice.id))
    for (const [what, h, p] of [
      ['payload not JSON', header, 'not json'],
      ['payload an array', header, `[${claims}]`],
      ['payload a string', header, JSON.stringify(claims)],
      ['payload null', header, 'null'],
      ['payload a number', header, '42'],
      ['payload with a trailing comma', header, `${claims.slice(0, -1)},}`],
      ['payload single-quoted', header, claims.replace(/"/g, "'")],
      ['header not JSON', '{alg:HS256}', claims],
      ['header an array', `[${header}]`, claims],
    ] as const) {
      expectRefused(await meWith(hs, forgeHS(h, p)), 401, 'TOKEN_INVALID', what)
    }
    // Invalid UTF-8 in a signed payload (a lone continuation byte).
    const bytes = Buffer.concat([Buffer.from(claims.slice(0, -1)), Buffer.from(',"x":"\x80"}', 'latin1')])
    const input = `${b64(header)}.${bytes.toString('base64url')}`
    const token = `${input}.${createHmac('sha256', TEST_SECRET).update(input).digest('base64url')}`
    expectRefused(await meWith(hs, token), 401, 'TOKEN_INVALID', 'invalid UTF-8')
  })

  it('deep nesting: the deepest payload that fits in 8 KiB decodes fast; 100k levels are refused fast', async () => {
    // About 2 900 levels of arrays fit in a token of 8 KiB; signed with the right key, the claims
    // decode (JSON.parse and the iterative freeze) and the request is served.
    const depth = 2_900
    const base = JSON.stringify(claimsFor(alice.id)).slice(1, -1)
    const deep = forgeHS(headerOf(alice.access), `{${base},"n":${'['.repeat(depth)}${']'.repeat(depth)}}`)
    expect(deep.length).toBeLessThanOrEqual(8_192)
    const served = await meWith(hs, deep)
    expect(served.status).toBe(200)
    expect(served.ms).toBeLessThan(BOUND_MS)
    // Deep nesting in the header is parsed before the signature check: refused, unsigned.
    const deepHeader = `${b64(`{"alg":"HS256","x":${'['.repeat(2_000)}${']'.repeat(2_000)}}`)}.${b64(`{${base}}`)}.sig`
    expect(deepHeader.length).toBeLessThanOrEqual(8_192)
    expectRefused(await meWith(hs, deepHeader), 401, 'TOKEN_INVALID', 'deep header')
    // 100 000 levels (200 000 characters): over 8 KiB, refused before any parsing; as a header it is
    // over Node's 16 KiB header limit (431 from Node's parser, in the server's {msg, code} shape).
    const huge = forgeHS(headerOf(alice.access), `{${base},"n":${'['.repeat(100_000)}${']'.repeat(100_000)}}`)
    const asHeader = await rawGet(hs.port, '/auth/me', [`Authorization: Bearer ${huge}`])
    expect(asHeader.status).toBe(431)
    expect(JSON.parse(asHeader.body)).toEqual({ msg: 'Request headers too large', code: 'HEADERS_TOO_LARGE' })
    expect(asHeader.ms).toBeLessThan(BOUND_MS)
    // In a JSON body it is over the 64 KiB body limit: 413 PAYLOAD_TOO_LARGE.
    const asBody = await timed(() =>
      hs.client.request('POST', '/auth/refresh', { body: JSON.stringify({ refresh_token: huge }) }),
    )
    expectRefused(asBody, 413, 'PAYLOAD_TOO_LARGE', '100k levels in the body')
    // As the body itself (30 000 levels, under 64 KiB): parsed by Fastify, not a string, refused.
    const nestedBody = await timed(() =>
      hs.client.request('POST', '/auth/refresh', {
        body: `{"refresh_token":${'['.repeat(30_000)}${']'.repeat(30_000)}}`,
      }),
    )
    expectRefused(nestedBody, 401, 'TOKEN_INVALID', '30k levels as the refresh token')
    const nestedObject = await timed(() =>
      hs.client.request('POST', '/auth/login', {
        body: `{"email":"a@example.com","password":"x","deep":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}`,
      }),
    )
    expectRefused(nestedObject, 401, 'INVALID_CREDENTIALS', '10k nested objects next to a login')
    expect((await hs.client.get('/healthz')).status).toBe(200)
  })

  it('oversized tokens (> 8 KiB) → TOKEN_INVALID before parsing; a 64 KiB header → 431 from Node, no crash', async () => {
    // Correctly signed, but too long: refused on its length alone.
    const big = hsToken({ padding: 'x'.repeat(9_000) })
    expectRefused(await meWith(hs, big), 401, 'TOKEN_INVALID', 'signed, 9 KiB')
    expectRefused(await meWith(hs, 'a'.repeat(8_193)), 401, 'TOKEN_INVALID', 'junk, 8 KiB + 1')
    expectRefused(await meWith(hs, `${'a'.repeat(8_190)}.b.c`), 401, 'TOKEN_INVALID', 'junk, three segments')
    expectRefused(
      await timed(() => hs.client.post('/auth/refresh', { refresh_token: `${'a'.repeat(40_000)}.b.c` })),
      401,
      'TOKEN_INVALID',
      'in the body',
    )
    const bigCookie = await me(hs, undefined, { cookie: `access_token_cookie=${'a'.repeat(12_000)}` })
    expectRefused(bigCookie, 401, 'TOKEN_INVALID', 'in a cookie')
    for (const size of [64 * 1024, 1024 * 1024]) {
      const reply = await rawGet(hs.port, '/auth/me', [`Authorization: Bearer ${'a'.repeat(size)}`])
      expect(reply.status, `${size}`).toBe(431)
      expect(JSON.parse(reply.body).code, `${size}`).toBe('HEADERS_TOO_LARGE')
      expect(reply.ms).toBeLessThan(BOUND_MS)
    }
    // Many headers, each small.
    const many = Array.from({ length: 2_000 }, (_, i) => `X-Filler-${i}: ${'v'.repeat(8)}`)
    const flood = await rawGet(hs.port, '/auth/me', many)
    expect([400, 431]).toContain(flood.status)
    expect(JSON.parse(flood.body).code).toBe(flood.status === 431 ? 'HEADERS_TOO_LARGE' : 'BAD_REQUEST')
    expect(flood.ms).toBeLessThan(BOUND_MS)
    // The server is still up and serving.
    expect((await meWith(hs, alice.access)).status).toBe(200)
  })
})

describe('token locations (RFC 6750 §2; Flask-JWT-Extended precedence)', () => {
  const cookie = (token: string) => `access_token_cookie=${token}`

  it('two locations: the header wins when valid; an invalid header stops there; a missing one falls through', async () => {
    expect((await me(hs, `Bearer ${alice.access}`, { cookie: cookie('garbage') })).status).toBe(200)
    expectRefused(
      await me(hs, 'Bearer garbage', { cookie: cookie(alice.access) }),
      401,
      'TOKEN_INVALID',
      'invalid header, valid cookie',
    )
    expectRefused(
      await me(hs, `Bearer ${alice.refresh}`, { cookie: cookie(alice.access) }),
      401,
      'WRONG_TOKEN_TYPE',
      'refresh in the header, valid cookie',
    )
    expect((await me(hs, undefined, { cookie: cookie(alice.access) })).status).toBe(200)
    // Another scheme is not our token: the cookie is read.
    expect((await me(hs, 'Basic dXNlcjpwYXNz', { cookie: cookie(alice.access) })).status).toBe(200)
    expectRefused(await me(hs, 'Basic dXNlcjpwYXNz'), 401, 'TOKEN_MISSING', 'Basic alone')
  })

  it('RFC 6750 §2.1 / RFC 7235 §2.1: the scheme is case-insensitive; the value must be exactly "Bearer <token>"', async () => {
    for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR'])
      expect((await me(hs, `${scheme} ${alice.access}`)).status, scheme).toBe(200)
    // Surrounding white space is not part of a header value (RFC 9110 §5.5): Node strips it.
    expect((await rawGet(hs.port, '/auth/me', [`Authorization:   Bearer ${alice.access}  `])).status).toBe(
      200,
    )
    for (const [what, value] of [
      ['two spaces', `Bearer  ${alice.access}`],
      ['a trailing word', `Bearer ${alice.access} extra`],
      ['the scheme alone', 'Bearer'],
      ['the scheme and a space', 'Bearer '],
      ['two tokens, comma', `Bearer ${alice.access},Bearer ${alice.access}`],
      ['quoted', `Bearer "${alice.access}"`],
      ['a semicolon', `Bearer ${alice.access};`],
    ] as const) {
      expectRefused(await me(hs, value), 401, 'TOKEN_INVALID', what)
    }
    for (const value of [
      `Token ${alice.access}`,
      `Bearer-${alice.access}`,
      `JWT ${alice.access}`,
      alice.access,
    ])
      expectRefused(await me(hs, value), 401, 'TOKEN_MISSING', value.slice(0, 8))
  })

  it('repeated Authorization headers (raw socket; fetch would join them) → 401 TOKEN_INVALID', async () => {
    const one = await rawGet(hs.port, '/auth/me', [`Authorization: Bearer ${alice.access}`])
    expect(one.status).toBe(200)
    for (const second of [alice.access, 'garbage']) {
      const two = await rawGet(hs.port, '/auth/me', [
        `Authorization: Bearer ${alice.access}`,
        `authorization: Bearer ${second}`,
      ])
      expect({ status: two.status, code: rawCode(two) }).toEqual({ status: 401, code: 'TOKEN_INVALID' })
      expect(two.ms).toBeLessThan(BOUND_MS)
    }
  })

  it('RFC 6750 §2.3/§5.3: a token in the query string is ignored when that location is off → TOKEN_MISSING', async () => {
    for (const param of ['jwt', 'access_token', 'token']) {
      const reply = await timed(() => hs.client.get(`/auth/me?${param}=${alice.access}`))
      expectRefused(reply, 401, 'TOKEN_MISSING', param)
    }
    // And nothing of it reaches the logs.
    expect(hs.logs.join('\n')).not.toContain(alice.access.split('.')[2])
  })

  describe('CSRF (OWASP CSRF cheat sheet: signed double submit)', () => {
    const csrfCookies = (session: Session) =>
      `access_token_cookie=${session.access}; csrf_access_token=${session.csrf}`

    it.each(['POST', 'PUT', 'PATCH', 'DELETE'])(
      '%s with a cookie token: missing or mismatched X-CSRF-TOKEN → 403 CSRF_FAILED; the right one → 200',
      async (method) => {
        const other = await newSession(hs)
        const send = (headers: Record<string, string>) =>
          timed(() =>
            hs.client.request(method, '/probe', {
              headers: { cookie: csrfCookies(alice), ...headers },
              ...(method === 'DELETE' ? {} : { body: '{}' }),
            }),
          )
        for (const [what, headers] of [
          ['missing', {}],
          ['empty', { 'x-csrf-token': '' }],
          ["another login's value", { 'x-csrf-token': other.csrf }],
          ['a shorter value', { 'x-csrf-token': 'x' }],
          ['a longer value', { 'x-csrf-token': `${alice.csrf}x` }],
          ['the value in another header', { 'x-xsrf-token': alice.csrf }],
        ] as const) {
          expectRefused(await send(headers), 403, 'CSRF_FAILED', `${method} ${what}`)
        }
        // A planted CSRF cookie echoed in the header (sibling-subdomain attacker): the signed claim decides.
        const planted = await timed(() =>
          hs.client.request(method, '/probe', {
            headers: {
              cookie: `access_token_cookie=${alice.access}; csrf_access_token=attacker`,
              'x-csrf-token': 'attacker',
            },
            ...(method === 'DELETE' ? {} : { body: '{}' }),
          }),
        )
        expectRefused(planted, 403, 'CSRF_FAILED', `${method} planted`)
        const ok = await send({ 'x-csrf-token': alice.csrf })
        expect(ok.status).toBe(200)
        // A token from the Authorization header needs none.
        const header = await timed(() =>
          hs.client.request(method, '/probe', {
            token: alice.access,
            ...(method === 'DELETE' ? {} : { body: '{}' }),
          }),
        )
        expect(header.status).toBe(200)
      },
    )

    it('GET and HEAD need no CSRF value', async () => {
      for (const method of ['GET', 'HEAD']) {
        const reply = await hs.client.request(method, '/probe', { headers: { cookie: csrfCookies(alice) } })
        expect(reply.status, method).toBe(200)
      }
      expect((await me(hs, undefined, { cookie: csrfCookies(alice) })).status).toBe(200)
    })

    it("the server's own unsafe routes (logout, logout-all, refresh, fresh-login, password) with cookies and no CSRF → 403 CSRF_FAILED", async () => {
      const cookies = csrfCookies(alice)
      for (const path of ['/auth/logout', '/auth/logout-all', '/auth/fresh-login', '/auth/password']) {
        const reply = await timed(() =>
          hs.client.request('POST', path, { headers: { cookie: cookies }, body: '{}' }),
        )
        expectRefused(reply, 403, 'CSRF_FAILED', path)
      }
      const refresh = await timed(() =>
        hs.client.request('POST', '/auth/refresh', {
          headers: {
            cookie: `refresh_token_cookie=${alice.refresh}; csrf_refresh_token=${alice.csrfRefresh}`,
          },
        }),
      )
      expectRefused(refresh, 403, 'CSRF_FAILED', '/auth/refresh')
      // Nothing was logged out meanwhile.
      expect((await meWith(hs, alice.access)).status).toBe(200)
    })
  })
})
