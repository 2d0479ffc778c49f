/**
 * The deliberate breaks of `npm run mutate` (scripts/mutate.ts): for each line of the security
 * checklist (/work/shared/SECURITY-CHECKLIST.md, ids as in test/security/checklist.test.ts), one or
 * more realistic bugs, each a plain text patch: in `file`, replace `search` (which must occur exactly
 * once) by `replace`. When the code moves, retarget the entry; the runner refuses a search text it
 * cannot find, so a stale entry fails loudly instead of passing.
 *
 * `tests` are the test files that should catch the break (run with `--bail=1`); keep them few, so one
 * mutation costs seconds. docs/mutation-testing.md has the last full run.
 */

/** In `file`, replace `search` (which must occur exactly once) by `replace`. */
export interface Patch {
  file: string
  search: string
  replace: string
}

export interface Mutation extends Patch {
  /** Unique, kebab-case: `npm run mutate -- <name>` runs this one alone. */
  name: string
  /** The checklist line it breaks (A1..R5), or `leeway` for the revocation-lifetime pins of issue 18. */
  line: string
  /** The bug, in a few words. */
  what: string
  /** More patches, for a bug that needs two edits (a behaviour held by two layers). */
  also?: Patch[]
  tests: string[]
  /** Optional vitest `-t` filter (a test-name regular expression). */
  grep?: string
}

const CHECKLIST = 'test/security/checklist.test.ts'
const CORE_GUARD = 'test/core/guard.test.ts'
const CORE_LOGIN = 'test/core/login.test.ts'
const CORE_TOKENS = 'test/core/tokens.test.ts'
const CORE_KEYS = 'test/core/keys.test.ts'
const CORE_CONFIG = 'test/core/config.test.ts'
const SECURITY_LOGIN = 'test/security/login.test.ts'
const SECURITY_REVOCATION = 'test/security/revocation.test.ts'

