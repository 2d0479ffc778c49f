/**
 * The package as a user gets it: `npm pack` (whose `prepack` builds `dist/`), unpacked into a
 * node_modules folder under test-output/, then imported by name through the `exports` map, type-checked
 * as a consumer with `moduleResolution: nodenext`, and its `latchkey` binary run. Also the promise
 * of the dependency section: each entry point needs only its own optional peer (importing `latchkey`
 * loads no package at all), checked over the built files' import graph.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { beforeAll, describe, expect, it } from 'vitest'

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
  execFileSync('tar', ['-xzf', join(WORK, packed[0]!.filename), '-C', WORK])
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
  SqliteRevocationStore, RedisRevocationStore, flask]
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
      for (const m of code.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)) {
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
