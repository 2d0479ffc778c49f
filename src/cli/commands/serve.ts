/**
 * `latchkey serve`: the reference server. Stops gracefully on SIGTERM and SIGINT: no new
 * connections, requests in flight finish (up to LATCHKEY_SHUTDOWN_TIMEOUT), then the pools close.
 */
import { buildServer } from '../../server/app.js'
import { settingsHelp } from '../../server/config.js'
import { announceListening } from '../../server/startup.js'
import { usage } from '../errors.js'
import type { CliIO } from '../io.js'
import { configFrom, parse } from '../shared.js'

/** `latchkey serve --help`: every setting with its variable and default. */
export const SERVE_HELP = `Usage: latchkey serve [settings]

Starts the REST login API (see README.md and /docs once running). Every setting is an environment
variable and a flag; the flag wins. Booleans take a value: --cookie-secure=false.

Settings:
${settingsHelp()}
`

/** Runs the server until SIGTERM or SIGINT; resolves with the exit code once it has stopped. */
export async function serve(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parse(args, {}, { settings: true })
  if (values.help) {
    io.stdout.write(SERVE_HELP)
    return 0
  }
  if (positionals.length > 0) throw usage(`unexpected argument "${positionals[0]}"`)
  const config = configFrom(io, values)
  const app = await buildServer(config, { cwd: io.cwd })
  try {
    await app.listen({ host: config.host, port: config.port })
  } catch (error) {
    await app.close()
    throw new Error(`cannot listen on ${config.host}:${config.port} (${(error as Error).message})`)
  }
  announceListening(app, config, io.stdout)

  return new Promise<number>((resolve) => {
    let stopping = false
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        app.log.warn({ signal }, 'second signal: exiting without waiting')
        process.exit(1)
      }
      stopping = true
      app.log.info({ signal }, 'shutting down: finishing requests in flight')
      const timer = setTimeout(() => {
        app.log.error({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown timed out: exiting')
        process.exit(1)
      }, config.shutdownTimeoutMs)
      app.close().then(
        () => {
          clearTimeout(timer)
          process.off('SIGTERM', onSignal)
          process.off('SIGINT', onSignal)
          app.log.info('stopped')
          resolve(0)
        },
        (error: unknown) => {
          clearTimeout(timer)
          app.log.error({ err: error }, 'shutdown failed')
          resolve(1)
        },
      )
    }
    process.on('SIGTERM', onSignal)
    process.on('SIGINT', onSignal)
  })
}
