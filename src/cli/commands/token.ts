/**
 * `latchkey token create|inspect|verify`: tokens from the command line, with the server's keys.
 */
import { type AuthContext, isAuthError, type RevocationStore } from '../../index.js'
import { normalizeEmail } from '../../login/index.js'
import type { KyselyLoginStore } from '../../login/kysely/index.js'
import { durationProblem, parseDuration, type ServerConfig } from '../../server/config.js'
import { loadServerKeys } from '../../server/keys.js'
import { type Backends, createServerAuth, openBackends, type User } from '../../server/services.js'
import { CliError, usage } from '../errors.js'
import type { CliIO } from '../io.js'
import { print } from '../io.js'
import { configFrom, parse, SETTINGS_NOTE } from '../shared.js'

/** `latchkey token --help`. */
export const TOKEN_HELP = `Usage:
  latchkey token create <identity> [--fresh] [--ttl DURATION] [--refresh] [--force]
      Signs an access token (or a refresh token with --refresh) with the configured key and prints
      it. <identity> is a user id or an email, looked up in the database: an unknown or disabled
      user is refused, since the server would refuse the token. --force signs for an id without
      looking it up. --ttl takes 900, 2s, 15m, 1.5h, 30d or 1w.
  latchkey token inspect <token>
      Prints the header and claims WITHOUT verifying anything (no signature, expiry or revocation
      check): for debugging only.
  latchkey token verify <token>
      Verifies the token as the server would: signature, claims, revocation, and that its user
      exists and is active. Exit code 0 when valid, 1 when not.
${SETTINGS_NOTE}
`

function decodeSegment(segment: string | undefined): unknown {
  if (!segment) return undefined
  try {
    return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'))
  } catch {
    return undefined
  }
}

function when(seconds: unknown): string | undefined {
  return typeof seconds === 'number' && Number.isFinite(seconds)
    ? new Date(seconds * 1000).toISOString()
    : undefined
}

function describeTimes(claims: Record<string, unknown>): string[] {
  const lines: string[] = []
  for (const name of ['iat', 'nbf', 'exp'] as const) {
    const at = when(claims[name])
    if (at) lines.push(`${name}: ${at}`)
  }
  return lines
}

function inspect(token: string, io: CliIO): number {
  const parts = token.trim().split('.')
  const header = decodeSegment(parts[0])
  const claims = decodeSegment(parts[1])
  if (parts.length !== 3 || typeof header !== 'object' || typeof claims !== 'object' || !header || !claims)
    throw new CliError('not a compact JWT (three base64url JSON segments)')
  print(io, 'UNVERIFIED: decoded only. Signature, expiry, revocation and user were NOT checked.')
  print(io, `header: ${JSON.stringify(header, null, 2)}`)
  print(io, `claims: ${JSON.stringify(claims, null, 2)}`)
  for (const line of describeTimes(claims as Record<string, unknown>)) print(io, line)
  return 0
}

