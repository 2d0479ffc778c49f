/**
 * Session records: what the sessions list shows of each login (a refresh family), kept beside the
 * revocation store, which alone decides what is refused. Addresses are kept coarse (an IPv4 /24, an
 * IPv6 /48) and user agents short: enough to recognise a device, little to leak.
 */
import { isIPv4, isIPv6 } from 'node:net'

/** The longest user agent kept. */
export const MAX_USER_AGENT = 256

/**
 * A coarse form of a client address: the /24 of an IPv4 address (`203.0.113.0/24`), the /48 of an
 * IPv6 one (`2001:db8:85a3::/48`); null for anything else.
 */
export function coarseAddress(address: string | undefined): string | null {
  if (!address) return null
  let ip = address.trim()
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)
  if (mapped) ip = mapped[1]!
  if (isIPv4(ip)) return `${ip.split('.').slice(0, 3).join('.')}.0/24`
  const zone = ip.indexOf('%')
  if (zone >= 0) ip = ip.slice(0, zone)
  if (!isIPv6(ip)) return null
  const [head = '', tail = ''] = ip.split('::')
  const left = head === '' ? [] : head.split(':')
  const right = ip.includes('::') ? (tail === '' ? [] : tail.split(':')) : []
  const groups = [...left, ...Array(8 - left.length - right.length).fill('0'), ...right]
  const prefix = groups.slice(0, 3).map((g) => Number.parseInt(g, 16).toString(16))
  return `${prefix.join(':')}::/48`
}

/** A User-Agent header as stored: control characters dropped, at most 256 characters; null if empty. */
export function cleanUserAgent(value: string | string[] | undefined): string | null {
  const raw = Array.isArray(value) ? value[0] : value
  if (!raw) return null
  const clean = raw.replace(/[\p{Cc}\p{Cf}]/gu, '').trim()
  if (clean === '') return null
  return [...clean].slice(0, MAX_USER_AGENT).join('')
}

/**
 * Remembers when each login was last touched by this process, so that "last used" costs a write at
 * most once a minute per login, however often it calls.
 */
export class TouchThrottle {
  readonly #seen = new Map<string, number>()
  readonly #everyMs: number
  readonly #max: number

  constructor(everyMs = 60_000, max = 10_000) {
    this.#everyMs = everyMs
    this.#max = max
  }

  /** Whether `id` is due a write at `now` (and if so, notes it). */
  due(id: string, now: number): boolean {
    const last = this.#seen.get(id)
    if (last !== undefined && now - last < this.#everyMs) return false
    this.#seen.delete(id)
    if (this.#seen.size >= this.#max) {
      const oldest = this.#seen.keys().next().value
      if (oldest !== undefined) this.#seen.delete(oldest)
    }
    this.#seen.set(id, now)
    return true
  }

  /** Forgets `id` (its login was just written anyway). */
  note(id: string, now: number): void {
    this.#seen.delete(id)
    this.#seen.set(id, now)
  }
}
