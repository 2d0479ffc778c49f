/**
 * A graceful stop for the server's HTTP side. `app.close()` (on SIGTERM) stops accepting connections
 * and waits for the requests in flight; this module makes sure that wait is short and that every
 * request gets an answer:
 *
 * - a response finished after close() began says `Connection: close`, so its client's keep-alive
 *   connection ends with it (new requests get Fastify's 503 meanwhile);
 * - a request whose body is still arriving is answered 503 at once, and its connection closed. Node
 *   stops enforcing the request timeout once the server closes, so a client that sends its body
 *   slowly would otherwise hold the shutdown until its own end, or until the process is killed.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

/** Installs the shutdown hooks. */
export function registerGracefulShutdown(app: FastifyInstance): void {
  let closing = false
  const receiving = new Set<{ request: FastifyRequest; reply: FastifyReply }>()

  app.addHook('onRequest', (request, reply, done) => {
    const raw = request.raw
    if (!raw.complete) {
      const entry = { request, reply }
      receiving.add(entry)
      const forget = () => receiving.delete(entry)
      raw.once('end', forget)
      reply.raw.once('close', forget)
    }
    done()
  })

  app.addHook('preClose', (done) => {
    closing = true
    for (const { request, reply } of receiving) {
      if (request.raw.complete || reply.sent) continue
      reply.raw.once('finish', () => request.raw.socket?.destroy())
      reply
        .code(503)
        .header('retry-after', '1')
        .send({ msg: 'The server is shutting down; try again', code: 'SERVICE_UNAVAILABLE' })
    }
    receiving.clear()
    done()
  })

  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close')
    done(null, payload)
  })
}
