/**
 * `latchkey/login/fastify`: the login API as a Fastify 5 plugin. Register it with a prefix; it
 * registers one Fastify route per API route, with its JSON Schema, so @fastify/swagger documents
 * them. The plugin is encapsulated: its body parsing (raw bytes, checked by the API: JSON only,
 * strict UTF-8, 64 KiB) applies to its own routes only.
 */
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import type { LoginApi } from './api.js'
import type { LoginLogger } from './errors.js'
import { type LoginRequest, type LoginResponse, MAX_BODY_BYTES, nodeHeader } from './http.js'

/** Options of {@link loginPlugin}. */
export interface LoginPluginOptions {
  /** The API from `createLoginApi`. */
  // biome-ignore lint/suspicious/noExplicitAny: an API over any user type
  api: LoginApi<any>
  /** Where the routes go (Fastify's own register option): `/auth` serves `/auth/login`, ... */
  prefix?: string
}

function send(reply: FastifyReply, answer: LoginResponse): FastifyReply {
  reply.code(answer.status)
  // reply.header appends to an existing set-cookie list and replaces every other header.
  for (const [name, value] of Object.entries(answer.headers)) reply.header(name, value)
  if (answer.body === undefined) return reply.send()
  return reply.type('application/json; charset=utf-8').send(`${JSON.stringify(answer.body)}\n`)
}

function toLoginRequest(request: FastifyRequest, path: string): LoginRequest {
  const body = request.body
  const query = (request.query ?? {}) as Record<string, string | string[] | undefined>
  return {
    method: request.method,
    path,
    header: (name) => nodeHeader(request.raw, name),
    query: (name) => query[name],
    body:
      body === undefined || body === null
        ? { kind: 'none' }
        : body instanceof Uint8Array
          ? { kind: 'bytes', bytes: body }
          : { kind: 'parsed', value: body },
    clientAddress: request.ip,
    log: request.log as unknown as LoginLogger,
  }
}

/** Errors Fastify raises before a route runs, in the API's `{msg, code}` shape. */
function frameworkError(error: FastifyError): LoginResponse | undefined {
  const answer = (status: number, code: string, msg: string): LoginResponse => ({
    status,
    headers: { 'cache-control': 'no-store' },
    body: { msg, code },
  })
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return answer(413, 'PAYLOAD_TOO_LARGE', 'Body too large')
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return answer(415, 'UNSUPPORTED_MEDIA_TYPE', 'Send JSON (Content-Type: application/json)')
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return answer(400, 'BAD_REQUEST', 'Bad request')
  }
  return undefined
}

const plugin: FastifyPluginAsync<LoginPluginOptions> = async (app, options) => {
  const api = options?.api
  if (!api || typeof api.handleRoute !== 'function')
    throw new TypeError('latchkey: register loginPlugin with { api } (the object from createLoginApi)')
  // The API reads bodies itself, the same way on every adapter: here every body arrives as bytes.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: MAX_BODY_BYTES }, (_request, body, done) =>
    done(null, body),
  )
  app.setErrorHandler((error: FastifyError, _request, reply) => {
    const answer = frameworkError(error)
    // Not one of ours: the parent's error handler decides (Fastify passes what a handler throws up).
    if (!answer) throw error
    return send(reply, answer)
  })
  const prefix = app.prefix
  for (const route of api.routes) {
    app.route({
      method: route.method,
      url: route.path,
      schema: route.schema as object,
      bodyLimit: MAX_BODY_BYTES,
      // The API validates (the same messages on every adapter); the schema is for the documentation.
      validatorCompiler: () => () => true,
      handler: async (request, reply) => {
        const path = request.url.split('?', 1)[0]!.slice(prefix.length) || '/'
        const params = (request.params ?? {}) as Record<string, string>
        return send(reply, await api.handleRoute(route, toLoginRequest(request, path), params))
      },
    })
  }
}

/**
 * The login API's routes as a Fastify plugin.
 *
 * @example
 * ```ts
 * const app = Fastify()
 * await app.register(loginPlugin, { api, prefix: '/auth' })
 * ```
 */
export const loginPlugin = plugin
