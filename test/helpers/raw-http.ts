/**
 * Raw HTTP over a socket, for what fetch cannot send (repeated headers, oversized headers): used by
 * the conformance suite and the security tests.
 */
import { connect } from 'node:net'

/** What a raw HTTP exchange returned. */
export interface RawReply {
  status: number
  head: string
  body: string
  ms: number
}

/**
 * Sends raw request bytes over a new socket and reads until the server closes it (send
 * `Connection: close`). For what fetch cannot send: repeated headers, oversized headers.
 */
export function rawHttp(port: number, request: string, timeoutMs = 5_000): Promise<RawReply> {
  const start = performance.now()
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`no complete answer in ${timeoutMs} ms`))
    }, timeoutMs)
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    // The server may answer and close before reading everything we sent (431): that is an answer.
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (chunks.length === 0) {
        clearTimeout(timer)
        reject(error)
      }
    })
    socket.on('close', () => {
      clearTimeout(timer)
      const text = Buffer.concat(chunks).toString('utf8')
      const split = text.indexOf('\r\n\r\n')
      const head = split < 0 ? text : text.slice(0, split)
      let body = split < 0 ? '' : text.slice(split + 4)
      if (/transfer-encoding: chunked/i.test(head)) {
        let out = ''
        let i = 0
        while (i < body.length) {
          const nl = body.indexOf('\r\n', i)
          const size = Number.parseInt(body.slice(i, nl), 16)
          if (!size) break
          out += body.slice(nl + 2, nl + 2 + size)
          i = nl + 2 + size + 2
        }
        body = out
      }
      resolve({ status: Number(head.split(' ')[1]), head, body, ms: performance.now() - start })
    })
    socket.write(request)
  })
}
