/** The cases on Node (the baseline the other runtimes are compared with): node:http, @hono/node-server. */
import { createServer } from 'node:http'
import { getRequestListener } from '@hono/node-server'
import { listen } from '../../conformance/suite.js'
import { RESULTS_MARK, runCases } from './cases.js'

const outcome = await runCases('node', async (handler) => listen(createServer(getRequestListener(handler))))
console.log(RESULTS_MARK + JSON.stringify(outcome))
