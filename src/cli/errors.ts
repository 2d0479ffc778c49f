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

/**
 * A command line `node:util` parseArgs refused (unknown option, missing value). Its message is ours,
 * not parseArgs' own text; `runCli` completes it with the command's name via {@link forCommand}.
 */
export class ArgumentsError extends CliError {
  /** The option concerned, as typed (`--nope`, `-x`), when parseArgs named one. */
  readonly option: string | undefined
  readonly problem: 'unknown' | 'missing-value' | 'unexpected-value' | 'invalid'

  constructor(error: unknown) {
    const { code, message } = error as { code?: string; message?: string }
    // parseArgs quotes the option: "Unknown option '--nope'", "Option '-p, --port <value>' argument missing".
    const quoted = /'([^']+)'/.exec(message ?? '')?.[1] ?? ''
    const option = quoted
      .split(/[\s,]+/)
      .filter((part) => part.startsWith('-'))
      .at(-1)
    let problem: ArgumentsError['problem'] = 'invalid'
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') problem = 'unknown'
    else if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE')
      problem = /does not take an argument/.test(message ?? '') ? 'unexpected-value' : 'missing-value'
    super(`invalid arguments${option ? ` (${option})` : ''}`, 2)
    this.name = 'ArgumentsError'
    this.option = option
    this.problem = problem
  }

  /** The one-line message for `latchkey <command>`. */
  forCommand(command: string): string {
    const see = `(see latchkey ${command} --help)`
    const option = this.option ?? 'an option'
    switch (this.problem) {
      case 'unknown':
        return `unknown option ${option} for "${command}" ${see}`
      case 'missing-value':
        return `option ${option} of "${command}" needs a value, as in ${option}=<value> ${see}`
      case 'unexpected-value':
        return `option ${option} of "${command}" takes no value ${see}`
      default:
        return `invalid arguments for "${command}" ${see}`
    }
  }
}
