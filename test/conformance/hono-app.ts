/**
 * The conformance app on Hono: one Hono app per auth object. Node serves it through
 * @hono/node-server (hono.test.ts); Bun, Deno and workerd serve `app.fetch` natively
 * (test/runtimes/).
 */
import { type Context, Hono } from 'hono'
import {
  type AuthVariables,
  applyAuthHeaders,
  errorHandler,
  optionalAuth,
  requireAuth,
  requireFresh,
  requireRefresh,
} from '../../src/adapters/hono.js'
import type { Auth } from '../../src/index.js'
import { findUser, type User } from './suite.js'

type Env = { Variables: AuthVariables<User> }

export function honoApp(auth: Auth<User>): Hono<Env> {
  const app = new Hono<Env>()
  // Hono's own 500 for other errors, without its console.error in the test output.
  app.onError(errorHandler(auth, (_error, c) => c.text('Internal Server Error', 500)))
  const me = async (c: Context<Env>) => {
    const { user, sub, location, fresh } = c.get('auth')
    const body = c.req.method === 'POST' ? await c.req.json().catch(() => null) : null
    return c.json({ user, sub, location, fresh, echo: body?.echo ?? null })
  }

  app.post('/login', async (c) => {
    const input = await c.req.json<{ username?: string; remember?: boolean }>()
    const user = findUser(input.username)
    if (!user) return c.json({ msg: 'no such user' }, 404)
    const tokens = await auth.login(user, { remember: input.remember === true })
    return applyAuthHeaders(c, tokens).json({
      access_token: tokens.accessToken,
      refresh_token: tokens.refreshToken,
      csrf: tokens.csrf ?? null,
    })
  })
  app.get('/me', requireAuth(auth), me)
  app.post('/me', requireAuth(auth), me)
  app.options('/me', requireAuth(auth), (c) => c.body(null, 204))
  app.get('/maybe', optionalAuth(auth), (c) =>
    c.json({ authenticated: c.get('auth').isAuthenticated, user: c.get('auth').user }),
  )
  app.post('/settings', requireFresh(auth), (c) => c.json({ ok: true }))
  app.post('/refresh', requireRefresh(auth), async (c) => {
    const tokens = await auth.refresh(c.get('auth'))
    return applyAuthHeaders(c, tokens).json({
      access_token: tokens.accessToken,
      refresh_token: tokens.refreshToken,
      csrf: tokens.csrf ?? null,
    })
  })
  app.post('/logout', requireAuth(auth), async (c) => {
    return applyAuthHeaders(c, await auth.logout(c.get('auth'))).json({ ok: true })
  })
  app.get('/boom', () => {
    throw new Error('boom')
  })
  const swallow = new Hono<Env>()
  swallow.onError((_error, c) => c.json({ swallowed: true }, 500))
  swallow.get('/me', requireAuth(auth), me)
  app.route('/swallow', swallow)
  app.get('/framework/me', requireAuth(auth, { handleErrors: 'framework' }), me)
  return app
}
