/**
 * Property-based and differential tests. jose is the oracle: over generated and mutated tokens,
 * whenever jose's jwtVerify refuses a token, latchkey must refuse it too. Every run is seeded, so a
 * failure reproduces; each property stays well under two seconds.
 */
import type { KeyObject } from 'node:crypto'
import fc from 'fast-check'
import { jwtVerify } from 'jose'
import { describe, expect, it } from 'vitest'
import { type Auth, AuthError, createAuth, isAuthError } from '../../src/index.js'
import {
  b64,
  claimsAt,
  frozenClock,
  keyPairs,
  makeView,
  NOW,
  NOW_S,
  SECRET,
  type SignAlg,
  signWith,
} from './helpers.js'

const SEED = 42
const K = keyPairs()
const clock = frozenClock()
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/** decodeToken's outcome: claims, or the AuthError; anything else is rethrown and fails the property. */
function outcome(auth: Auth, token: string): 'ok' | AuthError {
  try {
    auth.decodeToken(token)
    return 'ok'
  } catch (err) {
    if (isAuthError(err)) return err
    throw err
  }
}

interface Setup {
  alg: SignAlg
  auth: Auth
  signKey: KeyObject | string
  joseKey: KeyObject | Uint8Array
  wrongKey: KeyObject | string
}

const SETUPS: Setup[] = [
  {
    alg: 'HS256',
    auth: createAuth({ keys: { secret: SECRET }, clock: clock.fn }),
    signKey: SECRET,
    joseKey: new TextEncoder().encode(SECRET),
    wrongKey: `${SECRET}!`,
  },
  {
    alg: 'ES256',
    auth: createAuth({ keys: { publicKey: K.p256.publicKey, algorithm: 'ES256' }, clock: clock.fn }),
    signKey: K.p256.privateKey,
    joseKey: K.p256.publicKey,
    wrongKey: K.p256b.privateKey,
  },
  {
    alg: 'RS256',
    auth: createAuth({ keys: { publicKey: K.rsa.publicKey, algorithm: 'RS256' }, clock: clock.fn }),
    signKey: K.rsa.privateKey,
    joseKey: K.rsa.publicKey,
    wrongKey: K.rsa2.privateKey,
  },
  {
    alg: 'EdDSA',
    auth: createAuth({ keys: { publicKey: K.ed25519.publicKey, algorithm: 'EdDSA' }, clock: clock.fn }),
    signKey: K.ed25519.privateKey,
    joseKey: K.ed25519.publicKey,
    wrongKey: K.ed25519b.privateKey,
  },
]

function validToken(s: Setup, claims: Record<string, unknown> = claimsAt()): string {
  const input = `${b64({ alg: s.alg, typ: 'JWT' })}.${b64(claims)}`
  return `${input}.${signWith(s.alg, s.signKey, input).toString('base64url')}`
}

