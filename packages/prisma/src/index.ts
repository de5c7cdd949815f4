export { createIamAdapter } from "./create-iam-adapter";
export {
  type DeployMysqlMigrationsOptions,
  type DeployMysqlMigrationsResult,
  deployMysqlMigrations,
} from "./deploy-mysql-migrations";
export { type IamDatasourceUrlOptions, iamDatasourceUrl } from "./iam-datasource-url";
export {
  IamMariadbPool,
  type IamMariadbPoolOptions,
  type IamMariadbPoolStats,
  IamPooledConnection,
} from "./iam-mariadb-pool";
export {
  type IamMariadbAdapterExtras,
  IamMariadbAdapterFactory,
  type IamMariadbAdapterOptions,
} from "./mariadb-adapter";
export {
  type IamPgAdapterExtras,
  IamPgAdapterFactory,
  type IamPgAdapterOptions,
  retryRejectedLogins,
} from "./pg-adapter";
