/**
 * Mutation testing by hand: `npm run mutate` breaks the code on purpose, one mutation at a time (the
 * list is scripts/mutations.ts, one or more per line of the security checklist), runs the test files
 * that should notice, and reports which test caught each break. A mutation no test catches is a gap.
 *
 * Everything happens in a scratch copy of the working tree (tracked and untracked files, not ignored
 * ones; node_modules linked) in the system's temporary folder: the real tree is never modified, and
 * the copy is removed at the end, on failure and on Ctrl-C.
 *
 *   npm run mutate                       every mutation (after a baseline run of their test files)
 *   npm run mutate -- csrf-no-claim ...  only these mutations (by name)
 *   npm run mutate -- --line L4          only the mutations of one checklist line
 *   npm run mutate -- --list             list the mutations and exit
 *   npm run mutate -- --check            only check that every search text is found exactly once
 *   npm run mutate -- --no-baseline      skip the unmutated run (faster when you know it is green)
 *   npm run mutate -- --markdown FILE    also write the results as a Markdown table (docs/mutation-testing.md)
 *   npm run mutate -- --no-bail          run every test of the listed files, and list every failure
 *                                        (slower; shows, say, that a store break fails on every store)
 *
 * Exit code 0 only when every mutation was caught. A mutation whose search text is not found exactly
 * once in its file is an error (the code moved: retarget it), never a silent pass; so is a run that
 * failed without a failing test (a crash, a syntax error), which proves nothing about the tests.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type Mutation, mutations } from './mutations.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

interface Outcome {
  mutation: Mutation
  result: 'caught' | 'survived' | 'error'
  /** The failing tests (caught), or what went wrong (error). */
  detail: string[]
  ms: number
}

interface Args {
  names: string[]
  line: string | undefined
  list: boolean
  check: boolean
  baseline: boolean
  bail: boolean
  markdown: string | undefined
}

function parseArgs(argv: string[]): Args {
  const names: string[] = []
  let line: string | undefined
  let list = false
  let check = false
  let baseline = true
  let bail = true
  let markdown: string | undefined
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === '--list') list = true
    else if (arg === '--check') check = true
    else if (arg === '--no-baseline') baseline = false
    else if (arg === '--no-bail') bail = false
    else if (arg === '--markdown') markdown = argv[++i]
    else if (arg === '--line') line = argv[++i]
    else if (arg.startsWith('-')) throw new Error(`unknown option ${arg}`)
    else names.push(arg)
  }
  return { names, line, list, check, baseline, bail, markdown }
}

function select(names: string[], line: string | undefined): Mutation[] {
  const seen = new Set<string>()
  for (const m of mutations) {
    if (seen.has(m.name)) throw new Error(`two mutations are named ${m.name}`)
    seen.add(m.name)
  }
  const unknown = names.filter((name) => !seen.has(name))
  if (unknown.length > 0) throw new Error(`no mutation named ${unknown.join(', ')} (see --list)`)
  return mutations.filter(
    (m) => (names.length === 0 || names.includes(m.name)) && (line === undefined || m.line === line),
  )
}

/** Copies the working tree (tracked and untracked files, ignored ones left out) into a new folder. */
function scratchCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-mutate-'))
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: ROOT,
    encoding: 'utf8',
  })
    .split('\0')
    .filter((file) => file !== '')
  for (const file of files) {
    const from = join(ROOT, file)
    if (!existsSync(from)) continue // deleted in the working tree, not yet committed
    mkdirSync(dirname(join(dir, file)), { recursive: true })
    copyFileSync(from, join(dir, file))
  }
  symlinkSync(realpathSync(join(ROOT, 'node_modules')), join(dir, 'node_modules'), 'dir')
  // Vite's cache stays in the copy rather than in the (shared) node_modules.
  writeFileSync(
    join(dir, 'vitest.mutate.config.ts'),
    `import { defineConfig, mergeConfig } from 'vitest/config'
import base from './vitest.config.ts'
export default mergeConfig(base, defineConfig({ cacheDir: '.vite-cache' }))
`,
  )
  return dir
}

let running: ChildProcess | undefined

interface RunResult {
  code: number | null
  failed: string[]
  fileErrors: string[]
  output: string
}

