/**
 * The conformance app on Express, built with whichever Express module it is given: Express 5 (the
 * dev dependency) and Express 4 (installed as `express4`) run the same app and the same suite.
 */
import { createServer } from 'node:http'
import type { Express, NextFunction, Request, RequestHandler, Response, Router } from 'express'
import { applyAuthHeaders, latchkey } from '../../src/adapters/express.js'
import type { Auth } from '../../src/index.js'
import { findUser, listen, type RunningApp, type User } from './suite.js'

declare module '../../src/adapters/express.js' {
  interface Register {
    user: User
  }
}

/** What the app needs of an Express module (the default export of `express` or `express4`). */
export interface ExpressModule {
  (): Express
  json(): RequestHandler
  Router(): Router
}

/**
 * Express 4 does not catch a rejected promise of an async handler (Express 5 does): apps there pass
 * the rejection to `next` themselves, as this does. On Express 5 it changes nothing.
 */
const handle =
  (fn: (req: Request, res: Response) => Promise<unknown>): RequestHandler =>
  (req, res, next) => {
    fn(req, res).catch(next)
  }

export async function startExpress(express: ExpressModule, auth: Auth<User>): Promise<RunningApp> {
  const app = express()
  app.set('env', 'test') // the final handler stays quiet about /boom
  app.use(express.json())
  const { requireAuth, optionalAuth, requireFresh, requireRefresh, errorHandler } = latchkey(auth)
  const framework = latchkey(auth, { handleErrors: 'framework' })
  const me = (req: Request, res: Response) => {
    const { user, sub, location, fresh } = req.auth
    res.json({ user, sub, location, fresh, echo: req.body?.echo ?? null })
  }

  app.post(
    '/login',
    handle(async (req, res) => {
      const user = findUser(req.body?.username)
      if (!user) return void res.status(404).json({ msg: 'no such user' })
      const tokens = await auth.login(user, { remember: req.body.remember === true })
      applyAuthHeaders(res, tokens).json({
        access_token: tokens.accessToken,
        refresh_token: tokens.refreshToken,
        csrf: tokens.csrf ?? null,
      })
    }),
  )
  app.get('/me', requireAuth(), me)
  app.post('/me', requireAuth(), me)
  app.options('/me', requireAuth(), (_req, res) => void res.sendStatus(204))
  app.get('/maybe', optionalAuth(), (req, res) => {
    res.json({ authenticated: req.auth.isAuthenticated, user: req.auth.user })
  })
  app.post('/settings', requireFresh(), (_req, res) => void res.json({ ok: true }))
  app.post(
    '/refresh',
    requireRefresh(),
    handle(async (req, res) => {
      const tokens = await auth.refresh(req.auth)
      applyAuthHeaders(res, tokens).json({
        access_token: tokens.accessToken,
        refresh_token: tokens.refreshToken,
        csrf: tokens.csrf ?? null,
      })
    }),
  )
  app.post(
    '/logout',
    requireAuth(),
    handle(async (req, res) => {
      applyAuthHeaders(res, await auth.logout(req.auth)).json({ ok: true })
    }),
  )
  app.get('/boom', () => {
    throw new Error('boom')
  })
  const swallow = express.Router()
  swallow.get('/me', requireAuth(), me)
  swallow.use((_err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    res.status(500).json({ swallowed: true })
  })
  app.use('/swallow', swallow)
  app.get('/framework/me', framework.requireAuth(), me)
  app.use(errorHandler())
  return listen(createServer(app))
}
