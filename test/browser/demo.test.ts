/**
 * The demo page in a real browser: Debian's Chromium (/usr/bin/chromium) driven by playwright-core,
 * against the reference server on 127.0.0.1 in cookie mode. Screenshots of every step go to
 * test-output/browser/. Without Chromium the file is skipped with a warning, except under CI, where
 * that is a failure (.ci/browser installs it).
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { networkInterfaces } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance } from 'fastify'
import { type Browser, type BrowserContext, type Cookie, chromium, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildServer } from '../../src/server/app.js'
import { parseConfig, type RawSettings } from '../../src/server/config.js'
import { DEMO_CSP, demoAssetsDir, registerDemoPage } from '../../src/server/demo.js'
import { linkOf, startSmtp, type TestSmtp } from '../helpers/smtp.js'
import { TEST_ARGON2, TEST_SECRET } from '../server/harness.js'
import { tempDir } from '../server/helpers.js'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const LAN_NAME = 'latchkey-lan.test'
const CI = !['', '0', 'false', undefined].includes(process.env.CI?.toLowerCase())
const SHOTS = fileURLToPath(new URL('../../test-output/browser/', import.meta.url))
/** The flags the machine notes prescribe: no sandbox as root, and no calls to Google's services. */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  // A name for 127.0.0.1 that is not localhost: a plain-HTTP origin where Secure cookies are dropped.
  `--host-resolver-rules=MAP ${LAN_NAME} 127.0.0.1`,
]
const PASSWORD = 'correct horse battery'
const NEW_PASSWORD = 'staple correct horse'
const PHONE = { width: 390, height: 844 }
const DESKTOP = { width: 1180, height: 900 }

interface DemoServer {
  app: FastifyInstance
  base: string
  close(): Promise<void>
}

/**
 * The reference server (SQLite in a temporary folder) with the demo page, listening on 127.0.0.1 or
 * on `settings.host`. `name`: the host name of its base URL (default: the address it listens on);
 * `clock`: the clock of its tokens (default: real time).
 */
async function startDemoServer(
  settings: RawSettings = {},
  options: { name?: string; clock?: () => number } = {},
): Promise<DemoServer> {
  const { name, clock } = options
  const folder = tempDir('latchkey-browser-')
  const sink = new Writable({ write: (_chunk, _encoding, done) => done() })
  const config = parseConfig(
    {
      host: '127.0.0.1',
      port: '0',
      secret: TEST_SECRET,
      argon2: TEST_ARGON2,
      // Plain HTTP on 127.0.0.1: browsers drop Secure cookies set over it.
      cookieSecure: 'false',
      databaseUrl: `file:${join(folder.dir, 'latchkey.db')}`,
      dataDir: folder.dir,
      logLevel: 'warn',
      ...settings,
    },
    { cwd: folder.dir },
  )
  const app = await buildServer(config, { cwd: folder.dir, logStream: sink, ...(clock ? { clock } : {}) })
  // Once src/server/app.ts registers the page itself, this is a no-op.
  if (!app.hasRoute({ method: 'GET', url: '/demo/app.js' })) await registerDemoPage(app)
  await app.listen({ host: config.host, port: 0 })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  return {
    app,
    base: `http://${name ?? config.host}:${address.port}`,
    close: async () => {
      await app.close()
      folder.remove()
    },
  }
}

let emails = 0
const freshEmail = () => `demo-${Date.now().toString(36)}-${++emails}@example.com`

/** Clicks `selector` and waits until the page's action (all its requests) has finished. */
async function act(page: Page, selector: string): Promise<void> {
  const before = Number((await page.getAttribute('body', 'data-actions')) ?? '0')
  await page.click(selector)
  await page.waitForFunction((n) => Number(document.body.dataset.actions ?? '0') > n, before, {
    timeout: 10_000,
  })
}

interface LogEntry {
  request: string
  status: number
  code: string | undefined
  meta: string
}

