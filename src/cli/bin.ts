#!/usr/bin/env node
/**
 * The package's `latchkey` bin. The server's packages (fastify, kysely, pg, @node-rs/argon2, ...) are
 * optional peer dependencies, so that a library user never installs them; when one is missing this
 * says which to install, in one line, instead of a stack trace.
 */
import { readFileSync } from 'node:fs'

const SERVER_PACKAGES = [
  'fastify',
  'fastify-plugin',
  '@fastify/swagger',
  '@fastify/swagger-ui',
  'kysely',
  'better-sqlite3',
  'pg',
  'ioredis',
  '@node-rs/argon2',
  'pino',
  'prom-client',
]

/**
 * The install command, each package with the range latchkey's package.json accepts (two folders up
 * from src/cli and dist/cli alike). Without ranges npm would take each package's newest major, which
 * a peer range may not include yet (ERESOLVE); with them it takes the newest version in the range
 * that supports the running Node (kysely 0.28 and better-sqlite3 12 on Node 20, the newer majors on 22).
 */
function installCommand(): string {
  let ranges: Record<string, string> = {}
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      peerDependencies?: Record<string, string>
    }
    ranges = pkg.peerDependencies ?? {}
  } catch {}
  const specs = SERVER_PACKAGES.map((name) => (ranges[name] ? `'${name}@${ranges[name]}'` : name))
  return `npm install ${specs.join(' ')}`
}

try {
  const cli = await import('./index.js')
  await cli.main()
} catch (error) {
  const err = error as NodeJS.ErrnoException
  if (err?.code !== 'ERR_MODULE_NOT_FOUND') throw error
  const missing = /Cannot find (?:package|module) '([^']+)'/.exec(err.message)?.[1] ?? 'a server package'
  process.stderr.write(
    `latchkey: the CLI needs ${missing}; install the server packages: ${installCommand()}\n`,
  )
  process.exitCode = 1
}
