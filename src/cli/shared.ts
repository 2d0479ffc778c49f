/**
 * Pieces every command uses: argument parsing with `node:util` parseArgs, and the server
 * configuration from the environment and the flags.
 */
import { type ParseArgsConfig, parseArgs } from 'node:util'
import {
  parseConfig,
  type ServerConfig,
  settingFlags,
  settingsFromEnv,
  settingsFromFlags,
} from '../server/config.js'
import { ArgumentsError } from './errors.js'
import type { CliIO } from './io.js'

type Options = NonNullable<ParseArgsConfig['options']>

/** Parsed arguments: flag values and positionals. */
export interface Parsed {
  values: Record<string, string | boolean | undefined>
  positionals: string[]
}

/**
 * Parses arguments strictly (unknown flags are errors). `settings: true` also accepts every server
 * setting flag (`--database-url`, `--secret`, ...). `--help`/`-h` is always accepted. A refused
 * command line throws ArgumentsError, which `runCli` words with the command's name.
 */
export function parse(args: string[], options: Options, config: { settings?: boolean } = {}): Parsed {
  try {
    const parsed = parseArgs({
      args,
      options: {
        help: { type: 'boolean', short: 'h' },
        ...(config.settings ? settingFlags() : {}),
        ...options,
      },
      allowPositionals: true,
      strict: true,
    })
    return { values: parsed.values as Parsed['values'], positionals: parsed.positionals }
  } catch (error) {
    throw new ArgumentsError(error)
  }
}

/** The server configuration of a command: environment variables, overridden by flags. */
export function configFrom(io: CliIO, values: Parsed['values']): ServerConfig {
  return parseConfig({ ...settingsFromEnv(io.env), ...settingsFromFlags(values) }, { cwd: io.cwd })
}

/** The one-line note every settings-taking command's help ends with. */
export const SETTINGS_NOTE =
  'Settings come from environment variables or the same flags as `latchkey serve` (see latchkey serve --help).'
