/**
 * What the login API stores, behind two interfaces: the users ({@link UserStore}: an app with a users
 * table of its own implements this one), and the records of the account lifecycle
 * ({@link LoginStore}: sessions and one-time tokens). `latchkey/login/kysely` implements both over
 * SQLite or PostgreSQL; {@link MemoryLoginStore} both in memory. Every store passes the contract
 * suites of `latchkey/login/testing`.
 *
 * Emails reach a store normalised (`normalizeEmail`): stores compare them byte for byte. Times are
 * epoch milliseconds.
 */

/** An account as the login API sees it. An app's user type may carry more. */
export interface LoginUser {
  id: string
  /** Normalised (trimmed, lower-cased, NFC); unique. */
  email: string
  name: string | null
  /** A PHC string (`$argon2id$...`): never shown, never logged. */
  passwordHash: string
  /** A disabled account logs in nowhere, and its tokens are refused. */
  active: boolean
  /** When the email address was verified (epoch ms), or null. */
  emailVerifiedAt: number | null
}

/** What sign-up stores. */
export interface NewUser {
  email: string
  name?: string | null
  passwordHash: string
}

/** The email is already registered. {@link UserStore.create} throws it for a duplicate. */
export class EmailTakenError extends Error {
  readonly code = 'EMAIL_TAKEN' as const
  constructor() {
    super('An account with this email already exists')
    this.name = 'EmailTakenError'
  }
}

/**
 * The users of the login API. Implement it over your own users table to mount the login API on it;
 * run `testUserStore` from `latchkey/login/testing` against your implementation.
 *
 * Every method may reject when the backend is down: the API answers 503.
 */
export interface UserStore<User extends LoginUser = LoginUser> {
  findById(id: string): Promise<User | undefined>
  /** `email` is normalised; compare it byte for byte. */
  findByEmail(email: string): Promise<User | undefined>
  /**
   * Inserts an active, unverified user with a new unique id. A duplicate email must throw
   * {@link EmailTakenError}, decided by a unique index (not a lookup first), so that of concurrent
   * sign-ups with one email exactly one succeeds.
   */
  create(input: NewUser): Promise<User>
  /**
   * Replaces the password hash. With `expected`, only if the stored hash is still that one (a rehash
   * at login never overwrites a password changed meanwhile). Resolves with whether a row changed.
   */
  setPasswordHash(id: string, passwordHash: string, options?: { expected?: string }): Promise<boolean>
  /** Enables or disables the account; resolves with whether it exists. */
  setActive(id: string, active: boolean): Promise<boolean>
  /**
   * Marks the address verified at `at` when the user still has this `email` (a link mailed to an
   * old address verifies nothing). Resolves with whether the user has that email (verified now, or
   * already before: the first time is kept).
   */
  markEmailVerified(id: string, email: string, at: number): Promise<boolean>
  /** Deletes the user; resolves with whether it existed. */
  delete(id: string): Promise<boolean>
}

/** One login (a refresh family) as the sessions list shows it. */
export interface SessionRecord {
  /** The refresh family: the `fam` claim of the login's tokens. */
  id: string
  userId: string
  createdAt: number
  /** The last login, refresh or call of the login API with this login's tokens. */
  lastUsedAt: number
  /** Issue time of the login's newest refresh token (what logout-everywhere cut-offs compare). */
  issuedAt: number
  /** When the newest refresh token expires: after it, the login is over. */
  expiresAt: number
  /** The User-Agent header, cut to 256 characters. */
  userAgent: string | null
  /** A coarse client address (an IPv4 /24, an IPv6 /48), never the exact one. */
  address: string | null
}

/** What {@link LoginStore.touchSession} updates. */
export interface SessionUse {
  lastUsedAt: number
  /** A refresh: the new refresh token's issue time and expiry. */
  issuedAt?: number
  expiresAt?: number
}

/** Why a one-time token was mailed. */
export type TokenPurpose = 'reset' | 'verify'

/** A one-time token: password reset or email verification. Only its hash is stored. */
export interface OneTimeToken {
  /** SHA-256 of the token (hex): a stolen table holds no usable link. */
  hash: string
  purpose: TokenPurpose
  userId: string
  /** The address it was mailed to: it verifies that one only. */
  email: string
  createdAt: number
  expiresAt: number
}

/**
 * The records of the account lifecycle: sessions (one per login) and one-time tokens. Revocation is
 * not here: the revocation store decides which tokens are refused; a session record only describes
 * a login for the sessions list.
 *
 * Every method may reject when the backend is down: the API answers 503.
 */
export interface LoginStore {
  /** Stores a new token and deletes every earlier one of the same user and purpose (a newer request wins). */
  saveToken(token: OneTimeToken): Promise<void>
  /**
   * Deletes the token with this hash and purpose and resolves with it, when it has not expired at
   * `now`: single use, atomically (of concurrent calls with one hash, one gets it). An expired one is
   * deleted too and resolves undefined.
   */
  takeToken(hash: string, purpose: TokenPurpose, now: number): Promise<OneTimeToken | undefined>
  /** Deletes the user's tokens (of one purpose, or all). */
  deleteTokens(userId: string, purpose?: TokenPurpose): Promise<void>

  /** Inserts a session, or replaces the one with its id. */
  saveSession(session: SessionRecord): Promise<void>
  /** Updates a session's use; resolves with whether it exists. */
  touchSession(id: string, use: SessionUse): Promise<boolean>
  findSession(id: string): Promise<SessionRecord | undefined>
  /** The user's sessions that have not expired at `now`, most recently used first. */
  listSessions(userId: string, now: number): Promise<SessionRecord[]>
  /** Deletes one session; resolves with whether it existed. */
  deleteSession(id: string): Promise<boolean>
  /** Deletes the user's sessions, all or all but `except`. */
  deleteSessions(userId: string, options?: { except?: string }): Promise<void>
  /** Deletes expired sessions and tokens; resolves with how many. Optional (stores may sweep by themselves). */
  purgeExpired?(now: number): Promise<number>
}