/** The page's request log, oldest first. */
async function requestLog(page: Page): Promise<LogEntry[]> {
  const entries = await page.$$eval('#log li', (items) =>
    items.map((li) => ({
      request: li.querySelector('.req')?.textContent ?? '',
      status: Number((li as HTMLElement).dataset.status),
      code: (li as HTMLElement).dataset.code,
      meta: li.querySelector('.meta')?.textContent ?? '',
    })),
  )
  return entries.reverse()
}

/** The log entries added by `action`. */
async function logged(page: Page, action: () => Promise<void>): Promise<LogEntry[]> {
  const before = (await requestLog(page)).length
  await action()
  return (await requestLog(page)).slice(before)
}

const brief = (entries: LogEntry[]) =>
  entries.map((e) => `${e.request} ${e.status}${e.code ? ` ${e.code}` : ''}`)

/** A fetch from inside the page (same origin, the browser's cookies), with the given headers. */
function pageFetch(
  page: Page,
  method: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; code: string | undefined }> {
  return page.evaluate(
    async ({ method, path, headers }) => {
      const response = await fetch(path, { method, headers, credentials: 'same-origin' })
      const body = (await response.json().catch(() => ({}))) as { code?: string }
      return { status: response.status, code: body.code }
    },
    { method, path, headers },
  )
}

const csrfCookie = (page: Page, name: string) =>
  page.evaluate(
    (name) =>
      document.cookie
        .split('; ')
        .find((c) => c.startsWith(`${name}=`))
        ?.slice(name.length + 1) ?? '',
    name,
  )

let shot = 0
async function screenshot(page: Page, name: string): Promise<void> {
  shot++
  await page.screenshot({ path: join(SHOTS, `${String(shot).padStart(2, '0')}-${name}.png`), fullPage: true })
}

/** Fills and submits the sign-up and log-in forms. */
async function signUpAndLogIn(page: Page, email: string, options: { remember: boolean }): Promise<void> {
  await page.fill('#signup-email', email)
  await page.fill('#signup-password', PASSWORD)
  await act(page, '#signup-submit')
  await page.fill('#login-email', email)
  await page.fill('#login-password', PASSWORD)
  await page.setChecked('#login-remember', options.remember)
  await act(page, '#login-submit')
  expect(await page.textContent('#status')).toBe(email)
}