export const mutations: Mutation[] = [
  // ---- Algorithms and keys
  {
    name: 'alg-not-bound-to-key',
    line: 'A1',
    what: 'a kid lookup ignores the algorithm the key is bound to (the header picks it)',
    file: 'src/core/keys.ts',
    search: 'return key && key.algorithm === alg ? key : undefined',
    replace: 'return key',
    tests: [CHECKLIST, CORE_KEYS],
  },
  {
    name: 'hmac-secret-too-short',
    line: 'A2',
    what: 'HMAC secrets of 16 bytes are enough for every HS algorithm',
    file: 'src/core/keys.ts',
    search: 'if (bytes.length < min) {',
    replace: 'if (bytes.length < 16) {',
    tests: [CHECKLIST, CORE_KEYS],
  },
  {
    name: 'pem-as-secret',
    line: 'A2',
    what: 'a secret that is really a PEM, an SSH key or a JWK is accepted',
    file: 'src/core/keys.ts',
    search: "if (t.includes('-----BEGIN')) return 'a PEM key'",
    replace: "if (t.includes('-----BEGIN')) return undefined",
    tests: [CHECKLIST, CORE_KEYS],
  },
  {
    name: 'rsa-1024-accepted',
    line: 'A2',
    what: 'RSA keys of 1024 bits are accepted',
    file: 'src/core/keys.ts',
    search: 'if ((details.modulusLength ?? 0) < 2048) {',
    replace: 'if ((details.modulusLength ?? 0) < 1024) {',
    tests: [CHECKLIST, CORE_KEYS],
  },
  {
    name: 'hs-and-asymmetric-mixed',
    line: 'A3',
    what: 'one key set may hold HS and asymmetric keys without allowMixedAlgorithms',
    file: 'src/core/keys.ts',
    search: 'if (families.size > 1 && !options.allowMixedAlgorithms) {',
    replace: 'if (families.size > 2 && !options.allowMixedAlgorithms) {',
    tests: [CHECKLIST, CORE_KEYS],
  },
  {
    name: 'crit-ignored',
    line: 'A4',
    what: 'unknown `crit` header extensions are ignored (RFC 7515 §4.1.11)',
    file: 'src/core/jws.ts',
    search: "if (header.crit !== undefined) throw invalid('unsupported critical header parameters')",
    replace: '',
    tests: [CHECKLIST, CORE_TOKENS],
  },
  {
    name: 'unknown-kid-falls-back',
    line: 'A4',
    what: 'an unknown kid falls back to the first configured key',
    file: 'src/core/keys.ts',
    search: 'const key = this.byKid.get(kid)',
    replace: 'const key = this.byKid.get(kid) ?? this.keys[0]',
    tests: [CHECKLIST, CORE_KEYS, CORE_TOKENS],
  },
  {
    name: 'base64url-lenient',
    line: 'A5',
    what: "segments decoded with Node's lenient base64url (padding, +, /, stray bits accepted)",
    file: 'src/internal/base64url.ts',
    search: "return bytes.toString('base64url') === s ? bytes : undefined",
    replace: 'return bytes',
    tests: [CHECKLIST, CORE_TOKENS, 'test/core/base64url.test.ts'],
  },
  {
    name: 'hmac-compared-as-bytes',
    line: 'A5',
    what: 'HMAC signatures compared after lenient decoding, so one token has many spellings',
    file: 'src/core/algorithms.ts',
    search: 'return equalInConstantTime(expected, signature)',
    replace:
      "return equalInConstantTime(expected, Buffer.from(signature, 'base64url').toString('base64url'))",
    tests: [CHECKLIST, CORE_TOKENS],
  },

  // ---- Claims
  {
    name: 'exp-optional',
    line: 'C1',
    what: 'a token without exp is accepted',
    file: 'src/core/verify.ts',
    search: "if (!config.allowNonExpiring) throw invalid('missing exp')",
    replace: 'if (!config.allowNonExpiring) void 0',
    tests: [CHECKLIST, CORE_TOKENS],
  },
  {
    name: 'exp-hidden-grace',
    line: 'C1',
    what: 'exp gets a silent 5 s grace on top of the leeway',
    file: 'src/core/verify.ts',
    search: 'if (exp !== undefined && exp * 1000 <= now - config.leewayMs && !options.allowExpired) {',
    replace:
      'if (exp !== undefined && exp * 1000 <= now - config.leewayMs - 5_000 && !options.allowExpired) {',
    tests: [CHECKLIST, CORE_TOKENS],
  },
  {
    name: 'leeway-unbounded',
    line: 'C1',
    what: 'a leeway up to 50 minutes is accepted by the core',
    file: 'src/core/config.ts',
    search: 'if (leewayMs > 300_000)',
    replace: 'if (leewayMs > 3_000_000)',
    tests: [CHECKLIST, CORE_CONFIG],
  },
  {
    name: 'aud-without-audience',
    line: 'C2',
    what: 'a token with aud is accepted by a verifier configured without an audience',
    file: 'src/core/verify.ts',
    search: "if (!expected) throw invalid('audience not accepted')",
    replace: 'if (!expected) return',
    tests: [CHECKLIST, CORE_TOKENS],
  },
  {
    name: 'iss-prefix-match',
    line: 'C2',
    what: 'iss compared as a prefix, not exactly',
    file: 'src/core/verify.ts',
    search: '!config.issuer.includes(claims.iss)',
    replace: '!config.issuer.some((i) => (claims.iss as string).startsWith(i))',
    tests: [CHECKLIST, CORE_TOKENS],
  },
  {
    name: 'sub-may-be-empty',
    line: 'C3',
    what: 'an empty-string sub passes verification',
    file: 'src/core/verify.ts',
    search: "if (typeof sub !== 'string' || sub.length === 0)",
    replace: "if (typeof sub !== 'string')",
    tests: [CHECKLIST, CORE_TOKENS],
  },
  {
    name: 'inactive-user-accepted',
    line: 'C3',
    what: 'the guard forgets to check isActive',
    file: 'src/core/guard.ts',
    search: '  if (deps.isActive && !deps.isActive(loaded as never)) throw new UserInactiveError()\n',
    replace: '',
    tests: [CHECKLIST, CORE_GUARD],
  },
  {
    name: 'access-guard-takes-refresh',
    line: 'C4',
    what: 'the access guard accepts refresh tokens (only the refresh guard checks the type)',
    file: 'src/core/guard.ts',
    search: 'if (claims.type !== state.type) throw new WrongTokenTypeError(state.type)',
    replace:
      "if (claims.type !== state.type && state.type === 'refresh') throw new WrongTokenTypeError(state.type)",
    tests: [CHECKLIST, CORE_GUARD],
  },
  {
    name: 'type-optional',
    line: 'C4',
    what: 'a token without `type` passes verification',
    file: 'src/core/verify.ts',
    search:
      "if (claims.type !== 'access' && claims.type !== 'refresh') throw invalid('missing or unknown token type')",
    replace:
      "if (claims.type !== undefined && claims.type !== 'access' && claims.type !== 'refresh') throw invalid('missing or unknown token type')",
    tests: [CHECKLIST, CORE_TOKENS],
  },
  {
    name: 'claims-object-assign',
    line: 'C5',
    what: 'parsed claims merged with Object.assign (a `__proto__` key sets the prototype)',
    file: 'src/core/jws.ts',
    search: 'value = JSON.parse(text)',
    replace: 'value = Object.assign({}, JSON.parse(text))',
    tests: [CHECKLIST, CORE_TOKENS],
  },
  {
    name: 'payload-array-accepted',
    line: 'C5',
    what: 'a payload that is a JSON array is accepted',
    file: 'src/core/jws.ts',
    search: "if (value === null || typeof value !== 'object' || Array.isArray(value))",
    replace: "if (value === null || typeof value !== 'object')",
    tests: [CHECKLIST, CORE_TOKENS],
  },
  {
    name: 'revocation-keyed-on-text',
    line: 'C6',
    what: 'the guard asks the store about the token text instead of its jti',
    file: 'src/core/guard.ts',
    search: 'revoked = adopt(store.isRevoked(tokenRef(config, state.claims)))',
    replace:
      'revoked = adopt(store.isRevoked({ ...tokenRef(config, state.claims), jti: state.found.token }))',
    tests: [CHECKLIST, CORE_GUARD, SECURITY_REVOCATION],
  },

  // ---- Locations, cookies and CSRF
  {
    name: 'bearer-case-sensitive',
    line: 'L1',
    what: 'the Authorization scheme is matched case-sensitively',
    file: 'src/core/locations.ts',
    search: 'scheme.toLowerCase() !== type.toLowerCase()',
    replace: 'scheme !== type',
    tests: [CHECKLIST, CORE_GUARD],
  },
  {
    name: 'bearer-extra-spaces',
    line: 'L1',
    what: 'white space around the token is trimmed, so `Bearer` and two spaces pass',
    file: 'src/core/locations.ts',
    search: '    return value.slice(type.length + 1)\n',
    replace: '    return value.slice(type.length + 1).trim()\n',
    tests: [CHECKLIST, CORE_GUARD],
  },
  {
    name: 'query-tokens-by-default',
    line: 'L2',
    what: 'the reference server reads query-string tokens by default',
    file: 'src/server/config.ts',
    search: "default: 'headers,cookies',",
    replace: "default: 'headers,cookies,query',",
    tests: [CHECKLIST],
  },
  {
    name: 'query-token-logged',
    line: 'L2',
    what: 'the request URL is logged with the query token in it',
    file: 'src/server/logger.ts',
    search: 'if (SECRET_PARAMS.has(name.toLowerCase())) {',
    replace: 'if (SECRET_PARAMS.has(name.toLowerCase()) && false) {',
    tests: [CHECKLIST],
  },
  {
    name: 'token-cookie-readable',
    line: 'L3',
    what: 'token cookies without HttpOnly',
    file: 'src/core/cookies.ts',
    search: '      httpOnly: true,\n',
    replace: '      httpOnly: false,\n',
    tests: [CHECKLIST, CORE_LOGIN],
  },
  {
    name: 'clearing-drops-attributes',
    line: 'L3',
    what: 'clearing cookies leaves out Domain and Secure (browsers keep the original)',
    file: 'src/core/cookies.ts',
    search:
      "return types.flatMap((type) => tokenCookies(config, type, '', config.csrf.enabled ? '' : undefined, 0))",
    replace:
      "return types.flatMap((type) => tokenCookies(config, type, '', config.csrf.enabled ? '' : undefined, 0)).map((c) => ({ ...c, domain: undefined, secure: false }))",
    tests: [CHECKLIST, CORE_LOGIN],
  },
  {
    name: 'csrf-no-claim-no-header',
    line: 'L4',
    what: 'the CSRF check returns early when both the csrf claim and the header are missing (issue 18)',
    file: 'src/core/csrf.ts',
    search: "  if (sent === undefined || sent === '') throw new CsrfError('Missing CSRF token')",
    replace:
      "  if ((sent === undefined || sent === '') && claimValue === undefined) return\n  if (sent === undefined || sent === '') throw new CsrfError('Missing CSRF token')",
    tests: [CHECKLIST, CORE_GUARD],
  },
  {
    name: 'csrf-against-cookie',
    line: 'L4',
    what: 'the CSRF header is compared with the CSRF cookie, not with the signed claim',
    file: 'src/core/guard.ts',
    search: "if (state.found.location === 'cookies') checkCsrf(config, state.view, claims.csrf)",
    replace:
      "if (state.found.location === 'cookies') checkCsrf(config, state.view, state.view.cookie(state.type === 'access' ? config.cookies.csrfAccessName : config.cookies.csrfRefreshName))",
    tests: [CHECKLIST, CORE_GUARD],
  },
  {
    name: 'csrf-unequal-lengths-throw',
    line: 'L4',
    what: 'timingSafeEqual on the raw values (throws on unequal lengths: a 500)',
    file: 'src/core/csrf.ts',
    search: 'if (!timingSafeEqual(digest(sent), digest(claimValue)))',
    replace: 'if (!timingSafeEqual(Buffer.from(sent), Buffer.from(claimValue)))',
    tests: [CHECKLIST, CORE_GUARD],
  },
  {
    name: 'csrf-on-header-tokens',
    line: 'L4',
    what: 'tokens from the Authorization header need a CSRF value too',
    file: 'src/core/guard.ts',
    search: "if (state.found.location === 'cookies') checkCsrf(config, state.view, claims.csrf)",
    replace: 'checkCsrf(config, state.view, claims.csrf)',
    tests: [CHECKLIST, CORE_GUARD],
  },
  {
    name: 'csrf-skips-delete',
    line: 'L4',
    what: 'DELETE is missing from the default CSRF methods',
    file: 'src/core/config.ts',
    search: "methods: new Set((s.methods ?? ['POST', 'PUT', 'PATCH', 'DELETE'])",
    replace: "methods: new Set((s.methods ?? ['POST', 'PUT', 'PATCH'])",
    tests: [CHECKLIST, CORE_GUARD],
  },
  {
    name: 'logout-on-get',
    line: 'L5',
    what: 'GET /auth/logout logs out too',
    file: 'src/server/routes/session.ts',
    search: "  app.post(\n    '/auth/logout',\n",
    replace:
      "  app.get('/auth/logout', { preValidation: app.requireAuth() }, async (request) => {\n    await auth.logout(request.auth as Parameters<typeof auth.logout>[0])\n    return { msg: 'Logged out' }\n  })\n  app.post(\n    '/auth/logout',\n",
    tests: [CHECKLIST],
  },
  {
    // Two layers hold this (Fastify's text/plain parser is removed, and login checks the type): one
    // edit alone is an equivalent mutant, so the bug takes both.
    name: 'login-parses-text-plain',
    line: 'L5',
    what: 'text/plain bodies parsed as JSON and accepted by login (a cross-site form can post them)',
    file: 'src/server/app.ts',
    search: "  app.removeContentTypeParser('text/plain')\n",
    replace:
      "  app.removeContentTypeParser('text/plain')\n  app.addContentTypeParser('text/plain', { parseAs: 'string' }, app.getDefaultJsonParser('ignore', 'ignore'))\n",
    also: [
      {
        file: 'src/server/routes/context.ts',
        search: "if (type !== 'application/json')",
        replace: "if (type !== 'application/json' && type !== 'text/plain')",
      },
    ],
    tests: [CHECKLIST],
  },

  // ---- Login and passwords
  {
    name: 'argon2i-not-argon2id',
    line: 'P1',
    what: 'passwords hashed with argon2i',
    file: 'src/server/passwords.ts',
    search: 'const ARGON2ID = 2 as Algorithm',
    replace: 'const ARGON2ID = 1 as Algorithm',
    tests: [CHECKLIST],
  },
  {
    name: 'no-rehash-on-login',
    line: 'P1',
    what: 'hashes made with weaker parameters are never upgraded',
    file: 'src/server/passwords.ts',
    search: '      return (\n        p.algorithm !== ARGON2ID ||',
    replace: '      return false && (\n        p.algorithm !== ARGON2ID ||',
    tests: [CHECKLIST],
  },
  {
    name: 'unknown-email-skips-hash',
    line: 'P2',
    what: 'an unknown email is answered without the dummy verification (fast: account enumeration by timing)',
    file: 'src/server/login-throttle.ts',
    search: 'await hasher.verifyDummy(password)',
    replace: 'false',
    tests: [SECURITY_LOGIN],
    grep: 'similar time',
  },
  {
    name: 'unknown-email-other-message',
    line: 'P2',
    what: 'an unknown email gets another message than a wrong password',
    file: 'src/server/login-throttle.ts',
    search: '      throw invalidCredentials()\n',
    replace:
      "      throw user ? invalidCredentials() : new ApiError(401, 'INVALID_CREDENTIALS', 'No such account')\n",
    tests: [CHECKLIST],
  },
  {
    name: 'lockout-checks-password',
    line: 'P2',
    what: 'during a lock-out the right password still logs in (the lock-out reveals the password)',
    file: 'src/server/login-throttle.ts',
    search: 'if (pair.count > limits.loginMaxFailures) throw tooMany(pair.resetAt)',
    replace:
      'if (pair.count > limits.loginMaxFailures && !(await findUser().then((u) => (u ? this.#hasher.verify(u.passwordHash, password) : false)))) throw tooMany(pair.resetAt)',
    tests: [CHECKLIST],
  },
  {
    name: 'password-max-4096',
    line: 'P3',
    what: 'passwords up to 4096 characters',
    file: 'src/server/passwords.ts',
    search: 'export const MAX_PASSWORD_LENGTH = 1024',
    replace: 'export const MAX_PASSWORD_LENGTH = 4096',
    tests: [CHECKLIST],
  },
  {
    name: 'password-cut-at-nul',
    line: 'P3',
    what: 'a password is cut at its first NUL when verified (C-string binding)',
    file: 'src/server/passwords.ts',
    search: "return await verify(stored, Buffer.from(password, 'utf8'))",
    replace: "return await verify(stored, Buffer.from(password.split('\\u0000')[0]!, 'utf8'))",
    tests: [CHECKLIST],
  },
  {
    name: 'email-not-nfc',
    line: 'P4',
    what: 'emails not NFC-normalised',
    file: 'src/server/email.ts',
    search: "return input.trim().toLowerCase().normalize('NFC')",
    replace: 'return input.trim().toLowerCase()',
    tests: [CHECKLIST],
  },
  {
    name: 'email-control-characters',
    line: 'P4',
    what: 'control and invisible characters allowed in emails',
    file: 'src/server/email.ts',
    search: "if (INVISIBLE.test(email)) return 'email must not contain control or invisible characters'",
    replace: '',
    tests: [CHECKLIST],
  },

  // ---- Responses and operations
  {
    name: 'token-response-cacheable',
    line: 'R1',
    what: 'token responses without Cache-Control: no-store',
    file: 'src/core/token-response.ts',
    // The pair of a login or refresh (issuePair), as before the split; reissueAccess keeps its header.
    search:
      "  const headers: Record<string, string | string[]> = { 'cache-control': NO_STORE }\n  if (config.cookiesUsed)\n",
    replace: '  const headers: Record<string, string | string[]> = {}\n  if (config.cookiesUsed)\n',
    tests: [CHECKLIST, CORE_LOGIN],
  },
  {
    name: 'no-www-authenticate',
    line: 'R1',
    what: '401 answers without WWW-Authenticate',
    file: 'src/core/responses.ts',
    search: '  if (status === 401) {\n    headers',
    replace: '  if (status === 0) {\n    headers',
    tests: [CHECKLIST],
  },
  {
    name: 'request-headers-logged',
    line: 'R2',
    what: 'request headers logged as text (the redaction paths then miss the token and the cookies)',
    file: 'src/server/logger.ts',
    search: '      req: (req: { method?: string; url?: string; ip?: string }) => ({\n',
    replace:
      '      req: (req: { method?: string; url?: string; ip?: string; headers?: unknown }) => ({\n        headers: JSON.stringify(req.headers),\n',
    tests: [CHECKLIST],
  },
  {
    name: 'store-failure-accepts',
    line: 'R3',
    what: 'a revocation store that rejects is taken for "not revoked" (fail open)',
    file: 'src/core/guard.ts',
    // The rejection handler of the store's answer goes on as "not revoked" (`as never`: join types
    // its handler as one that throws; the cast keeps the copy compiling).
    search: 'return join(revoked, afterRevocation, state, storeFailed)',
    replace:
      'return join(revoked, afterRevocation, state, (_error: unknown, s: GuardState) => claimsStep(s) as never)',
    tests: [CHECKLIST, CORE_GUARD],
  },
  {
    name: 'cutoff-in-seconds',
    line: 'R4',
    what: 'logout everywhere cuts off at the next whole second (a login right after it is refused)',
    file: 'src/core/session.ts',
    search: '  const sub = identityOf(deps, subject)\n  const now = config.clock()',
    replace:
      '  const sub = identityOf(deps, subject)\n  const now = Math.ceil((config.clock() + 1) / 1000) * 1000',
    tests: [CHECKLIST, CORE_LOGIN],
  },
  {
    name: 'cutoff-inclusive',
    line: 'R4',
    what: 'the memory store also cuts off a token issued in the cut-off millisecond',
    file: 'src/stores/memory.ts',
    search: 'token.issuedAt < cutoff.before',
    replace: 'token.issuedAt <= cutoff.before',
    tests: ['test/stores/memory.test.ts'],
  },
  {
    name: 'reuse-keeps-family',
    line: 'R5',
    what: 'refresh-token reuse is refused but the family is not revoked',
    file: 'src/core/session.ts',
    // The reuse branch of refresh (detectReuse), not logout's family revocation (indented deeper).
    search: '\n  await storeCall(events, () => store.revokeFamily(family, familyUntil))\n',
    replace: '\n',
    tests: [CHECKLIST, CORE_LOGIN],
  },
  {
    // The database store's SQL is now latchkey/stores/sql, shared with the SQLite store: the same
    // dropped condition (overwrite only an expired marker) breaks both, hence the wider `what`.
    name: 'consume-always-first',
    line: 'R5',
    what: 'the SQL stores (database, SQLite) overwrite the used-refresh marker (every concurrent refresh wins)',
    file: 'src/stores/sql.ts',
    search: `        WHERE \${u}.expires_at <= :now\n`,
    replace: '',
    tests: [CHECKLIST, 'test/server/revocations.test.ts', 'test/stores/sqlite.test.ts'],
  },

  // ---- Issue 18: revocations last until exp + leeway (core and every store)
  {
    name: 'forget-at-exp',
    line: 'leeway',
    what: 'the core asks stores to keep token revocations and used-refresh markers until exp, not exp + leeway',
    file: 'src/core/revocation.ts',
    search: 'exp === undefined ? Number.MAX_SAFE_INTEGER : exp * 1000 + config.leewayMs',
    replace: 'exp === undefined ? Number.MAX_SAFE_INTEGER : exp * 1000',
    tests: [CORE_LOGIN],
  },
  {
    name: 'family-and-identity-without-leeway',
    line: 'leeway',
    what: 'family revocations and logout-everywhere cut-offs kept for the longest lifetime without the leeway',
    file: 'src/core/revocation.ts',
    search: 'Number(config.accessTtlMs || 0)) +\n    config.leewayMs',
    replace: 'Number(config.accessTtlMs || 0)) +\n    0',
    tests: [CORE_LOGIN],
  },
  {
    name: 'memory-forgets-early',
    line: 'leeway',
    what: 'the memory store keeps revoked ids and families 1 ms less than asked (off by one)',
    file: 'src/stores/memory.ts',
    search: '    map.set(key, expiresAt)',
    replace: '    map.set(key, expiresAt - 1)',
    tests: ['test/stores/memory.test.ts'],
  },
  {
    name: 'memory-trusts-token-exp',
    line: 'leeway',
    what: 'the memory store answers "not revoked" once the token is past its own exp (ignores the leeway)',
    file: 'src/stores/memory.ts',
    search: '    const now = this.#now()\n    const tokenUntil = this.#tokens.get(token.jti)',
    replace:
      '    const now = this.#now()\n    if (token.expiresAt !== undefined && token.expiresAt <= now) return false\n    const tokenUntil = this.#tokens.get(token.jti)',
    tests: ['test/stores/memory.test.ts'],
  },
  {
    name: 'sqlite-forgets-early',
    line: 'leeway',
    what: 'the SQLite store keeps identity cut-offs 1 ms less than asked (off by one)',
    file: 'src/stores/sqlite.ts',
    search: 'this.#sql.revokeIdentity.params({ sub, cutoff: before, expiresAt, now })',
    replace: 'this.#sql.revokeIdentity.params({ sub, cutoff: before, expiresAt: expiresAt - 1, now })',
    tests: ['test/stores/sqlite.test.ts'],
  },
  {
    name: 'redis-forgets-early',
    line: 'leeway',
    what: 'the Redis store gives revoked ids and families half the TTL asked for',
    file: 'src/stores/redis.ts',
    search: '    const ttl = Math.ceil(expiresAt - Date.now())\n    // An entry already past',
    replace: '    const ttl = Math.ceil((expiresAt - Date.now()) / 2)\n    // An entry already past',
    tests: ['test/stores/redis.test.ts', 'test/stores/redis-cluster.test.ts'],
  },
  {
    name: 'database-forgets-early',
    line: 'leeway',
    what: 'the database store keeps used-refresh markers 1 ms less than asked (off by one)',
    file: 'src/server/db/revocations.ts',
    search: 'expiresAt: Math.max(expiresAt, now + 1),',
    replace: 'expiresAt: Math.max(expiresAt - 1, now + 1),',
    tests: ['test/server/revocations.test.ts'],
  },
]
