/**
 * `latchkey/login/kysely`: the login API's storage in SQL through Kysely, on SQLite or PostgreSQL
 * (your Kysely instance): `migrateLogin` creates and updates the tables (`latchkey migrate` runs the
 * same), `KyselyLoginStore` keeps users, sessions, mailed-link tokens and rate-limit counters,
 * `KyselyRevocationStore` revocations.
 */
export {
  LOGIN_MIGRATIONS,
  type MigrateLoginOptions,
  migrateLogin,
} from './migrations.js'
export { KyselyRevocationStore, type KyselyRevocationStoreOptions } from './revocations.js'
export type {
  IdentityCutoffsTable,
  LoginFailuresTable,
  LoginSchema,
  LoginSessionsTable,
  LoginTokensTable,
  RevocationSchema,
  RevokedFamiliesTable,
  RevokedTokensTable,
  UsedRefreshTokensTable,
  UsersTable,
} from './schema.js'
export {
  isUniqueViolation,
  KyselyLoginStore,
  type KyselyLoginStoreOptions,
  type KyselyUser,
} from './store.js'
