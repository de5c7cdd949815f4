export { isAuthFailure } from "./auth-failure";
export { authRejected, withAuthRetry, withCheckoutAuthRetry } from "./auth-retry";
export { defaultCaDirectory, writeCaFile } from "./ca-file";
export { type Clock, systemClock } from "./clock";
export { closestName } from "./closest-name";
export {
  bindingInput,
  IAM_ONLY_OPTION_NAMES,
  type IamConnectionOptions,
  splitIamOptions,
} from "./connection-options";
export { createCredentialProvider } from "./credentials";
export {
  buildDatabaseUrl,
  DATABASE_URL_FLAVORS,
  type DatabaseUrlFlavor,
  type DatabaseUrlParams,
  type DatabaseUrlTls,
} from "./database-url";
export { type PacketDebugDriver, refusePacketDebug } from "./debug-output";
export { defaultPort, type Engine, parseEngine } from "./engine";
export {
  isRdsIamError,
  RdsIamError,
  type RdsIamErrorCode,
  type RdsIamErrorDetails,
} from "./errors";
export { type GenerateAuthTokenParams, generateAuthToken } from "./generate-auth-token";
export { hostMistake, isHostOrIpLiteral } from "./host-syntax";
export {
  type CreateIamAuthOptions,
  createIamAuth,
  type IamAuth,
  type IamAuthStats,
  type IamTarget,
  type TokenWithExpiry,
} from "./iam-auth";
export { type IamDatabaseUrlOptions, iamDatabaseUrl } from "./iam-database-url";
export { isIpAddress, isLoopbackHost } from "./ip-address";
export {
  createMariadbConnectionFactory,
  type MariadbIamInput,
  type MariadbModuleLike,
} from "./mariadb-binding";
export {
  type Mysql2AuthPlugin,
  type Mysql2AuthPluginOptions,
  type Mysql2IamInput,
  type Mysql2PoolLike,
  mysql2AuthPlugins,
  mysql2IamConfig,
  withMysql2AuthRetry,
} from "./mysql2-binding";
export {
  type CredentialsOption,
  DEFAULT_TOKEN_EXPIRATION_SECONDS,
  type IamAuthOptions,
  MAX_TOKEN_EXPIRATION_SECONDS,
  type OptionNames,
  type ResolvedIamOptions,
  resolveIamOptions,
} from "./options";
export {
  type PgIamConfig,
  type PgIamInput,
  type PgPoolLike,
  pgIamConfig,
  pgPassword,
  rejectPgConflicts,
  withPgAuthRetry,
} from "./pg-binding";
export { parseRdsHostname, type RdsEndpointKind, type RdsHostname } from "./rds-hostname";
export { isArraySafe, readOptions } from "./read-options";
export { type RegionSource, regionFromEnvironment } from "./region";
export {
  type ResolvedTls,
  rdsCaBundle,
  rdsCaBundleForRegion,
  resolveTls,
  type SslOption,
  type TlsInputs,
} from "./tls";
export { type CachedToken, TokenCache, type TokenCacheOptions } from "./token-cache";
export { checkUrlParams } from "./url-params";
