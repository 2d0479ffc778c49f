/**
 * The package as a user gets it: `npm pack` (whose `prepack` builds `dist/`), unpacked into a
 * node_modules folder under test-output/, then imported by name through the `exports` map, type-checked
 * as a consumer with `moduleResolution: nodenext`, and its `latchkey` binary run. Also the promise
 * of the dependency section: each entry point needs only its own optional peer (importing `latchkey`
 * loads no package at all), checked over the built files' import graph.
 *
 * CommonJS consumers: types through `typesVersions` under `module: commonjs` (node10 resolution),
 * loading through Node's require(esm), and a NestJS app compiled by tsc with each Nest template's
 * tsconfig and run. arethetypeswrong and publint check the tarball.
 *
 * The CLI's install advice, on fresh projects outside the repository (from the npm registry, install
 * scripts off): it resolves, on Node 20 and 22, and the server then runs on what it installed, the
 * newer majors of the peer ranges (the repository's dev dependencies are the older ends).
 */
import { execFileSync } from 'node:child_process'
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { isCI, postgresUrl } from '../helpers/services.js'
import { nodeBinary } from '../runtimes/node-versions.js'
import { createPgSchema } from '../server/helpers.js'
import { killLeftovers, startProcess } from '../server/processes.js'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
// Inside the repository, so the unpacked package finds the peers in the repository's node_modules.
const WORK = join(ROOT, 'test-output', 'package')
const PKG = join(WORK, 'node_modules', 'latchkey')
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  exports: Record<string, string | { types: string; default: string }>
  peerDependencies: Record<string, string>
  peerDependenciesMeta: Record<string, { optional?: boolean }>
  bin: Record<string, string>
  version: string
}
const entries = Object.entries(manifest.exports).filter(
  (e): e is [string, { types: string; default: string }] => typeof e[1] === 'object',
)
const specifier = (subpath: string) => (subpath === '.' ? 'latchkey' : `latchkey/${subpath.slice(2)}`)

let files: string[] = []
let tarball = ''

