/**
 * One request, sent as the same bytes to the oracle and to each twin (raw HTTP over a socket, so
 * repeated headers and odd header values travel as written), and the replies compared: status,
 * JSON body and every attribute of every Set-Cookie.
 */
import { connect } from 'node:net'
import type { Json } from './spec.js'

/** A request as a case describes it. */
export interface Req {
  method?: string
  path: string
  /** Header lines in order (a name may repeat). */
  headers?: Array<[string, string]>
  cookies?: Record<string, string>
  /** A JSON body (`Content-Type: application/json` unless a content-type header is given). */
  json?: unknown
  /** A form body (`application/x-www-form-urlencoded`). */
  form?: Record<string, string>
  /** A raw body with its content type. */
  body?: { type: string; text: string }
}

/** A parsed Set-Cookie. */
export interface Cookie {
  name: string
  value: string
  /** Attributes by lower-case name; flags are true. */
  attrs: Record<string, string | true>
}

/** A reply. */
export interface Reply {
  status: number
  body: Json
  cookies: Cookie[]
}

function rawRequest(req: Req, app: string): string {
  const method = req.method ?? 'GET'
  const lines = [
    `${method} ${req.path} HTTP/1.1`,
    'Host: 127.0.0.1',
    `X-Oracle-App: ${app}`,
    'Connection: close',
  ]
  const headers = req.headers ?? []
  const has = (name: string) => headers.some(([n]) => n.toLowerCase() === name)
  for (const [name, value] of headers) lines.push(`${name}: ${value}`)
  if (req.cookies) {
    lines.push(
      `Cookie: ${Object.entries(req.cookies)
        .map(([k, v]) => `${k}=${v}`)
        .join('; ')}`,
    )
  }
  let body = ''
  if (req.json !== undefined) {
    body = JSON.stringify(req.json)
    if (!has('content-type')) lines.push('Content-Type: application/json')
  } else if (req.form) {
    body = new URLSearchParams(req.form).toString()
    if (!has('content-type')) lines.push('Content-Type: application/x-www-form-urlencoded')
  } else if (req.body) {
    body = req.body.text
    if (!has('content-type')) lines.push(`Content-Type: ${req.body.type}`)
  }
  if (body !== '' || !['GET', 'HEAD', 'DELETE', 'OPTIONS'].includes(method))
    lines.push(`Content-Length: ${Buffer.byteLength(body)}`)
  return `${lines.join('\r\n')}\r\n\r\n${body}`
}

function parseCookie(line: string): Cookie {
  const [pair = '', ...rest] = line.split(';')
  const eq = pair.indexOf('=')
  const attrs: Record<string, string | true> = {}
  for (const part of rest) {
    const i = part.indexOf('=')
    const key = (i < 0 ? part : part.slice(0, i)).trim().toLowerCase()
    if (key) attrs[key] = i < 0 ? true : part.slice(i + 1).trim()
  }
  return { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), attrs }
}

/** Sends a request to 127.0.0.1:port as raw bytes and parses the reply. */
export function send(port: number, req: Req, app: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`no answer from port ${port} for ${req.method ?? 'GET'} ${req.path}`))
    }, 10_000)
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.on('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    socket.on('close', () => {
      clearTimeout(timer)
      const raw = Buffer.concat(chunks)
      const split = raw.indexOf('\r\n\r\n')
      const head = raw.subarray(0, split).toString('latin1').split('\r\n')
      let body = raw.subarray(split + 4)
      const headers = head.slice(1).map((line) => {
        const colon = line.indexOf(':')
        return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()] as const
      })
      if (headers.some(([n, v]) => n === 'transfer-encoding' && /chunked/i.test(v))) {
        const parts: Buffer[] = []
        let i = 0
        for (;;) {
          const nl = body.indexOf('\r\n', i)
          const size = Number.parseInt(body.subarray(i, nl).toString('latin1'), 16)
          if (!size) break
          parts.push(body.subarray(nl + 2, nl + 2 + size))
          i = nl + 2 + size + 2
        }
        body = Buffer.concat(parts)
      }
      const type = headers.find(([n]) => n === 'content-type')?.[1] ?? ''
      const text = body.toString('utf8')
      let parsed: Json = text
      if (/json/.test(type)) {
        try {
          parsed = JSON.parse(text)
        } catch {}
      }
      resolve({
        status: Number(head[0]?.split(' ')[1]),
        body: parsed,
        cookies: headers.filter(([n]) => n === 'set-cookie').map(([, v]) => parseCookie(v)),
      })
    })
    socket.write(rawRequest(req, app))
  })
}
