/**
 * Express 5 benchmark server: `MODE=bare|noop|latchkey|peer|ceiling (ALG=HS256|ES256|EdDSA|RS256) node --import tsx bench/servers/express.ts`,
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
  PEER,
  SECRET,
  type User,
  userJson,
  users,
} from './common.js'

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
    const check = mode === 'noop' ? noopCheck : ceilingCheck
    app.get(
      '/me',
      (req: Request & { benchUser?: User }, res: Response, next: NextFunction) => {
        const user = check(req.headers.authorization)
        if (!user) return void res.status(401).json({ msg: 'Unauthorized' })
        req.benchUser = user
        next()
      },
      (req: Request & { benchUser?: User }, res: Response) => void res.json(userJson(req.benchUser)),
    )
  } else {
    throw new Error(`unknown MODE ${mode} (PEER ${peer})`)
  }
  return app
}

if (isMain(import.meta.url)) listen(await build())
