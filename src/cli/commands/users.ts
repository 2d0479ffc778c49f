/**
 * `latchkey users create|list|disable|enable|verify|sessions|delete`: account administration against
 * the server's database.
 */

import {
  EmailTakenError,
  emailProblem,
  MAX_PASSWORD_LENGTH,
  MIN_PASSWORD_LENGTH,
  normalizeEmail,
  PasswordHasher,
  passwordLength,
} from '../../login/index.js'
import { type Backends, longestTokenMs, openBackends } from '../../server/services.js'
import { CliError, usage } from '../errors.js'
import type { CliIO } from '../io.js'
import { print, promptHidden, readAll } from '../io.js'
import { configFrom, parse, SETTINGS_NOTE } from '../shared.js'

/** `latchkey users --help`. */
export const USERS_HELP = `Usage:
  latchkey users create <email> [--name NAME]
      Creates an account. The password is read from standard input when it is piped
      (echo "$PASSWORD" | latchkey users create ada@example.com), or asked twice on a terminal.
  latchkey users list [--json]
      Lists accounts (email, name, active, created, id).
  latchkey users disable <email>
      Refuses the account's logins and tokens; its current tokens are revoked.
  latchkey users enable <email>
      Lets the account log in again.
  latchkey users verify <email>
      Marks the email address verified (as its verification link would).
  latchkey users sessions <email> [--json]
      Lists the account's logins (created, last used, user agent, coarse address).
  latchkey users delete <email>
      Deletes the account: its tokens are revoked, its sessions and mailed links forgotten.
${SETTINGS_NOTE}
`

const COMMANDS = ['create', 'list', 'disable', 'enable', 'verify', 'sessions', 'delete']

/** Revokes every token of a user issued before now, on every instance. */
async function revokeAll(backends: Backends, config: Parameters<typeof longestTokenMs>[0], id: string) {
  const now = Date.now()
  await backends.store.revokeIdentity(id, now, now + longestTokenMs(config))
}

async function readPassword(io: CliIO): Promise<string> {
  if (io.stdin.isTTY) {
    const first = await promptHidden(io, 'Password: ')
    const second = await promptHidden(io, 'Again: ')
    if (first !== second) throw new CliError('the passwords differ')
    return first
  }
  // Piped: the whole input, less one final line break (echo adds one; other white space is kept).
  return (await readAll(io.stdin)).replace(/\r?\n$/, '')
}

/** `latchkey users create|list|disable|enable`: resolves with the exit code. */
export async function users(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parse(
    args,
    { name: { type: 'string' }, json: { type: 'boolean' } },
    { settings: true },
  )
  const [sub, arg, extra] = positionals
  if (values.help || sub === undefined) {
    io.stdout.write(USERS_HELP)
    return values.help ? 0 : 2
  }
  if (!COMMANDS.includes(sub)) throw usage(`unknown users command "${sub}"`)
  if (extra !== undefined || (sub === 'list' && arg !== undefined))
    throw usage(`unexpected argument "${extra ?? arg}"`)
  if (sub !== 'list' && arg === undefined) throw usage(`users ${sub} needs an email`)

  const config = configFrom(io, values)
  const email = arg === undefined ? '' : normalizeEmail(arg)
  if (sub === 'create') {
    const problem = emailProblem(email, { strict: true })
    if (problem) throw new CliError(problem)
  }
  let password = ''
  if (sub === 'create') {
    password = await readPassword(io)
    const length = passwordLength(password)
    if (length < MIN_PASSWORD_LENGTH || length > MAX_PASSWORD_LENGTH)
      throw new CliError(`the password must be ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters`)
    if (/\p{Cs}/u.test(password)) throw new CliError('the password must be valid Unicode text')
  }

  const backends = await openBackends(config, { cwd: io.cwd, migrate: true })
  try {
    const repo = backends.users
    if (sub === 'create') {
      const passwordHash = await new PasswordHasher(config.argon2).hash(password)
      const name = typeof values.name === 'string' ? values.name.trim() || null : null
      try {
        const user = await repo.create({ email, name, passwordHash })
        print(io, `Created ${user.email} (${user.id})`)
      } catch (error) {
        if (error instanceof EmailTakenError) throw new CliError(`${email} is already registered`)
        throw error
      }
      return 0
    }
    if (sub === 'list') {
      const list = await repo.list()
      if (values.json) {
        print(
          io,
          JSON.stringify(
            list.map((u) => ({
              id: u.id,
              email: u.email,
              name: u.name,
              active: u.active,
              email_verified: u.emailVerifiedAt !== null,
              created_at: new Date(u.createdAt).toISOString(),
            })),
            null,
            2,
          ),
        )
        return 0
      }
      if (list.length === 0) {
        print(io, 'No users.')
        return 0
      }
      table(io, [
        ['EMAIL', 'NAME', 'ACTIVE', 'VERIFIED', 'CREATED', 'ID'],
        ...list.map((u) => [
          u.email,
          u.name ?? '',
          u.active ? 'yes' : 'no',
          u.emailVerifiedAt === null ? 'no' : 'yes',
          new Date(u.createdAt).toISOString(),
          u.id,
        ]),
      ])
      return 0
    }
    const user = await repo.findByEmail(email)
    if (!user) throw new CliError(`no user with email ${email}`)
    if (sub === 'verify') {
      await repo.markEmailVerified(user.id, user.email, Date.now())
      print(io, `Verified ${user.email}`)
      return 0
    }
    if (sub === 'sessions') {
      const now = Date.now()
      const sessions = []
      for (const session of await repo.listSessions(user.id, now)) {
        const ref = {
          jti: '',
          sub: user.id,
          family: session.id,
          issuedAt: session.issuedAt,
          expiresAt: session.expiresAt,
        }
        if (!(await backends.store.isRevoked(ref))) sessions.push(session)
      }
      const iso = (ms: number) => new Date(ms).toISOString()
      if (values.json) {
        const view = sessions.map((s) => ({
          id: s.id,
          created_at: iso(s.createdAt),
          last_used_at: iso(s.lastUsedAt),
          user_agent: s.userAgent,
          address: s.address,
        }))
        print(io, JSON.stringify(view, null, 2))
      } else if (sessions.length === 0) print(io, 'No sessions.')
      else
        table(io, [
          ['ID', 'CREATED', 'LAST USED', 'ADDRESS', 'USER AGENT'],
          ...sessions.map((s) => [
            s.id,
            iso(s.createdAt),
            iso(s.lastUsedAt),
            s.address ?? '',
            s.userAgent ?? '',
          ]),
        ])
      return 0
    }
    if (sub === 'delete') {
      // Revocation first: if the store is down, nothing is deleted and the command can be run again.
      await revokeAll(backends, config, user.id)
      await repo.deleteSessions(user.id)
      await repo.deleteTokens(user.id)
      await repo.delete(user.id)
      print(io, `Deleted ${user.email}`)
      return 0
    }
    const active = sub === 'enable'
    await repo.setActive(user.id, active)
    // Disabled users are refused anyway (isActive); revoking too means enabling the account later
    // does not bring its old sessions back.
    if (!active) await revokeAll(backends, config, user.id)
    print(io, `${active ? 'Enabled' : 'Disabled'} ${user.email}`)
    return 0
  } finally {
    await backends.close()
  }
}

/** Prints rows as aligned columns. */
function table(io: CliIO, rows: string[][]): void {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
  for (const row of rows)
    print(
      io,
      row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
}