/** Runs vitest on `files` in the copy; returns the names of the failing tests. */
function runVitest(
  dir: string,
  files: string[],
  grep: string | undefined,
  bail: boolean,
): Promise<RunResult> {
  const report = join(dir, '.mutate-report.json')
  rmSync(report, { force: true })
  const args = [
    join(dir, 'node_modules', 'vitest', 'vitest.mjs'),
    'run',
    '--config',
    'vitest.mutate.config.ts',
    '--reporter=json',
    `--outputFile=${report}`,
    ...(bail ? ['--bail=1'] : []),
    ...(grep === undefined ? [] : ['-t', grep]),
    ...files,
  ]
  return new Promise((resolve, reject) => {
    // CI=true: a missing service fails instead of skipping, so a skipped test never counts as a pass.
    const child = spawn(process.execPath, args, {
      cwd: dir,
      env: { ...process.env, CI: 'true', FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    })
    running = child
    let output = ''
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8')
    })
    child.stderr!.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8')
    })
    child.once('error', reject)
    child.once('close', (code) => {
      running = undefined
      const failed: string[] = []
      const fileErrors: string[] = []
      if (existsSync(report)) {
        const json = JSON.parse(readFileSync(report, 'utf8')) as {
          testResults: {
            name: string
            status: string
            message?: string
            assertionResults: { fullName: string; status: string; failureMessages?: string[] }[]
          }[]
        }
        for (const file of json.testResults) {
          const relative = file.name.startsWith(dir) ? file.name.slice(dir.length + 1) : file.name
          for (const test of file.assertionResults)
            if (test.status === 'failed') {
              const why = (test.failureMessages?.[0] ?? '').split('\n')[0]!.slice(0, 200)
              failed.push(`${relative} > ${test.fullName}${why ? `\n      ${why}` : ''}`)
            }
          if (file.status === 'failed' && file.assertionResults.every((t) => t.status !== 'failed'))
            fileErrors.push(
              `${relative}: ${(file.message ?? 'failed without a failing test').split('\n')[0]}`,
            )
        }
      }
      resolve({ code, failed, fileErrors, output })
    })
  })
}

/**
 * Applies every patch of `mutation` to the files under `dir` (nothing is written with `write: false`)
 * and returns the original texts by file, to restore them. Throws, having written nothing, unless
 * each search text occurs exactly once.
 */
function applyMutation(dir: string, mutation: Mutation, write = true): Map<string, string> {
  const originals = new Map<string, string>()
  const texts = new Map<string, string>()
  for (const patch of [mutation, ...(mutation.also ?? [])]) {
    const path = join(dir, patch.file)
    if (!texts.has(patch.file)) {
      if (!existsSync(path)) throw new Error(`${patch.file} does not exist (retarget the mutation)`)
      const text = readFileSync(path, 'utf8')
      originals.set(patch.file, text)
      texts.set(patch.file, text)
    }
    const current = texts.get(patch.file)!
    const count = current.split(patch.search).length - 1
    if (count !== 1) {
      throw new Error(
        `search text found ${count} times in ${patch.file}, expected exactly once (retarget the mutation): ${JSON.stringify(patch.search.slice(0, 120))}`,
      )
    }
    texts.set(
      patch.file,
      current.replace(patch.search, () => patch.replace),
    )
  }
  if (write) for (const [file, text] of texts) writeFileSync(join(dir, file), text)
  return originals
}

/** Failing tests, the checklist's own first (it names the line), then the rest of test/security/. */
function byRelevance(failed: string[]): string[] {
  const rank = (name: string) =>
    name.startsWith('test/security/checklist.test.ts') ? 0 : name.startsWith('test/security/') ? 1 : 2
  return [...failed].sort((a, b) => rank(a) - rank(b))
}

