/**
 * Helpers of the revocation tests: a Bearer RequestView, polling, child processes that speak one
 * JSON line at a time, a TCP proxy to Redis that can be taken down, and Redis key cleanup.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { expect } from 'vitest'
import { type AuthError, type AuthErrorCode, type RequestView, TokenRevokedError } from '../../src/index.js'
import { redisUrl } from '../helpers/services.js'

export { tcpProxy } from '../helpers/tcp-proxy.js'

/** 64 characters: long enough for HS256. */
export const SECRET = 'latchkey-revocation-secret-0123456789-abcdefghijklmnopqrstuvwxyz'

/** The repository root (children run there so `--import tsx` resolves). */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url))

/** A GET request carrying `token` as `Authorization: Bearer`. */
export function view(token: string): RequestView {
  const authorization = `Bearer ${token}`
  return {
    method: 'GET',
    header: (name) => (name === 'authorization' ? authorization : undefined),
    cookie: () => undefined,
    query: () => undefined,
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)))
}

/** Polls `check` every 10 ms until it returns true, failing after `timeoutMs`. */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`)
    await sleep(10)
  }
}

/** Awaits `promise`, which must reject; returns the reason. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.fail('expected a rejection, got a value'),
    (error: unknown) => error,
  )
}

/** Asserts an AuthError of this class and code. */
export function expectAuthError(
  error: unknown,
  cls: abstract new (...args: never[]) => AuthError,
  code: AuthErrorCode,
): void {
  expect(error).toBeInstanceOf(cls)
  expect((error as AuthError).code).toBe(code)
}

/**
 * Asserts that `attempt` is refused with TOKEN_REVOKED, retrying for up to `windowMs` while it still
 * succeeds (another instance's Redis cache may answer "not revoked" for the pub/sub delay). Returns
 * how long it took to be refused.
 */
export async function expectRevoked(attempt: () => Promise<unknown>, windowMs = 0): Promise<number> {
  const started = Date.now()
  for (;;) {
    const error = await attempt().then(
      () => undefined,
      (e: unknown) => e,
    )
    if (error !== undefined || Date.now() - started >= windowMs) {
      expectAuthError(error, TokenRevokedError, 'TOKEN_REVOKED')
      return Date.now() - started
    }
    await sleep(5)
  }
}

/** A child process whose stdout is read one line at a time. */
export interface LineChild {
  child: ChildProcess
  /** The next line on stdout; rejects if the child exits or `timeoutMs` passes first. */
  next(timeoutMs?: number): Promise<string>
  /** Writes one line to the child's stdin. */
  send(line: string): void
  /** Kills the child (SIGTERM, then SIGKILL after a second) and resolves once it has exited. */
  stop(): Promise<void>
}

/** Spawns `node --import tsx <script> ...args` in the repository root. */
export function spawnTsx(script: string, args: string[] = [], env: Record<string, string> = {}): LineChild {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  const buffered: string[] = []
  const waiting: { resolve: (line: string) => void; reject: (error: Error) => void }[] = []
  let exited: Error | undefined
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const waiter = waiting.shift()
    if (waiter) waiter.resolve(line)
    else buffered.push(line)
  })
  const exitedPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = new Error(`${script} exited (code ${code}, signal ${signal})`)
      for (const waiter of waiting.splice(0)) waiter.reject(exited)
      resolve()
    })
  })
  return {
    child,
    next(timeoutMs = 20_000) {
      const line = buffered.shift()
      if (line !== undefined) return Promise.resolve(line)
      if (exited) return Promise.reject(exited)
      return new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => {
          const index = waiting.indexOf(waiter)
          if (index !== -1) waiting.splice(index, 1)
          reject(new Error(`no line from ${script} within ${timeoutMs} ms`))
        }, timeoutMs)
        const waiter = {
          resolve: (l: string) => {
            clearTimeout(timer)
            resolve(l)
          },
          reject: (e: Error) => {
            clearTimeout(timer)
            reject(e)
          },
        }
        waiting.push(waiter)
      })
    },
    send(line) {
      child.stdin!.write(`${line}\n`)
    },
    async stop() {
      if (exited) return
      const force = setTimeout(() => child.kill('SIGKILL'), 1_000)
      child.kill('SIGTERM')
      await exitedPromise
      clearTimeout(force)
    },
  }
}

/** Deletes every key under `prefix` in the test Redis. */
export async function deleteKeys(prefix: string): Promise<void> {
  const admin = new Redis(redisUrl())
  try {
    let cursor = '0'
    do {
      const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
      if (keys.length > 0) await admin.del(...keys)
      cursor = next
    } while (cursor !== '0')
  } finally {
    await admin.quit()
  }
}
