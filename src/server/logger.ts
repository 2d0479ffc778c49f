/**
 * The server's logger: pino, with request URLs redacted and passwords, tokens and cookies censored
 * wherever they might appear.
 */
import pino, { type DestinationStream, type Logger } from 'pino'

/** Query parameters whose values never reach a log line (the `query` token location reads `jwt`). */
const SECRET_PARAMS = new Set(['jwt', 'token', 'access_token', 'refresh_token', 'password'])

/** A URL for the logs: the values of token-carrying query parameters replaced. */
export function redactUrl(url: string): string {
  const mark = url.indexOf('?')
  if (mark < 0) return url
  const params = new URLSearchParams(url.slice(mark + 1))
  let changed = false
  for (const name of new Set(params.keys())) {
    if (SECRET_PARAMS.has(name.toLowerCase())) {
      params.set(name, '[REDACTED]')
      changed = true
    }
  }
  return changed ? `${url.slice(0, mark)}?${params.toString()}` : url
}

/** The pino logger of the server: request ids, and no passwords, tokens or cookies, ever. */
export function createLogger(level: string, stream?: DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    // Belt and braces: nothing logs these on purpose, but any object that ever carries them is censored.
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'res.headers["set-cookie"]',
        'headers.authorization',
        'headers.cookie',
        'headers["set-cookie"]',
        'password',
        'current_password',
        'new_password',
        'access_token',
        'refresh_token',
        'token',
        'body',
        '*.password',
        '*.current_password',
        '*.new_password',
        '*.access_token',
        '*.refresh_token',
        '*.token',
        '*.body',
      ],
      censor: '[REDACTED]',
    },
    serializers: {
      req: (req: { method?: string; url?: string; ip?: string }) => ({
        method: req.method,
        url: redactUrl(req.url ?? ''),
        remoteAddress: req.ip,
      }),
      res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
    },
  }
  return stream ? pino(options, stream) : pino(options)
}
