/**
 * One table over the four adapters, for what the Flask-JWT-Extended work added to every adapter:
 * guard options checked where a guard is made (an unknown location was once read as the query
 * string), the cookie helpers through each adapter's `applyAuthHeaders`, and bodies: only a JSON
 * body carries a `json` token (a urlencoded parser's object does not), only a form carries the
 * CSRF form field.
 */
import { createServer } from 'node:http'
import { getRequestListener } from '@hono/node-server'
import express from 'express'
import Fastify from 'fastify'
import { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { checkGuardOptions } from '../../src/adapter-kit.js'
import * as expressAdapter from '../../src/adapters/express.js'
import * as fastifyAdapter from '../../src/adapters/fastify.js'
import * as fetchAdapter from '../../src/adapters/fetch.js'
import * as honoAdapter from '../../src/adapters/hono.js'
import { type Auth, ConfigError, createAuth, type GuardOptions } from '../../src/index.js'
import { listen, type RunningApp } from './suite.js'

const SECRET = 'guard-options-secret-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEF'

/** An adapter: how it makes a guard (to see it refuse), and an app with the routes below. */
interface Adapter {
  /** Makes a guard with these options (throws where the adapter refuses them). */
  makeGuard(auth: Auth, options: GuardOptions): Promise<unknown> | unknown
  /**
   * - `POST /json`: a guard reading JSON bodies only; `POST /cookie`: a cookie guard (CSRF);
   *   both answer `{sub}`.
   * - `POST /set` `{token, domain}`: `auth.accessCookies`; `POST /unset`: `auth.unsetCookies`.
   */
  start(auth: Auth): Promise<RunningApp>
}

const adapters: Record<string, Adapter> = {
  express: {
    makeGuard: (auth, options) => expressAdapter.latchkey(auth).requireAuth(options),
    async start(auth) {
      const app = express()
      app.use(express.json())
      app.use(express.urlencoded({ extended: false }))
      const { requireAuth, errorHandler } = expressAdapter.latchkey(auth)
      app.post('/json', requireAuth({ locations: ['json'] }), (req, res) => {
        res.json({ sub: req.auth.sub })
      })
      app.post('/cookie', requireAuth({ locations: ['cookies'] }), (req, res) => {
        res.json({ sub: req.auth.sub })
      })
      app.post('/set', (req, res) => {
        const { token, domain } = req.body as { token: string; domain?: string }
        expressAdapter.applyAuthHeaders(res, auth.accessCookies(token, { domain })).json({ ok: true })
      })
      app.post('/unset', (_req, res) => {
        expressAdapter.applyAuthHeaders(res, auth.unsetCookies()).json({ ok: true })
      })
      app.use(errorHandler())
      return listen(createServer(app))
    },
  },
  fastify: {
    async makeGuard(auth, options) {
      const app = Fastify()
      await app.register(fastifyAdapter.latchkeyPlugin, { auth })
      try {
        return app.requireAuth(options)
      } finally {
        await app.close()
      }
    },
    async start(auth) {
      const app = Fastify()
      // A urlencoded parser, as @fastify/formbody adds: its object must not pass for a JSON body.
      app.addContentTypeParser(
        'application/x-www-form-urlencoded',
        { parseAs: 'string' },
        (_req, body, done) => {
          done(null, Object.fromEntries(new URLSearchParams(String(body))))
        },
      )
      await app.register(fastifyAdapter.latchkeyPlugin, { auth })
      app.post('/json', { preHandler: app.requireAuth({ locations: ['json'] }) }, async (request) => ({
        sub: request.auth.sub,
      }))
      app.post('/cookie', { preHandler: app.requireAuth({ locations: ['cookies'] }) }, async (request) => ({
        sub: request.auth.sub,
      }))
      app.post<{ Body: { token: string; domain?: string } }>('/set', async (request, reply) =>
        reply
          .applyAuthHeaders(auth.accessCookies(request.body.token, { domain: request.body.domain }))
          .send({ ok: true }),
      )
      app.post('/unset', async (_request, reply) =>
        reply.applyAuthHeaders(auth.unsetCookies()).send({ ok: true }),
      )
      await app.listen({ port: 0, host: '127.0.0.1' })
      const { port } = app.server.address() as { port: number }
      return { url: `http://127.0.0.1:${port}`, close: () => app.close() }
    },
  },
  hono: {
    makeGuard: (auth, options) => honoAdapter.requireAuth(auth, options),
    async start(auth) {
      const app = new Hono<{ Variables: honoAdapter.AuthVariables }>()
      app.onError(honoAdapter.errorHandler(auth))
      app.post('/json', honoAdapter.requireAuth(auth, { locations: ['json'] }), (c) =>
        c.json({ sub: c.get('auth').sub }),
      )
      app.post('/cookie', honoAdapter.requireAuth(auth, { locations: ['cookies'] }), (c) =>
        c.json({ sub: c.get('auth').sub }),
      )
      app.post('/set', async (c) => {
        const { token, domain } = await c.req.json<{ token: string; domain?: string }>()
        return honoAdapter.applyAuthHeaders(c, auth.accessCookies(token, { domain })).json({ ok: true })
      })
      app.post('/unset', (c) => honoAdapter.applyAuthHeaders(c, auth.unsetCookies()).json({ ok: true }))
      return listen(createServer(getRequestListener(app.fetch)))
    },
  },
  fetch: {
    // A fetch handler has no guard to make: the options are checked on the first request.
    makeGuard: (auth, options) => fetchAdapter.verifyRequest(auth, new Request('http://x/'), options),
    async start(auth) {
      const handler = fetchAdapter.errorHandler(auth, async (request: Request): Promise<Response> => {
        const path = new URL(request.url).pathname
        if (path === '/json' || path === '/cookie') {
          const result = await fetchAdapter.verifyRequest(auth, request, {
            locations: [path === '/json' ? 'json' : 'cookies'],
          })
          return result.ok ? Response.json({ sub: result.auth.sub }) : result.response
        }
        if (path === '/set') {
          const { token, domain } = (await request.json()) as { token: string; domain?: string }
          return fetchAdapter.applyAuthHeaders(
            Response.json({ ok: true }),
            auth.accessCookies(token, { domain }),
          )
        }
        return fetchAdapter.applyAuthHeaders(Response.json({ ok: true }), auth.unsetCookies())
      })
      return listen(createServer(getRequestListener(handler)))
    },
  },
}

const auth = createAuth({
  keys: { secret: SECRET },
  tokenLocations: ['headers', 'cookies', 'json'],
  cookies: { sameSite: false, secure: false, maxAge: '1h' },
  csrf: { formField: 'csrf_token' },
})

describe('the core refuses what no guard may be made with', () => {
  it.each([
    [{ locations: ['INVALID_LOCATION'] }, /unknown location "INVALID_LOCATION"/],
    [{ locations: ['query_string'] }, /unknown location "query_string"/],
    [{ locations: [] }, /locations must be a non-empty list/],
    [{ locations: 'headers' }, /locations must be a non-empty list/],
    [{ locations: ['headers', 'headers'] }, /lists a location twice/],
    [{ optinal: true }, /unknown option "optinal"/],
    [{ fresh: 'yes' }, /fresh must be true or false/],
    [{ scopes: 'read:orders' }, /scopes must be a list of scopes, or \{ all, any \}/],
    [{ scopes: ['read orders'] }, /scopes must be a list of scopes/],
    [{ scopes: { every: ['a'] } }, /scopes: unknown key "every"/],
    [{ claimCheck: true }, /claimCheck must be a function/],
    [{ accept: 'everyone' }, /accept must be 'any', 'self', 'issuers'/],
    [{ accept: [] }, /accept must be/],
  ])('%j', (options, message) => {
    expect(() => checkGuardOptions(options)).toThrow(ConfigError)
    expect(() => checkGuardOptions(options)).toThrow(message)
  })

  it('accepts the identity-provider options it knows', () => {
    for (const options of [
      { scopes: ['read:orders'] },
      { scopes: { all: ['a'], any: ['b', 'c'] } },
      { claimCheck: () => true },
      { accept: 'self' },
      { accept: ['self', 'https://idp.example.com/'] },
    ])
      expect(checkGuardOptions(options)).toBe(options)
  })

  it('and a guard called with an unknown location never reads the query string', () => {
    const token = auth.createAccessToken('alice')
    const view = {
      method: 'GET',
      header: () => undefined,
      cookie: () => undefined,
      query: (name: string) => (name === 'jwt' ? token : undefined),
    }
    expect(() => auth.check(view, { locations: ['INVALID_LOCATION' as never] })).toThrow(ConfigError)
  })
})

describe.each(Object.entries(adapters))('%s', (_name, adapter) => {
  let app: RunningApp
  beforeAll(async () => {
    app = await adapter.start(auth as Auth)
  })
  afterAll(() => app.close())

  it('refuses an unknown location where the guard is made (a ConfigError, not a request)', async () => {
    for (const options of [
      { locations: ['INVALID_LOCATION'] },
      { locations: ['query_string'] },
      { verifytype: false },
    ]) {
      await expect(async () => adapter.makeGuard(auth as Auth, options as GuardOptions)).rejects.toThrow(
        ConfigError,
      )
    }
    await expect(
      Promise.resolve().then(() =>
        adapter.makeGuard(auth as Auth, { locations: ['headers'], verifyType: false }),
      ),
    ).resolves.toBeDefined()
  })

  const post = (
    path: string,
    init: { json?: unknown; form?: Record<string, string>; cookie?: string; csrf?: string },
  ) =>
    fetch(app.url + path, {
      method: 'POST',
      headers: {
        ...(init.json !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(init.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        ...(init.cookie ? { cookie: init.cookie } : {}),
        ...(init.csrf ? { 'x-csrf-token': init.csrf } : {}),
      },
      body:
        init.json !== undefined
          ? JSON.stringify(init.json)
          : init.form
            ? new URLSearchParams(init.form).toString()
            : undefined,
    })

  it('reads a json token from a JSON body only, never from a urlencoded form', async () => {
    const token = auth.createAccessToken('alice')
    const ok = await post('/json', { json: { access_token: token } })
    expect(await ok.json()).toEqual({ sub: 'alice' })
    const form = await post('/json', { form: { access_token: token } })
    expect(form.status).toBe(401)
    expect(await form.json()).toMatchObject({ code: 'TOKEN_MISSING' })
  })

  it('reads the CSRF form field from a form only', async () => {
    const issued = auth.issueToken('access', 'alice')
    const cookie = `access_token_cookie=${issued.token}`
    const csrf = issued.claims.csrf!
    expect((await post('/cookie', { cookie, form: { csrf_token: csrf } })).status).toBe(200)
    expect((await post('/cookie', { cookie, csrf })).status).toBe(200)
    const json = await post('/cookie', { cookie, json: { csrf_token: csrf } })
    expect(json.status).toBe(403)
    expect(await json.json()).toMatchObject({ code: 'CSRF_FAILED' })
    expect((await post('/cookie', { cookie, form: { csrf_token: 'nope' } })).status).toBe(403)
  })

  it('sets and clears token cookies with the cookie helpers', async () => {
    const issued = auth.issueToken('access', 'alice')
    const set = await post('/set', { json: { token: issued.token, domain: 'api.example.com' } })
    expect(set.status).toBe(200)
    expect(set.headers.getSetCookie()).toEqual([
      `access_token_cookie=${issued.token}; Path=/; Domain=api.example.com; Max-Age=3600; HttpOnly`,
      `csrf_access_token=${issued.claims.csrf}; Path=/; Domain=api.example.com; Max-Age=3600`,
    ])
    const unset = await post('/unset', {})
    expect(unset.headers.getSetCookie()).toEqual(auth.unsetCookies().headers['set-cookie'])
    expect(unset.headers.getSetCookie()).toHaveLength(4)
    // A token that does not verify has no CSRF value to set: the adapter's error response.
    const bad = await post('/set', { json: { token: `${issued.token}x` } })
    expect(bad.status).toBe(401)
  })
})
