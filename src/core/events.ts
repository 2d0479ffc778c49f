import type { AuthError } from '../errors.js'
import type { TokenClaims, TokenHeader } from './types.js'

/** Payloads of the events an auth object emits (Flask-Login's signals, typed). */
export interface AuthEvents<User = string, Claims extends object = Record<string, unknown>> {
  /** A login produced tokens. */
  login: { user: User; sub: string; remember: boolean; family: string }
  /** A logout revoked a token (and its family); `everywhere` for logout everywhere. */
  logout: { sub: string; claims: TokenClaims<Claims> | null; everywhere: boolean }
  /** A refresh token was rotated. */
  refresh: { sub: string; family: string | undefined }
  /** A request's token was verified and its user loaded. */
  userLoaded: { user: User; sub: string; claims: TokenClaims<Claims> }
  /** A guard refused a request (`error.header` and `error.claims` hold the token, where it was decoded). */
  unauthorized: { error: AuthError }
  /** A fresh-only guard saw a non-fresh token. */
  needsFresh: { sub: string; claims: TokenClaims<Claims>; header: TokenHeader }
  /** A guard refused a revoked token. */
  tokenRevoked: { sub: string; claims: TokenClaims<Claims>; header: TokenHeader }
  /** A rotated refresh token came back: the whole family was revoked. */
  refreshReuseDetected: { sub: string; family: string | undefined; jti: string }
  /** The revocation store failed; requests are refused until it answers again. */
  revocationUnavailable: { error: unknown }
}

export type AuthEventName = keyof AuthEvents

type Listener<T> = (payload: T) => void

/** A tiny typed, synchronous emitter. A throwing listener never breaks the request that emitted. */
export class EventHub<E extends object> {
  private readonly listeners = new Map<keyof E, Set<Listener<never>>>()
  constructor(private readonly onListenerError: (err: unknown, event: string) => void) {}

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof E>(event: K, listener: Listener<E[K]>): () => void {
    let set = this.listeners.get(event)
    if (!set) {
      set = new Set()
      this.listeners.set(event, set)
    }
    set.add(listener as Listener<never>)
    return () => {
      set.delete(listener as Listener<never>)
    }
  }

  /** True when someone listens (so callers can skip building payloads). */
  has(event: keyof E): boolean {
    return (this.listeners.get(event)?.size ?? 0) > 0
  }

  emit<K extends keyof E>(event: K, payload: E[K]): void {
    const set = this.listeners.get(event)
    if (!set) return
    for (const listener of set) {
      try {
        ;(listener as Listener<E[K]>)(payload)
      } catch (err) {
        this.onListenerError(err, String(event))
      }
    }
  }
}

/** The emitter as the core's steps see it: payloads typed loosely, checked where createAuth wires it. */
export type CoreEvents = EventHub<AuthEvents<unknown, object>>
