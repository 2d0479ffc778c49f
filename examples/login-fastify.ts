/** The login API mounted in a Fastify app: `npx tsx examples/login-fastify.ts`, then POST /auth/signup. */
import Fastify from 'fastify'
import { latchkeyPlugin } from '../src/adapters/fastify.js'
import { createAuth, MemoryRevocationStore } from '../src/index.js'
import { loginPlugin } from '../src/login/fastify.js'
import { createLoginApi, type LoginUser, loginAuthOptions, MemoryLoginStore } from '../src/login/index.js'

const store = new MemoryLoginStore() // KyselyLoginStore (latchkey/login/kysely) for a real database
const revocation = new MemoryRevocationStore() // KyselyRevocationStore or RedisRevocationStore likewise
const keys = { secret: process.env.LATCHKEY_SECRET ?? 'example-only-secret-change-me-0123456789abcdef' }
export const auth = createAuth({ keys, revocation, ...loginAuthOptions(store) })
export const login = createLoginApi({ auth, store, publicUrl: 'http://127.0.0.1:3000' })
export const app = Fastify()
await app.register(loginPlugin, { api: login, prefix: '/auth' }) // its routes show in @fastify/swagger
// login API: end (the lines above are all it takes)

// The app's own routes, guarded by the same auth object.
await app.register(latchkeyPlugin, { auth })
app.get('/hello', { onRequest: app.requireAuth() }, async (request) => ({
  hello: (request.auth.user as LoginUser).email,
}))

if (process.argv[1] === import.meta.filename) {
  await app.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' })
  console.log('listening on', app.server.address())
}
