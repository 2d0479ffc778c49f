/**
 * The error texts of Python's json module, as refused tokens are worded under the flask-jwt-extended
 * preset (`Invalid header string: Expecting value: line 1 column 1 (char 0)`): src/core/flask/pyjson.ts
 * against CPython's `json.loads(bytes)` itself, over thousands of broken documents.
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { pyJsonLoads } from '../../src/core/flask/pyjson.js'
import { requireFlask } from './venv.js'

const flask = await requireFlask()
const run = promisify(execFile)

/** Python's verdict on each document: "OK" or "ERR <message>", in one process. */
async function python(docs: Uint8Array[]): Promise<string[]> {
  const script = [
    'import json, sys',
    'for line in sys.stdin:',
    '    try:',
    '        json.loads(bytes.fromhex(line.strip())); print("OK")',
    '    except (ValueError, RecursionError) as e:',
    '        print("ERR " + str(e).replace("\\n", " "))',
  ].join('\n')
  const child = run(flask.python, ['-c', script], { maxBuffer: 64 * 1024 * 1024 })
  child.child.stdin?.end(`${docs.map((d) => Buffer.from(d).toString('hex')).join('\n')}\n`)
  return (await child).stdout.split('\n').slice(0, docs.length)
}

const ours = (doc: Uint8Array) => {
  const r = pyJsonLoads(doc)
  return r.ok ? 'OK' : `ERR ${r.error}`
}

/** A JSON text, then broken: cut, a character dropped, swapped in or repeated. */
const broken = fc
  .tuple(
    fc.oneof(
      fc.json(),
      fc.constantFrom(
        '{"alg":"HS256","typ":"JWT"}',
        '{"sub":"alice","exp":1700000000}',
        '[1, 2.5e3, -0, "\\u00e9\\ud83d\\ude00"]',
      ),
    ),
    fc.array(
      fc.tuple(
        fc.constantFrom('cut', 'drop', 'insert', 'double'),
        fc.nat(),
        fc.constantFrom(...'{}[]",:\\ \t\n-+.eE0123456789truefalsnNaIiy\u0001\u00e9'.split('')),
      ),
      { maxLength: 3 },
    ),
  )
  .map(([text, edits]) => {
    let out = text
    for (const [op, at, ch] of edits) {
      const i = out.length === 0 ? 0 : at % out.length
      if (op === 'cut') out = out.slice(0, i)
      else if (op === 'drop') out = out.slice(0, i) + out.slice(i + 1)
      else if (op === 'insert') out = out.slice(0, i) + ch + out.slice(i)
      else out = out.slice(0, i) + out[i] + out.slice(i)
    }
    return new Uint8Array(Buffer.from(out, 'utf8'))
  })

/** Bytes that are not always UTF-8: a prefix of JSON, then anything. */
const bytes = fc
  .tuple(
    fc.constantFrom('', '{"a":"', '["', '"'),
    fc.uint8Array({ maxLength: 12 }),
    fc.constantFrom('', '"', '"}', '"]'),
  )
  .map(([a, b, c]) => new Uint8Array(Buffer.concat([Buffer.from(a), Buffer.from(b), Buffer.from(c)])))

describe.skipIf(flask.skip)("Python's json error texts", () => {
  it('match CPython on broken JSON and on bytes that are not UTF-8', async () => {
    const docs = [
      ...fc.sample(broken, { numRuns: 2500, seed: 14 }),
      ...fc.sample(bytes, { numRuns: 1500, seed: 41 }),
      ...[
        '',
        ' ',
        '\ufeff{}',
        'NaN',
        '-Infinity',
        '1e400',
        '123456789012345678901234567890',
        '{"a":1,"a":2}',
      ].map((s) => new Uint8Array(Buffer.from(s))),
      new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d]),
      new Uint8Array([0x22, 0xed, 0xa0, 0x80, 0x22]),
    ]
    const expected = await python(docs)
    const mismatches = docs
      .map((doc, i) => ({ doc: Buffer.from(doc).toString('latin1'), python: expected[i], ours: ours(doc) }))
      .filter((m) => m.python !== m.ours)
    expect(mismatches.slice(0, 5)).toEqual([])
    // The sample is not all valid or all broken: both verdicts occur, and many distinct texts.
    const verdicts = new Set(expected)
    expect(verdicts.has('OK')).toBe(true)
    expect(verdicts.size).toBeGreaterThan(100)
  })

  it('reads values as Python does (NaN, big integers, surrogates, duplicate keys)', () => {
    const read = (text: string) => pyJsonLoads(new Uint8Array(Buffer.from(text, 'latin1')))
    expect(read('{"a":NaN,"b":-Infinity}')).toMatchObject({ ok: true })
    expect((read('[123456789012345678901234567890]') as { value: unknown[] }).value[0]).toBe(
      123456789012345678901234567890n,
    )
    expect((read('{"a":1,"a":2}') as { value: { a: number } }).value.a).toBe(2)
    expect((read('{"__proto__":{"x":1}}') as { value: object }).value).toHaveProperty('__proto__')
    expect(({} as { x?: number }).x).toBeUndefined()
  })
})
