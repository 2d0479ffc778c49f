/**
 * The differences latchkey keeps on purpose, each with its reason. A differential case that meets
 * one names it, and asserts both that the replies differ and what latchkey answers: if
 * Flask-JWT-Extended ever answers as latchkey does, the case fails and the entry goes. Every entry
 * is listed in docs/migrating-from-flask.md (a test checks it).
 */
export const DIVERGENCES = {
  'short-secret': {
    title: 'Secrets shorter than the algorithm’s hash are refused',
    why: 'RFC 7518 §3.2. `fromFlaskConfig(config, { insecureShortSecretForMigration: true })` accepts one, with a warning, for the migration only.',
  },
  'jti-type-required': {
    title: '`jti` and `type` are required',
    why: 'A token without `type` could be taken for a refresh token (or the reverse); without `jti` it cannot be revoked. Flask-JWT-Extended makes both and fills them in when missing. A guard with `verifyType: false` accepts both types, but every token still carries one.',
  },
  'string-identity': {
    title: 'Identities are strings',
    why: 'RFC 7519 §4.1.2. A numeric identity (accepted with `JWT_VERIFY_SUB = False`) is read as its decimal string: `context.sub` is `"42"`, where `get_jwt_identity()` gives `42`; the claims keep the number. An empty identity is refused.',
  },
  'exp-required': {
    title: '`exp` is required unless non-expiring tokens are allowed',
    why: 'A token that never expires is a choice (`JWT_ACCESS_TOKEN_EXPIRES = False`, which `fromFlaskConfig` turns into `allowNonExpiring`), never an accident of a token made elsewhere.',
  },
  'reserved-claims': {
    title: 'Reserved claims and header parameters cannot be overridden',
    why: '`additional_claims` may override `exp`, `type`, `sub`... in Flask-JWT-Extended (and `additional_headers` `alg` or `typ`); latchkey refuses with a ConfigError, so a token always says what latchkey put in it.',
  },
  'foreign-audience': {
    title: 'A token with an `aud` is refused when no audience is accepted',
    why: 'RFC 7519 §4.1.3. Flask-JWT-Extended checks `aud` only when `JWT_DECODE_AUDIENCE` is set; `fromFlaskConfig` refuses `JWT_ENCODE_AUDIENCE` without it, so only tokens from elsewhere meet this.',
  },
  'key-id': {
    title: 'A `kid` no configured key has is refused',
    why: 'latchkey looks keys up by `kid` (rotation); PyJWT ignores `kid`. Give the key the `kid` your tokens carry, or resolve it with `resolveKey`.',
  },
  'strict-encoding': {
    title: 'Only canonical compact tokens are accepted',
    why: 'RFC 7515 §2 and §7.1: no base64url padding, UTF-8 JSON without `NaN`/`Infinity`, no `crit` header, a token of at most `maxTokenLength` (8192) characters. PyJWT accepts padding (for AWS ALB tokens), Python’s JSON extensions and `crit: ["b64"]`.',
  },
  'claim-types': {
    title: 'Registered claims must have their JSON types',
    why: 'RFC 7519 §2 and §4.1: `exp`, `nbf` and `iat` are numbers (PyJWT converts them with Python’s `int()`, so `"1700000000"` or `true` pass there), `iss` a string, `fresh` a boolean or a number, `csrf` a string, even where Flask-JWT-Extended does not look at them.',
  },
  'repeated-query': {
    title: 'A repeated query parameter is refused',
    why: 'Parameter pollution: `?jwt=a&jwt=b` is a 422 in latchkey; Werkzeug takes the first.',
  },
  'fje-crash': {
    title: 'Where Flask-JWT-Extended crashes, latchkey answers',
    why: 'A request Flask-JWT-Extended answers with a 500 (an Authorization entry of whitespace only, a JSON body that is a list, a `csrf` claim that is not a string) gets latchkey’s 4xx: no client depends on a crash.',
  },
  'extra-claims': {
    title: 'latchkey’s tokens carry a little more',
    why: '`iat_ms` (the issue time in milliseconds, so a logout everywhere never misses a token of the same second), `fam` on tokens of a login (its refresh family, for reuse detection), and a `kid` header with asymmetric keys (RFC 7638 thumbprint). Flask-JWT-Extended reads them as extra claims and ignores the `kid`.',
  },
  'cookie-expiry': {
    title: 'Cookies carry `Max-Age`, not `Expires`',
    why: 'Werkzeug sends both; `Max-Age` wins in every browser (RFC 6265 §5.3) and does not depend on the server’s clock. To clear, latchkey sends `Max-Age=0` with the 1970 `Expires` (Werkzeug: the `Expires` alone). Asserted on every cookie of the suite.',
  },
} as const

export type DivergenceId = keyof typeof DIVERGENCES