describe('(a) any input to decodeToken ends in claims or an AuthError', () => {
  const auth = SETUPS[0]!.auth
  const segment = fc.oneof(
    fc.string({ unit: fc.constantFrom(...`${ALPHABET}=+/ .%\n`), maxLength: 60 }),
    fc.jsonValue().map((v) => b64(JSON.stringify(v) ?? 'null')),
    fc.string().map((s) => b64(s)),
    fc.constant(b64({ alg: 'HS256', typ: 'JWT' })),
    fc.constant(b64(claimsAt())),
  )

  it('arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (s) => {
        const r = outcome(auth, s)
        expect(r === 'ok' || r instanceof AuthError).toBe(true)
      }),
      { seed: SEED, numRuns: 2000 },
    )
  })

  it('dot-separated segments of base64url, JSON and junk', () => {
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 6 }), (parts) => {
        const r = outcome(auth, parts.join('.'))
        // Nothing here is signed with the secret: it can never be accepted.
        expect(r).toBeInstanceOf(AuthError)
      }),
      { seed: SEED, numRuns: 2000 },
    )
  })

  it('correctly signed tokens with arbitrary JSON header and payload', () => {
    const header = fc.oneof(
      fc.jsonValue(),
      fc.dictionary(fc.constantFrom('alg', 'typ', 'kid', 'crit', 'jwk', '__proto__'), fc.jsonValue()),
      fc.constant({ alg: 'HS256' }),
    )
    const payload = fc.oneof(
      fc.jsonValue(),
      fc.dictionary(
        fc.constantFrom(
          'sub',
          'exp',
          'nbf',
          'iat',
          'jti',
          'type',
          'aud',
          'iss',
          'fresh',
          'csrf',
          '__proto__',
        ),
        fc.jsonValue(),
      ),
      fc.record({ sub: fc.jsonValue(), exp: fc.jsonValue(), jti: fc.jsonValue(), type: fc.jsonValue() }),
    )
    fc.assert(
      fc.property(header, payload, (h, p) => {
        const input = `${b64(JSON.stringify(h) ?? 'null')}.${b64(JSON.stringify(p) ?? 'null')}`
        const token = `${input}.${signWith('HS256', SECRET, input).toString('base64url')}`
        const r = outcome(auth, token)
        expect(r === 'ok' || r instanceof AuthError).toBe(true)
        expect(({} as Record<string, unknown>).polluted).toBeUndefined()
      }),
      { seed: SEED, numRuns: 1000 },
    )
  })

  it('the request guard: any header, cookie, body or query value resolves or rejects with an AuthError', async () => {
    const guard = createAuth({
      keys: { secret: SECRET },
      clock: clock.fn,
      tokenLocations: ['headers', 'cookies', 'json', 'query'],
    })
    const valid = guard.createAccessToken('u1')
    const text = fc.oneof(fc.string({ maxLength: 80 }), fc.constant(valid), fc.constant(`Bearer ${valid}`))
    const value = fc.oneof(text, fc.array(text, { maxLength: 3 }))
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'DELETE', 'OPTIONS', 'get'),
        fc.option(value, { nil: undefined }),
        fc.option(fc.string({ maxLength: 80 }), { nil: undefined }),
        fc.oneof(fc.anything(), fc.record({ access_token: fc.anything() })),
        fc.option(value, { nil: undefined }),
        fc.option(value, { nil: undefined }),
        async (method, authorization, cookie, body, query, csrf) => {
          const headers: Record<string, string | string[]> = {}
          if (authorization !== undefined) headers.authorization = authorization
          if (csrf !== undefined) headers['x-csrf-token'] = csrf
          const view = makeView({
            method,
            headers,
            cookies: cookie === undefined ? {} : { access_token_cookie: cookie },
            body,
            query: query === undefined ? {} : { jwt: query },
          })
          try {
            await guard.authenticate(view, { optional: method === 'DELETE' })
          } catch (err) {
            expect(isAuthError(err)).toBe(true)
          }
        },
      ),
      { seed: SEED, numRuns: 1000 },
    )
  })
})

describe('(b) any single-character change to a valid token is refused', () => {
  const replacement = fc.constantFrom(...`${ALPHABET}.=+/ \n%é`.split(''))

  for (const s of SETUPS.filter((x) => x.alg === 'HS256' || x.alg === 'ES256')) {
    const token = validToken(s)
    it(`${s.alg}: the unmodified token is accepted (control)`, () => {
      expect(outcome(s.auth, token)).toBe('ok')
    })

    it(`${s.alg}: substitutions, including spellings that decode to the same bytes`, () => {
      fc.assert(
        fc.property(fc.nat({ max: token.length - 1 }), replacement, (i, c) => {
          fc.pre(token[i] !== c)
          const mutated = token.slice(0, i) + c + token.slice(i + 1)
          const r = outcome(s.auth, mutated)
          expect(r).toBeInstanceOf(AuthError)
          expect((r as AuthError).code).toBe('TOKEN_INVALID')
        }),
        { seed: SEED, numRuns: 1500 },
      )
    })

    it(`${s.alg}: insertions and deletions`, () => {
      fc.assert(
        fc.property(fc.nat({ max: token.length }), fc.option(replacement, { nil: undefined }), (i, c) => {
          const mutated =
            c === undefined ? token.slice(0, i) + token.slice(i + 1) : token.slice(0, i) + c + token.slice(i)
          fc.pre(mutated !== token)
          const r = outcome(s.auth, mutated)
          expect(r).toBeInstanceOf(AuthError)
          expect((r as AuthError).code).toBe('TOKEN_INVALID')
        }),
        { seed: SEED, numRuns: 1000 },
      )
    })

    it(`${s.alg}: every same-bytes spelling of every segment is refused (exhaustive)`, () => {
      const parts = token.split('.')
      let spellings = 0
      parts.forEach((seg, i) => {
        const spare = seg.length % 4 === 2 ? 4 : seg.length % 4 === 3 ? 2 : 0
        const last = ALPHABET.indexOf(seg.at(-1)!)
        for (let bits = 1; bits < 1 << spare; bits++) {
          const variant = seg.slice(0, -1) + ALPHABET[last | bits]
          if (variant === seg) continue
          spellings++
          expect(Buffer.from(variant, 'base64url').equals(Buffer.from(seg, 'base64url'))).toBe(true)
          const r = outcome(s.auth, parts.map((p, j) => (j === i ? variant : p)).join('.'))
          expect((r as AuthError).code).toBe('TOKEN_INVALID')
        }
      })
      expect(spellings).toBeGreaterThan(0)
    })
  }
})

