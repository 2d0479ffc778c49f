/** The sessions list: `GET /sessions` and `DELETE /sessions/:id`. */
import { LoginError, orUnavailable } from '../errors.js'
import type { SessionRecord } from '../store.js'
import { json, type LoginDeps, type RouteContext, touchSession, userOf } from './context.js'

function currentFamily(ctx: RouteContext): string | undefined {
  return (ctx.auth?.claims as { fam?: string } | null | undefined)?.fam
}

const iso = (ms: number) => new Date(ms).toISOString()

/**
 * `GET /sessions`: the user's logins that the revocation store still lets live. A record whose login
 * was ended elsewhere (reuse detection, logout everywhere from another tool) is left out, and deleted.
 */
export async function listSessions(deps: LoginDeps, ctx: RouteContext) {
  const user = userOf(ctx)
  const now = deps.clock()
  const records = await orUnavailable(ctx.log, () => deps.store.listSessions(user.id, now))
  const revoked = await Promise.all(
    records.map((r) =>
      deps.auth.isRevoked({
        jti: '',
        sub: user.id,
        family: r.id,
        issuedAt: r.issuedAt,
        expiresAt: r.expiresAt,
      }),
    ),
  )
  const live: SessionRecord[] = []
  records.forEach((record, i) => {
    if (!revoked[i]) live.push(record)
    else deps.background('session cleanup', async () => void (await deps.store.deleteSession(record.id)))
  })
  touchSession(deps, ctx)
  const current = currentFamily(ctx)
  return json(200, {
    sessions: live.map((s) => ({
      id: s.id,
      created_at: iso(s.createdAt),
      last_used_at: iso(s.lastUsedAt),
      user_agent: s.userAgent,
      address: s.address,
      current: s.id === current,
    })),
  })
}

/** `DELETE /sessions/:id`: that login's tokens are refused everywhere from now on. */
export async function endSession(deps: LoginDeps, ctx: RouteContext) {
  const user = userOf(ctx)
  const id = ctx.params.id ?? ''
  const record = await orUnavailable(ctx.log, () => deps.store.findSession(id))
  // Another user's session is as absent as a made-up one.
  if (!record || record.userId !== user.id) throw new LoginError(404, 'SESSION_NOT_FOUND', 'No such session')
  await deps.auth.revokeFamily(id)
  await orUnavailable(ctx.log, () => deps.store.deleteSession(id))
  ctx.log.info({ sub: user.id, family: id }, 'session ended')
  deps.emit('sessionEnded', { sub: user.id, id })
  if (id !== currentFamily(ctx)) return json(200, { msg: 'Session ended' })
  // The caller ended its own login: its cookies go too, and no re-issued one comes back.
  ctx.auth!.responseHeaders = undefined
  const headers: Record<string, string | string[]> = { 'cache-control': 'no-store' }
  if (deps.auth.config.cookiesUsed) headers['set-cookie'] = deps.auth.clearCookies()
  return json(200, { msg: 'Session ended' }, headers)
}
