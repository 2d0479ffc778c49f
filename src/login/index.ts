/**
 * `latchkey/login`: the reference server's login API as a piece of your app. `createLoginApi` builds
 * the routes (signup, login, refresh, fresh login, me, logout, logout everywhere, password change and
 * reset, email verification, sessions, account deletion) over your stores and auth object; mount them
 * with {@link fetchHandler} (Hono, Next.js, Bun, Deno, workers), `latchkey/login/fastify` or
 * `latchkey/login/express`. Also here: the argon2id {@link PasswordHasher} and the {@link LoginThrottle},
 * for an app that checks passwords itself.
 *
 * Storage: `latchkey/login/kysely` (SQLite or PostgreSQL, with migrations), {@link MemoryLoginStore}
 * (tests), or your own {@link UserStore}. Mail: `latchkey/login/smtp`, or {@link LogMailer}.
 */
export {
  createLoginApi,
  type LoginApi,
  type LoginApiOptions,
  type LoginRoute,
  type LoginStores,
  loginAuthOptions,
  mergeHeaders,
} from './api.js'
export { type AttemptCounter, attemptKey, MemoryAttemptCounter, type WindowCount } from './counters.js'
export { emailProblem, MAX_EMAIL_LENGTH, normalizeEmail } from './email.js'
export {
  invalidCredentials,
  LoginError,
  type LoginErrorCode,
  type LoginLogger,
  orUnavailable,
  serviceUnavailable,
  silentLogger,
  tooManyAttempts,
  validationFailed,
} from './errors.js'
export { type FetchHandlerOptions, type FetchRequestInfo, fetchHandler } from './fetch.js'
export {
  isJson,
  type LoginRequest,
  type LoginResponse,
  MAX_BODY_BYTES,
  mediaType,
  parseBody,
  type RequestBody,
  readLimited,
} from './http.js'
export { hashLinkToken, type LinkOptions, newLinkToken } from './links.js'
export {
  defaultTemplates,
  escapeHtml,
  type LinkTemplateInput,
  LogMailer,
  type Mailer,
  type MailKind,
  type MailMessage,
  type MailTemplates,
  type RenderedMail,
  type TemplateInput,
} from './mail.js'
export { MemoryLoginStore } from './memory.js'
export {
  type Argon2Params,
  HasherBusyError,
  MAX_PASSWORD_LENGTH,
  MIN_PASSWORD_LENGTH,
  OWASP_ARGON2,
  PasswordHasher,
  type PasswordHasherOptions,
  passwordLength,
} from './passwords.js'
export type { EmailVerification, LoginEvents, LoginOutcome, MailLimits } from './routes/context.js'
export {
  errorSchema,
  type LoginRouteName,
  loginSchemas,
  sessionSchema,
  tokenPairSchema,
  userSchema,
} from './schemas.js'
export { cleanUserAgent, coarseAddress } from './sessions.js'
export {
  EmailTakenError,
  type LoginStore,
  type LoginUser,
  type NewUser,
  type OneTimeToken,
  type SessionRecord,
  type SessionUse,
  type TokenPurpose,
  type UserStore,
} from './store.js'
export { type Attempt, type LoginLimits, LoginThrottle } from './throttle.js'