describe('(c) differential against jose: what jose refuses, latchkey refuses', () => {
  /** Mostly the valid value (so some tokens survive), sometimes one of the mutations. */
  const mostly = <T>(valid: T, ...mutations: T[]) =>
    fc.oneof(
      { arbitrary: fc.constant(valid), weight: 6 },
      { arbitrary: fc.constantFrom(...mutations), weight: 1 },
    )
  /** A NumericDate claim's raw JSON text (undefined leaves it out): numbers near now, and wrong types. */
  const numeric = (valid: string | undefined, base: number) =>
    mostly(
      valid,
      undefined,
      String(base),
      String(base + 60),
      String(base - 1),
      String(base + 1),
      String(base + 0.5),
      String(base - 0.5),
      '1e400',
      '-1e400',
      `"${base + 60}"`,
      'null',
      `[${base + 60}]`,
      'true',
      '{}',
      '0',
      '-1',
      '1e300',
    )
  const claims = fc.record({
    sub: mostly<string | undefined>('"u1"', undefined, '5', '""', 'null', '["u1"]', '"\\u0000"'),
    exp: numeric(String(NOW_S + 900), NOW_S),
    nbf: numeric(String(NOW_S), NOW_S),
    iat: numeric(String(NOW_S), NOW_S),
    jti: mostly<string | undefined>('"j1"', undefined, '5', '""'),
    type: mostly<string | undefined>('"access"', undefined, '"refresh"', '"id"', 'null'),
    aud: mostly<string | undefined>(undefined, '"api"', '["api"]', '5'),
    iss: mostly<string | undefined>(undefined, '"me"', '5'),
    dup: mostly<string | undefined>(
      undefined,
      '"sub":"admin"',
      `"exp":${NOW_S - 10}`,
      `"exp":${NOW_S + 10}`,
      '"type":"x"',
    ),
    proto: mostly<string | undefined>(undefined, '{"exp":1}', '{"polluted":1}'),
  })
  const header = fc.record({
    alg: mostly<string | undefined>(
      'same',
      undefined,
      'none',
      'None',
      'HS256',
      'HS512',
      'RS256',
      'PS256',
      'ES256',
      'ES384',
      'EdDSA',
      'hs256',
      '',
    ),
    typ: mostly<string | undefined>('"JWT"', undefined, '"at+jwt"', '5'),
    kid: mostly<string | undefined>(undefined, '"k1"', '5', 'null', '"__proto__"'),
    crit: mostly<string | undefined>(undefined, '["exp"]', '["b64"]', '[]', '"b64"'),
    b64: mostly<string | undefined>(undefined, 'false', 'true'),
    jwk: mostly<string | undefined>(undefined, '{"kty":"oct","k":"AAAA"}'),
  })
  const encoding = mostly(
    'none',
    'pad-header',
    'pad-payload',
    'pad-signature',
    'std-alphabet',
    'space',
    'newline',
    'trailing-bits',
    'truncate-signature',
    'empty-signature',
    'drop-signature',
    'extra-segment',
    'wrong-key',
    'invalid-utf8',
    'bom',
    'payload-array',
    'payload-null',
  )

  function build(
    s: Setup,
    h: Record<string, string | undefined>,
    c: Record<string, string | undefined>,
    enc: string,
  ) {
    const headerMembers: string[] = []
    const alg = h.alg === 'same' ? s.alg : h.alg
    if (alg !== undefined) headerMembers.push(`"alg":${JSON.stringify(alg)}`)
    for (const k of ['typ', 'kid', 'crit', 'b64', 'jwk'] as const)
      if (h[k] !== undefined) headerMembers.push(`"${k}":${h[k]}`)
    const members: string[] = []
    if (c.proto !== undefined) members.push(`"__proto__":${c.proto}`)
    for (const k of ['sub', 'exp', 'nbf', 'iat', 'jti', 'type', 'aud', 'iss'] as const)
      if (c[k] !== undefined) members.push(`"${k}":${c[k]}`)
    if (c.dup !== undefined) members.push(c.dup)
    let payloadText = `{${members.join(',')}}`
    if (enc === 'payload-array') payloadText = `[${payloadText}]`
    if (enc === 'payload-null') payloadText = 'null'
    let payloadBytes: Uint8Array = Buffer.from(payloadText, 'utf8')
    // An invalid UTF-8 byte (0xff) inside a string member, correctly signed.
    if (enc === 'invalid-utf8')
      payloadBytes = Buffer.from(payloadText.replace('{', '{"x":"\u0001",'), 'utf8').map((b) =>
        b === 1 ? 0xff : b,
      )
    if (enc === 'bom') payloadBytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), payloadBytes])
    const input = `${b64(`{${headerMembers.join(',')}}`)}.${b64(payloadBytes)}`
    const key = enc === 'wrong-key' ? s.wrongKey : s.signKey
    let parts = [...input.split('.'), signWith(s.alg, key, input).toString('base64url')]
    const edit = (i: number, f: (seg: string) => string) => {
      parts = parts.map((p, j) => (j === i ? f(p) : p))
    }
    switch (enc) {
      case 'pad-header':
        edit(0, (p) => `${p}=`)
        break
      case 'pad-payload':
        edit(1, (p) => `${p}==`)
        break
      case 'pad-signature':
        edit(2, (p) => `${p}=`)
        break
      case 'std-alphabet':
        edit(2, (p) => `+/${p.slice(2)}`)
        break
      case 'space':
        edit(1, (p) => `${p.slice(0, 4)} ${p.slice(4)}`)
        break
      case 'newline':
        edit(2, (p) => `${p.slice(0, 4)}\n${p.slice(4)}`)
        break
      case 'trailing-bits':
        edit(2, (p) => {
          const spare = p.length % 4 === 2 ? 4 : p.length % 4 === 3 ? 2 : 0
          return spare ? p.slice(0, -1) + ALPHABET[ALPHABET.indexOf(p.at(-1)!) | 1] : `${p}A`
        })
        break
      case 'truncate-signature':
        edit(2, (p) => p.slice(0, -4))
        break
      case 'empty-signature':
        edit(2, () => '')
        break
      case 'drop-signature':
        parts = parts.slice(0, 2)
        break
      case 'extra-segment':
        parts.push(parts[2]!)
        break
    }
    return parts.join('.')
  }

  for (const s of SETUPS) {
    it(`${s.alg}: jose refuses ⇒ latchkey refuses`, async () => {
      const tally = { bothAccept: 0, bothRefuse: 0, onlyLatchkeyRefuses: 0 }
      await fc.assert(
        fc.asyncProperty(header, claims, encoding, async (h, c, enc) => {
          const token = build(s, h, c, enc)
          const ours = outcome(s.auth, token)
          let joseAccepts = true
          try {
            await jwtVerify(token, s.joseKey, {
              algorithms: [s.alg],
              requiredClaims: ['exp'],
              currentDate: new Date(NOW),
            })
          } catch {
            joseAccepts = false
          }
          if (!joseAccepts) expect(ours, `jose refused ${token}`).toBeInstanceOf(AuthError)
          if (joseAccepts && ours === 'ok') tally.bothAccept++
          else if (!joseAccepts) tally.bothRefuse++
          else tally.onlyLatchkeyRefuses++
          expect(({} as Record<string, unknown>).polluted).toBeUndefined()
        }),
        { seed: SEED, numRuns: s.alg === 'RS256' ? 400 : 800 },
      )
      // The generator is not vacuous: it produces accepted tokens as well as refused ones.
      expect(tally.bothAccept).toBeGreaterThan(20)
      expect(tally.bothRefuse).toBeGreaterThan(tally.bothAccept)
    })

    it(`${s.alg}: a plain valid token is accepted by both (control)`, async () => {
      const token = validToken(s)
      expect(outcome(s.auth, token)).toBe('ok')
      const { payload } = await jwtVerify(token, s.joseKey, {
        algorithms: [s.alg],
        currentDate: new Date(NOW),
      })
      expect(payload.sub).toBe('u1')
    })
  }
})
