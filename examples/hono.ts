/** A minimal Hono app with latchkey: `npx tsx examples/hono.ts` (Bun/Deno/workers: export `app`). */
import { fileURLToPath } from 'node:url'
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import {
  type AuthVariables,
  applyAuthHeaders,
  errorHandler,
  requireAuth,
  requireRefresh,
} from '../src/adapters/hono.js'
import { createAuth, MemoryRevocationStore } from '../src/index.js'

export type User = { id: string; email: string; active: boolean }

const users = new Map<string, User>([['alice', { id: 'alice', email: 'alice@example.com', active: true }]])
export const auth = createAuth<User>({
  keys: { secret: process.env.LATCHKEY_SECRET ?? 'example-only-secret-change-me-0123456789abcdef' },
  revocation: new MemoryRevocationStore(),
  identify: (user) => user.id,
  loadUser: (id) => users.get(id),
  isActive: (user) => user.active,
})

// AuthVariables<User> types c.get('auth').user.
export const app = new Hono<{ Variables: AuthVariables<User> }>()
app.onError(errorHandler(auth)) // renders AuthErrors thrown in handlers (auth.login, auth.refresh)
app.post('/login', async (c) => {
  const body = await c.req.json<{ username?: string; remember?: boolean }>()
  const user = users.get(body.username ?? '') // check the password here
  if (!user) return c.json({ msg: 'Bad username or password' }, 401)
  const tokens = await auth.login(user, { remember: body.remember === true })
  return applyAuthHeaders(c, tokens).json({
    access_token: tokens.accessToken,
    refresh_token: tokens.refreshToken,
  })
})
app.get('/me', requireAuth(auth), (c) => c.json({ email: c.get('auth').user.email }))
app.post('/refresh', requireRefresh(auth), async (c) => {
  const tokens = await auth.refresh(c.get('auth'))
  return applyAuthHeaders(c, tokens).json({
    access_token: tokens.accessToken,
    refresh_token: tokens.refreshToken,
  })
})
app.post('/logout', requireAuth(auth), async (c) =>
  applyAuthHeaders(c, await auth.logout(c.get('auth'))).json({ ok: true }),
)

export function start(port = 3000, hostname = '127.0.0.1') {
  return new Promise<ReturnType<typeof serve>>((resolve) => {
    const server = serve({ fetch: app.fetch, port, hostname }, () => resolve(server))
  })
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const server = await start(Number(process.env.PORT ?? 3000))
  console.log('listening on', server.address())
}
