/**
 * Express 5 benchmark server: `MODE=bare|noop|latchkey|peer|ceiling|paired (ALG=HS256|ES256|EdDSA|RS256) node --import tsx bench/servers/express.ts`,
 * with PEER=express-jwt (default) or PEER=passport-jwt for MODE=peer.
 */
import express, { type NextFunction, type Request, type Response } from 'express'
import { expressjwt } from 'express-jwt'
import passport from 'passport'
import { ExtractJwt, Strategy as JwtStrategy } from 'passport-jwt'
import { latchkey } from '../../src/adapters/express.js'
import {
  BARE_USER,
  ceilingCheck,
  isMain,
  type Listener,
  listen,
  MODE,
  type Mode,
  makeAuth,
  noopCheck,
  type PairedKind,
  PEER,
  SECRET,
  takeHookStats,
  timedCallbackHook,
  type User,
  userJson,
  users,
} from './common.js'

type Hook = (req: Request, res: Response, next: NextFunction) => void

/** The hand-written hooks (ceiling, no-op) as middleware: the user on `benchUser`. */
function checkHook(check: (authorization: string | undefined) => User | undefined): Hook {
  return (req, res, next) => {
    const user = check(req.headers.authorization)
    if (!user) return void res.status(401).json({ msg: 'Unauthorized' })
    ;(req as Request & { benchUser?: User }).benchUser = user
    next()
  }
}

const benchUserJson = (req: Request, res: Response) =>
  void res.json(userJson((req as Request & { benchUser?: User }).benchUser))

/** The app for one configuration, as a Node request listener. */
export async function build(mode: Mode = MODE, peer: string = PEER): Promise<Listener> {
  const app = express()
  app.disable('x-powered-by')
  app.disable('etag')
  if (mode === 'bare') {
    app.get('/me', (_req, res) => void res.json(userJson(BARE_USER)))
  } else if (mode === 'latchkey') {
    const { requireAuth } = latchkey(makeAuth())
    app.get('/me', requireAuth(), (req, res) => void res.json(userJson(req.auth.user as User)))
  } else if (mode === 'peer' && (peer === '' || peer === 'express-jwt')) {
    app.get('/me', expressjwt({ secret: SECRET, algorithms: ['HS256'] }), (req: Request, res: Response) => {
      // express-jwt puts the payload on req.auth (which latchkey's types declare as its own context)
      const user = users.get((req.auth as unknown as { sub?: string } | undefined)?.sub ?? '')
      if (!user) return void res.status(401).json({ msg: 'Unauthorized' })
      res.json(userJson(user))
    })
    app.use((err: Error & { status?: number }, _req: Request, res: Response, _next: NextFunction) => {
      res.status(err.status ?? 500).json({ msg: err.message })
    })
  } else if (mode === 'peer' && peer === 'passport-jwt') {
    passport.use(
      new JwtStrategy(
        {
          jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
          secretOrKey: SECRET,
          algorithms: ['HS256'],
        },
        (payload: { sub: string }, done: (err: unknown, user?: User | false) => void) =>
          done(null, users.get(payload.sub) ?? false),
      ),
    )
    app.use(passport.initialize())
    app.get(
      '/me',
      passport.authenticate('jwt', { session: false }),
      (req, res) => void res.json(userJson(req.user as User)),
    )
  } else if (mode === 'ceiling' || mode === 'noop') {
    app.get('/me', checkHook(mode === 'noop' ? noopCheck : ceilingCheck), benchUserJson)
  } else if (mode === 'paired') {
    const timed = (kind: PairedKind, hook: Hook): Hook =>
      timedCallbackHook<Request, Response, unknown>(kind, hook)
    const { requireAuth } = latchkey(makeAuth())
    app.get(
      '/bare',
      timed('bare', (_req, _res, next) => next()),
      (_req, res) => void res.json(userJson(BARE_USER)),
    )
    app.get('/noop', timed('noop', checkHook(noopCheck)), benchUserJson)
    app.get('/ceiling', timed('ceiling', checkHook(ceilingCheck)), benchUserJson)
    app.get(
      '/latchkey',
      timed('latchkey', requireAuth() as Hook),
      (req, res) => void res.json(userJson(req.auth.user as User)),
    )
    app.get('/stats', (_req, res) => void res.json(takeHookStats()))
  } else {
    throw new Error(`unknown MODE ${mode} (PEER ${peer})`)
  }
  return app
}

if (isMain(import.meta.url)) listen(await build())