beforeAll(() => {
  rmSync(WORK, { recursive: true, force: true })
  mkdirSync(join(WORK, 'node_modules'), { recursive: true })
  const packed = JSON.parse(
    execFileSync('npm', ['pack', '--json', '--pack-destination', WORK], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  ) as { filename: string; files: { path: string }[] }[]
  files = packed[0]!.files.map((f) => f.path)
  tarball = join(WORK, packed[0]!.filename)
  execFileSync('tar', ['-xzf', tarball, '-C', WORK])
  renameSync(join(WORK, 'package'), PKG)
}, 120_000)

describe('the packed package', () => {
  it('holds every file the exports map and the binary name, the demo page, README and docs', () => {
    for (const [, target] of entries) {
      expect(files).toContain(target.default.slice(2))
      expect(files).toContain(target.types.slice(2))
    }
    for (const bin of Object.values(manifest.bin)) expect(files).toContain(bin.replace(/^\.\//, ''))
    expect(files).toContain('dist/server/public/index.html')
    expect(files).toContain('README.md')
    expect(files.some((f) => f.startsWith('docs/'))).toBe(true)
    // Nothing of the repository's own: sources, tests, benchmarks, CI.
    expect(files.filter((f) => /^(src|test|bench|\.ci|examples)\//.test(f))).toEqual([])
  })

  it('ships its MIT LICENSE and the metadata a registry page shows', () => {
    expect(files).toContain('LICENSE')
    const license = readFileSync(join(PKG, 'LICENSE'), 'utf8')
    expect(license).toMatch(/^MIT License\n\nCopyright \(c\) 2026 latchkey contributors\n/)
    const packed = JSON.parse(readFileSync(join(PKG, 'package.json'), 'utf8')) as Record<string, unknown>
    expect(packed.license).toBe('MIT')
    expect(packed.repository).toEqual({
      type: 'git',
      url: 'git+https://github.com/latchkey-js/latchkey.git',
    })
    expect(packed.homepage).toBe('https://github.com/latchkey-js/latchkey#readme')
    expect(packed.bugs).toEqual({ url: 'https://github.com/latchkey-js/latchkey/issues' })
    expect(packed.keywords).toEqual(
      expect.arrayContaining(['jwt', 'authentication', 'express', 'fastify', 'hono']),
    )
  })

  it('has no source map pointing at a file it does not ship', () => {
    const shipped = new Set(files)
    const references: string[] = []
    for (const file of files.filter((f) => /\.(js|d\.ts)$/.test(f))) {
      const text = readFileSync(join(PKG, file), 'utf8')
      for (const m of text.matchAll(/^\/\/# sourceMappingURL=(\S+)$/gm)) {
        const map = join(dirname(file), m[1]!)
        references.push(map)
        expect(shipped.has(map), `${file} -> ${map}`).toBe(true)
      }
    }
    for (const map of files.filter((f) => f.endsWith('.map'))) {
      const { sources } = JSON.parse(readFileSync(join(PKG, map), 'utf8')) as { sources: string[] }
      for (const source of sources) {
        const target = join(dirname(map), source)
        expect(shipped.has(target), `${map} -> ${target}`).toBe(true)
      }
    }
    // Maps are off (the sources are not shipped), so nothing refers to one.
    expect(references).toEqual([])
  })

  it('imports by name through the exports map, and works', () => {
    const script = `
      ${entries.map(([sub], i) => `import * as m${i} from '${specifier(sub)}'`).join('\n')}
      const loaded = [${entries.map((_, i) => `Object.keys(m${i}).length`).join(', ')}]
      const { createAuth } = m0
      const { verifyRequest } = await import('latchkey/fetch')
      const auth = createAuth({ keys: { secret: 'a-secret-of-at-least-thirty-two-bytes!!' } })
      const token = auth.createAccessToken('u1')
      const ok = await verifyRequest(auth, new Request('http://x/', { headers: { authorization: 'Bearer ' + token } }))
      const bad = await verifyRequest(auth, new Request('http://x/'))
      console.log(JSON.stringify({ loaded, sub: ok.ok && ok.auth.sub, refused: !bad.ok && bad.response.status }))
    `
    writeFileSync(join(WORK, 'consumer.mjs'), script)
    const out = JSON.parse(execFileSync(process.execPath, ['consumer.mjs'], { cwd: WORK, encoding: 'utf8' }))
    expect(out.loaded.every((n: number) => n > 0)).toBe(true)
    expect(out).toMatchObject({ sub: 'u1', refused: 401 })
  })

  it('type-checks in a strict consumer project with nodenext resolution', () => {
    writeFileSync(
      join(WORK, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          strict: true,
          noEmit: true,
          types: ['node'],
          typeRoots: [join(ROOT, 'node_modules/@types')],
        },
        files: ['consumer.ts'],
      }),
    )
    writeFileSync(join(WORK, 'package.json'), JSON.stringify({ type: 'module', private: true }))
    writeFileSync(
      join(WORK, 'consumer.ts'),
      `import { createAuth, type AuthContext, TokenExpiredError, MemoryRevocationStore } from 'latchkey'
import { latchkey } from 'latchkey/express'
import { latchkeyPlugin } from 'latchkey/fastify'
import { requireAuth } from 'latchkey/hono'
import { verifyRequest } from 'latchkey/fetch'
import { LatchkeyModule } from 'latchkey/nestjs'
import { SqliteRevocationStore } from 'latchkey/stores/sqlite'
import { RedisRevocationStore } from 'latchkey/stores/redis'
import { fromFlaskConfig } from 'latchkey/flask'
type User = { id: string; active: boolean }
const flask = createAuth<User>({ ...fromFlaskConfig({ JWT_SECRET_KEY: 'a-secret-of-at-least-thirty-two-bytes!!' }), identify: (u) => u.id })
const auth = createAuth<User>({
  keys: { secret: 'a-secret-of-at-least-thirty-two-bytes!!' },
  revocation: new MemoryRevocationStore(),
  identify: (user) => user.id,
  loadUser: (id) => ({ id, active: true }),
})
const context: Promise<AuthContext<User>> = auth.authenticate({
  method: 'GET',
  header: () => undefined,
  cookie: () => undefined,
  query: () => undefined,
})
const code: string = new TokenExpiredError(0).code
export const used = [context, code, latchkey(auth), latchkeyPlugin, requireAuth(auth), verifyRequest,
  LatchkeyModule.forRoot({ auth }), SqliteRevocationStore, RedisRevocationStore, flask]
`,
    )
    const tsc = join(ROOT, 'node_modules/typescript/bin/tsc')
    const result = (() => {
      try {
        return execFileSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: WORK, encoding: 'utf8' })
      } catch (error) {
        return String((error as { stdout?: string }).stdout ?? error)
      }
    })()
    expect(result).toBe('')
  }, 60_000)

  it('runs its latchkey binary', () => {
    const bin = join(PKG, manifest.bin.latchkey!)
    const help = execFileSync(process.execPath, [bin, '--help'], { cwd: WORK, encoding: 'utf8' })
    expect(help).toMatch(/serve/)
    // The version comes from the installed package.json, two folders up from dist/server.
    const version = execFileSync(process.execPath, [bin, '--version'], { cwd: WORK, encoding: 'utf8' })
    expect(version).toBe(`${manifest.version}\n`)
  })
})

describe('dependencies of each entry point (import graph of the built files)', () => {
  /** Bare specifiers (packages) that a built file and everything it imports relatively need. */
  function packagesOf(entry: string): Set<string> {
    const out = new Set<string>()
    const seen = new Set<string>()
    const walk = (file: string) => {
      if (seen.has(file)) return
      seen.add(file)
      // Doc comments hold example imports; strip comments before reading import statements.
      const code = readFileSync(file, 'utf8')
        .replace(/\/\*[\s\S]*?\*\//g, '')
        .replace(/^\s*\/\/.*$/gm, '')
      // `from '…'` of a static import or export, `import '…'` and `import('…')` (not a call such
      // as `Buffer.from('…')`).
      for (const m of code.matchAll(/(?:\bfrom\s*|(?<![.\w])import\s*\(?\s*)['"]([^'"]+)['"]/g)) {
        const spec = m[1]!
        if (spec.startsWith('.')) walk(resolve(dirname(file), spec))
        else if (!spec.startsWith('node:'))
          out.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!)
      }
    }
    walk(join(PKG, entry))
    return out
  }

  const expected: Record<string, string[]> = {
    '.': [],
    './adapter-kit': [],
    './express': [],
    './fastify': ['fastify-plugin'],
    './hono': [],
    './fetch': [],
    './nestjs': ['@nestjs/common', '@nestjs/core'],
    './flask': [],
    './issuers': ['jose'],
    './stores/sqlite': ['better-sqlite3'],
    './stores/sql': [],
    './stores/redis': ['ioredis'],
    './testing': ['vitest'],
    './login': ['@node-rs/argon2'],
    './login/fastify': [],
    './login/express': [],
    './login/kysely': ['kysely'],
    './login/redis': [],
    './login/smtp': ['nodemailer'],
    './login/testing': ['vitest'],
  }

  it('every entry point of the exports map is listed here', () => {
    expect(entries.map(([sub]) => sub).sort()).toEqual(Object.keys(expected).sort())
  })

  it.each(Object.entries(expected))('%s needs exactly %j, each an optional peer', (sub, packages) => {
    const target = entries.find(([s]) => s === sub)![1].default
    expect(existsSync(join(PKG, target))).toBe(true)
    const found = [...packagesOf(target)].sort()
    expect(found).toEqual(packages)
    for (const name of found) {
      expect(manifest.peerDependencies[name], `${name} is a peer dependency`).toBeDefined()
      expect(manifest.peerDependenciesMeta[name]?.optional, `${name} is optional`).toBe(true)
    }
  })
})

const TSC = join(ROOT, 'node_modules/typescript/bin/tsc')

/** Runs a command; its output, or the output and error of a failure (so assertions show it). */
function run(file: string, args: string[], cwd: string): string {
  try {
    return execFileSync(file, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string }
    return `FAILED: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`
  }
}

/** The tsconfig `nest new` wrote up to Nest 10: `module: commonjs`, so node10 module resolution. */
const NEST10_TSCONFIG = {
  module: 'commonjs',
  declaration: true,
  removeComments: true,
  emitDecoratorMetadata: true,
  experimentalDecorators: true,
  allowSyntheticDefaultImports: true,
  target: 'ES2021',
  outDir: './dist',
  baseUrl: './',
  skipLibCheck: true,
  strictNullChecks: true,
  noImplicitAny: true,
  forceConsistentCasingInFileNames: true,
}

/** The tsconfig of Nest 11 and 12's CommonJS template: nodenext in a package without "type": "module". */
const NEST12_CJS_TSCONFIG = {
  module: 'nodenext',
  moduleResolution: 'nodenext',
  resolvePackageJsonExports: true,
  esModuleInterop: true,
  isolatedModules: true,
  declaration: true,
  removeComments: true,
  emitDecoratorMetadata: true,
  experimentalDecorators: true,
  allowSyntheticDefaultImports: true,
  target: 'ES2023',
  outDir: './dist',
  skipLibCheck: true,
  strict: true,
  strictPropertyInitialization: false,
}

/** A CommonJS project at `dir`: package.json without a type, the tsconfig, the Nest app as src/main.ts. */
function nestProject(dir: string, compilerOptions: Record<string, unknown>): void {
  mkdirSync(join(dir, 'src'), { recursive: true })
  if (!existsSync(join(dir, 'package.json')))
    writeFileSync(join(dir, 'package.json'), '{ "private": true }\n')
  const options = { ...compilerOptions, types: ['node'], typeRoots: [join(ROOT, 'node_modules/@types')] }
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: options, include: ['src'] }))
  cpSync(join(ROOT, 'test/package/fixtures/nest-app/main.ts'), join(dir, 'src/main.ts'))
}