/** `latchkey token create|inspect|verify`: resolves with the exit code. */
export async function token(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      fresh: { type: 'boolean' },
      ttl: { type: 'string' },
      refresh: { type: 'boolean' },
      force: { type: 'boolean' },
    },
    { settings: true },
  )
  const [sub, arg, extra] = positionals
  if (values.help || sub === undefined) {
    io.stdout.write(TOKEN_HELP)
    return values.help ? 0 : 2
  }
  if (extra !== undefined) throw usage(`unexpected argument "${extra}"`)
  if (sub !== 'create' && sub !== 'inspect' && sub !== 'verify') throw usage(`unknown token command "${sub}"`)
  if (arg === undefined) throw usage(`token ${sub} needs ${sub === 'create' ? 'an identity' : 'a token'}`)
  if (sub === 'inspect') return inspect(arg, io)

  const config = configFrom(io, values)
  // The CLI reads a generated key but never creates one: it would not be the one a server uses.
  const keys = loadServerKeys(config, { create: false })
  if (sub === 'verify' && values.force) throw usage('--force applies to token create only')
  if (values.refresh && values.fresh) throw usage('--fresh applies to access tokens only')
  // `create` checks that the user exists (the server would refuse a token for anyone else) unless
  // --force; an email always needs the database, to find the id.
  const needsDatabase = sub === 'verify' || arg.includes('@') || !values.force
  let expiresIn: number | undefined
  if (sub === 'create' && typeof values.ttl === 'string') {
    const problem = durationProblem(values.ttl)
    if (problem !== undefined) throw usage(`--ttl ${problem} (got ${JSON.stringify(values.ttl)})`)
    expiresIn = parseDuration(values.ttl)!
    if (expiresIn < 1) throw usage('--ttl must be at least 1 second')
  }
  const backends = needsDatabase ? await openForCheck(config, io, sub === 'create') : undefined
  try {
    const auth = createServerAuth(config, keys.keys, {
      users: backends?.users ?? unavailableUsers(),
      store: backends?.store ?? noStore(),
    })
    if (sub === 'create') {
      const identity = backends ? (await signableUser(backends.users, arg, Boolean(values.force))).id : arg
      const issued = auth.issueToken(values.refresh ? 'refresh' : 'access', identity, {
        ...(values.fresh ? { fresh: true } : {}),
        ...(expiresIn === undefined ? {} : { expiresIn }),
      })
      print(io, issued.token)
      return 0
    }

    const claims = decodeSegment(arg.trim().split('.')[1]) as { type?: unknown } | undefined
    const view = {
      method: 'GET',
      header: (name: string) => (name === 'authorization' ? `Bearer ${arg.trim()}` : undefined),
      cookie: () => undefined,
      query: () => undefined,
    }
    let context: AuthContext<User>
    try {
      context = await auth.authenticate(view, { refresh: claims?.type === 'refresh', locations: ['headers'] })
    } catch (error) {
      if (isAuthError(error)) {
        print(io, `INVALID: ${error.code}: ${error.message}`)
        return 1
      }
      throw error
    }
    print(
      io,
      `VALID ${context.type} token of ${context.user.email} (${context.sub})${context.fresh ? ', fresh' : ''}`,
    )
    print(io, `header: ${JSON.stringify(context.header, null, 2)}`)
    print(io, `claims: ${JSON.stringify(context.claims, null, 2)}`)
    for (const line of describeTimes((context.claims ?? {}) as Record<string, unknown>)) print(io, line)
    return 0
  } finally {
    await backends?.close()
  }
}

/**
 * Opens the database for `token verify`, or for `token create`'s check of the user, whose failure
 * says how to sign without it.
 */
async function openForCheck(config: ServerConfig, io: CliIO, creating: boolean): Promise<Backends> {
  try {
    return await openBackends(config, { cwd: io.cwd })
  } catch (error) {
    if (!creating) throw error
    throw new CliError(
      `cannot look the user up (${(error as Error).message}); pass --force to sign for a user id without checking`,
    )
  }
}

/** The user `token create` signs for: found by email or id, and active, unless --force (ids only). */
async function signableUser(
  users: KyselyLoginStore,
  identity: string,
  force: boolean,
): Promise<Pick<User, 'id'>> {
  const byEmail = identity.includes('@')
  let user: User | undefined
  try {
    user = byEmail ? await users.findByEmail(normalizeEmail(identity)) : await users.findById(identity)
  } catch (error) {
    if (byEmail) throw error
    throw new CliError(
      `cannot look up user ${identity} (${(error as Error).message}); run latchkey migrate, or pass --force to sign without checking`,
    )
  }
  if (!user) {
    if (byEmail) throw new CliError(`no user with email ${normalizeEmail(identity)}`)
    if (force) return { id: identity }
    throw new CliError(
      `no user with id ${identity}: the server would refuse this token; pass --force to sign it anyway`,
    )
  }
  if (!user.active && !force)
    throw new CliError(
      `user ${user.email} is disabled: the server would refuse this token; pass --force to sign it anyway`,
    )
  return user
}

// `token create --force` with a user id signs without opening the database; these are never called then.
function unavailableUsers(): Pick<KyselyLoginStore, 'findById'> {
  return {
    findById: async () => {
      throw new Error('no database opened')
    },
  }
}

function noStore(): RevocationStore {
  const fail = async (): Promise<never> => {
    throw new Error('no revocation store opened')
  }
  return {
    isRevoked: fail,
    revokeToken: fail,
    revokeFamily: fail,
    revokeIdentity: fail,
    consumeRefreshToken: fail,
  }
}
