/** A minimal Express app with latchkey: `npx tsx examples/express.ts`, then POST /login {"username":"alice"}. */
import { createServer, type Server } from 'node:http'
import { fileURLToPath } from 'node:url'
import express from 'express'
import { applyAuthHeaders, latchkey } from '../src/adapters/express.js'
import { createAuth, MemoryRevocationStore } from '../src/index.js'

export type User = { id: string; email: string; active: boolean }
// In an app: declare module 'latchkey/express'. Types req.auth.user everywhere.
declare module '../src/adapters/express.js' {
  interface Register {
    user: User
  }
}

const users = new Map<string, User>([['alice', { id: 'alice', email: 'alice@example.com', active: true }]])
export const auth = createAuth<User>({
  keys: { secret: process.env.LATCHKEY_SECRET ?? 'example-only-secret-change-me-0123456789abcdef' },
  revocation: new MemoryRevocationStore(),
  identify: (user) => user.id,
  loadUser: (id) => users.get(id),
  isActive: (user) => user.active,
})

export function start(port = 3000, host = '127.0.0.1'): Promise<Server> {
  const app = express()
  const { requireAuth, requireRefresh, errorHandler } = latchkey(auth)
  app.use(express.json())
  app.post('/login', async (req, res) => {
    const user = users.get(req.body?.username) // check the password here
    if (!user) return void res.status(401).json({ msg: 'Bad username or password' })
    const tokens = await auth.login(user, { remember: req.body.remember === true })
    applyAuthHeaders(res, tokens).json({
      access_token: tokens.accessToken,
      refresh_token: tokens.refreshToken,
    })
  })
  app.get('/me', requireAuth(), (req, res) => void res.json({ email: req.auth.user.email }))
  app.post('/refresh', requireRefresh(), async (req, res) => {
    const tokens = await auth.refresh(req.auth)
    applyAuthHeaders(res, tokens).json({
      access_token: tokens.accessToken,
      refresh_token: tokens.refreshToken,
    })
  })
  app.post('/logout', requireAuth(), async (req, res) => {
    applyAuthHeaders(res, await auth.logout(req.auth)).json({ ok: true })
  })
  app.use(errorHandler())
  const server = createServer(app)
  return new Promise((resolve) => server.listen(port, host, () => resolve(server)))
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const server = await start(Number(process.env.PORT ?? 3000))
  console.log('listening on', server.address())
}
