/**
 * What the benchmark servers share: the users, the secret, the latchkey auth object and the
 * hand-written node:crypto check (the ceiling). Each server is one process serving `GET /me` in the
 * configuration named by MODE, on a random port of 127.0.0.1 that it prints on stdout.
 */
import {
  createHmac,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  timingSafeEqual,
  verify,
} from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { type AuthOptions, createAuth, MemoryRevocationStore } from '../../src/index.js'

export type User = { id: string; email: string; active: boolean }

export const SECRET = process.env.BENCH_SECRET ?? 'bench-secret-bench-secret-bench-secret-0123456789'
export const USERS = 10_000
export const users = new Map<string, User>()
for (let i = 0; i < USERS; i++)
  users.set(`user-${i}`, { id: `user-${i}`, email: `user-${i}@example.com`, active: true })

/** What the bare route answers: the same shape and size as an authenticated answer. */
export const BARE_USER: User = users.get('user-0')!

export type Mode = 'bare' | 'noop' | 'latchkey' | 'peer' | 'ceiling' | 'paired'
/** The configuration asked for in the environment (MODE, and PEER where a framework has several). */
export const MODE = (process.env.MODE ?? 'bare') as Mode
/** Which peer, for frameworks with more than one (Express: express-jwt or passport-jwt). */
export const PEER = process.env.PEER ?? ''

/** A Node request listener: what `http.createServer` takes (and what in-process profiling drives). */
export type Listener = (req: IncomingMessage, res: ServerResponse) => void

/** True when `url` (a module's import.meta.url) is the script Node was started with. */
export const isMain = (url: string): boolean =>
  process.argv[1] !== undefined && url === pathToFileURL(process.argv[1]).href

/** Serves `listener` on a random port of 127.0.0.1 and prints the port. */
export function listen(listener: Listener): void {
  const server = createServer(listener)
  server.listen(0, '127.0.0.1', () => {
    const address = server.address()
    announce(typeof address === 'object' && address ? address.port : 0)
  })
  exitOnSignal()
}

/** The algorithm of the benchmark's tokens: HS256 (default), or ES256, EdDSA, RS256 with a key from BENCH_KEY_DIR. */
export type BenchAlg = 'HS256' | 'ES256' | 'EdDSA' | 'RS256'
export const ALG = (process.env.ALG ?? 'HS256') as BenchAlg

/** The private key PEM of an asymmetric algorithm, written by the orchestrator into BENCH_KEY_DIR. */
export function privateKeyPem(alg: BenchAlg): string {
  const dir = process.env.BENCH_KEY_DIR
  if (!dir) throw new Error(`ALG=${alg} needs BENCH_KEY_DIR (the orchestrator writes the keys there)`)
  return readFileSync(join(dir, `${alg}.pem`), 'utf8')
}

const NEW_KEY_PAIR = {
  ES256: () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' }),
  EdDSA: () => generateKeyPairSync('ed25519'),
  RS256: () => generateKeyPairSync('rsa', { modulusLength: 2048 }),
} as const

/** The orchestrator's side: a new private key PEM per asymmetric algorithm in `dir` (BENCH_KEY_DIR of the servers). */
export function writeBenchKeys(dir: string, algs: readonly BenchAlg[]): void {
  for (const alg of algs) {
    if (alg === 'HS256') continue
    const { privateKey } = NEW_KEY_PAIR[alg]()
    writeFileSync(join(dir, `${alg}.pem`), privateKey.export({ format: 'pem', type: 'pkcs8' }) as string)
  }
}

/** latchkey's key configuration for an algorithm. */
export function benchKeys(alg: BenchAlg = ALG): AuthOptions<User>['keys'] {
  return alg === 'HS256' ? { secret: SECRET } : { privateKey: privateKeyPem(alg), algorithm: alg }
}

export function makeAuth(overrides: Partial<AuthOptions<User>> = {}) {
  return createAuth<User>({
    keys: benchKeys(),
    revocation: new MemoryRevocationStore(),
    identify: (user) => user.id,
    loadUser: (id) => users.get(id),
    isActive: (user) => user.active,
    // For analysis only (the benchmark runs the default): BENCH_TOKEN_CACHE=<size> or 0 for none.
    ...(process.env.BENCH_TOKEN_CACHE === undefined
      ? {}
      : { verifiedTokenCache: Number(process.env.BENCH_TOKEN_CACHE) || false }),
    ...overrides,
  })
}

const key = Buffer.from(SECRET)
const BEARER = 'Bearer '

/** The hand-written checks' payload step: base64url decode and JSON.parse, exp, the user from the Map. */
function payloadUser(token: string, dot1: number, dot2: number): User | undefined {
  let claims: { sub?: unknown; exp?: unknown }
  try {
    claims = JSON.parse(Buffer.from(token.slice(dot1 + 1, dot2), 'base64url').toString())
  } catch {
    return undefined
  }
  if (typeof claims.exp !== 'number' || claims.exp * 1000 <= Date.now()) return undefined
  return typeof claims.sub === 'string' ? users.get(claims.sub) : undefined
}

/**
 * The ceiling: what a careful hand-written check costs. Bearer parsing, HMAC-SHA256 of the signing
 * input, timingSafeEqual against the decoded signature, JSON.parse of the payload, exp check, and the
 * user from the Map. Returns undefined for any refusal.
 */
