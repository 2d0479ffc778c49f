/**
 * The browser demo page of the reference server: `/` (index.html), `/demo/app.js` and
 * `/demo/style.css`, read once from the `public` folder next to this module. The page talks to the
 * API in cookie mode with CSRF; it has no inline script or style, so it is served under a strict
 * Content-Security-Policy.
 *
 * Under `tsx` the folder is `src/server/public`. After `tsc` the build copies it to
 * `dist/server/public` (tsc copies no other files); a `dist` without it falls back to
 * `src/server/public` when the sources sit beside it.
 */
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

/** The Content-Security-Policy of the demo page: same-origin only, nothing inline, no framing. */
export const DEMO_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  // Forms are handled by the script; a native submission (script not loaded) goes nowhere.
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')

/** The files of the page and the URL each is served at. */
const ASSETS = [
  { url: '/', file: 'index.html', type: 'text/html; charset=utf-8' },
  { url: '/demo/app.js', file: 'app.js', type: 'text/javascript; charset=utf-8' },
  { url: '/demo/style.css', file: 'style.css', type: 'text/css; charset=utf-8' },
] as const

/** Options of {@link registerDemoPage}. */
export interface DemoPageOptions {
  /** Folder holding index.html, app.js and style.css. Default: see {@link demoAssetsDir}. */
  dir?: string
}

/**
 * The folder of the page's files: `public` next to this module (src/server/public, or
 * dist/server/public once the build copied it), else `src/server/public` of the package root.
 */
export function demoAssetsDir(): string {
  const candidates = [
    new URL('./public/', import.meta.url),
    new URL('../../src/server/public/', import.meta.url),
  ]
  for (const candidate of candidates) {
    const dir = fileURLToPath(candidate)
    if (existsSync(join(dir, 'index.html'))) return dir
  }
  throw new Error(
    `demo page files not found in ${candidates.map((c) => fileURLToPath(c)).join(' or ')}: ` +
      'copy src/server/public to dist/server/public after tsc',
  )
}

/**
 * Registers the demo page's routes on `app` (call before `listen` or `ready`). The files are read
 * once, here: a missing file fails at start-up, not at the first visit.
 *
 * @example
 * ```ts
 * const app = await buildServer(config)
 * await registerDemoPage(app)
 * await app.listen({ port: 3000 })
 * ```
 */
export async function registerDemoPage(app: FastifyInstance, options: DemoPageOptions = {}): Promise<void> {
  const dir = options.dir ?? demoAssetsDir()
  for (const asset of ASSETS) {
    const body = await readFile(join(dir, asset.file))
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`
    app.get(asset.url, { schema: { hide: true } }, async (request: FastifyRequest, reply: FastifyReply) => {
      reply
        .header('content-type', asset.type)
        .header('cache-control', 'no-cache')
        .header('etag', etag)
        .header('content-security-policy', DEMO_CSP)
        .header('cross-origin-opener-policy', 'same-origin')
        .header('cross-origin-resource-policy', 'same-origin')
      if (request.headers['if-none-match'] === etag) return reply.code(304).send()
      return reply.send(body)
    })
  }
}
