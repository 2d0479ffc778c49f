/**
 * Every error the server answers with, rendered as `{msg, code}`: its own (ApiError), latchkey's
 * token errors, Fastify's parser and validation errors. Anything unexpected is logged and becomes a
 * plain 500 that reveals nothing.
 */
import type { FastifyError, FastifyInstance } from 'fastify'
import { type Auth, isAuthError } from '../index.js'
import { HasherBusyError } from '../login/index.js'
import { ApiError } from './errors.js'

/** Installs the not-found and error handlers of the server. */
export function registerErrorHandling(app: FastifyInstance, auth: Auth<unknown, object>): void {
  app.setNotFoundHandler((_request, reply) => {
    reply.code(404).send({ msg: 'Not found', code: 'NOT_FOUND' })
  })
  app.setErrorHandler((error: FastifyError | Error, request, reply) => {
    const send = (status: number, code: string, msg: string, headers: Record<string, string> = {}) =>
      reply.code(status).headers(headers).send({ msg, code })
    if (error instanceof ApiError) return send(error.status, error.code, error.message, error.headers)
    if (isAuthError(error)) {
      const rendered = auth.errorResponse(error)
      return reply.code(rendered.status).headers(rendered.headers).send(rendered.body)
    }
    if (error instanceof HasherBusyError)
      return send(503, 'SERVER_BUSY', 'Too many logins in progress; try again shortly', {
        'retry-after': '1',
      })
    const fastifyError = error as FastifyError
    if (fastifyError.validation) return send(400, 'VALIDATION_FAILED', fastifyError.message)
    switch (fastifyError.code) {
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        // Never echo the body: it may hold a password.
        return send(400, 'INVALID_JSON', 'Body is not valid JSON')
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return send(415, 'UNSUPPORTED_MEDIA_TYPE', 'Send JSON (Content-Type: application/json)')
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return send(413, 'PAYLOAD_TOO_LARGE', 'Body too large')
    }
    const status = fastifyError.statusCode ?? 500
    if (status >= 400 && status < 500) return send(status, 'BAD_REQUEST', 'Bad request')
    request.log.error({ err: error }, 'request failed')
    return send(500, 'INTERNAL_ERROR', 'Internal server error')
  })
}
