/** A CLI failure: one line on standard error, and the exit code. */
export class CliError extends Error {
  readonly exitCode: number
  constructor(message: string, exitCode = 1) {
    super(message)
    this.name = 'CliError'
    this.exitCode = exitCode
  }
}

/** A usage mistake (unknown command, missing argument): exit code 2, like most Unix tools. */
export function usage(message: string): CliError {
  return new CliError(`${message} (see --help)`, 2)
}
