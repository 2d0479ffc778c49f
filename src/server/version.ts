/**
 * The package's version, read once from its package.json (two folders up from src/server and from
 * dist/server alike): the OpenAPI document and `latchkey --version` show it.
 */
import { readFileSync } from 'node:fs'

function readVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: string
    }
    return pkg.version ?? '0.0.0'
  } catch {
    return '0.0.0'
  }
}

/** The version of the latchkey package, `0.0.0` if its package.json cannot be read. */
export const VERSION = readVersion()
