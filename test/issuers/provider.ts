/**
 * A real OpenID Connect provider in process (oidc-provider, the certified Node implementation),
 * configured to issue JWT access tokens (RFC 9068) for a resource indicator, behind a TCP proxy so a
 * test can take it down or make it hang without changing its issuer URL. Clients get tokens the way
 * they would: client credentials (optionally DPoP-bound) and authorization code with PKCE.
 *
 * Key rotation: `rotate(keys)` swaps in a provider with a new key set behind the same URL (state
 * such as grants is not needed across it: every test asks for fresh tokens).
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import * as jose from 'jose'
import { Provider } from 'oidc-provider'
import { type TcpProxy, tcpProxy } from '../helpers/tcp-proxy.js'

export const RESOURCE = 'https://api.example.com'
export const OTHER_RESOURCE = 'https://other-api.example.com'
export const SCOPES = 'read:orders write:orders admin'

/** A signing key of the provider: its private JWK (with kid and alg). */
export type ProviderKey = jose.JWK & { kid: string; alg: string }

/** A new ES256 or RS256 signing key. */
export async function newKey(alg: 'ES256' | 'RS256' = 'ES256', kid = randomUUID()): Promise<ProviderKey> {
  const { privateKey } = await jose.generateKeyPair(alg, { extractable: true, modulusLength: 2048 })
  return { ...(await jose.exportJWK(privateKey)), kid, alg, use: 'sig' }
}

/** A DPoP key pair of a client. */
export interface DpopKey {
  privateKey: CryptoKey
  publicJwk: jose.JWK
  jkt: string
}

export async function newDpopKey(): Promise<DpopKey> {
  const { privateKey, publicKey } = await jose.generateKeyPair('ES256', { extractable: true })
  const publicJwk = await jose.exportJWK(publicKey)
  return { privateKey, publicJwk, jkt: await jose.calculateJwkThumbprint(publicJwk) }
}

/** A DPoP proof for a request (RFC 9449 §4.2), with overrides for the tests that break it. */
export async function dpopProof(
  key: DpopKey,
  method: string,
  url: string,
  accessToken?: string,
  overrides: Record<string, unknown> = {},
): Promise<string> {
  const claims: Record<string, unknown> = { htm: method, htu: url, jti: randomUUID(), ...overrides }
  if (accessToken !== undefined && !('ath' in overrides))
    claims.ath = createHash('sha256').update(accessToken).digest('base64url')
  const jwt = new jose.SignJWT(claims).setProtectedHeader({
    alg: 'ES256',
    typ: 'dpop+jwt',
    jwk: key.publicJwk,
  })
  if (!('iat' in overrides)) jwt.setIssuedAt()
  return jwt.sign(key.privateKey)
}

export interface TokenOptions {
  scope?: string
  resource?: string
  /** Bind the token to this DPoP key. */
  dpop?: DpopKey
  client?: 'svc' | 'admin-client'
}

/** Users of the provider (accounts) and of the API. */
export const ACCOUNTS = ['alice', 'bob'] as const

/** A running provider. */
export interface TestProvider {
  /** The issuer identifier (`http://127.0.0.1:<proxy port>`). */
  issuer: string
  /** Requests it served, by path (`/.well-known/openid-configuration`, `/jwks`, ...). */
  served: Map<string, number>
  /** How many JWKS requests it served. */
  jwksFetches(): number
  keys(): ProviderKey[]
  /** A client-credentials access token. */
  clientCredentials(options?: TokenOptions): Promise<string>
  /** An access token for a user, by the authorization code flow with PKCE (the user logs in and consents). */
  authorizationCode(account: string, options?: TokenOptions): Promise<string>
  /** Replaces the signing keys (the first signs). */
  rotate(keys: ProviderKey[]): Promise<void>
  /** Cache-Control of the JWKS responses (none by default). */
  setJwksCacheControl(value: string | undefined): void
  /** The proxy in front: `stop()`, `start()`, `stall()`, `resume()`. */
  proxy: TcpProxy
  close(): Promise<void>
}

const CLIENT_SECRET = 'client-secret-client-secret-client-secret-0123'

function basic(client: string): string {
  return `Basic ${Buffer.from(`${client}:${CLIENT_SECRET}`).toString('base64')}`
}

