// The public API: what applications call. Adapters build on `@rds-iam/core/driver`.

export type { Clock } from "./clock";
export type { IamConnectionOptions } from "./connection-options";
export type { DatabaseUrlFlavor } from "./database-url";
export type { Engine } from "./engine";
export {
  isRdsIamError,
  RdsIamError,
  type RdsIamErrorCode,
  type RdsIamErrorDetails,
} from "./errors";
export { type GenerateAuthTokenParams, generateAuthToken } from "./generate-auth-token";
export {
  type CreateIamAuthOptions,
  createIamAuth,
  type IamAuth,
  type IamAuthStats,
  type IamTarget,
  type TokenWithExpiry,
} from "./iam-auth";
export { type IamDatabaseUrlOptions, iamDatabaseUrl } from "./iam-database-url";
export {
  type MariadbIamConfig,
  type MariadbIamInput,
  mariadbIamConfig,
} from "./mariadb-binding";
export { type Mysql2IamConfig, type Mysql2IamInput, mysql2IamConfig } from "./mysql2-binding";
export type { CredentialsOption, IamAuthOptions } from "./options";
export { type PgIamConfig, type PgIamInput, pgIamConfig } from "./pg-binding";
export { parseRdsHostname, type RdsEndpointKind, type RdsHostname } from "./rds-hostname";
export type { RegionSource } from "./region";
export { type ResolvedTls, rdsCaBundle } from "./tls";
export { type CachedToken, TokenCache, type TokenCacheOptions } from "./token-cache";
