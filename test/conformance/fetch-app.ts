/**
 * The conformance app as one plain fetch handler per auth object: what Bun.serve, Deno.serve or a
 * worker runs (test/runtimes/), and Node through a fetch-to-Node bridge (fetch.test.ts).
 */
import { applyAuthHeaders, errorHandler, verifyRequest } from '../../src/adapters/fetch.js'
import type { Auth, GuardOptions, TokenResponse } from '../../src/index.js'
import { findUser, type User } from './suite.js'

/** The conformance app as one plain fetch handler. */
export function fetchApp(auth: Auth<User>): (request: Request) => Promise<Response> {
  const tokensBody = (tokens: TokenResponse) =>
    Response.json({
      access_token: tokens.accessToken,
      refresh_token: tokens.refreshToken,
      csrf: tokens.csrf ?? null,
    })

  async function me(request: Request, options?: GuardOptions): Promise<Response> {
    const result = await verifyRequest(auth, request, options)
    if (!result.ok) return result.response
    const { user, sub, location, fresh } = result.auth
    const body = request.method === 'POST' ? await request.json().catch(() => null) : null
    return applyAuthHeaders(Response.json({ user, sub, location, fresh, echo: body?.echo ?? null }), result)
  }

  // AuthErrors thrown by auth.login or auth.refresh become {msg, code} responses.
  return errorHandler(auth, async (request) => {
    const route = `${request.method} ${new URL(request.url).pathname}`
    switch (route) {
      case 'POST /login': {
        const input = (await request.json()) as { username?: string; remember?: boolean }
        const user = findUser(input.username)
        if (!user) return Response.json({ msg: 'no such user' }, { status: 404 })
        const tokens = await auth.login(user, { remember: input.remember === true })
        return applyAuthHeaders(tokensBody(tokens), tokens)
      }
      case 'GET /me':
      case 'POST /me':
      case 'GET /framework/me':
        return me(request)
      case 'OPTIONS /me': {
        const result = await verifyRequest(auth, request)
        return result.ok ? applyAuthHeaders(new Response(null, { status: 204 }), result) : result.response
      }
      case 'GET /maybe': {
        const result = await verifyRequest(auth, request, { optional: true })
        if (!result.ok) return result.response
        const { isAuthenticated, user } = result.auth
        return applyAuthHeaders(Response.json({ authenticated: isAuthenticated, user }), result)
      }
      case 'POST /settings': {
        const result = await verifyRequest(auth, request, { fresh: true })
        return result.ok ? applyAuthHeaders(Response.json({ ok: true }), result) : result.response
      }
      case 'POST /refresh': {
        const result = await verifyRequest(auth, request, { refresh: true })
        if (!result.ok) return result.response
        const tokens = await auth.refresh(result.auth)
        return applyAuthHeaders(tokensBody(tokens), result, tokens)
      }
      case 'POST /logout': {
        const result = await verifyRequest(auth, request)
        if (!result.ok) return result.response
        const out = await auth.logout(result.auth)
        return applyAuthHeaders(Response.json({ ok: true }), result, out)
      }
      case 'GET /boom':
        throw new Error('boom')
      case 'GET /swallow/me':
        try {
          return await me(request)
        } catch {
          return Response.json({ swallowed: true }, { status: 500 })
        }
    }
    return Response.json({ msg: 'not found' }, { status: 404 })
  })
}
