/**
 * The latchkey twin of app.py (a Flask API with Flask-JWT-Extended and Flask-Login), moved without
 * its clients noticing: the same settings through `fromFlaskConfig`, the same routes, the same
 * answers. `npx tsx examples/flask-port/latchkey.ts`; test/flask/port.test.ts runs both side by side.
 *
 * What moved where:
 * - `app.config` JWT_* settings            → `fromFlaskConfig({...})`
 * - `UserMixin.id` (the email)             → `identify: (user) => user.email`
 * - `@login_manager.request_loader`        → `loadUser` (the token's `sub` is the email)
 * - `@login_required` + `unauthorized_handler` → `requireAuth()` + `errors.handler`
 * - `login_user(user, remember=...)`       → `auth.login(user, { remember })`
 * - `logout_user()`                        → `auth.logout(req.auth)`
 * - `current_user`                         → `req.auth.user`
 */

import { timingSafeEqual } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import { fileURLToPath } from 'node:url'
import express from 'express'
import { applyAuthHeaders, latchkey } from '../../src/adapters/express.js'
import { fromFlaskConfig } from '../../src/flask.js'
import { createAuth } from '../../src/index.js'

export type User = { email: string; name: string; password: string; active: boolean }
// In an app, register the user type once (`declare module 'latchkey/express'`, as examples/express.ts
// does); this repository's examples share one TypeScript program, so this one reads it through a cast.
const currentUser = (req: express.Request) => req.auth.user as unknown as User

const SECRET = process.env.EXAMPLE_SECRET ?? 'example-only-secret-change-me-0123456789abcdefghijklmnop'

// In an app: a database and password hashes (argon2id), never plain passwords.
const users = new Map<string, User>([
  ['ann@example.com', { email: 'ann@example.com', name: 'Ann', password: 'correct horse', active: true }],
  ['bob@example.com', { email: 'bob@example.com', name: 'Bob', password: 'battery staple', active: false }],
])

export const auth = createAuth<User>({
  ...fromFlaskConfig({
    JWT_SECRET_KEY: SECRET,
    JWT_TOKEN_LOCATION: ['json'],
    JWT_ACCESS_TOKEN_EXPIRES: 3600, // timedelta(hours=1)
  }),
  identify: (user) => user.email,
  loadUser: (email) => users.get(email) ?? null,
  errors: {
    preset: 'flask-jwt-extended',
    // Flask-Login's unauthorized_handler: no token, or no such user (its request_loader returned None).
    handler: (error, rendered) =>
      error.code === 'TOKEN_MISSING' || error.code === 'USER_NOT_FOUND'
        ? { ...rendered, status: 401, body: { msg: 'Login required' } }
        : undefined,
  },
})

function passwordMatches(user: User, password: unknown): boolean {
  if (typeof password !== 'string') return false
  const a = Buffer.from(user.password)
  const b = Buffer.from(password)
  return a.length === b.length && timingSafeEqual(a, b)
}

export function start(port = 3000, host = '127.0.0.1'): Promise<Server> {
  const app = express()
  const { requireAuth, errorHandler } = latchkey(auth)
  app.use(express.json())

  app.post('/login', async (req, res) => {
    const { email, password, remember } = (req.body ?? {}) as Record<string, unknown>
    const user = typeof email === 'string' ? users.get(email) : undefined
    if (!user || !passwordMatches(user, password))
      return void res.status(401).json({ msg: 'Bad email or password' })
    // login_user refuses an inactive user; so does auth.login (UserInactiveError) when isActive is set.
    // Flask-Login checks is_active at login only, so this twin does too.
    if (!user.active) return void res.status(403).json({ msg: 'Account disabled' })
    const tokens = await auth.login(user, { remember: remember === true })
    // expires_in: the configured lifetime, as the Flask app answers (tokens.expiresIn counts from now).
    const expiresIn = Number(auth.config.accessTtlMs) / 1000
    applyAuthHeaders(res, tokens).json({ access_token: tokens.accessToken, expires_in: expiresIn })
  })

  app.post('/me', requireAuth(), (req, res) => {
    const user = currentUser(req)
    res.json({ email: user.email, name: user.name })
  })

  app.post('/logout', requireAuth(), async (req, res) => {
    applyAuthHeaders(res, await auth.logout(req.auth as never)).json({ msg: 'Logged out' })
  })

  app.use(errorHandler())
  const server = createServer(app)
  return new Promise((resolve) => server.listen(port, host, () => resolve(server)))
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const server = await start(Number(process.env.PORT ?? 3000))
  console.log('listening on', server.address())
}
