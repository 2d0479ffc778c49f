// oidc-provider ships no types: the little of its API the tests use.
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http'

  export class Provider {
    constructor(issuer: string, configuration: unknown)
    callback(): (req: IncomingMessage, res: ServerResponse) => void
    interactionDetails(
      req: IncomingMessage,
      res: ServerResponse,
    ): Promise<{ uid: string; prompt: unknown; params: unknown; session?: { accountId: string } }>
    interactionFinished(
      req: IncomingMessage,
      res: ServerResponse,
      result: unknown,
      options?: { mergeWithLastSubmission?: boolean },
    ): Promise<void>
    Grant: new (init: {
      accountId: string
      clientId: string
    }) => {
      addOIDCScope(scope: string): void
      addResourceScope(resource: string, scope: string): void
      save(): Promise<string>
    }
  }
}
