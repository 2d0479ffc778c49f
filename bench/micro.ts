/**
 * Micro benchmark: verifications per second, one at a time, of latchkey against the machine's limit
 * (a hand-written node:crypto check) and the peers (jose, fast-jwt with and without cache,
 * jsonwebtoken), for HS256, RS256, ES256 and EdDSA. Cold = a different token each call; hot = the
 * same token repeated.
 */
import {
  createHmac,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  timingSafeEqual,
  verify,
} from 'node:crypto'
import { createVerifier } from 'fast-jwt'
import * as jose from 'jose'
import jsonwebtoken from 'jsonwebtoken'
import { createAuth } from '../src/index.js'
import { fmt, interleaved, machine, pct, type Stat, writeJson } from './lib.js'

type Alg = 'HS256' | 'RS256' | 'ES256' | 'EdDSA'
const ALGS: Alg[] = ['HS256', 'RS256', 'ES256', 'EdDSA']
// Cold tokens must not come back within any cache's reach: latchkey's verified-token cache admits a
// token on its second sighting within about its size (1 000), so a short cycle would turn "cold"
// into partly hot. 10,000 tokens cycle far beyond it (and beyond fast-jwt's cache of 1 000).
const TOKENS = 10_000

function keysFor(alg: Alg): { sign: KeyObject | string; verify: KeyObject | string; pem: string } {
  if (alg === 'HS256') {
    const secret = 'bench-secret-bench-secret-bench-secret-0123456789'
    return { sign: secret, verify: secret, pem: secret }
  }
  const pair =
    alg === 'RS256'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : alg === 'ES256'
        ? generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
        : generateKeyPairSync('ed25519')
  return {
    sign: pair.privateKey,
    verify: pair.publicKey,
    pem: pair.publicKey.export({ format: 'pem', type: 'spki' }) as string,
  }
}

/** The ceiling: what a hand-written check costs (signature, then JSON.parse of the payload). */
function limitVerifier(alg: Alg, key: KeyObject | string): (token: string) => unknown {
  if (alg === 'HS256') {
    return (token) => {
      const dot = token.lastIndexOf('.')
      const mac = createHmac('sha256', key as string)
        .update(token.slice(0, dot))
        .digest()
      const sig = Buffer.from(token.slice(dot + 1), 'base64url')
      if (sig.length !== mac.length || !timingSafeEqual(mac, sig)) throw new Error('bad')
      return JSON.parse(Buffer.from(token.slice(token.indexOf('.') + 1, dot), 'base64url').toString())
    }
  }
  const pub = key as KeyObject
  return (token) => {
    const dot = token.lastIndexOf('.')
    const data = Buffer.from(token.slice(0, dot))
    const sig = Buffer.from(token.slice(dot + 1), 'base64url')
    const ok =
      alg === 'EdDSA'
        ? verify(null, data, pub, sig)
        : verify('sha256', data, alg === 'ES256' ? { key: pub, dsaEncoding: 'ieee-p1363' } : pub, sig)
    if (!ok) throw new Error('bad')
    return JSON.parse(Buffer.from(token.slice(token.indexOf('.') + 1, dot), 'base64url').toString())
  }
}

export async function runMicro(
  opts: { rounds?: number; roundMs?: number } = {},
): Promise<Record<string, unknown>> {
  const results: Record<string, Record<string, Record<string, Stat>>> = {}
  for (const alg of ALGS) {
    const k = keysFor(alg)
    const auth = createAuth({
      keys:
        alg === 'HS256' ? { secret: k.sign as string } : { privateKey: k.sign as KeyObject, algorithm: alg },
      accessTokenTtl: '1h',
    })
    const tokens = Array.from({ length: TOKENS }, (_, i) => auth.createAccessToken(`user-${i}`))
    // Hot = the same token text, but a new string each call, made from bytes as Node's HTTP parser
    // makes header values (V8 caches a string's hash on the object, which would flatter a Map cache).
    // Every contender pays for this copy, the limit included.
    const sameBytes = Buffer.from(tokens[0]!, 'latin1')
    const joseKey = alg === 'HS256' ? new TextEncoder().encode(k.verify as string) : (k.verify as KeyObject)
    const limit = limitVerifier(alg, k.verify)
    const fastKey = alg === 'HS256' ? (k.verify as string) : k.pem
    const fast = createVerifier({ key: fastKey, algorithms: [alg] })
    const fastCached = createVerifier({ key: fastKey, algorithms: [alg], cache: true })
    const jwtKey = alg === 'HS256' ? (k.verify as string) : createPublicKey(k.pem)
    const jwtAlg = alg === 'EdDSA' ? undefined : [alg as jsonwebtoken.Algorithm]
    for (const mode of ['cold', 'hot'] as const) {
      // Cold: each contender walks the whole token list with its own cursor, across rounds. (The call
      // index restarts at 0 every round; a slow algorithm gets through ~1 000 calls a round, so picking
      // by index replayed the same tokens each round and let the caches hit.)
      const each = (verifyOne: (token: string) => unknown): ((i: number) => unknown) => {
        let n = 0
        return mode === 'cold'
          ? () => verifyOne(tokens[n++ % TOKENS]!)
          : () => verifyOne(sameBytes.toString('latin1'))
      }
      const contenders: Record<string, (i: number) => unknown> = {
        'node:crypto (limit)': each(limit),
        latchkey: each((t) => auth.decodeToken(t)),
        jose: each((t) => jose.jwtVerify(t, joseKey, { algorithms: [alg] })),
        'fast-jwt': each((t) => fast(t)),
        'fast-jwt (cache)': each((t) => fastCached(t)),
        jsonwebtoken: each((t) => jsonwebtoken.verify(t, jwtKey, jwtAlg ? { algorithms: jwtAlg } : {})),
      }
      // sanity: every contender accepts the token before we time it
      for (const [name, fn] of Object.entries(contenders)) {
        try {
          await fn(0)
        } catch (err) {
          console.error(`  ${name} refused a valid ${alg} token: ${(err as Error).message}; dropped`)
          delete contenders[name]
        }
      }
      results[alg] ??= {}
      results[alg][mode] = await interleaved(contenders, opts)
    }
  }
  return { machine: machine(), results }
}

export function microTable(data: Record<string, unknown>): string {
  const results = data.results as Record<string, Record<string, Record<string, Stat>>>
  const lines = [
    '| alg | mode | contender | verifications/s (median) | spread | share of limit |',
    '|---|---|---|---|---|---|',
  ]
  for (const [alg, modes] of Object.entries(results)) {
    for (const [mode, contenders] of Object.entries(modes)) {
      const limit = contenders['node:crypto (limit)']!.median
      for (const [name, s] of Object.entries(contenders)) {
        lines.push(
          `| ${alg} | ${mode} | ${name} | ${fmt(s.median)} | ${pct(s.spread)} | ${pct(s.median / limit)} |`,
        )
      }
    }
  }
  return lines.join('\n')
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const data = await runMicro({
    rounds: Number(process.env.ROUNDS ?? 5),
    roundMs: Number(process.env.ROUND_MS ?? 250),
  })
  writeJson('bench/results/micro.json', data)
  console.log(microTable(data))
}
