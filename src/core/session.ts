/**
 * A login's life: login, refresh with reuse detection, logout, logout everywhere. Each returns the
 * headers its response must carry (`Cache-Control: no-store`, and cookies when cookies are a
 * location), so an app never writes cookie or cache headers by hand.
 */
import { randomUUID } from 'node:crypto'
import { ConfigError, TokenRevokedError, UserInactiveError, WrongTokenTypeError } from '../errors.js'
import { type Duration, durationMs } from '../internal/duration.js'
import type { RevocationStore } from '../stores/store.js'
import { clearingCookies, serializeCookie } from './cookies.js'
import type { CoreEvents } from './events.js'
import { type CreateTokenOptions, identityOf } from './issue.js'
import type { IssuerRegistry } from './issuers.js'
import { forgetAfter, longestLifetimeMs, storeCall, subOf } from './revocation.js'
import {
  carriedClaims,
  dpopBinding,
  issuePair,
  subjectOf,
  type TokenResponse,
  type TokenResponseDeps,
} from './token-response.js'
import type { AuthContext, TokenClaims } from './types.js'
import { issuedTokenRef } from './verify-issued.js'

/** Options of `auth.login`. */
export interface LoginOptions {
  /** Persistent cookies and the long refresh lifetime. Default false: browser-session cookies. */
  remember?: boolean
  /** Whether the access token is fresh. Default true (a login is a password check). */
  fresh?: CreateTokenOptions['fresh']
  /** Extra claims for both tokens. */
  claims?: Record<string, unknown>
  /** Log in even when `isActive(user)` is false. */
  force?: boolean
  /**
   * Bind both tokens to the client's DPoP key (RFC 9449): the `jkt` of a proof checked with
   * `auth.verifyDpopProof`. They are then accepted only with a DPoP proof signed by that key, and
   * refreshing keeps the binding.
   */
  dpopJkt?: string
  /**
   * The refresh token's lifetime for this login, over `refreshTokenTtl` / `sessionRefreshTokenTtl`
   * (Flask-Login's `login_user(duration=...)`).
   */
  duration?: Duration
}

/** What `auth.logout` and `auth.logoutEverywhere` return: the headers of the response. */
export interface LogoutResult {
  /** `cache-control: no-store`, and `set-cookie` clearing every token cookie when cookies are a location. */
  headers: Record<string, string | string[]>
}

/** What the session operations need: issuing, the store and the events. */
export interface SessionDeps extends TokenResponseDeps {
  /** Trusted identity providers: a logout of one of their tokens revokes it under its issuer. */
  readonly issuers?: IssuerRegistry | undefined
  readonly store: RevocationStore | undefined
  readonly events: CoreEvents
  readonly isActive: ((user: never) => boolean) | undefined
}

type Context = AuthContext<unknown, object>

/** Tokens for a user whose password (or other proof) the app has checked. */
export async function login(
  deps: SessionDeps,
  user: unknown,
  options: LoginOptions = {},
): Promise<TokenResponse> {
  if (deps.isActive && !options.force && !deps.isActive(user as never)) throw new UserInactiveError()
  const remember = options.remember === true
  const family = randomUUID()
  const result = issuePair(deps, {
    subject: user,
    family,
    remember,
    fresh: options.fresh ?? true,
    claims: options.claims,
    dpopJkt: options.dpopJkt,
    ...(options.duration === undefined
      ? {}
      : { refreshTtl: durationMs(options.duration, 'login duration') / 1000 }),
  })
  deps.events.emit('login', { user, sub: subOf(deps.config, result.access.claims), remember, family })
  return result
}

/**
 * Rotates a refresh token (the context of a `refresh: true` guard): new access and refresh tokens in
 * the same family. A refresh token used twice is reuse, taken for theft: its whole family is revoked.
 */
export async function refresh(deps: SessionDeps, context: Context): Promise<TokenResponse> {
  const claims = context.claims
  if (!context.isAuthenticated || !claims || claims.type !== 'refresh')
    throw new WrongTokenTypeError('refresh')
  const { config, store, events } = deps
  const sub = subOf(config, claims)
  // A refresh token made outside login (createRefreshToken) has no family: its own id names the
  // family its rotations start, so that reusing it revokes what those rotations issued too.
  const family = claims.fam ?? claims.jti
  if (store) await detectReuse(deps, store, claims, family)
  // The new refresh token keeps the old one's lifetime (remember or browser-session).
  const lifetimeMs =
    claims.exp === undefined ? false : claims.exp * 1000 - (claims.iat_ms ?? claims.iat * 1000)
  const subject = subjectOf(deps, context)
  const result = issuePair(deps, {
    subject,
    family,
    remember: lifetimeMs === false || lifetimeMs > config.sessionRefreshTtlMs,
    fresh: false,
    claims: carriedClaims(deps, claims, subject),
    refreshTtl: lifetimeMs === false ? false : Math.max(1, Math.round(lifetimeMs / 1000)),
    ...dpopBinding(claims),
  })
  events.emit('refresh', { sub, family: claims.fam })
  return result
}

