/**
 * Express 4, which the adapter supports (peer range `^4.21.0 || ^5.0.0`), installed as the dev
 * dependency `express4`. Its types are Express 5's here; at run time the middleware contract the
 * adapter relies on (`(req, res, next)`, `res.setHeader`, `next(error)`) is the same.
 */
import { createRequire } from 'node:module'
import express4 from 'express4'
import { expect, it } from 'vitest'
import { type ExpressModule, startExpress } from './express-app.js'
import { runConformance } from './suite.js'

it('the express4 dependency is Express 4', () => {
  const { version } = createRequire(import.meta.url)('express4/package.json') as { version: string }
  expect(version).toMatch(/^4\./)
})

runConformance('express 4', (auth) => startExpress(express4 as unknown as ExpressModule, auth))
