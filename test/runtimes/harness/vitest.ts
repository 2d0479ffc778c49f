/**
 * The part of vitest's API the runtime cases use (`describe`, `it`, `it.each`, `beforeAll`,
 * `afterAll`, `expect`), for runtimes vitest does not run on. The runtime bundles (build.ts) resolve
 * `vitest` to this file, so the suites run unchanged; `expect` is vitest's own (@vitest/expect on
 * chai), so an assertion means the same on every runtime.
 *
 * Tests run one at a time, in the order declared; a failing `beforeAll` fails every test of its
 * `describe`. `runAll` returns one result per test, by full name.
 */
import {
  ASYMMETRIC_MATCHERS_OBJECT,
  chai,
  JestAsymmetricMatchers,
  JestChaiExpect,
  JestExtend,
  setState,
} from '@vitest/expect'

chai.use(JestExtend)
chai.use(JestChaiExpect)
chai.use(JestAsymmetricMatchers)

type Expect = typeof import('vitest').expect

/** vitest's `expect`, as vitest builds it, without the test-runner state it does not need here. */
export const expect = ((value: unknown, message?: string) => chai.expect(value, message)) as unknown as Expect
Object.assign(expect, chai.expect)
Object.assign(expect, (globalThis as Record<symbol, unknown>)[ASYMMETRIC_MATCHERS_OBJECT])
setState(
  {
    assertionCalls: 0,
    isExpectingAssertions: false,
    isExpectingAssertionsError: null,
    expectedAssertionsNumber: null,
    expectedAssertionsNumberErrorGen: null,
  },
  expect,
)

type Fn = () => unknown

interface Test {
  kind: 'test'
  name: string
  fn: Fn
  timeout: number
}

interface Suite {
  kind: 'suite'
  name: string
  beforeAll: Fn[]
  afterAll: Fn[]
  children: (Suite | Test)[]
}

/** One test's outcome. */
export interface CaseResult {
  /** Describe names and the test's name, joined by ' > '. */
  name: string
  ok: boolean
  error?: string
  ms: number
}

const DEFAULT_TIMEOUT = 20_000
const root: Suite = { kind: 'suite', name: '', beforeAll: [], afterAll: [], children: [] }
let current = root

export function describe(name: string, fn: () => void): void {
  const suite: Suite = { kind: 'suite', name, beforeAll: [], afterAll: [], children: [] }
  current.children.push(suite)
  const parent = current
  current = suite
  try {
    fn()
  } finally {
    current = parent
  }
}

/** printf-style names (`%s`, `%j`, `%d`, `%i`, `%%`) and `$key` for object cases, as vitest. */
function caseName(template: string, item: unknown): string {
  const args = Array.isArray(item) ? [...item] : [item]
  let name = template.replace(/%[sjdi%]/g, (spec) => {
    if (spec === '%%') return '%'
    const value = args.shift()
    if (spec === '%j') return JSON.stringify(value)
    if (spec === '%d' || spec === '%i') return String(Number(value))
    return typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value))
  })
  if (item !== null && typeof item === 'object' && !Array.isArray(item)) {
    name = name.replace(/\$([A-Za-z_]\w*)/g, (whole, key: string) =>
      key in item ? String((item as Record<string, unknown>)[key]) : whole,
    )
  }
  return name
}

function test(name: string, fn: Fn, timeout = DEFAULT_TIMEOUT): void {
  current.children.push({ kind: 'test', name, fn, timeout })
}

export const it = Object.assign(test, {
  each:
    <T>(cases: readonly T[]) =>
    (name: string, fn: (...args: never[]) => unknown, timeout?: number): void => {
      for (const item of cases) {
        const args = (Array.isArray(item) ? item : [item]) as never[]
        test(caseName(name, item), () => fn(...args), timeout)
      }
    },
})

export function beforeAll(fn: Fn): void {
  current.beforeAll.push(fn)
}

export function afterAll(fn: Fn): void {
  current.afterAll.push(fn)
}

function message(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`.slice(0, 2_000)
  return String(error)
}

async function withTimeout(fn: Fn, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    await Promise.race([
      Promise.resolve().then(fn),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms)
      }),
    ])
  } finally {
    clearTimeout(timer)
  }
}

function testsOf(suite: Suite, prefix: string): string[] {
  return suite.children.flatMap((child) =>
    child.kind === 'test' ? [prefix + child.name] : testsOf(child, `${prefix + child.name} > `),
  )
}

async function runSuite(suite: Suite, prefix: string, out: CaseResult[]): Promise<void> {
  try {
    for (const hook of suite.beforeAll) await withTimeout(hook, 60_000)
  } catch (error) {
    for (const name of testsOf(suite, prefix))
      out.push({ name, ok: false, error: `beforeAll: ${message(error)}`, ms: 0 })
    return
  }
  for (const child of suite.children) {
    if (child.kind === 'suite') {
      await runSuite(child, `${prefix + child.name} > `, out)
      continue
    }
    const started = Date.now()
    try {
      await withTimeout(child.fn, child.timeout)
      out.push({ name: prefix + child.name, ok: true, ms: Date.now() - started })
    } catch (error) {
      out.push({ name: prefix + child.name, ok: false, error: message(error), ms: Date.now() - started })
    }
  }
  for (const hook of suite.afterAll) {
    try {
      await withTimeout(hook, 60_000)
    } catch (error) {
      out.push({ name: `${prefix}afterAll`, ok: false, error: message(error), ms: 0 })
    }
  }
}

/** Runs every test declared so far, in order, and forgets them. */
export async function runAll(): Promise<CaseResult[]> {
  const out: CaseResult[] = []
  await runSuite(root, '', out)
  root.children = []
  // The same name twice would hide a case from the comparison with Node: number repeats.
  const seen = new Map<string, number>()
  for (const result of out) {
    const n = (seen.get(result.name) ?? 0) + 1
    seen.set(result.name, n)
    if (n > 1) result.name = `${result.name} #${n}`
  }
  return out
}
