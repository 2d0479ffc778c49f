/**
 * Server processes for tests: spawned in their own process group, their output collected line by
 * line, and killed (group included) when a failed test leaves them running. Used by the process
 * tests and the security fault tests.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { join, resolve } from 'node:path'
import { Client, TEST_ARGON2 } from './harness.js'

/** A spawned server and what it printed. */
export interface ServerProcess {
  child: ChildProcess
  output: string[]
  /** Resolves with the first output line matching, or rejects after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>
  exited: Promise<number | null>
}

const children: ChildProcess[] = []

/**
 * Remembers a child started detached (its own process group) so that `killLeftovers` ends it, and
 * everything it started, if a failed test leaves it running.
 */
export function track(child: ChildProcess): ChildProcess {
  children.push(child)
  return child
}

/** Kills, process group included, every tracked child still running. Call it in `afterEach`. */
export function killLeftovers(): void {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null && child.pid) {
      try {
        process.kill(-child.pid, 'SIGKILL')
      } catch {}
    }
  }
}

/** The environment of a child server: ours, less every setting the tests choose themselves. */
export function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [name, value] of Object.entries(process.env)) {
    if (/^(LATCHKEY_|DATABASE_URL$|REDIS_URL$|HOST$|PORT$|LOG_LEVEL$|npm_)/.test(name)) continue
    env[name] = value
  }
  return { ...env, ...extra }
}

/** Spawns a server process (detached, tracked) and collects its output lines. */
export function startProcess(
  command: string,
  args: string[],
  options: { cwd: string; env: Record<string, string> },
): ServerProcess {
  // Its own process group, so npm and the node it starts can be signalled together.
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: cleanEnv(options.env),
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  track(child)
  const output: string[] = []
  const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = []
  let pending = ''
  const onData = (chunk: Buffer) => {
    pending += chunk.toString('utf8')
    let newline = pending.indexOf('\n')
    while (newline >= 0) {
      const line = pending.slice(0, newline)
      pending = pending.slice(newline + 1)
      output.push(line)
      for (const waiter of [...waiters]) {
        if (waiter.pattern.test(line)) {
          waiters.splice(waiters.indexOf(waiter), 1)
          waiter.resolve(line)
        }
      }
      newline = pending.indexOf('\n')
    }
  }
  child.stdout!.on('data', onData)
  child.stderr!.on('data', onData)
  // 'close', not 'exit': with npm, the server it started may still be writing after npm has exited.
  const exited = new Promise<number | null>((done) => child.once('close', (code) => done(code)))
  return {
    child,
    output,
    exited,
    // Generous: a cold tsx start on a loaded two-core CI machine can take many seconds.
    waitFor(pattern, timeoutMs = 60_000) {
      const seen = output.find((line) => pattern.test(line))
      if (seen !== undefined) return Promise.resolve(seen)
      return new Promise((resolveLine, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no line matching ${pattern} in ${timeoutMs} ms:\n${output.join('\n')}`)),
          timeoutMs,
        )
        waiters.push({
          pattern,
          resolve: (line) => {
            clearTimeout(timer)
            resolveLine(line)
          },
        })
        void exited.then(() => {
          clearTimeout(timer)
          reject(new Error(`exited before a line matching ${pattern}:\n${output.join('\n')}`))
        })
      })
    },
  }
}

/** A port that was free a moment ago (for a child that must listen on a known port). */
export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const probe = createServer()
    probe.once('error', fail)
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address()
      probe.close(() => done(typeof address === 'object' && address ? address.port : 0))
    })
  })
}

const ROOT = resolve(import.meta.dirname, '../..')

/** A `latchkey serve` process through tsx, on an ephemeral port, and a client of it. */
export async function serveCli(
  env: Record<string, string>,
): Promise<{ server: ServerProcess; client: Client }> {
  const server = startProcess(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'src/cli/index.ts'), 'serve'],
    {
      cwd: ROOT,
      env: { PORT: '0', LATCHKEY_ARGON2: TEST_ARGON2, ...env },
    },
  )
  const line = await server.waitFor(/Server listening at http:\/\/127\.0\.0\.1:\d+/)
  const port = /127\.0\.0\.1:(\d+)/.exec(line)![1]
  return { server, client: new Client(`http://127.0.0.1:${port}`) }
}
