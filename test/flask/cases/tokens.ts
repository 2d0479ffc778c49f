/**
 * Tokens refused, and the words of the refusal: PyJWT's (segments, base64url, Python's JSON, the
 * header, the algorithm, the signature, then iat, nbf, exp, iss, aud, sub, jti) and
 * Flask-JWT-Extended's (the identity claim), in their order.
 */
import type { Case } from '../harness.js'
import { craft, fjeClaims, nowS, OTHER_SECRET, segment } from '../tokens.js'
import { app, bearer } from './common.js'

const area = 'tokens'
const H = segment(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))
const P = () => segment(JSON.stringify(fjeClaims()))
const invalid = (msg: string) => ({ status: 422, body: { msg } })

/** A case whose token is given as text (made when the case runs). */
function raw(name: string, token: () => string, expected?: string): Case {
  return {
    area,
    name,
    request: () => bearer(token()),
    ...(expected === undefined ? {} : { expect: invalid(expected) }),
  }
}

/** A case whose token is crafted (signed with the app's secret unless said otherwise). */
function crafted(
  name: string,
  recipe: () => Parameters<typeof craft>[0],
  expected?: Case['expect'],
  extra: Partial<Case> = {},
): Case {
  return {
    area,
    name,
    request: () => bearer(craft(recipe())),
    ...(expected ? { expect: expected } : {}),
    ...extra,
  }
}

const claims = (overrides: Record<string, unknown>) => () => ({ claims: fjeClaims(overrides) })

