/** A plain fetch handler with latchkey (Bun.serve, Deno.serve, workers); `npx tsx examples/fetch.ts` on Node. */
import { fileURLToPath } from 'node:url'
import { serve } from '@hono/node-server' // Node only: a bridge from node:http to a fetch handler
import { applyAuthHeaders, errorHandler, verifyRequest } from '../src/adapters/fetch.js'
import { createAuth, MemoryRevocationStore, type TokenResponse } from '../src/index.js'

export type User = { id: string; email: string; active: boolean }

const users = new Map<string, User>([['alice', { id: 'alice', email: 'alice@example.com', active: true }]])
export const auth = createAuth<User>({
  keys: { secret: process.env.LATCHKEY_SECRET ?? 'example-only-secret-change-me-0123456789abcdef' },
  revocation: new MemoryRevocationStore(),
  identify: (user) => user.id,
  loadUser: (id) => users.get(id),
  isActive: (user) => user.active,
})
const tokensBody = (t: TokenResponse) =>
  Response.json({ access_token: t.accessToken, refresh_token: t.refreshToken })

// errorHandler renders AuthErrors thrown inside (auth.login, auth.refresh); verifyRequest never throws them.
export const handler = errorHandler(auth, async (request: Request): Promise<Response> => {
  const route = `${request.method} ${new URL(request.url).pathname}`
  if (route === 'POST /login') {
    const body = (await request.json()) as { username?: string; remember?: boolean }
    const user = users.get(body.username ?? '') // check the password here
    if (!user) return Response.json({ msg: 'Bad username or password' }, { status: 401 })
    const tokens = await auth.login(user, { remember: body.remember === true })
    return applyAuthHeaders(tokensBody(tokens), tokens)
  }
  const result = await verifyRequest(auth, request, { refresh: route === 'POST /refresh' })
  if (!result.ok) return result.response // 401/403 JSON with WWW-Authenticate
  if (route === 'GET /me') return applyAuthHeaders(Response.json({ email: result.auth.user.email }), result)
  if (route === 'POST /refresh') {
    const tokens = await auth.refresh(result.auth)
    return applyAuthHeaders(tokensBody(tokens), tokens)
  }
  if (route === 'POST /logout')
    return applyAuthHeaders(Response.json({ ok: true }), result, await auth.logout(result.auth))
  return Response.json({ msg: 'Not found' }, { status: 404 })
})

export function start(port = 3000, hostname = '127.0.0.1') {
  return new Promise<ReturnType<typeof serve>>((resolve) => {
    const server = serve({ fetch: handler, port, hostname }, () => resolve(server))
  })
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const server = await start(Number(process.env.PORT ?? 3000))
  console.log('listening on', server.address())
}
