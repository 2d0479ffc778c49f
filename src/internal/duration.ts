import { ConfigError } from '../errors.js'

/** A duration: seconds as a number, or a string such as `'900'`, `'15m'`, `'2s'`, `'12h'`, `'30d'`. */
export type Duration = number | string

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 }
const DURATION = /^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)?$/

/** Parses a duration into whole milliseconds; throws ConfigError naming `what` when it is not one. */
export function durationMs(value: Duration, what: string): number {
  let seconds: number | undefined
  if (typeof value === 'number') seconds = value
  else if (typeof value === 'string') {
    const m = DURATION.exec(value.trim())
    if (m) seconds = Number(m[1]) * (UNIT_SECONDS[m[2] ?? 's'] ?? 1)
  }
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) {
    throw new ConfigError(
      `${what} must be a duration such as 900, '15m', '2s' or '30d' (got ${JSON.stringify(value)})`,
    )
  }
  return Math.round(seconds * 1000)
}
