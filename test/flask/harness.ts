/**
 * The differential harness: cases grouped by app (one Flask app and its twins per configuration),
 * each case's tokens made (by Flask-JWT-Extended itself, or crafted), the same request sent to the
 * oracle and to both twins, and the replies compared. A case that meets a listed divergence asserts
 * the difference instead.
 */
import { expect } from 'vitest'
import type { DivergenceId } from './divergences.js'
import { type Cookie, type Reply, type Req, send } from './exchange.js'
import type { Oracle } from './oracle.js'
import type { AppSpec, Json } from './spec.js'
import { type Craft, craft } from './tokens.js'
import type { TwinServer } from './twin.js'

/** Made by the app under test (Flask-JWT-Extended's create_access_token / create_refresh_token). */
export interface Mint {
  mint: {
    identity: Json
    type?: 'access' | 'refresh'
    fresh?: boolean | number
    expires?: number | false
    claims?: Record<string, unknown>
    headers?: Record<string, unknown>
  }
}
/** How a case's token is made: minted by the oracle app, crafted by the test, or given as text. */
export type TokenRecipe = Mint | { craft: Craft } | { raw: string }

/** What a reply must be (a partial reply, or a check). */
export type Expectation = Partial<Reply> | ((reply: Reply) => void)

/** One differential case. */
export interface Case {
  area: string
  name: string
  /** The app (default: the file's base app). */
  app?: AppSpec
  /** Tokens by name, made before the request. */
  tokens?: Record<string, TokenRecipe>
  request: (tokens: Record<string, string>) => Req
  /** Expected of all three replies (besides being equal), to keep cases honest. */
  expect?: Expectation
  /** A listed difference: the replies differ, and latchkey's is `latchkey`. */
  divergence?: { id: DivergenceId; latchkey: Expectation; flask?: Expectation }
}

/** Cookie expiry, the standing `cookie-expiry` divergence: Werkzeug's Expires beside Max-Age. */
function normalizeCookie(cookie: Cookie, side: 'flask' | 'latchkey', problems: string[]): Cookie {
  const attrs = { ...cookie.attrs }
  const maxAge = attrs['max-age']
  const expires = attrs.expires
  if (side === 'flask') {
    if (typeof maxAge === 'string' && typeof expires === 'string') {
      // Werkzeug: Expires = now + Max-Age.
      const drift = Date.parse(expires) / 1000 - (Date.now() / 1000 + Number(maxAge))
      if (Math.abs(drift) > 10)
        problems.push(`${cookie.name}: Expires ${expires} is not now + Max-Age ${maxAge}`)
      delete attrs.expires
    } else if (maxAge === undefined && expires === 'Thu, 01 Jan 1970 00:00:00 GMT') {
      attrs['max-age'] = '0'
    }
  } else if (maxAge !== '0' && expires !== undefined) {
    problems.push(`${cookie.name}: latchkey sent Expires beside Max-Age ${String(maxAge)}`)
  }
  return { ...cookie, attrs }
}

/**
 * The differences between two replies (empty when they are the same). `flask` is the oracle's
 * reply, its cookies read through the `cookie-expiry` divergence; two twins' replies compare as
 * they are (`asIs`).
 */
export function differences(flask: Reply, ours: Reply, asIs = false): string[] {
  const out: string[] = []
  if (flask.status !== ours.status) out.push(`status ${flask.status} ≠ ${ours.status}`)
  // A 500 is a crash on both sides; its body is each framework's page.
  if (
    !(flask.status === 500 && ours.status === 500) &&
    JSON.stringify(sorted(flask.body)) !== JSON.stringify(sorted(ours.body))
  )
    out.push(`body ${JSON.stringify(flask.body)} ≠ ${JSON.stringify(ours.body)}`)
  const f = asIs ? flask.cookies : flask.cookies.map((c) => normalizeCookie(c, 'flask', out))
  const o = asIs ? ours.cookies : ours.cookies.map((c) => normalizeCookie(c, 'latchkey', out))
  if (JSON.stringify(f.map(sortedCookie)) !== JSON.stringify(o.map(sortedCookie)))
    out.push(`cookies ${JSON.stringify(flask.cookies)} ≠ ${JSON.stringify(ours.cookies)}`)
  return out
}

