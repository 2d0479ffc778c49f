/**
 * The cases on workerd (Cloudflare Workers' runtime), with the `nodejs_compat` flag: run by
 * `workerd test`, which calls the `test` handler below. A Worker listens on no socket the cases
 * could reach, so each app is a host name this Worker answers for, reached through a service
 * binding to itself (`SELF`): every request goes through workerd's own request handling, and the
 * cases needing a raw socket are not generated.
 */
import { type Handler, RESULTS_MARK, runCases } from './cases.js'

interface Env {
  SELF: { fetch(request: Request): Promise<Response> }
}

const apps = new Map<string, Handler>()
let next = 0

export default {
  async fetch(request: Request): Promise<Response> {
    const app = apps.get(new URL(request.url).host)
    if (!app) return new Response('no such app', { status: 404 })
    try {
      return await app(request)
    } catch {
      // What the edge answers for a Worker that throws (error 1101); a service binding would hand
      // the exception itself to the caller instead.
      return new Response('Worker threw exception', { status: 500 })
    }
  },
  async test(_controller: unknown, env: Env): Promise<void> {
    const outcome = await runCases(
      'workerd',
      async (handler) => {
        const host = `app-${++next}.conformance.test`
        apps.set(host, handler)
        return {
          url: `http://${host}`,
          fetch: (request) => env.SELF.fetch(request),
          close: async () => void apps.delete(host),
        }
      },
      { rawSockets: false },
    )
    console.log(RESULTS_MARK + JSON.stringify(outcome))
  },
}
