/**
 * What the server says at start-up: the warning for Secure cookies a browser will drop (plain HTTP
 * beyond localhost, no TLS proxy), and the one line with the address to open, human on a terminal
 * and a JSON log line otherwise.
 */
import { execFileSync } from 'node:child_process'
import { join, resolve } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { parseConfig, type RawSettings } from '../../src/server/config.js'
import {
  insecureCookieWarning,
  isLoopbackHost,
  listeningMessage,
  listeningUrls,
} from '../../src/server/startup.js'
import { isCI } from '../helpers/services.js'
import { startServer, TEST_ARGON2, TEST_SECRET } from './harness.js'
import { tempDir } from './helpers.js'
import { killLeftovers, startProcess } from './processes.js'

afterEach(killLeftovers)
const folder = tempDir('latchkey-startup-')
afterAll(() => folder.remove())
const ROOT = resolve(import.meta.dirname, '../..')

describe('the Secure-cookie warning', () => {
  const lan = { host: '0.0.0.0', cookieSecure: 'true', trustProxy: 'false' }
  const warns = (raw: RawSettings) => insecureCookieWarning(parseConfig(raw)) !== undefined

  it('warns when cookies are Secure, the host is not loopback and no TLS proxy is trusted', () => {
    expect(warns(lan)).toBe(true)
    expect(warns({ ...lan, host: '192.0.2.2' })).toBe(true)
    expect(warns({ ...lan, host: 'myhost.lan' })).toBe(true)
    // Defaults but the host: cookies are a location and Secure, no proxy.
    expect(warns({ host: '0.0.0.0' })).toBe(true)
  })

  it('stays quiet when browsers keep the cookies, or there are none', () => {
    for (const host of ['127.0.0.1', '127.0.0.2', 'localhost', 'app.localhost', '::1', '[::1]'])
      expect(warns({ ...lan, host }), host).toBe(false)
    expect(warns({ ...lan, trustProxy: 'true' })).toBe(false)
    expect(warns({ ...lan, trustProxy: '1' })).toBe(false)
    expect(warns({ ...lan, trustProxy: '10.0.0.0/8' })).toBe(false)
    expect(warns({ ...lan, cookieSecure: 'false' })).toBe(false)
    expect(warns({ ...lan, tokenLocations: 'headers,json' })).toBe(false)
    expect(isLoopbackHost('127.0.0.1.example.com')).toBe(false)
  })

  it('is logged at start-up, naming the setting to change', async () => {
    const server = await startServer(
      { ...lan, databaseUrl: `file:${join(folder.dir, 'warn.db')}`, dataDir: folder.dir },
      { cwd: folder.dir },
    )
    try {
      const warnings = server.logs
        .map((line) => JSON.parse(line) as { level: number; msg: string; host?: string })
        .filter((entry) => entry.level === 40 && /Secure/.test(entry.msg))
      expect(warnings).toHaveLength(1)
      expect(warnings[0]!.host).toBe('0.0.0.0')
      expect(warnings[0]!.msg).toContain('HOST=0.0.0.0 serves plain HTTP')
      expect(warnings[0]!.msg).toContain('LATCHKEY_COOKIE_SECURE=false')
      expect(warnings[0]!.msg).toContain('TLS proxy')
      expect(warnings[0]!.msg).toContain('TOKEN_MISSING')
    } finally {
      await server.close()
    }
    const quiet = await startServer(
      { databaseUrl: `file:${join(folder.dir, 'quiet.db')}`, dataDir: folder.dir },
      { cwd: folder.dir },
    )
    await quiet.close()
    expect(quiet.logs.join('\n')).not.toContain('Secure')
  })
})

describe('the start-up line', () => {
  it('names the URL, the docs and the demo page', () => {
    expect(listeningMessage(listeningUrls('127.0.0.1', 3000, true))).toBe(
      'latchkey listening on http://127.0.0.1:3000 (docs: http://127.0.0.1:3000/docs, demo: http://127.0.0.1:3000/)',
    )
    expect(listeningMessage(listeningUrls('::1', 8080, false))).toBe(
      'latchkey listening on http://[::1]:8080 (docs: http://[::1]:8080/docs)',
    )
    // Every interface: the address to open on this machine is localhost.
    expect(listeningMessage(listeningUrls('0.0.0.0', 3000, true))).toBe(
      'latchkey listening on http://localhost:3000 (every interface, docs: http://localhost:3000/docs, demo: http://localhost:3000/)',
    )
  })

  const haveScript = (() => {
    try {
      execFileSync('script', ['--version'], { stdio: 'ignore' })
      return true
    } catch {
      return false
    }
  })()
  if (!haveScript && isCI()) {
    it('needs script(1) for a terminal', () => {
      throw new Error('script (util-linux) is missing: the terminal start-up line cannot be tested')
    })
  } else if (!haveScript) console.warn('skipping the terminal start-up line test: script(1) is missing')

  it.skipIf(!haveScript)(
    'on a terminal it is one human line, not JSON',
    async () => {
      // script(1) runs the server with a pseudo-terminal as its standard output.
      const command = [process.execPath, '--import', 'tsx', join(ROOT, 'src/cli/index.ts'), 'serve']
        .map((part) => `'${part}'`)
        .join(' ')
      const server = startProcess('script', ['-qfec', command, '/dev/null'], {
        cwd: ROOT,
        env: {
          PORT: '0',
          LATCHKEY_SECRET: TEST_SECRET,
          LATCHKEY_ARGON2: TEST_ARGON2,
          DATABASE_URL: `file:${join(folder.dir, 'tty.db')}`,
          LATCHKEY_DEMO_PAGE: 'false',
        },
      })
      const line = await server.waitFor(/latchkey listening on/)
      expect(line.trim()).toMatch(
        /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: latchkey listening on http:\/\/127\.0\.0\.1:(\d+) \(docs: http:\/\/127\.0\.0\.1:\1\/docs\)$/,
      )
      // Fastify's own line (JSON) is still there for whatever parses the log. It goes through
      // pino's stream, so it may reach the terminal after latchkey's line: wait for it.
      const fastifyLine = await server.waitFor(/"msg":"Server listening at /, 10_000)
      expect(fastifyLine).toMatch(/"msg":"Server listening at http:\/\/127\.0\.0\.1:\d+"/)
      process.kill(-server.child.pid!, 'SIGTERM')
      await server.exited
    },
    120_000,
  )
})