function expectNestAppWorks(dir: string): void {
  expect(run(process.execPath, [TSC, '-p', 'tsconfig.json'], dir)).toBe('')
  const emitted = readFileSync(join(dir, 'dist/main.js'), 'utf8')
  expect(emitted).toMatch(/require\("latchkey\/nestjs"\)/)
  const out = run(process.execPath, ['dist/main.js'], dir)
  expect(JSON.parse(out.split('\n').find((line) => line.startsWith('{')) ?? out)).toEqual({
    commonjs: true,
    login: 200,
    cacheControl: 'no-store',
    me: { email: 'alice@example.com' },
    anonymous: { status: 401, body: { msg: expect.any(String), code: 'TOKEN_MISSING' } },
  })
}

describe('CommonJS consumers', () => {
  it('every entry point loads with require() (require(esm): no top-level await anywhere)', () => {
    const script = `
      const loaded = ${JSON.stringify(entries.map(([sub]) => specifier(sub)))}.map((name) => [name, Object.keys(require(name)).length])
      const { createAuth } = require('latchkey')
      const auth = createAuth({ keys: { secret: 'a-secret-of-at-least-thirty-two-bytes!!' } })
      console.log(JSON.stringify({ loaded, sub: auth.decodeToken(auth.createAccessToken('u1')).claims.sub }))
    `
    writeFileSync(join(WORK, 'consumer.cjs'), script)
    const out = JSON.parse(run(process.execPath, ['consumer.cjs'], WORK)) as { loaded: [string, number][] }
    expect(out).toMatchObject({ sub: 'u1' })
    for (const [name, count] of out.loaded) expect(count, name).toBeGreaterThan(0)
  })

  it('type-checks every entry point under module: commonjs (node10 resolution, through typesVersions)', () => {
    const dir = join(WORK, 'node10')
    mkdirSync(dir, { recursive: true })
    writeFileSync(join(dir, 'package.json'), '{ "private": true }\n')
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'commonjs',
          // What tsc --init writes, and Nest's templates' allowSyntheticDefaultImports: the SQLite
          // store's types default-import better-sqlite3, a CommonJS `export =` module.
          esModuleInterop: true,
          target: 'es2022',
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          types: ['node'],
          typeRoots: [join(ROOT, 'node_modules/@types')],
        },
        files: ['consumer.ts'],
      }),
    )
    const imports = entries.map(([sub], i) => `import * as m${i} from '${specifier(sub)}'`).join('\n')
    writeFileSync(
      join(dir, 'consumer.ts'),
      `${imports}
const auth = m0.createAuth<{ id: string }>({ keys: { secret: 'a-secret-of-at-least-thirty-two-bytes!!' }, identify: (u) => u.id })
const token: string = auth.createAccessToken({ id: 'u1' })
export const used = [token, ${entries.map((_, i) => `m${i}`).join(', ')}]
`,
    )
    // skipLibCheck off: the shipped .d.ts files themselves must resolve under node10.
    expect(run(process.execPath, [TSC, '-p', 'tsconfig.json'], dir)).toBe('')
  }, 60_000)

  it("a NestJS 11 app with Nest 10's default tsconfig (module: commonjs) compiles with tsc and runs", () => {
    const dir = join(WORK, 'nest11')
    rmSync(dir, { recursive: true, force: true })
    mkdirSync(dir, { recursive: true })
    for (const file of ['package.json', 'package-lock.json'])
      cpSync(join(ROOT, 'test/package/fixtures/nest11', file), join(dir, file))
    // The fixture's own lockfile, from the npm registry (JavaScript only: no install scripts run).
    execFileSync('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    // A copy, not a link: latchkey must find the project's Nest 11, not the repository's Nest 12.
    cpSync(PKG, join(dir, 'node_modules/latchkey'), { recursive: true })
    const nest = JSON.parse(readFileSync(join(dir, 'node_modules/@nestjs/core/package.json'), 'utf8'))
    expect(nest.version).toMatch(/^11\./)
    nestProject(dir, NEST10_TSCONFIG)
    expectNestAppWorks(dir)
  }, 180_000)

  it("a NestJS 12 app with Nest's CommonJS template tsconfig (nodenext, no type: module) compiles and runs", () => {
    // Under test-output/package: latchkey from its node_modules, Nest 12 from the repository's.
    const dir = join(WORK, 'nest12')
    rmSync(dir, { recursive: true, force: true })
    nestProject(dir, NEST12_CJS_TSCONFIG)
    expectNestAppWorks(dir)
  }, 120_000)
})

