/**
 * The running oracle (test/flask/oracle.py): one Python process per test file, a fresh
 * Flask-JWT-Extended app per configuration, addressed by the `X-Oracle-App` header.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { AppSpec } from './spec.js'

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'oracle.py')

/** The oracle process and how to reach its apps. */
export interface Oracle {
  port: number
  /** Builds a Flask app for the spec; its id goes in the `X-Oracle-App` header. */
  createApp(spec: AppSpec): Promise<string>
  close(): Promise<void>
}

/** Starts oracle.py with the virtual environment's Python; resolves once it listens. */
export async function startOracle(python: string): Promise<Oracle> {
  const child: ChildProcess = spawn(python, [SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] })
  const errors: string[] = []
  child.stderr?.on('data', (chunk: Buffer) => errors.push(chunk.toString()))
  const lines = createInterface({ input: child.stdout! })
  const first = await Promise.race([
    once(lines, 'line').then(([line]) => line as string),
    once(child, 'exit').then(() => {
      throw new Error(`oracle.py exited: ${errors.join('')}`)
    }),
  ])
  const { port } = JSON.parse(first) as { port: number }
  return {
    port,
    async createApp(spec) {
      const res = await fetch(`http://127.0.0.1:${port}/__apps`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ config: spec.config, features: spec.features ?? {} }),
      })
      const body = (await res.json()) as { id?: string; error?: string }
      if (!res.ok || !body.id) throw new Error(`the oracle refused the configuration: ${body.error}`)
      return body.id
    },
    async close() {
      if (child.exitCode !== null) return
      child.stdin?.end()
      const exited = once(child, 'exit')
      const timer = setTimeout(() => child.kill('SIGKILL'), 3_000)
      await exited
      clearTimeout(timer)
    },
  }
}
