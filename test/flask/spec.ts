/**
 * What the oracle (Flask-JWT-Extended) and the twin (latchkey) are built from: the same
 * Flask-JWT-Extended settings and the same app callbacks, described as data.
 */
import type { FlaskConfig, FromFlaskConfigOptions } from '../../src/flask.js'

// biome-ignore lint/suspicious/noExplicitAny: JSON as the apps send it
export type Json = any

/** The app's callbacks, as data both sides turn into their loaders. */
export interface Features {
  /** user_lookup_loader / loadUser: the users by identity. */
  users?: Record<string, Json>
  /** token_in_blocklist_loader / a revocation store: revoked jtis. */
  blocklist?: string[]
  /** token_verification_loader / checkClaims: the claim that must have this value. */
  requireClaim?: [string, unknown]
  /** additional_claims_loader / additionalClaims. */
  additionalClaims?: Record<string, unknown>
  /** additional_headers_loader / additionalHeaders. */
  additionalHeaders?: Record<string, unknown>
  /** decode_key_loader + encode_key_loader / resolveKey + signingKey: secrets by kid. */
  keysByKid?: Record<string, string>
  /** ... and the kid of each identity's key. */
  kidByIdentity?: Record<string, string>
  /** user_identity_loader / identify: tokens made for user objects, identified by this field. */
  identityOf?: string
  /** Every error loader answers with its own body (expired_token_loader and the rest). */
  customErrors?: boolean
  /** latchkey only: options of fromFlaskConfig. */
  fromFlask?: FromFlaskConfigOptions
}

/** One app: Flask-JWT-Extended settings and callbacks. */
export interface AppSpec {
  config: FlaskConfig
  features?: Features
}
