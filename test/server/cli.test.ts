/**
 * The `latchkey` CLI, run in process with captured streams: every command, its --help, and one-line
 * errors with non-zero exit codes.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { SETTINGS } from '../../src/server/config.js'
import { claimsOf, startServer, TEST_ARGON2, TEST_SECRET } from './harness.js'
import { type CliRun, runCliCaptured, tempDir } from './helpers.js'

const folder = tempDir('latchkey-cli-')
afterAll(() => folder.remove())

let dbCounter = 0

/** Runs one command line with its own database unless `env` says otherwise. */
function cli(
  args: string[],
  options: { env?: Record<string, string>; stdin?: string } = {},
): Promise<CliRun> {
  return runCliCaptured(args, { ...options, cwd: folder.dir })
}

function database(): Record<string, string> {
  dbCounter++
  return {
    DATABASE_URL: `file:${join(folder.dir, `cli-${dbCounter}.db`)}`,
    LATCHKEY_SECRET: TEST_SECRET,
    LATCHKEY_ARGON2: TEST_ARGON2,
  }
}

describe('latchkey CLI', () => {
  it('prints help, and exits 2 on a missing or unknown command', async () => {
    const help = await cli(['--help'])
    expect(help.code).toBe(0)
    for (const command of [
      'serve',
      'migrate',
      'keygen',
      'token create',
      'token inspect',
      'token verify',
      'users create',
    ])
      expect(help.out).toContain(command)
    expect((await cli([])).code).toBe(2)
    const unknown = await cli(['frobnicate'])
    expect(unknown.code).toBe(2)
    expect(unknown.err).toBe('latchkey: unknown command "frobnicate" (see latchkey --help)\n')
    const unknownOption = await cli(['--frobnicate'])
    expect(unknownOption.code).toBe(2)
    expect(unknownOption.err).toBe('latchkey: unknown option --frobnicate (see latchkey --help)\n')
  })

  it('prints its version with --version and -v', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string
    }
    for (const flag of ['--version', '-v']) {
      const run = await cli([flag])
      expect(run, flag).toEqual({ code: 0, out: `${version}\n`, err: '' })
    }
    expect((await cli(['--help'])).out).toContain('--version')
  })

  it('has --help on every command', async () => {
    for (const command of ['serve', 'migrate', 'keygen', 'token', 'users']) {
      const run = await cli([command, '--help'])
      expect(run.code, command).toBe(0)
      expect(run.out, command).toMatch(/^Usage:/)
    }
    const serve = await cli(['serve', '--help'])
    for (const name of [
      'HOST',
      'PORT',
      'DATABASE_URL',
      'REDIS_URL',
      'LATCHKEY_SECRET',
      'LATCHKEY_LOGIN_WINDOW',
      'LATCHKEY_ARGON2',
    ])
      expect(serve.out).toContain(name)
    // Every setting: its flag, then at least two spaces or a line break, then its variable.
    for (const spec of Object.values(SETTINGS))
      expect(serve.out, spec.flag).toMatch(new RegExp(`--${spec.flag} <value>( {2,}|\\n {34})${spec.env}\\b`))
    // No line of the settings runs a flag into its variable.
    for (const line of serve.out.split('\n')) expect(line).not.toMatch(/<value>\S/)
  })

  it('reports errors in one line with a non-zero exit code', async () => {
    const badFlag = await cli(['migrate', '--nope'])
    expect(badFlag.code).toBe(2)
    expect(badFlag.err).toBe('latchkey: unknown option --nope for "migrate" (see latchkey migrate --help)\n')
    // In our words, never parseArgs' own text ("To specify a positional argument ...").
    const cases: [string[], string][] = [
      [['serve', '--prot', '3000'], 'unknown option --prot for "serve" (see latchkey serve --help)'],
      [['token', 'create', 'x', '-x'], 'unknown option -x for "token" (see latchkey token --help)'],
      [
        ['serve', '--port'],
        'option --port of "serve" needs a value, as in --port=<value> (see latchkey serve --help)',
      ],
      [
        ['token', 'create', 'x', '--fresh=yes'],
        'option --fresh of "token" takes no value (see latchkey token --help)',
      ],
      [['keygen', '--help=1'], 'option --help of "keygen" takes no value (see latchkey keygen --help)'],
    ]
    for (const [args, message] of cases) {
      const run = await cli(args)
      expect(run.code, args.join(' ')).toBe(2)
      expect(run.err, args.join(' ')).toBe(`latchkey: ${message}\n`)
    }
    const badConfig = await cli(['serve'], { env: { LATCHKEY_ACCESS_TTL: 'soon' } })
    expect(badConfig.code).toBe(1)
    expect(badConfig.err).toBe(
      'latchkey: LATCHKEY_ACCESS_TTL (--access-ttl) must be a duration such as 900, 2s, 15m, 1.5h, 30d or 1w (got "soon")\n',
    )
    const badDatabase = await cli(['migrate', '--database-url', 'postgres://nobody@127.0.0.1:1/none'])
    expect(badDatabase.code).toBe(1)
    expect(badDatabase.err.trim().split('\n')).toHaveLength(1)
  })

  it('migrate creates the schema once', async () => {
    const env = database()
    const first = await cli(['migrate'], { env })
    expect(first.code).toBe(0)
    expect(first.out).toBe(
      'Applied: 0001_users, 0002_login_failures, 0003_revocations, 0004_account_lifecycle\n',
    )
    expect((await cli(['migrate'], { env })).out).toBe('Database is up to date.\n')
  })

  it('users create, list, disable and enable', async () => {
    const env = database()
    const created = await cli(['users', 'create', ' Ada@Example.com', '--name', 'Ada'], {
      env,
      stdin: 'a long enough password\n',
    })
    expect(created.code).toBe(0)
    expect(created.out).toMatch(/^Created ada@example.com \([0-9a-f-]{36}\)\n$/)
    const duplicate = await cli(['users', 'create', 'ada@example.com'], { env, stdin: 'another password\n' })
    expect(duplicate.code).toBe(1)
    expect(duplicate.err).toBe('latchkey: ada@example.com is already registered\n')
    const short = await cli(['users', 'create', 'bob@example.com'], { env, stdin: 'short\n' })
    expect(short.code).toBe(1)
    expect(short.err).toMatch(/8 to 1024 characters/)

    const list = await cli(['users', 'list'], { env })
    expect(list.out).toMatch(
      /^EMAIL\s+NAME\s+ACTIVE\s+VERIFIED\s+CREATED\s+ID\nada@example.com\s+Ada\s+yes\s+no\s/,
    )
    const json = JSON.parse((await cli(['users', 'list', '--json'], { env })).out) as {
      email: string
      active: boolean
    }[]
    expect(json).toEqual([expect.objectContaining({ email: 'ada@example.com', active: true })])

    expect((await cli(['users', 'disable', 'ADA@example.com'], { env })).out).toBe(
      'Disabled ada@example.com\n',
    )
    expect(JSON.parse((await cli(['users', 'list', '--json'], { env })).out)[0].active).toBe(false)
    expect((await cli(['users', 'enable', 'ada@example.com'], { env })).out).toBe('Enabled ada@example.com\n')
    const missing = await cli(['users', 'disable', 'nobody@example.com'], { env })
    expect(missing.code).toBe(1)
    expect(missing.err).toBe('latchkey: no user with email nobody@example.com\n')
    expect((await cli(['users', 'frob'], { env })).code).toBe(2)
    expect((await cli(['users', 'create'], { env })).code).toBe(2)
  })

  it('users verify, sessions and delete', async () => {
    const env = database()
    await cli(['users', 'create', 'eve@example.com'], { env, stdin: 'a long enough password' })
    expect((await cli(['users', 'verify', 'EVE@example.com'], { env })).out).toBe(
      'Verified eve@example.com\n',
    )
    const listed = JSON.parse((await cli(['users', 'list', '--json'], { env })).out) as {
      email_verified: boolean
    }[]
    expect(listed[0]!.email_verified).toBe(true)
    expect((await cli(['users', 'sessions', 'eve@example.com'], { env })).out).toBe('No sessions.\n')

    // A login through the server the CLI's database belongs to shows up, and deleting ends it.
    const server = await startServer({ databaseUrl: env.DATABASE_URL! }, { cwd: folder.dir })
    try {
      const login = await server.client.login('eve@example.com', 'a long enough password', {
        headers: { 'user-agent': 'CliTest/1.0' },
        from: '198.51.100.23',
      })
      expect(login.status).toBe(200)
      const sessions = JSON.parse(
        (await cli(['users', 'sessions', 'eve@example.com', '--json'], { env })).out,
      ) as {
        id: string
        user_agent: string
        address: string
      }[]
      expect(sessions).toEqual([
        expect.objectContaining({
          id: claimsOf(login.body.access_token).fam,
          user_agent: 'CliTest/1.0',
          address: '198.51.100.0/24',
        }),
      ])
      const table = (await cli(['users', 'sessions', 'eve@example.com'], { env })).out
      expect(table).toMatch(/^ID\s+CREATED\s+LAST USED\s+ADDRESS\s+USER AGENT\n/)
      expect(table).toContain('198.51.100.0/24  CliTest/1.0')

      expect((await cli(['users', 'delete', 'eve@example.com'], { env })).out).toBe(
        'Deleted eve@example.com\n',
      )
      // Its tokens are refused at once, and the address is free again.
      expect((await server.client.get('/auth/me', { token: login.body.access_token })).body.code).toBe(
        'TOKEN_REVOKED',
      )
      expect(JSON.parse((await cli(['users', 'list', '--json'], { env })).out)).toEqual([])
      expect((await cli(['users', 'delete', 'eve@example.com'], { env })).err).toBe(
        'latchkey: no user with email eve@example.com\n',
      )
      expect((await cli(['users', 'sessions'], { env })).code).toBe(2)
    } finally {
      await server.close()
    }
  })

  it('token create, inspect and verify', async () => {
    const env = database()
    await cli(['users', 'create', 'ada@example.com'], { env, stdin: 'a long enough password' })
    const created = await cli(['token', 'create', 'ada@example.com', '--fresh', '--ttl', '2m'], { env })
    expect(created.code).toBe(0)
    const token = created.out.trim()
    expect(token.split('.')).toHaveLength(3)

    const inspect = await cli(['token', 'inspect', token])
    expect(inspect.code).toBe(0)
    expect(inspect.out.split('\n')[0]).toMatch(/^UNVERIFIED: .*NOT checked/)
    expect(inspect.out).toContain('"type": "access"')
    expect(inspect.out).toContain('"fresh": true')
    expect(inspect.out).toMatch(/exp: \d{4}-\d\d-\d\dT/)

    const verify = await cli(['token', 'verify', token], { env })
    expect(verify.code).toBe(0)
    expect(verify.out).toMatch(/^VALID access token of ada@example.com \([0-9a-f-]{36}\), fresh\n/)
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as {
      exp: number
      iat: number
    }
    expect(claims.exp - claims.iat).toBe(120)

    // Another key: the signature fails.
    const other = await cli(['token', 'verify', token], {
      env: { ...env, LATCHKEY_SECRET: `${TEST_SECRET}-other` },
    })
    expect(other.code).toBe(1)
    expect(other.out).toBe('INVALID: TOKEN_INVALID: Invalid token: unknown key id or algorithm\n')

    await cli(['users', 'disable', 'ada@example.com'], { env })
    const revoked = await cli(['token', 'verify', token], { env })
    expect(revoked.code).toBe(1)
    expect(revoked.out).toMatch(/^INVALID: (TOKEN_REVOKED|USER_INACTIVE)/)

    expect((await cli(['token', 'inspect', 'garbage'])).err).toBe(
      'latchkey: not a compact JWT (three base64url JSON segments)\n',
    )
    expect((await cli(['token', 'create', 'nobody@example.com'], { env })).err).toBe(
      'latchkey: no user with email nobody@example.com\n',
    )
    expect((await cli(['token', 'create', 'x', '--ttl', 'soon'], { env })).code).toBe(2)
  })

  it('token create refuses an unknown or disabled user unless --force', async () => {
    const env = database()
    await cli(['users', 'create', 'ada@example.com'], { env, stdin: 'a long enough password' })
    const { id } = JSON.parse((await cli(['users', 'list', '--json'], { env })).out)[0] as { id: string }
    const subOf = (run: CliRun) =>
      (JSON.parse(Buffer.from(run.out.split('.')[1]!, 'base64url').toString()) as { sub: string }).sub

    const byId = await cli(['token', 'create', id], { env })
    expect(byId.code).toBe(0)
    expect(subOf(byId)).toBe(id)

    // A typo, or an email's id confused with another: the server would answer 401 to this token.
    const unknown = await cli(['token', 'create', 'some-user-id', '--refresh'], { env })
    expect(unknown).toEqual({
      code: 1,
      out: '',
      err: 'latchkey: no user with id some-user-id: the server would refuse this token; pass --force to sign it anyway\n',
    })
    const forced = await cli(['token', 'create', 'some-user-id', '--refresh', '--force'], { env })
    expect(forced.code).toBe(0)
    expect(JSON.parse(Buffer.from(forced.out.split('.')[1]!, 'base64url').toString())).toMatchObject({
      sub: 'some-user-id',
      type: 'refresh',
    })

    await cli(['users', 'disable', 'ada@example.com'], { env })
    for (const identity of [id, 'ada@example.com']) {
      const disabled = await cli(['token', 'create', identity], { env })
      expect(disabled.code, identity).toBe(1)
      expect(disabled.err, identity).toBe(
        'latchkey: user ada@example.com is disabled: the server would refuse this token; pass --force to sign it anyway\n',
      )
      expect(subOf(await cli(['token', 'create', identity, '--force'], { env }))).toBe(id)
    }

    // A database that cannot answer: say so, and how to sign without the check.
    const down = await cli(['token', 'create', id], {
      env: { ...env, DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' },
    })
    expect(down.code).toBe(1)
    expect(down.err).toMatch(
      /^latchkey: cannot look the user up \(.*\); pass --force to sign for a user id without checking\n$/,
    )
    const noCheck = await cli(['token', 'create', id, '--force'], {
      env: { ...env, DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' },
    })
    expect(noCheck.code).toBe(0)
    expect(subOf(noCheck)).toBe(id)
    expect((await cli(['token', 'verify', 'x.y.z', '--force'], { env })).code).toBe(2)
  })

  it('token create --ttl reads the one duration grammar, in whole seconds', async () => {
    const env = database()
    const lifetime = async (ttl: string) => {
      const run = await cli(['token', 'create', 'someone', '--force', '--ttl', ttl], { env })
      if (run.code !== 0) return run.err
      const claims = JSON.parse(Buffer.from(run.out.split('.')[1]!, 'base64url').toString()) as {
        exp: number
        iat: number
      }
      return claims.exp - claims.iat
    }
    expect(await lifetime('1.5h')).toBe(5_400)
    expect(await lifetime('1w')).toBe(604_800)
    expect(await lifetime('90')).toBe(90)
    expect(await lifetime('0.5m')).toBe(30)
    expect(await lifetime('1.5s')).toBe(
      'latchkey: --ttl must come to whole seconds, such as 2s, 90 or 1.5m (got "1.5s") (see --help)\n',
    )
    expect(await lifetime('0')).toBe('latchkey: --ttl must be at least 1 second (see --help)\n')
  })

  it('token commands without any key say what to set', async () => {
    const run = await cli(['token', 'create', 'someone'], {
      env: { LATCHKEY_DATA_DIR: join(folder.dir, 'empty') },
    })
    expect(run.code).toBe(1)
    expect(run.err).toMatch(/^latchkey: no key: set LATCHKEY_SECRET or LATCHKEY_PRIVATE_KEY_FILE/)
  })

  it('keygen writes a 0600 private key and its JWKS, refuses to overwrite, prints HS secrets', async () => {
    const out = join(folder.dir, 'keys')
    const run = await cli(['keygen', '--alg', 'EdDSA', '--out', out])
    expect(run.code).toBe(0)
    const keyFile = join(out, 'latchkey-private.pem')
    expect(statSync(keyFile).mode & 0o777).toBe(0o600)
    expect(readFileSync(keyFile, 'utf8')).toContain('BEGIN PRIVATE KEY')
    const jwks = JSON.parse(readFileSync(join(out, 'jwks.json'), 'utf8')) as {
      keys: Record<string, string>[]
    }
    expect(jwks.keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' })
    expect(jwks.keys[0]!.d).toBeUndefined()
    expect(run.out).toContain(`LATCHKEY_PRIVATE_KEY_FILE=${keyFile} LATCHKEY_ALGORITHM=EdDSA`)
    // The folder keygen created ignores everything in it, in any git repository, and says so.
    expect(readFileSync(join(out, '.gitignore'), 'utf8')).toMatch(/^\*$/m)
    expect(run.out).toContain(`${out} has a .gitignore`)
    // An existing folder gets no .gitignore (`--out .` must not hide a whole project); a warning instead.
    const existing = join(folder.dir, 'existing-folder')
    mkdirSync(existing)
    const inExisting = await cli(['keygen', '--alg', 'ES256', '--out', existing])
    expect(inExisting.code).toBe(0)
    expect(existsSync(join(existing, '.gitignore'))).toBe(false)
    expect(inExisting.out).toContain('out of version control')
    // In a git repository, with the default folder: nothing of the key shows up as a change.
    const repo = join(folder.dir, 'repo')
    mkdirSync(repo)
    execFileSync('git', ['init', '-q'], { cwd: repo })
    expect((await runCliCaptured(['keygen', '--alg', 'ES256'], { cwd: repo })).code).toBe(0)
    expect(existsSync(join(repo, 'keys', 'latchkey-private.pem'))).toBe(true)
    expect(
      execFileSync('git', ['status', '--porcelain', '--untracked-files=all'], {
        cwd: repo,
        encoding: 'utf8',
      }),
    ).toBe('')
    // And this repository ignores its own keys/ folder.
    const ignored = readFileSync(new URL('../../.gitignore', import.meta.url), 'utf8').split('\n')
    expect(ignored).toContain('keys/')
    const again = await cli(['keygen', '--alg', 'EdDSA', '--out', out])
    expect(again.code).toBe(2)
    expect(again.err).toMatch(/exists; pass --force/)
    expect((await cli(['keygen', '--alg', 'EdDSA', '--out', out, '--force'])).code).toBe(0)

    const hs = await cli(['keygen', '--alg', 'HS256'])
    expect(hs.out.trim()).toMatch(/^[\w-]{86}$/)
    expect((await cli(['keygen'])).code).toBe(2)
    expect((await cli(['keygen', '--alg', 'none'])).code).toBe(2)
  })
})