export const tokenCases: Case[] = [
  // Segments and base64url.
  raw('one segment', () => 'abc', 'Not enough segments'),
  raw('two segments', () => 'abc.def', 'Not enough segments'),
  raw('three one-letter segments', () => 'a.b.c', 'Invalid header padding'),
  raw('a header that is not canonical base64url', () => `eyJ.${P()}.sig`, 'Invalid header padding'),
  raw('characters outside base64url in the header', () => `e*J.${P()}.sig`, 'Invalid header padding'),
  raw('four segments', () => `${H}.${P()}.extra.sig`, 'Invalid payload padding'),
  raw('a payload that is not base64url', () => `${H}.!!!.sig`, 'Invalid payload padding'),
  raw('a signature that is not base64url', () => `${H}.${P()}.a`, 'Invalid crypto padding'),
  raw('an empty signature', () => `${H}.${P()}.`, 'Signature verification failed'),
  raw('three dots', () => '...', 'Invalid header string: Expecting value: line 1 column 1 (char 0)'),
  // The header's JSON, as Python's json module reads it.
  raw(
    'a header that is not JSON',
    () => `${segment('{bad')}.${P()}.sig`,
    'Invalid header string: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)',
  ),
  raw(
    'a header cut short',
    () => `${segment('{"alg":"HS256"')}.${P()}.sig`,
    "Invalid header string: Expecting ',' delimiter: line 1 column 15 (char 14)",
  ),
  raw(
    'a header with trailing data',
    () => `${segment('{"alg":"HS256"} x')}.${P()}.sig`,
    'Invalid header string: Extra data: line 1 column 17 (char 16)',
  ),
  raw(
    'a header over two lines',
    () => `${segment('{\n"alg":\n}')}.${P()}.sig`,
    'Invalid header string: Expecting value: line 3 column 1 (char 9)',
  ),
  raw(
    'a header that is a list',
    () => `${segment('["HS256"]')}.${P()}.sig`,
    'Invalid header string: must be a json object',
  ),
  raw(
    'a header that is not UTF-8',
    () => `${segment(Buffer.from([0x7b, 0xff, 0x7d]))}.${P()}.sig`,
    "Invalid header string: 'utf-8' codec can't decode byte 0xff in position 1: invalid start byte",
  ),
  raw(
    'a header cut inside a UTF-8 sequence',
    () => `${segment(Buffer.from([0x7b, 0x22, 0xe2, 0x82]))}.${P()}.sig`,
    "Invalid header string: 'utf-8' codec can't decode bytes in position 2-3: unexpected end of data",
  ),
  raw(
    'a header with a control character in a string',
    () => `${segment('{"alg":"HS\u0001256"}')}.${P()}.sig`,
    'Invalid header string: Invalid control character at: line 1 column 11 (char 10)',
  ),
  raw(
    'a header with a bad escape',
    () => `${segment('{"alg":"\\q"}')}.${P()}.sig`,
    'Invalid header string: Invalid \\escape: line 1 column 9 (char 8)',
  ),
  crafted(
    'a header with NaN (Python reads it), badly signed',
    () => ({ header: { raw: segment('{"alg":"HS256","x":NaN}') }, secret: OTHER_SECRET }),
    invalid('Signature verification failed'),
  ),
  {
    area,
    name: 'a header with NaN, rightly signed',
    request: () => bearer(craft({ header: { raw: segment('{"alg":"HS256","x":NaN}') } })),
    divergence: {
      id: 'strict-encoding',
      flask: { status: 200 },
      latchkey: invalid('Invalid token: header is not UTF-8 JSON'),
    },
  },
  {
    area,
    name: 'a padded header, rightly signed',
    request: () => {
      const header = segment('{"alg":"HS256","ab":1}') // 30 characters: two of padding make 32
      return bearer(craft({ header: { raw: `${header}==` } }))
    },
    divergence: {
      id: 'strict-encoding',
      flask: { status: 200 },
      latchkey: invalid('Invalid token: header is not canonical base64url'),
    },
  },
  raw('a padded header of the wrong length', () => `${H}=.${P()}.sig`, 'Invalid header padding'),
  {
    area,
    name: 'a header with a UTF-8 byte order mark, rightly signed',
    request: () =>
      bearer(
        craft({
          header: {
            raw: segment(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"alg":"HS256"}')])),
          },
        }),
      ),
    divergence: {
      id: 'strict-encoding',
      flask: { status: 200 },
      latchkey: invalid('Invalid token: header is not UTF-8 JSON'),
    },
  },
  // Header parameters.
  crafted('no alg', () => ({ header: { typ: 'JWT' } }), invalid('Algorithm not specified')),
  crafted(
    'alg none',
    () => ({ header: { alg: 'none' }, signature: '' }),
    invalid('The specified alg value is not allowed'),
  ),
  crafted(
    'alg HS512 (not a decode algorithm)',
    () => ({ header: { alg: 'HS512' } }),
    invalid('The specified alg value is not allowed'),
  ),
  crafted(
    'alg RS256 beside an HS256 secret',
    () => ({ header: { alg: 'RS256' }, signature: 'c2ln' }),
    invalid('The specified alg value is not allowed'),
  ),
  crafted(
    'alg as a number',
    () => ({ header: { alg: 256 } }),
    invalid('The specified alg value is not allowed'),
  ),
  crafted(
    'alg in lower case',
    () => ({ header: { alg: 'hs256' } }),
    invalid('The specified alg value is not allowed'),
  ),
  crafted(
    'a kid that is not a string',
    () => ({ header: { alg: 'HS256', kid: 7 } }),
    invalid('Key ID header parameter must be a string'),
  ),
  {
    area,
    name: 'a kid no key has, rightly signed',
    request: () => bearer(craft({ header: { alg: 'HS256', kid: 'k1' } })),
    divergence: {
      id: 'key-id',
      flask: { status: 200 },
      latchkey: invalid('Invalid token: unknown key id or algorithm'),
    },
  },
  crafted(
    'a kid no key has, badly signed',
    () => ({ header: { alg: 'HS256', kid: 'k1' }, secret: OTHER_SECRET }),
    invalid('Signature verification failed'),
  ),
  crafted(
    'crit with an unknown extension',
    () => ({ header: { alg: 'HS256', crit: ['exp'], exp: 1 } }),
    invalid('Unsupported critical extension: exp'),
  ),
  crafted(
    'crit empty',
    () => ({ header: { alg: 'HS256', crit: [] } }),
    invalid("Invalid 'crit' header: must be a non-empty list"),
  ),
  crafted(
    'crit not a list',
    () => ({ header: { alg: 'HS256', crit: 'b64' } }),
    invalid("Invalid 'crit' header: must be a non-empty list"),
  ),
  crafted(
    'crit with a number',
    () => ({ header: { alg: 'HS256', crit: [1] } }),
    invalid("Invalid 'crit' header: values must be strings"),
  ),
  crafted(
    'crit b64 without b64',
    () => ({ header: { alg: 'HS256', crit: ['b64'] } }),
    invalid("Critical extension 'b64' is missing from headers"),
  ),
  {
    area,
    name: 'crit b64 with b64 true, rightly signed',
    request: () => bearer(craft({ header: { alg: 'HS256', crit: ['b64'], b64: true } })),
    divergence: {
      id: 'strict-encoding',
      flask: { status: 200 },
      latchkey: invalid('Invalid token: unsupported critical header parameters'),
    },
  },
  crafted(
    'b64 false with a payload',
    () => ({ header: { alg: 'HS256', crit: ['b64'], b64: false } }),
    invalid("Payload segment must be empty when 'b64' is false."),
  ),
  raw(
    'b64 false without crit',
    () => `${segment(JSON.stringify({ alg: 'HS256', b64: false }))}..sig`,
    "The 'b64' header parameter requires 'b64' to be listed in 'crit'.",
  ),
  raw(
    'b64 false, detached',
    () => `${segment(JSON.stringify({ alg: 'HS256', b64: false, crit: ['b64'] }))}..sig`,
    'It is required that you pass in a value for the "detached_payload" argument to decode a message having the b64 header set to false.',
  ),
  crafted('typ is not looked at', () => ({ header: { alg: 'HS256', typ: 'at+jwt' } }), { status: 200 }),
  // The payload.
  raw(
    'a payload that is not JSON',
    () => `${H}.${segment('nope')}.sig`,
    'Invalid payload string: Expecting value: line 1 column 1 (char 0)',
  ),
  raw(
    'a payload that is a list',
    () => `${H}.${segment('[1]')}.sig`,
    'Invalid payload string: must be a json object',
  ),
  raw(
    'a payload cut short (read before the signature)',
    () => `${H}.${segment('{"sub":')}.sig`,
    'Invalid payload string: Expecting value: line 1 column 8 (char 7)',
  ),
  crafted(
    'a payload that is not JSON, rightly signed',
    () => ({ claims: { raw: segment('{"sub": nope}') } }),
    invalid('Invalid payload string: Expecting value: line 1 column 9 (char 8)'),
  ),
  // The signature.
  crafted(
    'signed with another secret',
    () => ({ secret: OTHER_SECRET }),
    invalid('Signature verification failed'),
  ),
  raw(
    'a signature of another token',
    () => `${H}.${P()}.${craft().split('.')[2]}`,
    'Signature verification failed',
  ),
  // Claims, in PyJWT's order.
  crafted('expired', claims({ exp: nowS() - 10 }), { status: 401, body: { msg: 'Token has expired' } }),
  crafted('not yet valid (nbf)', claims({ nbf: nowS() + 600 }), invalid('The token is not yet valid (nbf)')),
  crafted(
    'issued in the future (iat and nbf)',
    claims({ iat: nowS() + 600, nbf: nowS() + 600 }),
    invalid('The token is not yet valid (iat)'),
  ),
  crafted(
    'issued in the future (iat, no nbf)',
    claims({ iat: nowS() + 600, nbf: undefined }),
    invalid('The token is not yet valid (iat)'),
  ),
  crafted(
    'expired and issued in the future',
    claims({ iat: nowS() + 600, exp: nowS() - 10 }),
    invalid('The token is not yet valid (iat)'),
  ),
  crafted(
    'expired and not yet valid',
    claims({ nbf: nowS() + 600, exp: nowS() - 10 }),
    invalid('The token is not yet valid (nbf)'),
  ),
  crafted(
    'iat that is not a number',
    claims({ iat: 'soon' }),
    invalid('Issued At claim (iat) must be an integer.'),
  ),
  crafted(
    'nbf that is not a number',
    claims({ nbf: [1] }),
    invalid('Not Before claim (nbf) must be an integer.'),
  ),
  crafted(
    'exp that is not a number',
    claims({ exp: 'later' }),
    invalid('Expiration Time claim (exp) must be an integer.'),
  ),
  crafted('exp null', claims({ exp: null }), invalid('Expiration Time claim (exp) must be an integer.')),
  {
    area,
    name: 'exp as a numeric string',
    request: () => bearer(craft({ claims: fjeClaims({ exp: String(nowS() + 900) }) })),
    divergence: {
      id: 'claim-types',
      flask: { status: 200 },
      latchkey: invalid('Expiration Time claim (exp) must be an integer.'),
    },
  },
  {
    area,
    name: 'nbf true',
    request: () => bearer(craft({ claims: fjeClaims({ nbf: true }) })),
    divergence: {
      id: 'claim-types',
      flask: { status: 200 },
      latchkey: invalid('Not Before claim (nbf) must be an integer.'),
    },
  },
  {
    area,
    name: 'iat as a string',
    request: () => bearer(craft({ claims: fjeClaims({ iat: ' 12 ' }) })),
    divergence: {
      id: 'claim-types',
      flask: { status: 200 },
      latchkey: invalid('Issued At claim (iat) must be an integer.'),
    },
  },
  {
    area,
    name: 'fresh as a string (on a route that does not ask)',
    request: () => bearer(craft({ claims: fjeClaims({ fresh: 'yes' }) })),
    divergence: {
      id: 'claim-types',
      flask: { status: 200 },
      latchkey: invalid('Invalid token: fresh must be a boolean or a number'),
    },
  },
  {
    area,
    name: 'iss as a number (no issuer configured)',
    request: () => bearer(craft({ claims: fjeClaims({ iss: 5 }) })),
    divergence: {
      id: 'claim-types',
      flask: { status: 200 },
      latchkey: invalid('Payload Issuer (iss) must be a string'),
    },
  },
  {
    area,
    name: 'no exp',
    request: () => bearer(craft({ claims: fjeClaims({ exp: undefined }) })),
    divergence: {
      id: 'exp-required',
      flask: { status: 200 },
      latchkey: invalid('Token is missing the "exp" claim'),
    },
  },
  crafted(
    'no exp, non-expiring tokens allowed',
    claims({ exp: undefined }),
    { status: 200 },
    { app: app({ JWT_ACCESS_TOKEN_EXPIRES: false }) },
  ),
  crafted('no sub', claims({ sub: undefined }), invalid('Missing claim: sub')),
  crafted('sub as a number', claims({ sub: 42 }), invalid('Subject must be a string')),
  crafted('sub as an object', claims({ sub: { id: 1 } }), invalid('Subject must be a string')),
  {
    area,
    name: 'sub empty',
    request: () => bearer(craft({ claims: fjeClaims({ sub: '' }) })),
    divergence: {
      id: 'string-identity',
      flask: { status: 200 },
      latchkey: invalid('Invalid token: sub must be a non-empty string'),
    },
  },
  crafted('jti as a number', claims({ jti: 5 }), invalid('JWT ID must be a string')),
  {
    area,
    name: 'no jti',
    request: () => bearer(craft({ claims: fjeClaims({ jti: undefined }) })),
    divergence: { id: 'jti-type-required', flask: { status: 200 }, latchkey: invalid('Missing claim: jti') },
  },
  {
    area,
    name: 'no type',
    request: () => bearer(craft({ claims: fjeClaims({ type: undefined }) })),
    divergence: { id: 'jti-type-required', flask: { status: 200 }, latchkey: invalid('Missing claim: type') },
  },
  {
    area,
    name: 'an unknown type',
    request: () => bearer(craft({ claims: fjeClaims({ type: 'id' }) })),
    divergence: { id: 'jti-type-required', flask: { status: 200 }, latchkey: invalid('Missing claim: type') },
  },
  {
    area,
    name: 'an aud where no audience is accepted',
    request: () => bearer(craft({ claims: fjeClaims({ aud: 'elsewhere' }) })),
    divergence: { id: 'foreign-audience', flask: { status: 200 }, latchkey: invalid('Invalid audience') },
  },
  {
    area,
    name: 'an empty aud where none is accepted',
    request: () => bearer(craft({ claims: fjeClaims({ aud: '' }) })),
    divergence: { id: 'foreign-audience', flask: { status: 200 }, latchkey: invalid('Invalid audience') },
  },
  crafted('no csrf claim on a header token', claims({ csrf: undefined }), { status: 200 }),
  crafted(
    'extra claims are kept',
    claims({ role: 'admin', tags: ['a', 'b'], nested: { deep: [1, { x: null }] } }),
    { status: 200 },
  ),
  crafted('a float exp and iat', claims({ exp: nowS() + 900.5, iat: nowS() - 0.25 }), { status: 200 }),
  crafted('expired without sub', claims({ exp: nowS() - 10, sub: undefined }), invalid('Missing claim: sub')),
  crafted(
    'expired with a sub that is not a string',
    claims({ exp: nowS() - 10, sub: 1 }),
    invalid('Subject must be a string'),
  ),
]
