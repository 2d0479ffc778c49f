/**
 * The Python side of the Flask-JWT-Extended suite: a virtual environment with the pinned packages of
 * test/flask/requirements.txt, made once and reused while the file's hash is the same
 * (`.venv-flask/`, git-ignored). Test files call {@link requireFlask} at their top, as they call
 * `requireService` for Redis: locally a missing Python or a failed install skips them with a loud
 * warning; under `CI=true` it fails them. `.ci/run` runs this file first, so CI fails early.
 */
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { beforeAll } from 'vitest'

const run = promisify(execFile)
const HERE = dirname(fileURLToPath(import.meta.url))
export const ROOT = join(HERE, '..', '..')
const REQUIREMENTS = join(HERE, 'requirements.txt')
const VENV = join(ROOT, '.venv-flask')
const STAMP = join(VENV, '.requirements-sha256')
const LOCK = `${VENV}.lock`
/** The virtual environment's interpreter. */
export const PYTHON = join(VENV, 'bin', 'python')

function requirementsHash(): string {
  return createHash('sha256').update(readFileSync(REQUIREMENTS)).digest('hex')
}

function ready(hash: string): boolean {
  try {
    return readFileSync(STAMP, 'utf8').trim() === hash && existsSync(PYTHON)
  } catch {
    return false
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Makes (or reuses) the environment and returns its interpreter. Several test files may ask at
 * once: one makes it under a lock directory, the others wait for its stamp.
 */
export async function ensureFlaskVenv(): Promise<string> {
  const hash = requirementsHash()
  if (ready(hash)) return PYTHON
  const deadline = Date.now() + 300_000
  for (;;) {
    try {
      mkdirSync(LOCK)
      break
    } catch {
      if (ready(hash)) return PYTHON
      // A lock left by a killed run: older than five minutes.
      try {
        if (Date.now() - statSync(LOCK).mtimeMs > 300_000) rmSync(LOCK, { recursive: true, force: true })
      } catch {}
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${LOCK}`)
      await sleep(500)
    }
  }
  try {
    if (ready(hash)) return PYTHON
    rmSync(VENV, { recursive: true, force: true })
    await run('python3', ['-m', 'venv', VENV], { timeout: 120_000 })
    // The machines' local index, when there is one (PyPI itself is unreachable there; naming the
    // index spares pip's retries against it).
    const index = existsSync('/opt/pypi/simple')
      ? [
          '--index-url',
          'file:///opt/pypi/simple',
          ...(existsSync('/opt/pypi-more/simple')
            ? ['--extra-index-url', 'file:///opt/pypi-more/simple']
            : []),
        ]
      : []
    await run(
      PYTHON,
      [
        '-m',
        'pip',
        'install',
        '--disable-pip-version-check',
        '--no-input',
        '-q',
        ...index,
        '-r',
        REQUIREMENTS,
      ],
      { timeout: 300_000, maxBuffer: 16 * 1024 * 1024 },
    )
    await run(PYTHON, ['-c', 'import flask, flask_jwt_extended, flask_login, jwt, cryptography'])
    writeFileSync(STAMP, `${hash}\n`)
    return PYTHON
  } finally {
    rmSync(LOCK, { recursive: true, force: true })
  }
}

/** Whether the Flask tests run; `skip` is what to pass to `describe.skipIf`. */
export interface FlaskStatus {
  python: string
  skip: boolean
}

/**
 * Makes the environment at the top of a test file. Locally, a failure warns and skips the file's
 * tests; under `CI=true` it registers a `beforeAll` that throws, so every test fails with the reason.
 */
export async function requireFlask(): Promise<FlaskStatus> {
  try {
    return { python: await ensureFlaskVenv(), skip: false }
  } catch (error) {
    const reason =
      error instanceof Error ? (error as Error & { stderr?: string }).stderr || error.message : String(error)
    if (process.env.CI === 'true') {
      beforeAll(() => {
        throw new Error(`Python with Flask-JWT-Extended is required in CI: ${reason}`)
      })
      return { python: PYTHON, skip: false }
    }
    console.warn(
      `\n⚠ Python 3 with the packages of test/flask/requirements.txt is unavailable (${reason}): skipping the Flask-JWT-Extended tests\n`,
    )
    return { python: PYTHON, skip: true }
  }
}

// `node --import tsx test/flask/venv.ts`: make the environment now (.ci/run does, to fail early).
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const python = await ensureFlaskVenv()
  const { stdout } = await run(python, ['-m', 'pip', 'freeze', '--disable-pip-version-check'])
  console.log(`${python}\n${stdout.trim()}`)
}
