/**
 * The guard in-process, without a framework or sockets: latchkey's whole guard, `auth.check` as the
 * adapters call it (request view, Bearer header, HS256, memory revocation store, user from a Map of
 * 10,000, `isActive`), and the promise API `auth.authenticate` awaited, against the
 * hand-written node:crypto check of the HTTP benchmark's ceiling (HMAC, timingSafeEqual, JSON.parse,
 * exp, Map lookup). Cold: 10,000 users' tokens round-robin; hot: one token. Header values are new
 * strings made from bytes each call, as Node's HTTP parser makes them. This is the issue's "the
 * whole guard should cost no more than the bare verification of a hand-written check plus 10%",
 * measured where the machine's noise matters least.
 */
import { nodeRequestView } from '../src/adapters/http.js'
import { fmt, interleaved, type Stat } from './lib.js'
import { ceilingCheck, makeAuth, USERS } from './servers/common.js'

export async function runGuard(opts: { rounds?: number; roundMs?: number } = {}) {
  const auth = makeAuth()
  const noCache = makeAuth({ verifiedTokenCache: false })
  const headers = Array.from({ length: USERS }, (_, i) =>
    Buffer.from(`Bearer ${auth.createAccessToken(`user-${i}`, { expiresIn: '1h' })}`, 'latin1'),
  )
  const results: Record<string, Record<string, Stat>> = {}
  const mixes = (process.env.MIX?.split(',') ?? ['cold', 'hot']) as ('cold' | 'hot')[]
  for (const mix of mixes) {
    // Each contender walks the 10,000 tokens with its own cursor, across rounds (the call index
    // restarts every round, which would replay the same tokens and let the cache hit).
    const each = (run: (authorization: string) => unknown): ((i: number) => unknown) => {
      let n = 0
      return mix === 'cold'
        ? () => run(headers[n++ % USERS]!.toString('latin1'))
        : () => run(headers[0]!.toString('latin1'))
    }
    const view = (authorization: string) =>
      nodeRequestView({ method: 'GET', url: '/me', headers: { authorization } })
    const contenders: Record<string, (i: number) => unknown> = {
      'hand-written check (ceiling)': each((h) => {
        if (!ceilingCheck(h)) throw new Error('ceiling refused a valid token')
      }),
      // `check` is what the adapters call: with a memory store and a Map loader it answers without a
      // promise. `authenticate` (the promise API) is awaited, as an app calling it would.
      'latchkey check': each((h) => auth.check(view(h))),
      'latchkey check, verifiedTokenCache: false': each((h) => noCache.check(view(h))),
      'latchkey authenticate (awaited)': each((h) => auth.authenticate(view(h))),
    }
    // ONLY=<name> keeps one contender, MIX=cold or hot one mix (for `node --cpu-prof`, see docs/benchmarks.md).
    const only = process.env.ONLY
    if (only) for (const name of Object.keys(contenders)) if (name !== only) delete contenders[name]
    for (const fn of Object.values(contenders)) await fn(0)
    results[mix] = await interleaved(contenders, opts)
  }
  return { results }
}

export function guardTable(data: { results: Record<string, Record<string, Stat>> }): string {
  const lines = [
    '| mix | contender | µs per request (median) | best round µs | spread | cost ÷ ceiling (median) |',
    '|---|---|---|---|---|---|',
  ]
  for (const [mix, contenders] of Object.entries(data.results)) {
    const ceiling = contenders['hand-written check (ceiling)']?.median ?? Number.NaN
    for (const [name, s] of Object.entries(contenders)) {
      lines.push(
        `| ${mix} | ${name} | ${fmt(1e6 / s.median)} | ${fmt(1e6 / s.max)} | ${Math.round(s.spread * 100)}% | ${(ceiling / s.median).toFixed(2)}× |`,
      )
    }
  }
  return lines.join('\n')
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const data = await runGuard({
    rounds: Number(process.env.ROUNDS ?? 9),
    roundMs: Number(process.env.ROUND_MS ?? 100),
  })
  console.log(guardTable(data))
}
