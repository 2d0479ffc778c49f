/**
 * Authorization-server metadata: OpenID Connect discovery (`<issuer>/.well-known/openid-configuration`)
 * and, when a provider publishes none, RFC 8414 (`/.well-known/oauth-authorization-server<path>`).
 * Only what verifying tokens needs is read: `issuer`, which must be the configured issuer exactly
 * (OpenID Connect Discovery §4.3, RFC 8414 §3.3: a document for another issuer is refused), and
 * `jwks_uri`.
 */

/** How metadata is fetched. */
export interface MetadataFetchOptions {
  /** Abort after this many milliseconds (the whole response, body included). */
  timeoutMs: number
  /** The fetch to use (default: the global one). */
  fetch?: typeof fetch
  headers?: Record<string, string>
}

/** Hosts on which plain `http` is allowed (tests, local development). */
export function isLoopback(url: URL): boolean {
  const host = url.hostname
  return host === 'localhost' || host === '[::1]' || /^127(\.\d{1,3}){3}$/.test(host)
}

/** `https:`, or `http:` on a loopback host; anything else is refused. */
export function isSecureEnough(url: URL): boolean {
  return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopback(url))
}

/** The metadata locations of an issuer, in the order they are tried. */
export function metadataUrls(issuer: string): URL[] {
  const url = new URL(issuer)
  const path = url.pathname.replace(/\/$/, '')
  return [
    new URL(`${url.origin}${path}/.well-known/openid-configuration`),
    new URL(`${url.origin}/.well-known/oauth-authorization-server${path}`),
  ]
}

async function fetchJson(
  url: URL,
  options: MetadataFetchOptions,
): Promise<{ status: number; body: unknown }> {
  const response = await (options.fetch ?? fetch)(url, {
    method: 'GET',
    redirect: 'manual',
    headers: { accept: 'application/json', ...options.headers },
    signal: AbortSignal.timeout(options.timeoutMs),
  })
  if (response.status !== 200) {
    await response.body?.cancel()
    return { status: response.status, body: undefined }
  }
  return { status: 200, body: await response.json() }
}

/**
 * The `jwks_uri` of an issuer, from its metadata. Rejects when no metadata answers, when the document
 * names another issuer, or when its `jwks_uri` is missing or not https (plain http only on loopback).
 */
export async function discoverJwksUri(issuer: string, options: MetadataFetchOptions): Promise<URL> {
  const tried: string[] = []
  for (const url of metadataUrls(issuer)) {
    const { status, body } = await fetchJson(url, options)
    tried.push(`${url.href} (${status})`)
    // Only a 404 sends us to the next location: any other answer is this provider's own.
    if (status === 404) continue
    if (status !== 200) break
    if (body === null || typeof body !== 'object' || Array.isArray(body))
      throw new Error(`metadata at ${url.href} is not a JSON object`)
    const metadata = body as Record<string, unknown>
    if (metadata.issuer !== issuer)
      throw new Error(
        `metadata at ${url.href} is for issuer ${JSON.stringify(metadata.issuer)}, not ${JSON.stringify(issuer)}`,
      )
    let jwksUri: URL
    try {
      jwksUri = new URL(metadata.jwks_uri as string)
    } catch {
      throw new Error(`metadata at ${url.href} has no valid jwks_uri`)
    }
    if (!isSecureEnough(jwksUri)) throw new Error(`jwks_uri ${jwksUri.href} is not https`)
    return jwksUri
  }
  throw new Error(`no authorization server metadata for ${issuer}: ${tried.join(', ')}`)
}