/** Page errors and CSP violations: a strict policy must not break the page. */
function watchErrors(page: Page): string[] {
  const errors: string[] = []
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`))
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy|Refused to/i.test(message.text()))
      errors.push(`console: ${message.text()}`)
  })
  return errors
}

const haveChromium = existsSync(CHROMIUM)

describe('demo page assets', () => {
  let server: DemoServer
  beforeAll(async () => {
    server = await startDemoServer()
  })
  afterAll(async () => {
    await server?.close()
  })

  it('serves the page, script and style with their types, no-cache and a strict CSP', async () => {
    for (const [path, type] of [
      ['/', 'text/html'],
      ['/demo/app.js', 'text/javascript'],
      ['/demo/style.css', 'text/css'],
    ] as const) {
      const response = await fetch(server.base + path)
      expect(response.status, path).toBe(200)
      expect(response.headers.get('content-type'), path).toBe(`${type}; charset=utf-8`)
      expect(response.headers.get('cache-control'), path).toBe('no-cache')
      const csp = response.headers.get('content-security-policy') ?? ''
      expect(csp, path).toBe(DEMO_CSP)
      expect(csp).toContain("default-src 'self'")
      expect(csp).not.toContain('unsafe-inline')
      expect(csp).not.toContain('unsafe-eval')
      const etag = response.headers.get('etag')
      expect(etag).toMatch(/^"[\w-]+"$/)
      const again = await fetch(server.base + path, { headers: { 'if-none-match': etag! } })
      expect(again.status, path).toBe(304)
    }
  })

  it('has no inline script, style or event handler (the CSP would block them)', () => {
    const html = readFileSync(join(demoAssetsDir(), 'index.html'), 'utf8')
    for (const tag of html.match(/<script\b[^>]*>/g) ?? []) expect(tag).toMatch(/\bsrc="\/demo\/app\.js"/)
    expect(html).not.toMatch(/<script\b[^>]*>(?!<\/script>)/)
    expect(html).not.toMatch(/<style\b/)
    expect(html).not.toMatch(/\sstyle=/)
    expect(html).not.toMatch(/\son[a-z]+=/)
    expect(html).not.toMatch(/https?:\/\//)
  })
})

if (!haveChromium && CI) {
  describe('demo page in Chromium', () => {
    it('needs Chromium', () => {
      throw new Error(
        `${CHROMIUM} is missing: CI must install it (.ci/browser runs apt-get install chromium)`,
      )
    })
  })
} else if (!haveChromium) {
  console.warn(`skipping the browser tests: ${CHROMIUM} is missing (apt-get install chromium)`)
}

describe.skipIf(!haveChromium)('demo page in Chromium', () => {
  let browser: Browser
  let server: DemoServer
  const contexts: BrowserContext[] = []

  async function newPage(base: string, viewport = PHONE): Promise<{ page: Page; errors: string[] }> {
    const context = await browser.newContext({ viewport, baseURL: base })
    contexts.push(context)
    const page = await context.newPage()
    const errors = watchErrors(page)
    const response = await page.goto('/')
    expect(response?.status()).toBe(200)
    // The script ran (under the page's CSP) and found nobody signed in.
    await page.waitForFunction(() => document.documentElement.dataset.ready === 'true')
    expect(await page.textContent('#status')).toBe('Signed out')
    return { page, errors }
  }

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true })
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS })
    server = await startDemoServer({ accessTtl: '10m' })
  })
  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => {})
    await browser?.close()
    await server?.close()
  })

  it('runs the whole flow: sign up, log in, who am I, refresh, change password, log out, log out everywhere', async () => {
    const { page, errors } = await newPage(server.base)
    const context = page.context()
    await screenshot(page, 'start')
    const email = freshEmail()

    // Sign up.
    await page.fill('#signup-name', 'Ada Demo')
    await page.fill('#signup-email', email)
    await page.fill('#signup-password', PASSWORD)
    expect(brief(await logged(page, () => act(page, '#signup-submit')))).toEqual(['POST /auth/signup 202'])
    expect(await page.textContent('#signup-result')).toContain('Sign-up received')
    expect(await page.inputValue('#login-email')).toBe(email)
    await screenshot(page, 'signed-up')

    // Log in with "remember me".
    await page.fill('#login-password', PASSWORD)
    await page.check('#login-remember')
    expect(brief(await logged(page, () => act(page, '#login-submit')))).toEqual(['POST /auth/login 200'])
    expect(await page.textContent('#status')).toBe(email)
    expect(await page.textContent('#token-badges')).toContain('fresh')
    expect(await page.textContent('#token-badges')).not.toContain('not fresh')
    expect(await page.textContent('#countdown')).toMatch(/^Expires in (9|10):\d\d$/)
    const loginJti = await page.textContent('dd[data-claim="jti"]')
    expect(loginJti).toBeTruthy()
    await screenshot(page, 'logged-in')

    // The token cookies are HttpOnly and persistent ("remember me"); the CSRF cookies are readable.
    const cookies = await context.cookies()
    const byName = (name: string) => cookies.find((c) => c.name === name)
    const now = Date.now() / 1000
    for (const name of ['access_token_cookie', 'refresh_token_cookie']) {
      expect(byName(name), name).toBeDefined()
      expect(byName(name)!.httpOnly, name).toBe(true)
      expect(byName(name)!.expires, name).toBeGreaterThan(now)
    }
    expect(byName('refresh_token_cookie')!.path).toBe('/auth/refresh')
    for (const name of ['csrf_access_token', 'csrf_refresh_token']) {
      expect(byName(name)!.httpOnly, name).toBe(false)
      expect(byName(name)!.sameSite, name).toBe('Lax')
    }
    const visible = await page.evaluate(() => document.cookie)
    const visibleNames = visible.split('; ').map((c) => c.split('=')[0])
    expect(visibleNames.sort()).toEqual(['csrf_access_token', 'csrf_refresh_token'])
    expect(visible).not.toContain(byName('access_token_cookie')!.value)
    expect(await page.textContent('#cookies')).toBe('csrf_access_token, csrf_refresh_token')

    // Who am I: the cookie authenticates (the page sends no Authorization header).
    const meRequest = page.waitForRequest((r) => r.url().endsWith('/auth/me'))
    expect(brief(await logged(page, () => act(page, '#btn-me')))).toEqual(['GET /auth/me 200'])
    expect((await meRequest).headers().authorization).toBeUndefined()
    expect(await page.textContent('#whoami')).toContain(`Ada Demo <${email}>`)
    const userId = (await page.textContent('#whoami .id'))?.replace(/^id /, '')
    expect(await page.textContent('dd[data-claim="sub"]')).toBe(userId)
    await screenshot(page, 'who-am-i')

    // A state-changing request without the CSRF header, or with a wrong one, is refused.
    expect(await pageFetch(page, 'POST', '/auth/logout')).toEqual({ status: 403, code: 'CSRF_FAILED' })
    expect(await pageFetch(page, 'POST', '/auth/logout', { 'X-CSRF-TOKEN': 'forged' })).toEqual({
      status: 403,
      code: 'CSRF_FAILED',
    })
    expect(await pageFetch(page, 'POST', '/auth/refresh')).toEqual({ status: 403, code: 'CSRF_FAILED' })
    expect(brief(await logged(page, () => act(page, '#btn-no-csrf')))).toEqual([
      'POST /auth/logout 403 CSRF_FAILED',
    ])
    expect(await page.textContent('#session-result')).toContain('Refused as it should be')
    expect(await pageFetch(page, 'GET', '/auth/me')).toEqual({ status: 200, code: undefined })
    await screenshot(page, 'csrf-refused')

    // Refresh: a new, non-fresh access token; the refresh request carries the refresh CSRF cookie.
    const refreshCsrf = await csrfCookie(page, 'csrf_refresh_token')
    const refreshRequest = page.waitForRequest((r) => r.url().endsWith('/auth/refresh'))
    expect(brief(await logged(page, () => act(page, '#btn-refresh')))).toEqual(['POST /auth/refresh 200'])
    expect((await refreshRequest).headers()['x-csrf-token']).toBe(refreshCsrf)
    expect(await page.textContent('#token-badges')).toContain('not fresh')
    expect(await page.textContent('dd[data-claim="jti"]')).not.toBe(loginJti)
    expect(await page.textContent('#token-source')).toContain('POST /auth/refresh')
    await screenshot(page, 'refreshed')

    // Change password: the refreshed token is not fresh, so the page asks to confirm the password.
    await page.fill('#password-current', PASSWORD)
    await page.fill('#password-new', NEW_PASSWORD)
    expect(brief(await logged(page, () => act(page, '#password-submit')))).toEqual([
      'POST /auth/password 401 FRESH_TOKEN_REQUIRED',
    ])
    expect(await page.isVisible('#fresh-form')).toBe(true)
    await screenshot(page, 'fresh-required')
    await page.fill('#fresh-password', PASSWORD)
    expect(brief(await logged(page, () => act(page, '#fresh-submit')))).toEqual([
      'POST /auth/fresh-login 200',
      'POST /auth/password 200',
    ])
    expect(await page.isVisible('#fresh-form')).toBe(false)
    expect(await page.textContent('#password-result')).toContain('Password changed')
    expect(await page.textContent('#token-badges')).not.toContain('not fresh')
    expect(brief(await logged(page, () => act(page, '#btn-me')))).toEqual(['GET /auth/me 200'])
    await screenshot(page, 'password-changed')

    // Log out; the cookies saved before it no longer work when put back.
    const saved: Cookie[] = await context.cookies()
    expect(brief(await logged(page, () => act(page, '#btn-logout')))).toEqual(['POST /auth/logout 200'])
    expect(await page.textContent('#status')).toBe('Signed out')
    expect(await page.evaluate(() => document.cookie)).toBe('')
    expect((await context.cookies()).map((c) => c.name)).toEqual([])
    await screenshot(page, 'logged-out')
    await context.addCookies(saved)
    expect(await pageFetch(page, 'GET', '/auth/me')).toEqual({ status: 401, code: 'TOKEN_REVOKED' })
    expect(
      await pageFetch(page, 'POST', '/auth/refresh', {
        'X-CSRF-TOKEN': await csrfCookie(page, 'csrf_refresh_token'),
      }),
    ).toEqual({ status: 401, code: 'TOKEN_REVOKED' })
    // The page, with those cookies back, finds itself signed out (a revoked token is not refreshed).
    expect(brief(await logged(page, () => act(page, '#btn-me')))).toEqual(['GET /auth/me 401 TOKEN_REVOKED'])
    expect(await page.textContent('#status')).toBe('Signed out')
    await context.clearCookies()

    // Log out everywhere: log in here and in a second browser, then log out everywhere from here.
    await page.fill('#login-email', email)
    await page.fill('#login-password', NEW_PASSWORD)
    await page.setChecked('#login-remember', false)
    expect(brief(await logged(page, () => act(page, '#login-submit')))).toEqual(['POST /auth/login 200'])
    const session = (await context.cookies()).find((c) => c.name === 'access_token_cookie')!
    expect(session.expires).toBe(-1) // without "remember me": a browser-session cookie
    const other = await newPage(server.base, DESKTOP)
    await other.page.fill('#login-email', email)
    await other.page.fill('#login-password', NEW_PASSWORD)
    await act(other.page, '#login-submit')
    expect(brief(await logged(other.page, () => act(other.page, '#btn-me')))).toEqual(['GET /auth/me 200'])

    const savedBeforeAll = await context.cookies()
    expect(brief(await logged(page, () => act(page, '#btn-logout-all')))).toEqual([
      'POST /auth/logout-all 200',
    ])
    expect(await page.textContent('#status')).toBe('Signed out')
    expect(await page.textContent('#whoami')).toContain('Logged out everywhere')
    await screenshot(page, 'logged-out-everywhere')
    expect(brief(await logged(other.page, () => act(other.page, '#btn-me')))).toEqual([
      'GET /auth/me 401 TOKEN_REVOKED',
    ])
    expect(await other.page.textContent('#status')).toBe('Signed out')
    await context.addCookies(savedBeforeAll)
    expect(await pageFetch(page, 'GET', '/auth/me')).toEqual({ status: 401, code: 'TOKEN_REVOKED' })

    expect(errors).toEqual([])
    expect(other.errors).toEqual([])
  }, 60_000)

  describe('with a 3-second access token', () => {
    let shortLived: DemoServer
    beforeAll(async () => {
      shortLived = await startDemoServer({ accessTtl: '3s' })
    })
    afterAll(async () => {
      await shortLived?.close()
    })

    // With "remember me" the access cookie has Max-Age 3 and the browser drops it (TOKEN_MISSING);
    // without, it is a session cookie the server answers with TOKEN_EXPIRED (and clears).
    it.each([
      { remember: true, code: 'TOKEN_MISSING' },
      { remember: false, code: 'TOKEN_EXPIRED' },
    ])(
      'stays logged in across an access-token expiry (remember: $remember)',
      async ({ remember, code }) => {
        const { page, errors } = await newPage(shortLived.base)
        const email = freshEmail()
        await signUpAndLogIn(page, email, { remember })
        // (On a slow machine the token may have expired already: only the outcome matters here.)
        expect(brief(await logged(page, () => act(page, '#btn-me'))).at(-1)).toBe('GET /auth/me 200')
        const firstJti = await page.textContent('dd[data-claim="jti"]')

        await page.waitForTimeout(4_200)
        expect(await page.textContent('#countdown')).toBe('Expired: the next request refreshes it')
        await screenshot(page, `expired-remember-${remember}`)

        const entries = await logged(page, () => act(page, '#btn-me'))
        expect(brief(entries)).toEqual([
          `GET /auth/me 401 ${code}`,
          'POST /auth/refresh 200',
          'GET /auth/me 200',
        ])
        expect(entries[1]!.meta).toContain(`after ${code}`)
        expect(entries[2]!.meta).toContain('retried')
        expect(await page.textContent('#status')).toBe(email)
        expect(await page.textContent('#whoami')).toContain(email)
        expect(await page.textContent('dd[data-claim="jti"]')).not.toBe(firstJti)
        expect(await page.textContent('#countdown')).toMatch(/^Expires in [1-3] s$/)
        await screenshot(page, `refreshed-after-expiry-remember-${remember}`)

        // The same for a state-changing request: log out after another expiry.
        await page.waitForTimeout(4_200)
        expect(brief(await logged(page, () => act(page, '#btn-logout')))).toEqual([
          `POST /auth/logout 401 ${code}`,
          'POST /auth/refresh 200',
          'POST /auth/logout 200',
        ])
        expect(await page.textContent('#status')).toBe('Signed out')
        expect(errors).toEqual([])
      },
      30_000,
    )
  })

  describe('implicit refresh (4-second access token, 3-second window, on a clock moved by hand)', () => {
    // The server's token clock stands still unless the test moves it, so where each request falls
    // (outside the window, inside it, past the first token's exp) does not depend on how fast a loaded
    // machine runs the browser. With real time a request meant for the last second before exp could
    // land after it (401 TOKEN_EXPIRED, then a refresh) when the machine was busy.
    let server: DemoServer
    let now = Date.now()
    beforeAll(async () => {
      now = Date.now()
      server = await startDemoServer({ accessTtl: '4s', implicitRefresh: '3s' }, { clock: () => now })
    })
    afterAll(async () => {
      await server?.close()
    })

    const expOf = (token: string) =>
      (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { exp: number }).exp

    it('a request inside the window gets a new access cookie, so the page never sees the expiry', async () => {
      const { page, errors } = await newPage(server.base)
      await signUpAndLogIn(page, freshEmail(), { remember: false })
      const cookieOf = async () =>
        (await page.context().cookies()).find((c) => c.name === 'access_token_cookie')?.value
      const first = (await cookieOf())!
      expect(first).toBeTruthy()
      const exp = expOf(first)
      // Just issued: more than 3 s left, outside the window, so nothing is re-issued.
      expect(exp * 1000 - now).toBeGreaterThan(3_000)
      expect(brief(await logged(page, () => act(page, '#btn-me')))).toEqual(['GET /auth/me 200'])
      expect(await cookieOf()).toBe(first)

      // One second before exp: inside the window, and the response re-sets the access cookie.
      now = exp * 1000 - 1_000
      expect(brief(await logged(page, () => act(page, '#btn-me')))).toEqual(['GET /auth/me 200'])
      const second = (await cookieOf())!
      expect(second).toBeTruthy()
      expect(second).not.toBe(first)
      expect(expOf(second)).toBe(exp + 3)

      // One second past the first token's exp: that token is refused now ...
      now = exp * 1000 + 1_000
      const stale = await fetch(`${server.base}/auth/me`, {
        headers: { cookie: `access_token_cookie=${first}` },
      })
      expect(stale.status).toBe(401)
      expect(((await stale.json()) as { code?: string }).code).toBe('TOKEN_EXPIRED')
      // ... and the re-issued cookie still works, with no refresh call and no 401.
      expect(brief(await logged(page, () => act(page, '#btn-me')))).toEqual(['GET /auth/me 200'])
      await screenshot(page, 'implicit-refresh')
      expect(errors).toEqual([])
    }, 30_000)
  })

  describe('Secure cookies over plain HTTP', () => {
    // A LAN address of this machine when it has one (as a phone on the same network would open the
    // page), else a name Chromium resolves to 127.0.0.1: either way not localhost, which browsers
    // trust with Secure cookies even over plain HTTP.
    const lanAddress = Object.values(networkInterfaces())
      .flat()
      .find((i) => i !== undefined && i.family === 'IPv4' && !i.internal)?.address
    let lan: DemoServer
    let local: DemoServer
    beforeAll(async () => {
      lan = await startDemoServer(
        { cookieSecure: 'true', host: lanAddress ?? '127.0.0.1' },
        { name: lanAddress ?? LAN_NAME },
      )
      local = await startDemoServer({ cookieSecure: 'true' })
    })
    afterAll(async () => {
      await lan?.close()
      await local?.close()
    })

    it('explains why the login cookies did not come back', async () => {
      const { page, errors } = await newPage(lan.base)
      expect(await page.isVisible('#cookie-warning')).toBe(false)
      const email = freshEmail()
      await page.fill('#signup-email', email)
      await page.fill('#signup-password', PASSWORD)
      await act(page, '#signup-submit')
      await page.fill('#login-email', email)
      await page.fill('#login-password', PASSWORD)
      // The login itself succeeds; the browser drops its Secure cookies.
      expect(brief(await logged(page, () => act(page, '#login-submit')))).toEqual(['POST /auth/login 200'])
      expect(await page.context().cookies()).toEqual([])
      expect(await page.isVisible('#cookie-warning')).toBe(true)
      const warning = (await page.textContent('#cookie-warning'))?.replace(/\s+/g, ' ') ?? ''
      expect(warning).toContain('The browser dropped the login cookies.')
      expect(warning).toContain(`plain HTTP on ${new URL(lan.base).origin}`)
      expect(warning).toContain('LATCHKEY_COOKIE_SECURE=false')
      expect(warning).toContain('HTTPS')
      expect(await page.textContent('#session-result')).toContain('did not keep the cookies')
      // The next call answers TOKEN_MISSING, and the message stays.
      expect(brief(await logged(page, () => act(page, '#btn-me')))).toEqual([
        'GET /auth/me 401 TOKEN_MISSING',
      ])
      expect(await page.isVisible('#cookie-warning')).toBe(true)
      await screenshot(page, 'secure-cookies-dropped')
      expect(errors).toEqual([])
    }, 30_000)

    it('says nothing on 127.0.0.1, where the browser keeps Secure cookies', async () => {
      const { page, errors } = await newPage(local.base)
      await signUpAndLogIn(page, freshEmail(), { remember: false })
      expect((await page.context().cookies()).every((c) => c.secure)).toBe(true)
      expect(brief(await logged(page, () => act(page, '#btn-me')))).toEqual(['GET /auth/me 200'])
      expect(await page.isVisible('#cookie-warning')).toBe(false)
      expect(errors).toEqual([])
    }, 30_000)
  })

  describe('links from mail and the sessions list', () => {
    let smtp: TestSmtp
    let mailing: DemoServer
    beforeAll(async () => {
      smtp = await startSmtp()
      mailing = await startDemoServer({ smtpUrl: smtp.url, mailFrom: 'demo <no-reply@example.test>' })
    })
    afterAll(async () => {
      await mailing?.close()
      await smtp?.close()
    })

    it('verifies the address, lists sessions and ends one, then resets a forgotten password from the mailed link', async () => {
      const email = freshEmail()
      const { page: laptop, errors } = await newPage(mailing.base, DESKTOP)
      await signUpAndLogIn(laptop, email, { remember: false })

      // The verification link opens the page, which confirms the address (and takes the token out of the URL).
      const verify = linkOf(await smtp.waitFor((m) => m.to.includes(email) && /^Confirm/.test(m.subject)))
      expect(verify).toMatch(new RegExp(`^${mailing.base}/#verify-email=`))
      await laptop.goto(verify)
      await laptop.waitForFunction(() => !document.getElementById('link-banner')?.hidden)
      expect(await laptop.textContent('#link-banner')).toBe('Email address verified. Thank you!')
      expect(await laptop.evaluate(() => location.hash)).toBe('')
      await laptop.waitForFunction(() => document.body.dataset.session === 'in')

      // A second device: another browser with its own user agent.
      const phoneContext = await browser.newContext({
        viewport: PHONE,
        baseURL: mailing.base,
        userAgent: 'DemoPhone/1.0 (test)',
      })
      contexts.push(phoneContext)
      const phone = await phoneContext.newPage()
      const phoneErrors = watchErrors(phone)
      await phone.goto('/')
      await phone.waitForFunction(() => document.documentElement.dataset.ready === 'true')
      await phone.fill('#login-email', email)
      await phone.fill('#login-password', PASSWORD)
      await act(phone, '#login-submit')
      expect(await phone.textContent('#status')).toBe(email)

      // The laptop lists both logins, itself marked, and ends the phone's.
      expect(brief(await logged(laptop, () => act(laptop, '#btn-sessions')))).toEqual([
        'GET /auth/sessions 200',
      ])
      const rows = laptop.locator('#sessions li')
      expect(await rows.count()).toBe(2)
      const mine = laptop.locator('#sessions li[data-current="true"]')
      expect(await mine.locator('.agent').textContent()).toContain('(this session)')
      const other = laptop.locator('#sessions li[data-current="false"]')
      expect(await other.locator('.agent').textContent()).toBe('DemoPhone/1.0 (test)')
      expect(await other.locator('.when').textContent()).toContain('127.0.0.0/24')
      await screenshot(laptop, 'sessions')
      expect(
        brief(await logged(laptop, () => act(laptop, '#sessions li[data-current="false"] button'))),
      ).toEqual([expect.stringMatching(/^DELETE \/auth\/sessions\/[\w-]+ 200$/), 'GET /auth/sessions 200'])
      expect(await rows.count()).toBe(1)
      expect(await laptop.textContent('#sessions-result')).toBe('Session ended.')

      // The phone is logged out: its next call is refused, and the page says so.
      expect(brief(await logged(phone, () => act(phone, '#btn-me')))).toEqual([
        'GET /auth/me 401 TOKEN_REVOKED',
      ])
      expect(await phone.textContent('#status')).toBe('Signed out')

      // Forgot password, from the phone: the same answer as for any address, and a mail.
      await phone.fill('#forgot-email', email)
      expect(brief(await logged(phone, () => act(phone, '#forgot-submit')))).toEqual([
        'POST /auth/password/forgot 202',
      ])
      expect(await phone.textContent('#forgot-result')).toBe(
        'If an account has this email, a link to reset its password is on its way',
      )
      const reset = linkOf(await smtp.waitFor((m) => m.to.includes(email) && /^Reset/.test(m.subject)))
      expect(reset).toMatch(new RegExp(`^${mailing.base}/#reset-password=`))

      // The link opens the new-password form; the new password ends every session (the laptop's too).
      await phone.goto(reset)
      await phone.waitForSelector('#reset-card:not([hidden])')
      expect(await phone.evaluate(() => location.hash)).toBe('')
      await screenshot(phone, 'reset-password')
      await phone.fill('#reset-password', NEW_PASSWORD)
      expect(brief(await logged(phone, () => act(phone, '#reset-submit')))).toEqual([
        'POST /auth/password/reset 200',
      ])
      expect(await phone.textContent('#reset-result')).toContain('every session was logged out')
      expect(brief(await logged(laptop, () => act(laptop, '#btn-me')))).toEqual([
        'GET /auth/me 401 TOKEN_REVOKED',
      ])

      // The link worked once; the new password logs in.
      await phone.goto(reset)
      await phone.waitForSelector('#reset-card:not([hidden])')
      await phone.fill('#reset-password', 'yet another password')
      expect(brief(await logged(phone, () => act(phone, '#reset-submit')))).toEqual([
        'POST /auth/password/reset 400 INVALID_LINK',
      ])
      await phone.fill('#login-email', email)
      await phone.fill('#login-password', NEW_PASSWORD)
      expect(brief(await logged(phone, () => act(phone, '#login-submit')))).toEqual(['POST /auth/login 200'])
      await screenshot(phone, 'logged-in-after-reset')
      expect(errors).toEqual([])
      expect(phoneErrors).toEqual([])
    }, 60_000)
  })

  it('lays out at phone and desktop width', async () => {
    for (const [name, viewport] of [
      ['phone', PHONE],
      ['desktop', DESKTOP],
    ] as const) {
      const { page } = await newPage(server.base, viewport)
      await signUpAndLogIn(page, freshEmail(), { remember: true })
      await act(page, '#btn-me')
      await act(page, '#btn-refresh')
      // Nothing wider than the screen: no sideways scrolling on a phone.
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
      expect(overflow, name).toBeLessThanOrEqual(0)
      await page.screenshot({ path: join(SHOTS, `layout-${name}.png`), fullPage: true })
    }
  }, 30_000)
})
