/**
 * Express 5 server guarding `GET /me` with an identity provider's tokens (RS256, RFC 9068), for
 * bench/issuers.ts: `MODE=bare|latchkey-jwks|latchkey-keys|oauth2-jwt-bearer|passport-jwks`, with
 * ISSUER, JWKS_URI, AUDIENCE and (latchkey-keys) PUBLIC_KEY_PEM + KID. Every guard checks the same:
 * signature with the provider's key, iss, aud, exp; the handler answers the token's `sub`.
 */
import { createRequire } from 'node:module'
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express'
import { passportJwtSecret } from 'jwks-rsa'
import passport from 'passport'
import { ExtractJwt, Strategy as JwtStrategy } from 'passport-jwt'
import { latchkey } from '../../src/adapters/express.js'
import { createAuth } from '../../src/index.js'
import { oidcIssuer } from '../../src/issuers.js'
import { isMain, type Listener, listen } from './common.js'

// Loaded without its types: they declare Express's `req.auth` as its own, which latchkey's types
// declare too, and TypeScript would refuse the program.
const oauth2 = (
  createRequire(import.meta.url)('express-oauth2-jwt-bearer') as {
    auth(options: Record<string, unknown>): RequestHandler
  }
).auth

const env = (name: string): string => {
  const value = process.env[name]
  if (!value) throw new Error(`${name} is required`)
  return value
}

export async function build(mode = process.env.MODE ?? 'bare'): Promise<Listener> {
  const app = express()
  app.disable('x-powered-by')
  app.disable('etag')
  const issuer = env('ISSUER')
  const audience = env('AUDIENCE')
  const jwksUri = env('JWKS_URI')
  const answer = (sub: unknown, res: Response) => void res.json({ sub })
  if (mode === 'bare') {
    app.get('/me', (_req, res) => answer('bare', res))
  } else if (mode === 'latchkey-jwks' || mode === 'latchkey-keys') {
    const trusted =
      mode === 'latchkey-jwks'
        ? oidcIssuer({ issuer, audience, jwksUri, algorithms: ['RS256'] })
        : {
            issuer,
            audience,
            algorithms: ['RS256' as const],
            keys: [{ publicKey: env('PUBLIC_KEY_PEM'), algorithm: 'RS256' as const, kid: env('KID') }],
          }
    if ('keySource' in trusted) await trusted.keySource.ready()
    const { requireAuth } = latchkey(createAuth({ issuers: [trusted] }))
    app.get('/me', requireAuth(), (req, res) => answer(req.auth.sub, res))
  } else if (mode === 'oauth2-jwt-bearer') {
    app.get('/me', oauth2({ issuer, audience, jwksUri, tokenSigningAlg: 'RS256' }), (req, res) =>
      answer((req as unknown as { auth: { payload: { sub: string } } }).auth.payload.sub, res),
    )
  } else if (mode === 'passport-jwks') {
    passport.use(
      new JwtStrategy(
        {
          jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
          secretOrKeyProvider: passportJwtSecret({ jwksUri, cache: true, rateLimit: true }),
          issuer,
          audience,
          algorithms: ['RS256'],
        },
        (payload: { sub: string }, done: (err: unknown, user?: unknown) => void) => done(null, payload),
      ),
    )
    app.use(passport.initialize())
    app.get('/me', passport.authenticate('jwt', { session: false }), (req, res) =>
      answer((req.user as { sub: string }).sub, res),
    )
  } else {
    throw new Error(`unknown MODE ${mode}`)
  }
  app.use((err: Error & { status?: number }, _req: Request, res: Response, _next: NextFunction) => {
    res.status(err.status ?? 500).json({ msg: err.message })
  })
  return app
}

if (isMain(import.meta.url)) listen(await build())