describe('arethetypeswrong and publint on the tarball', () => {
  it('arethetypeswrong: every entry resolves under node10, node16 (CJS and ESM) and bundler', () => {
    const attw = join(ROOT, 'node_modules/@arethetypeswrong/cli/dist/index.js')
    // cjs-resolves-to-esm is the one finding, by design: the package is ESM only, and CommonJS
    // loads it through require(esm), which every Node version in `engines` has (README, "CommonJS").
    const out = run(
      process.execPath,
      [attw, tarball, '--format', 'json', '--ignore-rules', 'cjs-resolves-to-esm'],
      WORK,
    )
    const report = JSON.parse(out.slice(out.indexOf('{'))) as {
      analysis: { problems: { kind: string; entrypoint?: string; resolutionKind?: string }[] }
      problems?: Record<string, unknown>
    }
    const problems = report.analysis.problems.filter((p) => p.kind !== 'CJSResolvesToESM')
    expect(problems).toEqual([])
    // It is there, and only for CommonJS under node16: node10 resolves the types (typesVersions).
    const cjs = report.analysis.problems.filter((p) => p.kind === 'CJSResolvesToESM')
    expect(cjs.length).toBe(entries.length)
    expect(new Set(cjs.map((p) => p.resolutionKind))).toEqual(new Set(['node16-cjs']))
  }, 120_000)

  it('publint: no error, warning or suggestion', () => {
    const publint = join(ROOT, 'node_modules/publint/src/cli.js')
    const out = run(process.execPath, [publint, 'run', tarball, '--strict', '--level', 'suggestion'], WORK)
    expect(out).toMatch(/All good!/)
  }, 120_000)
})

