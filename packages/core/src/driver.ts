// `@rds-iam/core/driver`: the contract for writing an adapter (docs/writing-an-adapter.md).
// Applications use `@rds-iam/core`; nothing here is needed to call it.
export { isAuthFailure } from "./auth-failure";
export { authRejected, withAuthRetry, withCheckoutAuthRetry } from "./auth-retry";
export {
  type BindingNames,
  type BindingSpec,
  MYSQL2_URI,
  PG_CONNECTION_STRING,
  type PreparedBinding,
  prepareBinding,
  type RefusedOption,
} from "./binding";
export { systemClock } from "./clock";
export { closestName } from "./closest-name";
export { IAM_ONLY_OPTION_NAMES, splitIamOptions } from "./connection-options";
export { type PacketDebugDriver, refusePacketDebug } from "./debug-output";
export { defaultPort, parseEngine } from "./engine";
export { iamDatabaseUrlOf } from "./iam-database-url";
export {
  createMariadbConnectionFactory,
  LAZY_MARIADB,
  type MariadbModuleLike,
  mariadbConfigOf,
  mariadbConnector,
} from "./mariadb-binding";
export { refuseUnverifyingMariadb } from "./mariadb-connector-version";
export { type Mysql2AuthPlugin, mysql2AuthPlugins, mysql2ConfigOf } from "./mysql2-binding";
export type { OptionNames } from "./options";
export { type EndablePool, pauseIamAuth, pauseWhenEnded } from "./pause";
export { pgConfigOf, pgPassword } from "./pg-binding";
export {
  type Mysql2PoolLike,
  type PgPoolLike,
  retryPgPoolLogins,
  withMysql2AuthRetry,
  withPgAuthRetry,
} from "./pool-retry";
export { isArraySafe, readOptions } from "./read-options";
export { resolveTls, type TlsInputs } from "./tls";
