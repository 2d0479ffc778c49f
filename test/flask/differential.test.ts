/**
 * The differential suite: every case sends the same request to a real Flask-JWT-Extended app (the
 * oracle, test/flask/oracle.py) and to its latchkey twin on two adapters, built from the same
 * settings through `fromFlaskConfig`; status, JSON body and every Set-Cookie attribute must match,
 * but for the listed divergences (divergences.ts), which are asserted as such.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FLASK_JWT_DEFAULTS } from '../../src/flask.js'
import { callbackCases } from './cases/callbacks.js'
import { BASE } from './cases/common.js'
import { configCases } from './cases/config.js'
import { csrfCases } from './cases/csrf.js'
import { guardCases } from './cases/guards.js'
import { headerCases } from './cases/headers.js'
import { helperCases } from './cases/helpers.js'
import { locationCases } from './cases/locations.js'
import { tokenCases } from './cases/tokens.js'
import { DIVERGENCES, type DivergenceId } from './divergences.js'
import { type Case, Differential } from './harness.js'
import { type Oracle, startOracle } from './oracle.js'
import { startTwins, type TwinServer } from './twin.js'
import { requireFlask } from './venv.js'

const flask = await requireFlask()
/** Divergences of token creation, asserted in interop.test.ts. */
const CREATION: ReadonlySet<DivergenceId> = new Set(['reserved-claims', 'extra-claims'])

const CASES: Case[] = [
  ...headerCases,
  ...tokenCases,
  ...locationCases,
  ...csrfCases,
  ...guardCases,
  ...callbackCases,
  ...helperCases,
  ...configCases,
]

describe.skipIf(flask.skip)('Flask-JWT-Extended 4.7.4 and latchkey answer alike', () => {
  let oracle: Oracle
  let twins: Record<'express' | 'fetch', TwinServer>
  let diff: Differential
  beforeAll(async () => {
    oracle = await startOracle(flask.python)
    twins = await startTwins()
    diff = new Differential(oracle, twins, BASE)
  })
  afterAll(async () => {
    await oracle?.close()
    await twins?.express.close()
    await twins?.fetch.close()
  })

  for (const area of new Set(CASES.map((c) => c.area))) {
    describe(area, () => {
      for (const c of CASES.filter((x) => x.area === area)) it(c.name, async () => void (await diff.run(c)))
    })
  }

  describe('the suite itself', () => {
    it('puts every Flask-JWT-Extended setting in some case', () => {
      const used = new Set(CASES.flatMap((c) => Object.keys((c.app ?? BASE).config)))
      expect(Object.keys(FLASK_JWT_DEFAULTS).filter((key) => !used.has(key))).toEqual([])
    })

    it('meets every divergence but those of token creation (interop.test.ts)', () => {
      const total = [...diff.counts.values()].reduce((a, b) => a + b, 0)
      console.log(`differential cases: ${total}`, Object.fromEntries(diff.counts))
      console.log('divergences met:', Object.fromEntries(diff.divergencesMet))
      expect(total).toBe(CASES.length)
      const unmet = (Object.keys(DIVERGENCES) as DivergenceId[]).filter(
        (id) => !CREATION.has(id) && !diff.divergencesMet.has(id),
      )
      expect(unmet).toEqual([])
    })
  })
})
