/** The login API mounted in a Hono app: `npx tsx examples/login-hono.ts` (Bun/Deno/workers: export `app`). */
import { getConnInfo } from '@hono/node-server/conninfo' // on Node; Bun and Deno have their own
import { Hono } from 'hono'
import { requireAuth } from '../src/adapters/hono.js'
import { createAuth, MemoryRevocationStore } from '../src/index.js'
import { createLoginApi, fetchHandler, loginAuthOptions, MemoryLoginStore } from '../src/login/index.js'

const store = new MemoryLoginStore() // KyselyLoginStore (latchkey/login/kysely) for a real database
const revocation = new MemoryRevocationStore() // KyselyRevocationStore or RedisRevocationStore likewise
const keys = { secret: process.env.LATCHKEY_SECRET ?? 'example-only-secret-change-me-0123456789abcdef' }
export const auth = createAuth({ keys, revocation, ...loginAuthOptions(store) })
export const login = createLoginApi({ auth, store, publicUrl: 'http://127.0.0.1:3000' })
const handler = fetchHandler(login, { basePath: '/auth' })
export const app = new Hono()
app.all('/auth/*', (c) => handler(c.req.raw, { clientAddress: getConnInfo(c).remote.address }))
// login API: end (the lines above are all it takes)

// The app's own routes, guarded by the same auth object.
app.get('/hello', requireAuth(auth), (c) => c.json({ hello: c.get('auth').user.email }))

if (process.argv[1] === import.meta.filename) {
  const { serve } = await import('@hono/node-server')
  serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 3000), hostname: '127.0.0.1' }, (info) =>
    console.log('listening on', info),
  )
}
