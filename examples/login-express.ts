/** The login API mounted in an Express app: `npx tsx examples/login-express.ts`, then POST /auth/signup. */
import express from 'express'
import { latchkey } from '../src/adapters/express.js'
import { createAuth, MemoryRevocationStore } from '../src/index.js'
import { loginRouter } from '../src/login/express.js'
import { createLoginApi, type LoginUser, loginAuthOptions, MemoryLoginStore } from '../src/login/index.js'

const store = new MemoryLoginStore() // KyselyLoginStore (latchkey/login/kysely) for a real database
const revocation = new MemoryRevocationStore() // KyselyRevocationStore or RedisRevocationStore likewise
const keys = { secret: process.env.LATCHKEY_SECRET ?? 'example-only-secret-change-me-0123456789abcdef' }
export const auth = createAuth({ keys, revocation, ...loginAuthOptions(store) })
export const login = createLoginApi({ auth, store, publicUrl: 'http://127.0.0.1:3000' })
export const app = express()
app.use('/auth', loginRouter(login)) // before express.json(): the login API reads its own bodies
// login API: end (the lines above are all it takes)

// The app's own routes, guarded by the same auth object.
const { requireAuth } = latchkey(auth)
app.get('/hello', requireAuth(), (req, res) => void res.json({ hello: (req.auth.user as LoginUser).email }))

if (process.argv[1] === import.meta.filename) {
  const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1')
  server.once('listening', () => console.log('listening on', server.address()))
}
