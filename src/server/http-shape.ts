/**
 * What every answer of the server looks like on the wire, including the ones Fastify's routing never
 * sees: errors are `{msg, code}` (also for a malformed request line, oversized headers or a URL that
 * does not decode), and JSON bodies end with a newline, so that `curl` prints one per line.
 */
import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { ServerErrorCode } from './errors.js'

interface ClientErrorAnswer {
  status: number
  code: ServerErrorCode
  msg: string
}

/** Node's HTTP parser errors that have an answer of their own; any other is a 400. */
const CLIENT_ERRORS: Record<string, ClientErrorAnswer> = {
  HPE_HEADER_OVERFLOW: { status: 431, code: 'HEADERS_TOO_LARGE', msg: 'Request headers too large' },
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, code: 'REQUEST_TIMEOUT', msg: 'Request took too long to arrive' },
}
const MALFORMED: ClientErrorAnswer = { status: 400, code: 'BAD_REQUEST', msg: 'Malformed HTTP request' }

/** The raw HTTP response of a client error: `{msg, code}` and a newline, then the connection closes. */
export function clientErrorResponse(answer: ClientErrorAnswer): string {
  const body = `${JSON.stringify({ msg: answer.msg, code: answer.code })}\n`
  return [
    `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status]}`,
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Cache-Control: no-store',
    'X-Content-Type-Options: nosniff',
    'Connection: close',
    '',
    body,
  ].join('\r\n')
}

/**
 * Fastify's `clientErrorHandler`: what Node's HTTP parser refuses before any route runs (headers over
 * the limit → 431, a request that arrives too slowly → 408, anything malformed → 400), answered as
 * `{msg, code}` instead of Fastify's `{error, message, statusCode}`.
 */
export function clientErrorHandler(
  this: FastifyInstance,
  error: Error & { code?: string },
  socket: Socket,
): void {
  // A reset connection has nobody left to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return
  const answer = CLIENT_ERRORS[error.code ?? ''] ?? MALFORMED
  this.log.debug({ code: error.code, status: answer.status }, 'client error')
  // Node's own rule: never write into a response already under way on this connection (keep-alive).
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage
  if (socket.writable && !inFlight?.headersSent) socket.write(clientErrorResponse(answer))
  socket.destroy(error)
}

/**
 * Fastify's `frameworkErrors`: a URL that does not decode (`/%zz`) or a path parameter over the length
 * limit. Fastify would echo the path in its own shape; this says 400 `BAD_REQUEST`, echoing nothing.
 */
export function frameworkErrorHandler(
  _error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  // Fastify runs no hooks for these: the headers and the newline the hooks add are set here.
  reply
    .code(400)
    .header('content-type', 'application/json; charset=utf-8')
    .header('x-request-id', request.id)
    .header('x-content-type-options', 'nosniff')
    .send(`${JSON.stringify({ msg: 'Malformed URL', code: 'BAD_REQUEST' })}\n`)
}

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\b/i

/**
 * Ends every JSON body with a newline (Fastify computes Content-Length after onSend hooks, so it
 * stays right). `JSON.parse` ignores the newline; a terminal no longer runs two answers together.
 */
export function registerJsonNewline(app: FastifyInstance): void {
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (typeof payload !== 'string' || payload.length === 0 || payload.endsWith('\n')) {
      done(null, payload)
      return
    }
    const type = reply.getHeader('content-type')
    done(null, typeof type === 'string' && JSON_TYPE.test(type) ? `${payload}\n` : payload)
  })
}