/** Starts a provider with the given keys (default: one new ES256 key), `ttl` seconds per access token. */
export async function startProvider(
  options: { keys?: ProviderKey[]; ttl?: number } = {},
): Promise<TestProvider> {
  const server: Server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const target = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
  const proxy = await tcpProxy(target)
  const issuer = `http://127.0.0.1:${proxy.port}`
  let keys = options.keys ?? [await newKey()]
  const served = new Map<string, number>()
  let cacheControl: string | undefined

  const make = (signing: ProviderKey[]): Provider => {
    const provider = new Provider(issuer, {
      jwks: { keys: signing },
      clients: (['svc', 'admin-client', 'web'] as const).map((client_id) => ({
        client_id,
        client_secret: CLIENT_SECRET,
        grant_types: client_id === 'web' ? ['authorization_code'] : ['client_credentials'],
        response_types: client_id === 'web' ? ['code'] : [],
        redirect_uris: client_id === 'web' ? ['http://127.0.0.1/callback'] : [],
        id_token_signed_response_alg: signing[0]!.alg,
      })),
      scopes: ['openid', ...SCOPES.split(' ')],
      claims: { openid: ['sub'] },
      findAccount: (_ctx: unknown, sub: string) => ({ accountId: sub, claims: () => ({ sub }) }),
      interactions: {
        url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}`,
      },
      ttl: {
        ClientCredentials: options.ttl ?? 600,
        AccessToken: options.ttl ?? 600,
        IdToken: 600,
        AuthorizationCode: 60,
        Grant: 600,
        Interaction: 600,
        Session: 600,
      },
      features: {
        devInteractions: { enabled: false },
        clientCredentials: { enabled: true },
        dPoP: { enabled: true },
        resourceIndicators: {
          enabled: true,
          defaultResource: () => RESOURCE,
          useGrantedResource: () => true,
          getResourceServerInfo: (_ctx: unknown, resource: string) => ({
            scope: SCOPES,
            audience: resource,
            accessTokenFormat: 'jwt',
            accessTokenTTL: options.ttl ?? 600,
            jwt: { sign: { alg: signing[0]!.alg } },
          }),
        },
      },
    } as never)
    return provider
  }
  let provider = make(keys)

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0]!
    served.set(path, (served.get(path) ?? 0) + 1)
    if (path === '/jwks' && cacheControl !== undefined) {
      const setHeader = res.setHeader.bind(res)
      setHeader('cache-control', cacheControl)
      res.setHeader = (name, value) =>
        setHeader(name, name.toLowerCase() === 'cache-control' ? cacheControl! : value)
    }
    if (path.startsWith('/interaction/')) {
      interaction(provider, req, res).catch((err: unknown) => {
        res.statusCode = 500
        res.end(String(err))
      })
      return
    }
    provider.callback()(req, res)
  })

  async function token(body: Record<string, string>, client: string, dpop?: DpopKey): Promise<string> {
    const url = `${issuer}/token`
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: basic(client),
    }
    if (dpop) headers.dpop = await dpopProof(dpop, 'POST', url)
    const send = () => fetch(url, { method: 'POST', headers, body: new URLSearchParams(body) })
    // A pooled connection the proxy cut (a test took the provider down and back up) fails once.
    const response = await send().catch(send)
    const json = (await response.json()) as { access_token?: string; error_description?: string }
    if (!json.access_token) throw new Error(`token endpoint: ${response.status} ${JSON.stringify(json)}`)
    return json.access_token
  }

  return {
    issuer,
    served,
    proxy,
    jwksFetches: () => served.get('/jwks') ?? 0,
    keys: () => keys,
    clientCredentials: (o = {}) =>
      token(
        {
          grant_type: 'client_credentials',
          scope: o.scope ?? 'read:orders',
          resource: o.resource ?? RESOURCE,
        },
        o.client ?? 'svc',
        o.dpop,
      ),
    async authorizationCode(account, o = {}) {
      const jar = new Map<string, string>()
      const verifier = randomBytes(32).toString('base64url')
      const authorize = new URL(`${issuer}/auth`)
      authorize.search = new URLSearchParams({
        client_id: 'web',
        response_type: 'code',
        redirect_uri: 'http://127.0.0.1/callback',
        scope: `openid ${o.scope ?? 'read:orders'}`,
        resource: o.resource ?? RESOURCE,
        code_challenge: createHash('sha256').update(verifier).digest('base64url'),
        code_challenge_method: 'S256',
        state: randomUUID(),
        login_hint: account,
      }).toString()
      let next = authorize.href
      for (let hops = 0; hops < 10; hops++) {
        const response = await fetch(next, {
          redirect: 'manual',
          headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') },
        })
        for (const line of response.headers.getSetCookie()) {
          const [pair = ''] = line.split(';')
          const eq = pair.indexOf('=')
          jar.set(pair.slice(0, eq), pair.slice(eq + 1))
        }
        await response.body?.cancel()
        const location = response.headers.get('location')
        if (!location) throw new Error(`authorization: ${response.status} without a redirect`)
        const to = new URL(location, next)
        if (to.href.startsWith('http://127.0.0.1/callback')) {
          const code = to.searchParams.get('code')
          if (!code) throw new Error(`authorization: ${to.search}`)
          return token(
            {
              grant_type: 'authorization_code',
              code,
              redirect_uri: 'http://127.0.0.1/callback',
              code_verifier: verifier,
              resource: o.resource ?? RESOURCE,
            },
            'web',
            o.dpop,
          )
        }
        next = to.href
      }
      throw new Error('authorization: too many redirects')
    },
    async rotate(next) {
      keys = next
      provider = make(next)
    },
    setJwksCacheControl(value) {
      cacheControl = value
    },
    async close() {
      await proxy.stop()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/**
 * The app's side of an interaction: the user named by `login_hint` logs in, then consents to every
 * scope asked for the resource (what a login page and a consent page would do).
 */
async function interaction(provider: Provider, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const details = await provider.interactionDetails(req, res)
  const { prompt, params } = details as unknown as {
    prompt: { name: string; details: Record<string, unknown> }
    params: { login_hint?: string; client_id: string; scope: string; resource?: string }
  }
  if (prompt.name === 'login') {
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId: params.login_hint ?? 'alice' } },
      {
        mergeWithLastSubmission: false,
      },
    )
    return
  }
  const grant = new provider.Grant({ accountId: details.session!.accountId, clientId: params.client_id })
  const oidcScopes = prompt.details.missingOIDCScope as string[] | undefined
  grant.addOIDCScope((oidcScopes ?? ['openid']).join(' '))
  const missing = prompt.details.missingResourceScopes as Record<string, string[]> | undefined
  for (const [resource, scopes] of Object.entries(missing ?? {}))
    grant.addResourceScope(resource, scopes.join(' '))
  const grantId = await grant.save()
  await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true })
}
