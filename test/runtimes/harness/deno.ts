/** The cases on Deno: each app on Deno.serve. */
import { RESULTS_MARK, runCases } from './cases.js'

declare const Deno: {
  version: { deno: string }
  serve(
    options: { port: number; hostname: string; onListen?: () => void },
    handler: (request: Request) => Response | Promise<Response>,
  ): { addr: { port: number }; shutdown(): Promise<void> }
}

const outcome = await runCases(`deno ${Deno.version.deno}`, async (handler) => {
  const server = Deno.serve({ port: 0, hostname: '127.0.0.1', onListen() {} }, handler)
  return { url: `http://127.0.0.1:${server.addr.port}`, close: () => server.shutdown() }
})
console.log(RESULTS_MARK + JSON.stringify(outcome))
