/** Small helpers shared by the benchmarks: interleaved rounds, medians, JSON results. */
import { mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { dirname } from 'node:path'

export interface Stat {
  median: number
  min: number
  max: number
  /** (max - min) / median: how noisy the rounds were. */
  spread: number
  samples: number[]
}

export function stat(samples: number[]): Stat {
  const sorted = [...samples].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
  const min = sorted[0]!
  const max = sorted[sorted.length - 1]!
  return { median, min, max, spread: median ? (max - min) / median : 0, samples }
}

/**
 * Measures operations per second of each contender, interleaving them round by round so that noise
 * on this shared machine hits every contender alike. Synchronous and asynchronous bodies are both
 * supported; an async body is awaited one call at a time ("one at a time" throughput).
 */
export async function interleaved(
  contenders: Record<string, (i: number) => unknown>,
  { rounds = 5, roundMs = 250 } = {},
): Promise<Record<string, Stat>> {
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(contenders).map((k) => [k, []]))
  for (let r = 0; r < rounds; r++) {
    for (const [name, fn] of Object.entries(contenders)) {
      let i = 0
      const start = performance.now()
      const deadline = start + roundMs
      const first = fn(i++)
      const isAsync = first instanceof Promise
      if (isAsync) await first
      while (performance.now() < deadline) {
        // check the clock every 64 calls to keep the timer out of the measurement
        for (let k = 0; k < 64; k++) {
          const out = fn(i++)
          if (isAsync) await out
        }
      }
      samples[name]!.push(i / ((performance.now() - start) / 1000))
    }
  }
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, stat(v)]))
}

export function machine(): Record<string, unknown> {
  return {
    node: process.version,
    cpus: os.cpus().length,
    cpu: os.cpus()[0]?.model,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    platform: `${os.platform()} ${os.release()}`,
    date: new Date().toISOString(),
  }
}

export function writeJson(path: string, data: unknown): void {
  mkdirSync(dirname(path), { recursive: true })
  writeFileSync(path, `${JSON.stringify(data, null, 2)}\n`)
}

/** A comma-separated list from the environment variable `name` (blanks dropped), or undefined when unset. */
export function envList<T extends string>(name: string): T[] | undefined {
  return process.env[name]
    ?.split(',')
    .map((s) => s.trim() as T)
    .filter((s) => s !== '')
}

export const fmt = (n: number): string => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(2))
export const pct = (n: number): string => `${Math.round(n * 100)}%`
