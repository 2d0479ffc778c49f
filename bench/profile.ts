/**
 * Profiles one benchmark server under wrk load and prints its top self-time functions:
 *
 *   node --import tsx bench/profile.ts <fastify|express|hono> <bare|latchkey|peer|ceiling> <hot|cold> [seconds]
 *
 * The server runs with `node --cpu-prof`; after a 2 s warm-up, wrk loads it for `seconds` (default 5),
 * then the server exits and its profile (main thread, the measured load only) is summarised. The
 * .cpuprofile file stays in <tmpdir>/latchkey-profiles/ for Chrome DevTools or speedscope.
 * PEER=passport-jwt picks Express's other peer.
 *
 *   node --import tsx bench/profile.ts --summarize <file.cpuprofile | directory>
 *
 * summarises any profile, e.g. of the in-process guard:
 * `MIX=cold ONLY='latchkey check' node --cpu-prof --cpu-prof-dir=/tmp/guard --import tsx bench/guard.ts`.
 */
import { spawn } from 'node:child_process'
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { parseWrk, writeColdMix } from './http.js'
import { makeAuth, USERS } from './servers/common.js'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}
interface Profile {
  nodes: ProfileNode[]
  /** µs, on the monotonic clock that process.hrtime also reads. */
  startTime: number
  samples: number[]
  timeDeltas: number[]
}

export interface SelfTime {
  fn: string
  where: string
  ms: number
  /** Share of the non-idle time. */
  share: number
}

/**
 * Self time per function (by name and file), largest first; idle excluded from the shares. Only
 * samples within `window` (µs on the monotonic clock) count, when given and when any fall in it.
 */
export function selfTimes(
  profile: Profile,
  window?: [number, number],
): { busyMs: number; idleMs: number; windowed: boolean; top: SelfTime[] } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const totals = new Map<string, { fn: string; where: string; us: number }>()
  let idle = 0
  let all = 0
  let t = profile.startTime
  const times = profile.timeDeltas.map((dt) => {
    t += dt
    return t
  })
  const windowed = window !== undefined && times.some((at) => at >= window[0] && at <= window[1])
  profile.samples.forEach((id, i) => {
    if (windowed && (times[i]! < window[0] || times[i]! > window[1])) return
    const dt = profile.timeDeltas[i] ?? 0
    all += dt
    const frame = byId.get(id)!.callFrame
    if (frame.functionName === '(idle)') {
      idle += dt
      return
    }
    const where = frame.url ? frame.url.replace(/^.*\/(node_modules\/|src\/|bench\/)/, '$1') : '(native)'
    const key = `${frame.functionName}|${where}`
    const entry = totals.get(key) ?? { fn: frame.functionName || '(anonymous)', where, us: 0 }
    entry.us += dt
    totals.set(key, entry)
  })
  const busy = all - idle
  const top = [...totals.values()]
    .sort((a, b) => b.us - a.us)
    .map((e) => ({ fn: e.fn, where: e.where, ms: e.us / 1000, share: e.us / busy }))
  return { busyMs: busy / 1000, idleMs: idle / 1000, windowed, top }
}

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (d) => {
      out += d
    })
    child.on('error', reject)
    child.on('exit', () => resolve(out))
  })
}

function printTop(top: SelfTime[]): void {
  console.log('| self time (share of busy) | function | where |\n|---|---|---|')
  for (const t of top.slice(0, Number(process.env.TOP ?? 20))) {
    console.log(`| ${(t.share * 100).toFixed(1)}% | ${t.fn} | ${t.where} |`)
  }
}

if (import.meta.url === `file://${process.argv[1]}` && process.argv[2] === '--summarize') {
  // Any .cpuprofile (e.g. from `node --cpu-prof bench/guard.ts`): the largest file of a directory.
  const target = process.argv[3] ?? '.'
  const file = statSync(target).isDirectory()
    ? readdirSync(target)
        .filter((f) => f.endsWith('.cpuprofile'))
        .map((f) => join(target, f))
        .sort((a, b) => statSync(b).size - statSync(a).size)[0]!
    : target
  const { busyMs, idleMs, top } = selfTimes(JSON.parse(readFileSync(file, 'utf8')) as Profile)
  console.log(`${file}: busy ${Math.round(busyMs)} ms, idle ${Math.round(idleMs)} ms (whole process)\n`)
  printTop(top)
} else if (import.meta.url === `file://${process.argv[1]}`) {
  const [framework = 'fastify', mode = 'latchkey', mix = 'cold', secondsArg = '5'] = process.argv.slice(2)
  const dir = join(os.tmpdir(), 'latchkey-profiles', `${framework}-${mode}-${mix}`)
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  const tmp = join(os.tmpdir(), `latchkey-profile-${process.pid}`)
  mkdirSync(tmp, { recursive: true })
  const auth = makeAuth()
  const tokens = Array.from({ length: USERS }, (_, i) =>
    auth.createAccessToken(`user-${i}`, { expiresIn: '1h' }),
  )
  const cold = writeColdMix(tmp, tokens)
  const server = spawn(
    process.execPath,
    ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--import', 'tsx', `bench/servers/${framework}.ts`],
    { env: { ...process.env, MODE: mode, NODE_ENV: 'production' }, stdio: ['ignore', 'pipe', 'inherit'] },
  )
  const port = await new Promise<number>((resolve) => {
    createInterface({ input: server.stdout! }).on('line', (line) => {
      const m = /^PORT (\d+)$/.exec(line)
      if (m) resolve(Number(m[1]))
    })
  })
  const load =
    mix === 'cold'
      ? ['-s', cold.script, `http://127.0.0.1:${port}/me`, '--', cold.requestFile]
      : ['-H', `Authorization: Bearer ${tokens[0]}`, `http://127.0.0.1:${port}/me`]
  await run('wrk', ['-t1', '-c10', '-d2s', ...load])
  const from = Number(process.hrtime.bigint() / 1000n)
  const result = parseWrk(await run('wrk', ['-t1', '-c10', `-d${secondsArg}s`, '--latency', ...load]))
  const to = Number(process.hrtime.bigint() / 1000n)
  await new Promise((resolve) => {
    server.once('exit', resolve)
    server.kill('SIGTERM')
  })
  rmSync(tmp, { recursive: true, force: true })
  // The largest profile is the main thread's (tsx's loader thread writes a small one too).
  const file = readdirSync(dir)
    .map((f) => join(dir, f))
    .sort((a, b) => statSync(b).size - statSync(a).size)[0]!
  const { busyMs, idleMs, windowed, top } = selfTimes(JSON.parse(readFileSync(file, 'utf8')) as Profile, [
    from,
    to,
  ])
  console.log(
    `${framework} ${mode} ${mix}: ${Math.round(result.rps)} req/s, p99 ${result.p99Ms} ms; profile ${file}`,
  )
  console.log(
    `busy ${Math.round(busyMs)} ms, idle ${Math.round(idleMs)} ms (${windowed ? 'the measured load only' : 'whole process: start-up and warm-up included'})\n`,
  )
  printTop(top)
}
