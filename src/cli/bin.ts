#!/usr/bin/env node
/**
 * The package's `latchkey` bin. The server's packages (fastify, kysely, pg, @node-rs/argon2, ...) are
 * optional peer dependencies, so that a library user never installs them; when one is missing this
 * says which to install, in one line, instead of a stack trace.
 */
const SERVER_PACKAGES =
  'fastify fastify-plugin @fastify/swagger @fastify/swagger-ui kysely better-sqlite3 pg ioredis @node-rs/argon2 pino prom-client'

try {
  const cli = await import('./index.js')
  await cli.main()
} catch (error) {
  const err = error as NodeJS.ErrnoException
  if (err?.code !== 'ERR_MODULE_NOT_FOUND') throw error
  const missing = /Cannot find (?:package|module) '([^']+)'/.exec(err.message)?.[1] ?? 'a server package'
  process.stderr.write(
    `latchkey: the CLI needs ${missing}; install the server packages: npm install ${SERVER_PACKAGES}\n`,
  )
  process.exitCode = 1
}
