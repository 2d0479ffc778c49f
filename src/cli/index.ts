#!/usr/bin/env node
/**
 * The `latchkey` command: `serve`, `migrate`, `keygen`, `token`, `users`. Arguments are parsed with
 * `node:util` parseArgs; every error ends the command with one line on standard error and a
 * non-zero exit code (2 for usage mistakes).
 */
import { realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { ConfigError } from '../index.js'
import { ServerConfigError } from '../server/config.js'
import { VERSION } from '../server/version.js'
import { keygen } from './commands/keygen.js'
import { migrate } from './commands/migrate.js'
import { serve } from './commands/serve.js'
import { token } from './commands/token.js'
import { users } from './commands/users.js'
import { ArgumentsError, CliError } from './errors.js'
import { type CliIO, processIO } from './io.js'

/** `latchkey --help`. */
export const HELP = `Usage: latchkey <command> [options]

Commands:
  serve                    run the REST login API (npm start)
  migrate                  create or update the database schema
  keygen --alg ES256       generate a signing key (private PEM + public JWKS)
  token create <identity>  sign a token (--fresh, --ttl, --refresh)
  token inspect <token>    show header and claims, UNVERIFIED
  token verify <token>     verify a token as the server would
  users create <email>     create an account (password from stdin or a prompt)
  users list               list accounts
  users disable <email>    disable an account and revoke its tokens
  users enable <email>     enable an account
  users verify <email>     mark an email address verified
  users sessions <email>   list an account's logins
  users delete <email>     delete an account and revoke its tokens

Run latchkey <command> --help for the options of each; latchkey --version prints the version.
`

const COMMANDS: Record<string, (args: string[], io: CliIO) => Promise<number>> = {
  serve,
  migrate,
  keygen,
  token,
  users,
}

/** Runs one command line; resolves with the exit code. Never throws. */
export async function runCli(argv: string[], io: CliIO = processIO()): Promise<number> {
  const [command, ...rest] = argv
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    io.stdout.write(HELP)
    return command === undefined ? 2 : 0
  }
  if (command === '--version' || command === '-v') {
    io.stdout.write(`${VERSION}\n`)
    return 0
  }
  if (command.startsWith('-')) {
    io.stderr.write(`latchkey: unknown option ${command} (see latchkey --help)\n`)
    return 2
  }
  const run = COMMANDS[command]
  if (!run) {
    io.stderr.write(`latchkey: unknown command "${command}" (see latchkey --help)\n`)
    return 2
  }
  try {
    return await run(rest, io)
  } catch (error) {
    const exitCode = error instanceof CliError ? error.exitCode : 1
    const known =
      error instanceof CliError || error instanceof ServerConfigError || error instanceof ConfigError
    const message =
      error instanceof ArgumentsError
        ? error.forCommand(command)
        : error instanceof Error
          ? error.message
          : String(error)
    // One line: a configuration error says what to fix; anything else says what failed.
    io.stderr.write(`latchkey: ${known ? '' : `${command} failed: `}${message.split('\n', 1)[0]}\n`)
    return exitCode
  }
}

function isMain(): boolean {
  const entry = process.argv[1]
  if (!entry) return false
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url))
  } catch {
    return false
  }
}

/** Runs the command line of this process and sets its exit code (the package bin and `npm start`). */
export async function main(argv: string[] = process.argv.slice(2)): Promise<void> {
  // `latchkey users list | head`: a closed pipe is the reader's choice, not an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0)
    throw error
  })
  const code = await runCli(argv)
  process.exitCode = code
  // After `serve` has stopped, anything still holding the event loop open is not worth waiting for.
  if (argv[0] === 'serve') setTimeout(() => process.exit(code), 1_000).unref()
}

if (isMain()) await main()
