/**
 * What the benchmark servers share: the users, the secret, the latchkey auth object and the
 * hand-written node:crypto check (the ceiling). Each server is one process serving `GET /me` in the
 * configuration named by MODE, on a random port of 127.0.0.1 that it prints on stdout.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
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

export type Mode = 'bare' | 'latchkey' | 'peer' | 'ceiling'
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

export function makeAuth(overrides: Partial<AuthOptions<User>> = {}) {
  return createAuth<User>({
    keys: { secret: SECRET },
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

/**
 * The ceiling: what a careful hand-written check costs. Bearer parsing, HMAC-SHA256 of the signing
 * input, timingSafeEqual against the decoded signature, JSON.parse of the payload, exp check, and the
 * user from the Map. Returns undefined for any refusal.
 */
export function ceilingCheck(authorization: string | undefined): User | undefined {
  if (authorization === undefined || !authorization.startsWith(BEARER)) return undefined
  const token = authorization.slice(BEARER.length)
  const dot1 = token.indexOf('.')
  const dot2 = token.lastIndexOf('.')
  if (dot1 < 0 || dot2 <= dot1) return undefined
  const mac = createHmac('sha256', key).update(token.slice(0, dot2)).digest()
  const sig = Buffer.from(token.slice(dot2 + 1), 'base64url')
  if (sig.length !== mac.length || !timingSafeEqual(mac, sig)) return undefined
  let claims: { sub?: unknown; exp?: unknown }
  try {
    claims = JSON.parse(Buffer.from(token.slice(dot1 + 1, dot2), 'base64url').toString())
  } catch {
    return undefined
  }
  if (typeof claims.exp !== 'number' || claims.exp * 1000 <= Date.now()) return undefined
  return typeof claims.sub === 'string' ? users.get(claims.sub) : undefined
}

export const userJson = (user: User | undefined) => ({ id: user?.id, email: user?.email })

export function announce(port: number): void {
  // The orchestrator reads this line to learn the port.
  process.stdout.write(`PORT ${port}\n`)
}

/** Exits on SIGTERM/SIGINT, so `node --cpu-prof` gets to write its profile. */
export function exitOnSignal(): void {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => process.exit(0))
}