async function detectReuse(
  deps: SessionDeps,
  store: RevocationStore,
  claims: TokenClaims<object>,
  family: string,
): Promise<void> {
  const { config, events } = deps
  const expiresAt = forgetAfter(config, claims.exp)
  const used = await storeCall(events, () => store.consumeRefreshToken(claims.jti, expiresAt))
  // Strict (grace 0): every use after the first is reuse, whatever the clocks say; the first use may
  // have been stamped by another host whose clock is ahead of ours. With a grace window, `>=` keeps a
  // reuse exactly at its end out of it.
  const grace = config.refreshReuseGraceMs
  if (used.firstUse || (grace !== 0 && config.clock() - used.usedAt < grace)) return
  const familyUntil = config.clock() + longestLifetimeMs(config)
  await storeCall(events, () => store.revokeFamily(family, familyUntil))
  // A token without a family claim is not covered by the family: revoke it by id as well.
  if (!claims.fam) await storeCall(events, () => store.revokeToken(claims.jti, expiresAt))
  events.emit('refreshReuseDetected', { sub: subOf(config, claims), family: claims.fam, jti: claims.jti })
  throw new TokenRevokedError('Refresh token reuse detected: every token of this login was revoked')
}

/**
 * Revokes the presented token and its refresh family, and drops the context's pending response
 * headers (implicit refresh), so nothing sets a cookie after the logout clears it.
 */
export async function logout(deps: SessionDeps, context: Context): Promise<LogoutResult> {
  if (context.responseHeaders !== undefined) context.responseHeaders = undefined
  const { config, store, events } = deps
  const claims = context.claims
  const trusted = context.issuer === null ? undefined : deps.issuers?.byIssuer.get(context.issuer)
  if (store && claims) {
    const expiresAt = forgetAfter(config, claims.exp)
    // A provider's token is revoked under its issuer (see issuedTokenRef), whether it has a jti or not.
    const id =
      trusted === undefined || context.token === null
        ? claims.jti
        : issuedTokenRef(deps.issuers!, trusted, claims as unknown as Record<string, unknown>, context.token)
            .jti
    await storeCall(events, () => store.revokeToken(id, expiresAt))
    if (claims.fam) {
      const family = claims.fam
      const familyUntil = config.clock() + longestLifetimeMs(config)
      await storeCall(events, () => store.revokeFamily(family, familyUntil))
    }
  }
  if (claims) events.emit('logout', { sub: context.sub ?? subOf(config, claims), claims, everywhere: false })
  return { headers: logoutHeaders(deps) }
}

/** Revokes every token of an identity issued before now (password change, "log out everywhere"). */
export async function logoutEverywhere(deps: SessionDeps, subject: unknown): Promise<LogoutResult> {
  const { config, store, events } = deps
  if (!store) throw new ConfigError('latchkey: logoutEverywhere needs a revocation store')
  const sub = identityOf(deps, subject)
  const now = config.clock()
  const longest = config.allowNonExpiring
    ? Number.MAX_SAFE_INTEGER
    : now + Math.max(longestLifetimeMs(config), Number(config.accessTtlMs || 0))
  await storeCall(events, () => store.revokeIdentity(sub, now, longest))
  events.emit('logout', { sub, claims: null, everywhere: true })
  return { headers: logoutHeaders(deps) }
}

/** Revokes one token by its claims. */
export async function revokeToken(
  deps: SessionDeps,
  claims: Pick<TokenClaims, 'jti' | 'exp'>,
): Promise<void> {
  const { store, events, config } = deps
  if (!store) throw new ConfigError('latchkey: revokeToken needs a revocation store')
  await storeCall(events, () => store.revokeToken(claims.jti, forgetAfter(config, claims.exp)))
}

/** `Set-Cookie` values that clear every token and CSRF cookie. */
export function clearCookies(deps: Pick<SessionDeps, 'config'>): string[] {
  return clearingCookies(deps.config).map(serializeCookie)
}

function logoutHeaders(deps: SessionDeps): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = { 'cache-control': 'no-store' }
  if (deps.config.cookiesUsed) headers['set-cookie'] = clearCookies(deps)
  return headers
}