function sortedCookie(c: Cookie): Json {
  return { name: c.name, value: c.value, attrs: sorted(c.attrs) }
}

function sorted(value: Json): Json {
  if (Array.isArray(value)) return value.map(sorted)
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sorted(value[k])]),
    )
  return value
}

function check(reply: Reply, expectation: Expectation | undefined, who: string): void {
  if (!expectation) return
  if (typeof expectation === 'function') expectation(reply)
  else expect(reply, who).toMatchObject(expectation)
}

/** Runs the cases of one test file against a running oracle and twins. */
export class Differential {
  private readonly apps = new Map<string, Promise<string>>()
  /** Cases run, by area, and how many met each divergence (for the report). */
  readonly counts = new Map<string, number>()
  readonly divergencesMet = new Map<DivergenceId, number>()

  constructor(
    private readonly oracle: Oracle,
    private readonly twins: Record<'express' | 'fetch', TwinServer>,
    private readonly base: AppSpec,
  ) {}

  /** The oracle app of a spec (and its twins), made once. */
  app(spec: AppSpec): Promise<string> {
    const key = JSON.stringify(spec)
    let id = this.apps.get(key)
    if (!id) {
      id = this.oracle.createApp(spec).then((appId) => {
        this.twins.express.add(appId, spec)
        this.twins.fetch.add(appId, spec)
        return appId
      })
      this.apps.set(key, id)
    }
    return id
  }

  private async token(recipe: TokenRecipe, app: string): Promise<string> {
    if ('raw' in recipe) return recipe.raw
    if ('craft' in recipe) return craft(recipe.craft)
    const reply = await send(this.oracle.port, { method: 'POST', path: '/tokens', json: recipe.mint }, app)
    if (reply.status !== 200)
      throw new Error(
        `the oracle could not mint ${JSON.stringify(recipe.mint)}: ${JSON.stringify(reply.body)}`,
      )
    return reply.body.token as string
  }

  /** Runs one case: the same request to all three, then the comparison (or the divergence's checks). */
  async run(c: Case): Promise<{ flask: Reply; express: Reply; fetch: Reply }> {
    const app = await this.app(c.app ?? this.base)
    const tokens: Record<string, string> = {}
    for (const [name, recipe] of Object.entries(c.tokens ?? {})) tokens[name] = await this.token(recipe, app)
    const req = c.request(tokens)
    const [flask, express, fetch] = await Promise.all([
      send(this.oracle.port, req, app),
      send(this.twins.express.port, req, app),
      send(this.twins.fetch.port, req, app),
    ])
    this.counts.set(c.area, (this.counts.get(c.area) ?? 0) + 1)
    // Every cookie is read through the cookie-expiry divergence (see differences).
    if (flask.cookies.length > 0)
      this.divergencesMet.set(
        'cookie-expiry',
        (this.divergencesMet.get('cookie-expiry') ?? 0) + flask.cookies.length,
      )
    // Both adapters answer alike: the behaviour is the core's.
    expect(differences(express, fetch, true), 'express and fetch twins differ').toEqual([])
    if (c.divergence) {
      this.divergencesMet.set(c.divergence.id, (this.divergencesMet.get(c.divergence.id) ?? 0) + 1)
      expect(differences(flask, express), `divergence ${c.divergence.id} no longer differs`).not.toEqual([])
      check(express, c.divergence.latchkey, 'latchkey')
      check(flask, c.divergence.flask, 'flask')
    } else {
      expect(differences(flask, express), `Flask ${JSON.stringify(flask)}`).toEqual([])
      check(flask, c.expect, 'flask')
    }
    return { flask, express, fetch }
  }
}