function hmacCeiling(authorization: string | undefined): User | undefined {
  if (authorization === undefined || !authorization.startsWith(BEARER)) return undefined
  const token = authorization.slice(BEARER.length)
  const dot1 = token.indexOf('.')
  const dot2 = token.lastIndexOf('.')
  if (dot1 < 0 || dot2 <= dot1) return undefined
  const mac = createHmac('sha256', key).update(token.slice(0, dot2)).digest()
  const sig = Buffer.from(token.slice(dot2 + 1), 'base64url')
  if (sig.length !== mac.length || !timingSafeEqual(mac, sig)) return undefined
  return payloadUser(token, dot1, dot2)
}

/** How each asymmetric algorithm verifies with node:crypto: hash and options, as a careful hand-written check would. */
const VERIFY_OPTIONS: Record<
  Exclude<BenchAlg, 'HS256'>,
  { hash: string | null; dsa?: 'ieee-p1363'; pss?: boolean }
> = {
  ES256: { hash: 'sha256', dsa: 'ieee-p1363' },
  EdDSA: { hash: null },
  RS256: { hash: 'sha256' },
}

/**
 * The asymmetric ceiling: Bearer parsing, `crypto.verify` with a KeyObject made once, base64url
 * decode and JSON.parse of the payload, exp, the user from the Map.
 */
function verifyCeiling(
  alg: Exclude<BenchAlg, 'HS256'>,
): (authorization: string | undefined) => User | undefined {
  const publicKey: KeyObject = createPublicKey(createPrivateKey(privateKeyPem(alg)))
  const { hash, dsa } = VERIFY_OPTIONS[alg]
  const keyArg = dsa ? { key: publicKey, dsaEncoding: dsa } : publicKey
  return (authorization) => {
    if (authorization === undefined || !authorization.startsWith(BEARER)) return undefined
    const token = authorization.slice(BEARER.length)
    const dot1 = token.indexOf('.')
    const dot2 = token.lastIndexOf('.')
    if (dot1 < 0 || dot2 <= dot1) return undefined
    const data = Buffer.from(token.slice(0, dot2), 'latin1')
    const sig = Buffer.from(token.slice(dot2 + 1), 'base64url')
    let ok = false
    try {
      ok = verify(hash, data, keyArg, sig)
    } catch {
      return undefined
    }
    if (!ok) return undefined
    return payloadUser(token, dot1, dot2)
  }
}
/** The ceiling of the configured algorithm (ALG): HMAC for HS256, `crypto.verify` otherwise. */
export const ceilingCheck: (authorization: string | undefined) => User | undefined =
  ALG === 'HS256' ? hmacCeiling : verifyCeiling(ALG)

/** The floor: the hook reads the header and sets a user, verifying nothing. */
export function noopCheck(authorization: string | undefined): User | undefined {
  return authorization === undefined ? undefined : BARE_USER
}

export const userJson = (user: User | undefined) => ({ id: user?.id, email: user?.email })

/**
 * MODE=paired: one server with a route per hook (`/bare`: a hook that does nothing, `/noop`,
 * `/ceiling`, `/latchkey`), each hook timed inside the server from its call until it lets the
 * request go on. Requests to the routes arrive interleaved (bench/paired.ts), so whatever slows the
 * machine meanwhile slows them alike.
 */
export const PAIRED_KINDS = ['bare', 'noop', 'ceiling', 'latchkey'] as const
export type PairedKind = (typeof PAIRED_KINDS)[number]

const spent: Record<PairedKind, { ms: number; n: number }> = {
  bare: { ms: 0, n: 0 },
  noop: { ms: 0, n: 0 },
  ceiling: { ms: 0, n: 0 },
  latchkey: { ms: 0, n: 0 },
}

/** Records one hook run of `kind` that started at `start` (performance.now()). */
export function recordHook(kind: PairedKind, start: number): void {
  const s = spent[kind]
  s.ms += performance.now() - start
  s.n++
}

/**
 * A callback hook (Fastify's `onRequest`, Express middleware: request, response, then a callback to
 * go on) timed as `kind` until it calls back; the time after, the handler's, is not the hook's.
 */
export function timedCallbackHook<Req, Res, Err>(
  kind: PairedKind,
  hook: (request: Req, response: Res, done: (err?: Err) => void) => void,
): (request: Req, response: Res, done: (err?: Err) => void) => void {
  return (request, response, done) => {
    const start = performance.now()
    hook(request, response, (err) => {
      recordHook(kind, start)
      done(err)
    })
  }
}

/** The hook times since the last call, in µs per request by kind (the answer of `GET /stats`); resets them. */
export function takeHookStats(): Record<PairedKind, { us: number; n: number }> {
  const out = {} as Record<PairedKind, { us: number; n: number }>
  for (const kind of PAIRED_KINDS) {
    const s = spent[kind]
    out[kind] = { us: s.n ? (s.ms * 1000) / s.n : Number.NaN, n: s.n }
    s.ms = 0
    s.n = 0
  }
  return out
}

export function announce(port: number): void {
  // The orchestrator reads this line to learn the port.
  process.stdout.write(`PORT ${port}\n`)
}

/** Exits on SIGTERM/SIGINT, so `node --cpu-prof` gets to write its profile. */
export function exitOnSignal(): void {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => process.exit(0))
}
