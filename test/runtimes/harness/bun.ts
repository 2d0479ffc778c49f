/** The cases on Bun: each app on Bun.serve. */
import { RESULTS_MARK, runCases } from './cases.js'

declare const Bun: {
  version: string
  serve(options: { port: number; hostname: string; fetch(request: Request): Response | Promise<Response> }): {
    port: number
    stop(closeActiveConnections?: boolean): Promise<void> | void
  }
}

const outcome = await runCases(`bun ${Bun.version}`, async (handler) => {
  const server = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: handler })
  return { url: `http://127.0.0.1:${server.port}`, close: async () => void (await server.stop(true)) }
})
console.log(RESULTS_MARK + JSON.stringify(outcome))
