/**
 * The server's answers on the wire: every JSON body ends with a newline (so curl prints one answer
 * per line) with a Content-Length that counts it, and the errors Node or Fastify answer before any
 * route runs (oversized headers, a malformed request, a URL that does not decode, a request that
 * arrives too slowly) are `{msg, code}` like every other error.
 */
import { createServer } from 'node:http'
import { join } from 'node:path'
import Fastify from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { clientErrorHandler } from '../../src/server/http-shape.js'
import { type RawReply, rawHttp } from '../helpers/raw-http.js'
import { fresh, type Reply, startServer, type TestServer } from './harness.js'
import { tempDir } from './helpers.js'

const folder = tempDir('latchkey-wire-')
let server: TestServer
let port: number

beforeAll(async () => {
  server = await startServer(
    { databaseUrl: `file:${join(folder.dir, 'latchkey.db')}`, dataDir: folder.dir, metrics: 'true' },
    { cwd: folder.dir },
  )
  port = Number(new URL(server.base).port)
})
afterAll(async () => {
  await server?.close()
  folder.remove()
})

/** A JSON answer: one line of JSON, then exactly one newline, all of it counted by Content-Length. */
function expectJsonLine(reply: Reply<unknown>, what: string): void {
  expect(reply.headers.get('content-type'), what).toMatch(/^application\/json/)
  expect(reply.text.endsWith('}\n'), `${what}: ${JSON.stringify(reply.text.slice(-20))}`).toBe(true)
  expect(reply.text.indexOf('\n'), what).toBe(reply.text.length - 1)
  expect(Number(reply.headers.get('content-length')), what).toBe(Buffer.byteLength(reply.text))
}

/** The same for a raw reply, which must also be an error of the server's own shape. */
function expectErrorLine(reply: RawReply, status: number, code: string): void {
  expect(reply.status).toBe(status)
  expect(reply.head).toMatch(/\r\ncontent-type: application\/json; charset=utf-8\r\n/i)
  expect(reply.body.endsWith('}\n')).toBe(true)
  expect(JSON.parse(reply.body)).toEqual({ msg: expect.any(String), code })
  const length = /\r\ncontent-length: (\d+)/i.exec(reply.head)?.[1]
  expect(Number(length)).toBe(Buffer.byteLength(reply.body))
  expect(reply.head).toMatch(/\r\nx-content-type-options: nosniff/i)
}

const get = (path: string, headers: string[] = []) =>
  rawHttp(port, [`GET ${path} HTTP/1.1`, 'Host: x', 'Connection: close', ...headers, '', ''].join('\r\n'))

describe('JSON bodies', () => {
  it('end with a newline: answers, every kind of error, and the OpenAPI document', async () => {
    const { client } = server
    const { email } = fresh('wire')
    const signup = await client.signup(email, 'correct horse battery')
    expect(signup.status).toBe(202)
    expectJsonLine(signup, 'signup')
    const login = await client.login(email, 'correct horse battery')
    expectJsonLine(login, 'login (a response schema)')
    expectJsonLine(await client.get('/auth/me', { token: login.body.access_token }), 'me')
    expectJsonLine(await client.get('/healthz'), 'healthz')
    expectJsonLine(await client.get('/docs/json'), 'OpenAPI')
    const errors: [Promise<Reply>, number, string][] = [
      [client.get('/auth/me'), 401, 'TOKEN_MISSING'],
      [client.get('/nowhere'), 404, 'NOT_FOUND'],
      [client.post('/auth/login', { email }), 400, 'VALIDATION_FAILED'],
      [client.request('POST', '/auth/login', { body: '{"email":' }), 400, 'INVALID_JSON'],
      [
        client.request('POST', '/auth/login', { body: 'x', contentType: 'text/html' }),
        415,
        'UNSUPPORTED_MEDIA_TYPE',
      ],
    ]
    for (const [pending, status, code] of errors) {
      const reply = await pending
      expect(reply.status, code).toBe(status)
      expect(reply.body, code).toMatchObject({ code })
      expectJsonLine(reply, code)
    }
  })

  it('nothing else changes: HTML, JavaScript and Prometheus text are served as they are', async () => {
    for (const path of ['/', '/demo/app.js', '/metrics']) {
      const response = await fetch(server.base + path)
      const text = await response.text()
      expect(response.status, path).toBe(200)
      expect(text.endsWith('\n\n'), path).toBe(false)
      expect(Number(response.headers.get('content-length') ?? Buffer.byteLength(text)), path).toBe(
        Buffer.byteLength(text),
      )
    }
  })
})

describe('errors answered before any route', () => {
  it('headers over the limit: 431 HEADERS_TOO_LARGE', async () => {
    expectErrorLine(
      await get('/auth/me', [`Authorization: Bearer ${'a'.repeat(64 * 1024)}`]),
      431,
      'HEADERS_TOO_LARGE',
    )
    expectErrorLine(await get(`/auth/me?${'q'.repeat(20_000)}`), 431, 'HEADERS_TOO_LARGE')
  })

  it('a request Node cannot parse: 400 BAD_REQUEST', async () => {
    expectErrorLine(await rawHttp(port, 'NOT HTTP AT ALL\r\n\r\n'), 400, 'BAD_REQUEST')
    expectErrorLine(
      await rawHttp(port, 'GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n'),
      400,
      'BAD_REQUEST',
    )
  })

  it('a URL that does not decode: 400 BAD_REQUEST, without echoing it', async () => {
    for (const path of ['/%zz', '/auth/%E0%A4%A', '/docs/static/%']) {
      const reply = await get(path)
      expectErrorLine(reply, 400, 'BAD_REQUEST')
      expect(reply.body).not.toContain('%')
      expect(reply.head).toMatch(/\r\nx-request-id: \S+/i)
    }
  })

  it('the server keeps serving afterwards', async () => {
    expect((await server.client.get('/healthz')).status).toBe(200)
  })

  it('a request that arrives too slowly: 408 REQUEST_TIMEOUT', async () => {
    // Node's request timeout with a short check interval, on a Fastify app with the server's handler.
    const app = Fastify({
      clientErrorHandler,
      serverFactory: (handler) =>
        createServer({ requestTimeout: 300, headersTimeout: 300, connectionsCheckingInterval: 50 }, handler),
    })
    app.get('/', async () => ({ ok: true }))
    await app.listen({ host: '127.0.0.1', port: 0 })
    try {
      const address = app.server.address()
      if (address === null || typeof address === 'string') throw new Error('no port')
      // Headers never finished: Node gives up after requestTimeout.
      const reply = await rawHttp(address.port, 'GET / HTTP/1.1\r\nHost: x\r\n', 5_000)
      expectErrorLine(reply, 408, 'REQUEST_TIMEOUT')
    } finally {
      await app.close()
    }
  })
})
