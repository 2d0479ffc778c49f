import { ConfigError } from '../errors.js'

/**
 * A duration: seconds as a number, or a string such as `'900'`, `'15m'`, `'2s'`, `'1.5h'`, `'30d'`,
 * `'1w'`.
 */
export type Duration = number | string

const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 }
const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?$/

/**
 * Parses a duration into milliseconds: a number of seconds, or a decimal number with an optional
 * unit (`ms`, `s`, `m`, `h`, `d`, `w`; seconds without one), such as `'900'`, `'250ms'`, `'2s'`,
 * `'1.5h'` or `'1w'`.
 * The one duration grammar of latchkey: `createAuth`, the reference server and the CLI all read
 * durations with it. Returns undefined for anything else (negative, not finite, another unit).
 *
 * @example
 * ```ts
 * parseDurationMs('1.5h') // 5_400_000
 * parseDurationMs('15 minutes') // undefined
 * ```
 */
export function parseDurationMs(value: Duration): number | undefined {
  let seconds: number | undefined
  if (typeof value === 'number') seconds = value
  else if (typeof value === 'string') {
    const m = DURATION.exec(value.trim())
    if (m) seconds = Number(m[1]) * (UNIT_SECONDS[m[2] ?? 's'] ?? 1)
  }
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return undefined
  return Math.round(seconds * 1000)
}

/** Parses a duration into whole milliseconds; throws ConfigError naming `what` when it is not one. */
export function durationMs(value: Duration, what: string): number {
  const ms = parseDurationMs(value)
  if (ms === undefined) {
    throw new ConfigError(
      `${what} must be a duration such as 900, '15m', '2s' or '30d' (got ${JSON.stringify(value)})`,
    )
  }
  return ms
}
