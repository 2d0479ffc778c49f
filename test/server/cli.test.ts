/**
 * The `latchkey` CLI, run in process with captured streams: every command, its --help, and one-line
 * errors with non-zero exit codes.
 */
import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { TEST_ARGON2, TEST_SECRET } from './harness.js'
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
  })

  it('reports errors in one line with a non-zero exit code', async () => {
    const badFlag = await cli(['migrate', '--nope'])
    expect(badFlag.code).toBe(2)
    expect(badFlag.err).toMatch(/^latchkey: Unknown option '--nope'.*\(see --help\)\n$/)
    const badConfig = await cli(['serve'], { env: { LATCHKEY_ACCESS_TTL: 'soon' } })
    expect(badConfig.code).toBe(1)
    expect(badConfig.err).toBe(
      'latchkey: LATCHKEY_ACCESS_TTL (--access-ttl) must be a duration such as 900, 2s, 15m or 30d (got "soon")\n',
    )
    const badDatabase = await cli(['migrate', '--database-url', 'postgres://nobody@127.0.0.1:1/none'])
    expect(badDatabase.code).toBe(1)
    expect(badDatabase.err.trim().split('\n')).toHaveLength(1)
  })

  it('migrate creates the schema once', async () => {
    const env = database()
    const first = await cli(['migrate'], { env })
    expect(first.code).toBe(0)
    expect(first.out).toBe('Applied: 0001_users, 0002_login_failures, 0003_revocations\n')
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
    expect(list.out).toMatch(/^EMAIL\s+NAME\s+ACTIVE\s+CREATED\s+ID\nada@example.com\s+Ada\s+yes\s/)
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

    const refresh = await cli(['token', 'create', 'some-user-id', '--refresh'], { env })
    expect(JSON.parse(Buffer.from(refresh.out.split('.')[1]!, 'base64url').toString())).toMatchObject({
      sub: 'some-user-id',
      type: 'refresh',
    })
    expect((await cli(['token', 'inspect', 'garbage'])).err).toBe(
      'latchkey: not a compact JWT (three base64url JSON segments)\n',
    )
    expect((await cli(['token', 'create', 'nobody@example.com'], { env })).err).toBe(
      'latchkey: no user with email nobody@example.com\n',
    )
    expect((await cli(['token', 'create', 'x', '--ttl', 'soon'], { env })).code).toBe(2)
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
