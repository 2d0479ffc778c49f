/**
 * The server's revocation store when there is no Redis: latchkey's Kysely store
 * (`latchkey/login/kysely`), over the server's database.
 */
export {
  KyselyRevocationStore as DatabaseRevocationStore,
  type KyselyRevocationStoreOptions as DatabaseRevocationStoreOptions,
} from '../../login/kysely/index.js'
