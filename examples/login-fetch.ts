/** The login API as a plain fetch handler (Bun.serve, Deno.serve, workers); `npx tsx examples/login-fetch.ts` on Node. */
import { verifyRequest } from '../src/adapters/fetch.js'
import { createAuth, MemoryRevocationStore } from '../src/index.js'
import { createLoginApi, fetchHandler, loginAuthOptions, MemoryLoginStore } from '../src/login/index.js'

const store = new MemoryLoginStore() // KyselyLoginStore (latchkey/login/kysely) for a real database
const revocation = new MemoryRevocationStore() // KyselyRevocationStore or RedisRevocationStore likewise
const keys = { secret: process.env.LATCHKEY_SECRET ?? 'example-only-secret-change-me-0123456789abcdef' }
export const auth = createAuth({ keys, revocation, ...loginAuthOptions(store) })
export const login = createLoginApi({ auth, store, publicUrl: 'http://127.0.0.1:3000' })
const loginHandler = fetchHandler(login, { basePath: '/auth' })
/** Bun: `fetch: (request, server) => handler(request, server.requestIP(request)?.address)`. */
export async function handler(request: Request, clientAddress?: string): Promise<Response> {
  if (new URL(request.url).pathname.startsWith('/auth/')) return loginHandler(request, { clientAddress })
  // login API: end (the lines above are all it takes)
  // The app's own routes, guarded by the same auth object.
  const result = await verifyRequest(auth, request)
  if (!result.ok) return result.response
  return Response.json({ hello: result.auth.user.email })
}

if (process.argv[1] === import.meta.filename) {
  const { serve } = await import('@hono/node-server') // Node only: a bridge from node:http to fetch
  const port = Number(process.env.PORT ?? 3000)
  serve({ fetch: (request, env) => handler(request, env.incoming.socket.remoteAddress), port }, (info) =>
    console.log('listening on', info),
  )
}
