/**
 * Bun, Deno and workerd for the tests and benchmarks: where each binary is, how to bundle code for
 * it, and how to run a bundle on it. Every binary comes from the npm registry, inside the runtime's
 * platform package (`@oven/bun-linux-x64`, `@deno/linux-x64-glibc`, `@cloudflare/workerd-linux-64`,
 * optional dependencies of `bun`, `deno` and `workerd`); their install scripts are denied in
 * package.json `allowScripts`, so nothing is downloaded at install or at test time.
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { arch, platform } from 'node:os'
import { basename, dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const require = createRequire(join(ROOT, 'package.json'))

export type RuntimeName = 'node' | 'bun' | 'deno' | 'workerd'

/** The platform packages holding each binary, per `${platform()}-${arch()}`, and its path inside. */
const BINARIES: Record<Exclude<RuntimeName, 'node'>, Record<string, [string, string]>> = {
  bun: {
    'linux-x64': ['@oven/bun-linux-x64', 'bin/bun'],
    'linux-arm64': ['@oven/bun-linux-aarch64', 'bin/bun'],
    'darwin-arm64': ['@oven/bun-darwin-aarch64', 'bin/bun'],
    'darwin-x64': ['@oven/bun-darwin-x64', 'bin/bun'],
  },
  deno: {
    'linux-x64': ['@deno/linux-x64-glibc', 'deno'],
    'linux-arm64': ['@deno/linux-arm64-glibc', 'deno'],
    'darwin-arm64': ['@deno/darwin-arm64', 'deno'],
    'darwin-x64': ['@deno/darwin-x64', 'deno'],
  },
  workerd: {
    'linux-x64': ['@cloudflare/workerd-linux-64', 'bin/workerd'],
    'linux-arm64': ['@cloudflare/workerd-linux-arm64', 'bin/workerd'],
    'darwin-arm64': ['@cloudflare/workerd-darwin-arm64', 'bin/workerd'],
    'darwin-x64': ['@cloudflare/workerd-darwin-64', 'bin/workerd'],
  },
}

/** The path of a runtime's binary, or an error saying why there is none. */
export function binary(runtime: RuntimeName): string {
  if (runtime === 'node') return process.execPath
  const entry = BINARIES[runtime][`${platform()}-${arch()}`]
  if (!entry) throw new Error(`no ${runtime} package for ${platform()}-${arch()}`)
  const [pkg, file] = entry
  let dir: string
  try {
    dir = dirname(require.resolve(`${pkg}/package.json`))
  } catch {
    throw new Error(`${pkg} is not installed (an optional dependency of ${runtime}; run npm ci)`)
  }
  const path = join(dir, file)
  if (!existsSync(path)) throw new Error(`${path} is missing`)
  return path
}

/**
 * Bundles entry files for a runtime into `outdir` (one self-contained ES module each, named after
 * the entry). `vitest` resolves to the test harness (test/runtimes/harness/vitest.ts); Node's
 * built-ins stay imports (`node:` specifiers), which Bun, Deno and workerd with `nodejs_compat`
 * provide.
 */
export async function bundle(runtime: RuntimeName, entries: string[], outdir: string): Promise<string[]> {
  mkdirSync(outdir, { recursive: true })
  await build({
    entryPoints: entries,
    outdir,
    bundle: true,
    format: 'esm',
    target: 'es2022',
    platform: runtime === 'node' ? 'node' : 'neutral',
    mainFields: ['module', 'main'],
    conditions: runtime === 'workerd' ? ['workerd', 'worker'] : runtime === 'node' ? [] : [runtime],
    external: ['node:*'],
    alias: { vitest: join(ROOT, 'test/runtimes/harness/vitest.ts') },
    tsconfig: join(ROOT, 'tsconfig.json'),
    logLevel: 'error',
    legalComments: 'none',
  })
  return entries.map((entry) => join(outdir, basename(entry).replace(/\.ts$/, '.js')))
}

/** The compatibility date given to workerd: the Workers behaviour of that day (no later than the binary). */
export const WORKERD_COMPATIBILITY_DATE = '2026-11-01'

/**
 * A workerd configuration running one module as a Worker with `nodejs_compat` (Node's built-ins,
 * `node:crypto` first of all, which latchkey's core signs and verifies with) and a service binding
 * `SELF` to itself.
 */
export function workerdConfig(dir: string, module: string): string {
  const config = join(dir, `${basename(module, '.js')}.capnp`)
  writeFileSync(
    config,
    `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [(name = "main", worker = .worker)],
);

const worker :Workerd.Worker = (
  modules = [(name = "${basename(module)}", esModule = embed "${basename(module)}")],
  compatibilityDate = "${WORKERD_COMPATIBILITY_DATE}",
  compatibilityFlags = ["nodejs_compat"],
  bindings = [(name = "SELF", service = "main")],
);
`,
  )
  return config
}

/** The command line that runs a bundled module on a runtime (workerd: its `test` handlers). */
export function command(runtime: RuntimeName, module: string): [string, string[]] {
  const bin = binary(runtime)
  switch (runtime) {
    case 'node':
      return [bin, [module]]
    case 'bun':
      return [bin, ['run', module]]
    case 'deno':
      // Node's built-ins need these permissions; nothing else (no network beyond the loopback apps).
      return [bin, ['run', '--allow-net=127.0.0.1', '--allow-env', '--allow-read', '--allow-sys', module]]
    case 'workerd':
      return [bin, ['test', workerdConfig(dirname(module), module)]]
  }
}

/** Environment for the runtimes: no update checks or telemetry (nothing may reach the network). */
export function runtimeEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    DENO_NO_UPDATE_CHECK: '1',
    DENO_NO_PROMPT: '1',
    DO_NOT_TRACK: '1',
    BUN_DISABLE_TELEMETRY: '1',
    NO_COLOR: '1',
  }
}

/** Runs a command to its end: exit code, stdout and stderr. */
export function runCommand(
  file: string,
  args: string[],
  options: { cwd?: string; timeoutMs?: number } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(file, args, {
      cwd: options.cwd ?? ROOT,
      env: runtimeEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk
    })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 300_000)
    child.on('error', (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.on('close', (code) => {
      clearTimeout(timer)
      resolvePromise({ code, stdout, stderr })
    })
  })
}
