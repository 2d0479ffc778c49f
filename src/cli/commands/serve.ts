/**
 * `latchkey serve`: the reference server. Stops gracefully on SIGTERM and SIGINT: no new
 * connections, requests in flight finish (up to LATCHKEY_SHUTDOWN_TIMEOUT), then the pools close.
 *
 * A promise that rejects with nobody listening is a bug, in the server or in a library; Node's
 * default answer is to end the process, and with it every request in flight on every connection.
 * The server logs it instead and keeps serving: requests fail one at a time, never all at once.
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
  const onRejection = (reason: unknown) => {
    app.log.error({ err: reason }, 'unhandled promise rejection (a bug): logged, still serving')
  }
  process.on('unhandledRejection', onRejection)

  // Signals are heard from before the server listens: a SIGTERM right after the "listening" line
  // must stop it gracefully, not kill it.
  let stopping = false
  let stopped: (code: number) => void = () => {}
  const done = new Promise<number>((resolve) => {
    stopped = resolve
  })
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
        process.off('unhandledRejection', onRejection)
        app.log.info('stopped')
        stopped(0)
      },
      (error: unknown) => {
        clearTimeout(timer)
        app.log.error({ err: error }, 'shutdown failed')
        stopped(1)
      },
    )
  }
  process.on('SIGTERM', onSignal)
  process.on('SIGINT', onSignal)

  try {
    await app.listen({ host: config.host, port: config.port })
  } catch (error) {
    process.off('SIGTERM', onSignal)
    process.off('SIGINT', onSignal)
    process.off('unhandledRejection', onRejection)
    await app.close()
    throw new Error(`cannot listen on ${config.host}:${config.port} (${(error as Error).message})`)
  }
  announceListening(app, config, io.stdout)
  return done
}