/** npm's own script, to run npm on another Node (npm picks versions whose `engines` fit the Node it runs on). */
const NPM_CLI = join(
  dirname(realpathSync(execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim())),
  'npm-cli.js',
)

/** The words of a printed shell command: single-quoted words kept whole. */
function shellWords(command: string): string[] {
  return [...command.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2]!)
}

describe("the CLI's install advice on a fresh project", () => {
  afterEach(() => killLeftovers())

  const node22 = nodeBinary('node22')
  const nodes: [string, 'postgres' | 'sqlite', string | undefined][] = [
    // Node 20: better-sqlite3 12 is compiled by its install script, which stays off: PostgreSQL.
    ['20', 'postgres', process.execPath],
    // Node 22: better-sqlite3 13 ships its binary in the registry package: SQLite.
    ['22', 'sqlite', node22],
  ]

  it.each(nodes)(
    'Node %s: the printed command installs, and the server runs on it with %s',
    async (major, backend, node) => {
      if (!node) {
        if (isCI()) throw new Error('Node 22 is not installed: npm ci --prefix test/runtimes/nodes')
        console.warn('Node 22 is not installed (npm ci --prefix test/runtimes/nodes): skipping')
        return
      }
      const dir = mkdtempSync(join(tmpdir(), 'latchkey-advice-'))
      try {
        const npm = (...args: string[]) =>
          execFileSync(node, [NPM_CLI, ...args, '--ignore-scripts', '--no-audit', '--no-fund'], {
            cwd: dir,
            encoding: 'utf8',
            stdio: ['ignore', 'pipe', 'pipe'],
          })
        writeFileSync(join(dir, 'package.json'), '{ "name": "fresh", "private": true }\n')
        npm('install', tarball)
        const bin = join(dir, 'node_modules/latchkey/dist/cli/bin.js')

        // Without the server's packages, the CLI says what to install, with latchkey's ranges.
        const advice = run(node, [bin, '--help'], dir)
        const printed = /install the server packages: (npm install .*)$/m.exec(advice)?.[1]
        expect(printed, advice).toBeDefined()
        const [, , ...specs] = shellWords(printed!)
        expect(specs).toContain(`fastify-plugin@${manifest.peerDependencies['fastify-plugin']}`)

        npm('install', ...specs)
        const version = (name: string) =>
          (
            JSON.parse(readFileSync(join(dir, 'node_modules', name, 'package.json'), 'utf8')) as {
              version: string
            }
          ).version
        // The newest major of each range that runs on this Node.
        expect({
          'fastify-plugin': version('fastify-plugin').split('.')[0],
          '@fastify/swagger-ui': version('@fastify/swagger-ui').split('.')[0],
          kysely: version('kysely').split('.').slice(0, 2).join('.'),
          'better-sqlite3': version('better-sqlite3').split('.')[0],
        }).toEqual({
          'fastify-plugin': '6',
          '@fastify/swagger-ui': '6',
          kysely: major === '20' ? '0.28' : '0.29',
          'better-sqlite3': major === '20' ? '12' : '13',
        })

        const pg = backend === 'postgres' ? await createPgSchema(postgresUrl()) : undefined
        try {
          const server = startProcess(node, [bin, 'serve'], {
            cwd: dir,
            env: {
              PORT: '0',
              LATCHKEY_SECRET: 'advice-test-secret-0123456789-abcdefghijklmnopqrstuvwxyz',
              LATCHKEY_ARGON2: 'm=1024,t=1,p=1',
              ...(pg ? { DATABASE_URL: pg.url } : { LATCHKEY_DATA_DIR: join(dir, 'data') }),
            },
          })
          const line = await server.waitFor(/Server listening at http:\/\/127\.0\.0\.1:\d+/)
          const base = `http://127.0.0.1:${/127\.0\.0\.1:(\d+)/.exec(line)![1]}`
          const post = (path: string, body: unknown) =>
            fetch(base + path, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify(body),
            })
          const account = { email: 'advice@example.com', password: 'correct horse battery staple' }
          expect((await fetch(`${base}/readyz`)).status).toBe(200)
          expect((await post('/auth/signup', account)).status).toBe(202)
          const login = await post('/auth/login', account)
          expect(login.status).toBe(200)
          const { access_token } = (await login.json()) as { access_token: string }
          const me = await fetch(`${base}/auth/me`, { headers: { authorization: `Bearer ${access_token}` } })
          expect(me.status).toBe(200)
          // The OpenAPI page: @fastify/swagger-ui 6 on fastify-plugin 6.
          expect((await fetch(`${base}/docs/`)).status).toBe(200)
          server.child.kill('SIGTERM')
          expect(await server.exited).toBe(0)
          if (backend === 'sqlite') {
            // latchkey/stores/sqlite on better-sqlite3 13 as well.
            const script = `
              import { SqliteRevocationStore } from 'latchkey/stores/sqlite'
              const store = new SqliteRevocationStore(':memory:')
              const ref = { jti: 'j1', sub: 'u1', family: undefined, issuedAt: 0, expiresAt: undefined }
              const before = await store.isRevoked(ref)
              await store.revokeToken('j1', Date.now() + 60_000)
              console.log(JSON.stringify({ before, after: await store.isRevoked(ref) }))
              await store.close()
            `
            writeFileSync(join(dir, 'store.mjs'), script)
            expect(run(node, ['store.mjs'], dir)).toBe('{"before":false,"after":true}\n')
          }
        } finally {
          await pg?.drop()
        }
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    },
    240_000,
  )
})
