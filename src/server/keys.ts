/**
 * Signing keys of the server: `LATCHKEY_SECRET` (HS256), or `LATCHKEY_PRIVATE_KEY_FILE` with
 * `LATCHKEY_ALGORITHM`, plus old keys still accepted during a rotation. With none configured, a
 * 64-byte secret is generated once into the data folder (owner-only) and reused on later starts.
 */
import { createHash, randomBytes } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ConfigError, createAuth, type KeyConfig } from '../index.js'
import { type ServerConfig, ServerConfigError } from './config.js'

/** Name of the generated secret in the data folder. */
export const GENERATED_SECRET_FILE = 'latchkey-secret.key'

/** The loaded keys and what to tell the operator about them. */
export interface ServerKeys {
  /** Signing key first, then verify-only keys. */
  keys: KeyConfig[]
  /** Set when the secret was generated (or read back from the data folder): log a warning. */
  generated: { path: string; created: boolean } | undefined
}

/**
 * The `kid` of an HS secret: a short hash of it. Always set, so that after a rotation a token says
 * which secret signed it. It reveals nothing a token does not already: any token can test guesses.
 */
export function secretKid(secret: string | Uint8Array): string {
  const digest = createHash('sha256').update('latchkey kid\0').update(secret).digest('base64url')
  return `hs-${digest.slice(0, 16)}`
}

/** Checks one key with the core's own validation and names the setting in the message. */
function checked(key: KeyConfig, setting: string): KeyConfig {
  try {
    createAuth({ keys: key })
  } catch (error) {
    if (error instanceof ConfigError)
      throw new ServerConfigError(`${setting}: ${error.message.replace(/^keys(\[\d+\])?: /, '')}`, {
        cause: error,
      })
    throw error
  }
  return key
}

function readKeyFile(path: string, setting: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message
    throw new ServerConfigError(`${setting}: cannot read ${path} (${reason})`, { cause: error })
  }
}

/** Reads, or creates with mode 0600, the generated secret. Safe when several processes start at once. */
function generatedSecret(
  dataDir: string,
  create: boolean,
): { secret: Buffer; path: string; created: boolean } {
  const path = join(dataDir, GENERATED_SECRET_FILE)
  if (!create && !existsSync(path))
    throw new ServerConfigError(
      `no key: set LATCHKEY_SECRET or LATCHKEY_PRIVATE_KEY_FILE (or start the server once to generate ${path})`,
    )
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  let created = false
  try {
    // 'wx' fails if the file exists: of two processes starting together, one writes, both read.
    writeFileSync(path, `${randomBytes(64).toString('base64url')}\n`, { flag: 'wx', mode: 0o600 })
    created = true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
  }
  if (process.platform !== 'win32') {
    const mode = statSync(path).mode & 0o777
    if ((mode & 0o077) !== 0)
      throw new ServerConfigError(
        `the generated key ${path} is readable by others (mode ${mode.toString(8)}); run: chmod 600 ${path}`,
      )
  }
  const text = readFileSync(path, 'utf8').trim()
  const secret = Buffer.from(text, 'base64url')
  if (secret.length < 32 || secret.toString('base64url') !== text)
    throw new ServerConfigError(
      `the generated key ${path} is damaged; delete it to make a new one (every token will be refused)`,
    )
  return { secret, path, created }
}

/**
 * Loads the configured keys (validated now, so a bad key stops start-up with one line), or reads or
 * generates the data-folder secret (`create: false`, for the CLI, only reads an existing one).
 */
export function loadServerKeys(config: ServerConfig, options: { create?: boolean } = {}): ServerKeys {
  const keys: KeyConfig[] = []
  let generated: ServerKeys['generated']
  const source = config.key
  if (source.kind === 'secret') {
    keys.push(
      checked(
        { secret: source.secret, algorithm: 'HS256', kid: secretKid(source.secret) },
        'LATCHKEY_SECRET',
      ),
    )
  } else if (source.kind === 'file') {
    const pem = readKeyFile(source.path, 'LATCHKEY_PRIVATE_KEY_FILE')
    const key = { privateKey: pem, algorithm: source.algorithm } as KeyConfig
    keys.push(checked(key, 'LATCHKEY_PRIVATE_KEY_FILE'))
  } else {
    const { secret, path, created } = generatedSecret(config.dataDir, options.create ?? true)
    generated = { path, created }
    keys.push(checked({ secret, algorithm: 'HS256', kid: secretKid(secret) }, 'the generated key'))
  }
  for (const old of config.previousSecrets) {
    keys.push(
      checked(
        { secret: old, algorithm: 'HS256', kid: secretKid(old), verifyOnly: true },
        'LATCHKEY_PREVIOUS_SECRETS',
      ),
    )
  }
  if (source.kind === 'file') {
    for (const file of config.previousKeyFiles) {
      const pem = readKeyFile(file, 'LATCHKEY_PREVIOUS_KEY_FILES')
      const key = (
        pem.includes('PRIVATE KEY')
          ? { privateKey: pem, algorithm: source.algorithm, verifyOnly: true }
          : { publicKey: pem, algorithm: source.algorithm }
      ) as KeyConfig
      keys.push(checked(key, 'LATCHKEY_PREVIOUS_KEY_FILES'))
    }
  }
  // Two settings naming one key would make the kid appear twice, which the core refuses.
  try {
    createAuth({ keys })
  } catch (error) {
    if (error instanceof ConfigError)
      throw new ServerConfigError(`keys: ${error.message.replace(/^keys: /, '')}`)
    throw error
  }
  return { keys, generated }
}

/** Makes a key file owner-only (keygen output). */
export function restrictToOwner(path: string): void {
  if (process.platform !== 'win32') chmodSync(path, 0o600)
}