/** A failing test, short: `checklist L4` for the checklist's own, else `core/login › name`. */
function shortName(failure: string): string {
  const [path = '', ...rest] = failure.split('\n')[0]!.split(' > ')
  const name = rest.join(' > ')
  const file = path.replace(/^test\//, '').replace(/\.test\.ts$/, '')
  const line = /\b([ACLPR]\d)\b/.exec(name)
  if (file === 'security/checklist' && line) return `checklist ${line[1]}`
  return `${file} › ${name.length > 110 ? `${name.slice(0, 109)}…` : name}`
}

/** The results as a Markdown table: line, mutation, what it breaks, the tests that caught it. */
function markdownTable(outcomes: Outcome[]): string {
  const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\s+/g, ' ').trim()
  const rows = outcomes.map((o) => {
    const more = o.detail.length > 1 ? ` (+${o.detail.length - 1} more)` : ''
    const by = o.result === 'caught' ? `${shortName(o.detail[0]!)}${more}` : `**${o.result}**`
    return `| ${o.mutation.line} | \`${o.mutation.name}\` | ${cell(o.mutation.what)} | ${cell(by)} |`
  })
  return [
    '| Line | Mutation | The break | Caught by |',
    '| ---- | -------- | --------- | --------- |',
    ...rows,
    '',
  ].join('\n')
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2))
  const chosen = select(args.names, args.line)
  if (args.list) {
    for (const m of mutations) console.log(`${m.name.padEnd(34)} ${m.line.padEnd(5)} ${m.what}`)
    return 0
  }
  if (chosen.length === 0) throw new Error('no mutation selected')
  if (args.check) {
    // Reads the real tree; writes nothing.
    let stale = 0
    for (const m of chosen) {
      try {
        applyMutation(ROOT, m, false)
        for (const test of m.tests) if (!existsSync(join(ROOT, test))) throw new Error(`no test file ${test}`)
      } catch (error) {
        stale++
        console.error(`${m.name}: ${error instanceof Error ? error.message : error}`)
      }
    }
    console.log(`${chosen.length - stale} of ${chosen.length} mutations apply`)
    return stale === 0 ? 0 : 2
  }

  const dir = scratchCopy()
  const cleanup = () => {
    if (running?.pid !== undefined) {
      try {
        process.kill(-running.pid, 'SIGKILL')
      } catch {}
    }
    rmSync(dir, { recursive: true, force: true })
  }
  const onSignal = (signal: NodeJS.Signals) => {
    console.error(`\n${signal}: stopping, removing ${dir}`)
    cleanup()
    process.exit(130)
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)

  try {
    console.log(`scratch copy: ${dir}`)
    if (args.baseline) {
      const files = [...new Set(chosen.flatMap((m) => m.tests))].sort()
      console.log(`baseline: ${files.length} test file(s), unmutated ...`)
      const base = await runVitest(dir, files, undefined, false)
      if (base.code !== 0) {
        console.error(base.output.slice(-4_000))
        console.error(
          `baseline fails (${[...base.failed, ...base.fileErrors].join('; ') || `exit ${base.code}`}): ` +
            'a mutation "caught" by an already failing test proves nothing. Fix the suite first.',
        )
        return 2
      }
    }

    const outcomes: Outcome[] = []
    for (const [i, mutation] of chosen.entries()) {
      const start = Date.now()
      const label = `[${i + 1}/${chosen.length}] ${mutation.name} (${mutation.line})`
      let originals: Map<string, string> | undefined
      try {
        originals = applyMutation(dir, mutation)
        const run = await runVitest(dir, mutation.tests, mutation.grep, args.bail)
        const ms = Date.now() - start
        if (run.failed.length > 0)
          outcomes.push({ mutation, result: 'caught', detail: byRelevance(run.failed), ms })
        else if (run.code === 0) outcomes.push({ mutation, result: 'survived', detail: [], ms })
        else
          outcomes.push({
            mutation,
            result: 'error',
            detail: run.fileErrors.length > 0 ? run.fileErrors : [run.output.slice(-1_000)],
            ms,
          })
      } catch (error) {
        outcomes.push({ mutation, result: 'error', detail: [String(error)], ms: Date.now() - start })
      } finally {
        for (const [file, text] of originals ?? []) writeFileSync(join(dir, file), text)
      }
      const o = outcomes.at(-1)!
      console.log(`${label}: ${o.result.toUpperCase()} in ${(o.ms / 1000).toFixed(1)} s`)
      for (const line of o.detail.slice(0, args.bail ? 3 : 50)) console.log(`    ${line}`)
    }

    if (args.markdown !== undefined) writeFileSync(args.markdown, markdownTable(outcomes))
    const caught = outcomes.filter((o) => o.result === 'caught').length
    console.log(`\n${caught} of ${outcomes.length} mutations caught`)
    for (const o of outcomes.filter((o) => o.result !== 'caught'))
      console.log(`  ${o.result.toUpperCase()}: ${o.mutation.name} (${o.mutation.line}): ${o.mutation.what}`)
    return caught === outcomes.length ? 0 : 1
  } finally {
    cleanup()
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error)
    process.exit(2)
  },
)
