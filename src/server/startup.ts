/**
 * What the server says when it starts: warnings about a configuration that will not work the way a
 * newcomer expects, and one line with the address to open.
 */
import type { AddressInfo } from 'node:net'
import type { Writable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import type { ServerConfig } from './config.js'

/**
 * Hosts a browser counts as a secure context over plain HTTP (the W3C "potentially trustworthy"
 * origins): it keeps `Secure` cookies set by http://localhost or http://127.0.0.1, nowhere else.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
  return h === 'localhost' || h.endsWith('.localhost') || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h)
}

/**
 * The start-up warning for a setup where browser logins cannot work: cookies are a token location and
 * `Secure`, the server listens beyond loopback over plain HTTP, and no proxy (which would terminate
 * TLS) is trusted. A browser then drops every cookie of the login response: the login answers 200,
 * the next call 401 `TOKEN_MISSING`. Undefined when the setup is fine.
 */
export function insecureCookieWarning(config: ServerConfig): string | undefined {
  if (!config.tokenLocations.includes('cookies') || !config.cookieSecure) return undefined
  if (isLoopbackHost(config.host) || config.trustProxy !== false) return undefined
  return (
    `cookies are Secure but HOST=${config.host} serves plain HTTP: a browser opening this server by a ` +
    'non-localhost address drops the login cookies (login answers 200, the next call TOKEN_MISSING). ' +
    'Put a TLS proxy in front (and set LATCHKEY_TRUST_PROXY), or for development only set ' +
    'LATCHKEY_COOKIE_SECURE=false'
  )
}

/** Logs the start-up warnings of `config` (see {@link insecureCookieWarning}). */
export function logConfigWarnings(config: ServerConfig, log: { warn(obj: object, msg: string): void }): void {
  const cookies = insecureCookieWarning(config)
  if (cookies) log.warn({ host: config.host, setting: 'LATCHKEY_COOKIE_SECURE' }, cookies)
  if (config.smtpUrl !== undefined && config.publicUrl === undefined)
    log.warn(
      { setting: 'LATCHKEY_PUBLIC_URL' },
      'mail is sent but LATCHKEY_PUBLIC_URL is not set: reset and verification links point to the address this server listens on; set the address users reach',
    )
}

const WILDCARD = new Set(['0.0.0.0', '::', '[::]'])

/** Where the server can be opened from this machine, and what is served there. */
export interface ListeningUrls {
  url: string
  docs: string
  demo: string | undefined
  /** True when the server listens on every interface (`HOST=0.0.0.0` or `::`). */
  allInterfaces: boolean
}

/** The URLs of a server listening on `host` and `port`. A wildcard host is shown as localhost. */
export function listeningUrls(host: string, port: number, demoPage: boolean): ListeningUrls {
  const allInterfaces = WILDCARD.has(host)
  const bare = host.replace(/^\[|\]$/g, '')
  const name = allInterfaces ? 'localhost' : bare.includes(':') ? `[${bare}]` : bare
  const url = `http://${name}:${port}`
  return { url, docs: `${url}/docs`, demo: demoPage ? `${url}/` : undefined, allInterfaces }
}

/** The start-up line: `latchkey listening on http://127.0.0.1:3000 (docs: ..., demo: ...)`. */
export function listeningMessage(urls: ListeningUrls): string {
  const extras = [
    ...(urls.allInterfaces ? ['every interface'] : []),
    `docs: ${urls.docs}`,
    ...(urls.demo ? [`demo: ${urls.demo}`] : []),
  ]
  return `latchkey listening on ${urls.url} (${extras.join(', ')})`
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0')

/**
 * Says where a listening server is, once: on a terminal as one human line in pino-pretty's style
 * (`[12:00:00.000] INFO: latchkey listening on ...`), otherwise as a JSON log line carrying the URLs
 * (log collectors parse it). Nothing below the `info` level.
 */
export function announceListening(
  app: FastifyInstance,
  config: ServerConfig,
  out: Writable & { isTTY?: boolean },
): void {
  if (!app.latchkey.logger.isLevelEnabled('info')) return
  const address = app.server.address() as AddressInfo | null
  const urls = listeningUrls(config.host, address?.port ?? config.port, config.demoPage)
  const message = listeningMessage(urls)
  if (out.isTTY) {
    const now = new Date()
    const time = `${pad(now.getHours())}:${pad(now.getMinutes())}:${pad(now.getSeconds())}.${pad(now.getMilliseconds(), 3)}`
    out.write(`[${time}] INFO: ${message}\n`)
  } else {
    app.log.info({ url: urls.url, docs: urls.docs, demo: urls.demo }, message)
  }
}
