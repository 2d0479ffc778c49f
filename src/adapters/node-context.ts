/**
 * `req.auth` on Node requests, for the adapters that run on Node's own request objects (Express, and
 * NestJS on its Express platform). Node-only (it knows `http.IncomingMessage`), so it lives apart from
 * http.ts, which the Hono and fetch adapters load on every runtime.
 */
import { IncomingMessage } from 'node:http'

/**
 * Where the Node adapters (Express, NestJS on Express) put the context: `req.auth`, kept out of the
 * request object itself.
 *
 * Express sets each request's prototype to its app's (`Object.setPrototypeOf(req, app.request)`),
 * which gives every request object a hidden class of its own. Adding a property to such an object
 * makes V8 build yet another hidden class, every time: 1–2.5 µs per request, more than all the rest
 * of the adapter (docs/benchmarks.md). So `auth` is an accessor on the request prototype Express
 * builds on `http.IncomingMessage.prototype` (which every app's `app.request` inherits, sub-apps
 * included), and the context of each request lives in a WeakMap, gone with the request.
 *
 * Where that prototype is not there (a plain Node server) or is frozen, where something else already
 * defines `auth` on it or on the app's prototype, or where the request carries an own `auth` (express-jwt
 * sets one), the context is an own property, as before. Reading `req.auth` is the same either way.
 */
const contexts = new WeakMap<object, unknown>()
const authAccessor: PropertyDescriptor = {
  configurable: true,
  enumerable: false,
  get(this: object): unknown {
    return contexts.get(this)
  },
  set(this: object, value: unknown) {
    contexts.set(this, value)
  },
}
/** Whether requests of an app prototype (`app.request`) read `auth` through the accessor. */
const accessorFor = new WeakMap<object, boolean>()

function usesAccessor(appRequest: object | null): boolean {
  if (appRequest === null) return false
  let known = accessorFor.get(appRequest)
  if (known === undefined) {
    known = installAccessor(appRequest)
    accessorFor.set(appRequest, known)
  }
  return known
}

/** Finds Express's request prototype above `appRequest` and gives it the `auth` accessor, if it may. */
function installAccessor(appRequest: object): boolean {
  for (let p: object | null = appRequest; p !== null && p !== IncomingMessage.prototype; ) {
    const own = Object.getOwnPropertyDescriptor(p, 'auth')
    const parent: object | null = Object.getPrototypeOf(p)
    if (parent === IncomingMessage.prototype) {
      if (own !== undefined) return own.get === authAccessor.get
      try {
        Object.defineProperty(p, 'auth', authAccessor)
      } catch {
        return false // a frozen prototype
      }
      return true
    }
    if (own !== undefined) return false // the app defines `auth` itself
    p = parent
  }
  return false
}

/** Sets `req.auth` to a guard's context (see above). */
export function setRequestContext(req: object, context: unknown): void {
  if (usesAccessor(Object.getPrototypeOf(req)) && !Object.hasOwn(req, 'auth')) contexts.set(req, context)
  else (req as { auth?: unknown }).auth = context
}
