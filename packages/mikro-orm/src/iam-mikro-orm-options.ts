import type { IamConnectionOptions } from "@rds-iam/core";

/**
 * The `iam` key of the options given to `withIamAuth`: core's IAM options. The target
 * (`host`, `port`, `user`) is MikroORM's own top-level options, and TLS is
 * `driverOptions.connection.ssl`, read from there.
 */
export interface IamMikroOrmOptions
  extends Omit<IamConnectionOptions, "host" | "port" | "user" | "ssl"> {}

/** What `withIamAuth` reads of MikroORM 6 options (`Options<D>` fits this shape). */
export interface IamMikroOrmFields {
  /** `PostgreSqlDriver`, `MySqlDriver` or `MariaDbDriver` (a subclass is fine). */
  readonly driver?: unknown;
  /** Required: where the driver connects; also the signing host unless `iam.iamHost` is set. */
  readonly host?: string | undefined;
  /** Default 5432 (PostgreSQL) or 3306 (MySQL / MariaDB). */
  readonly port?: number | undefined;
  /** Required: the database user the token is for (the IAM policy's `dbuser`). */
  readonly user?: string | undefined;
  readonly dbName?: string | undefined;
  /** Refused: the token is the password. */
  readonly password?: unknown;
  /** Refused: its password, host and user would replace the token and its target. */
  readonly clientUrl?: string | undefined;
  /** Refused: one ORM per endpoint (each token is signed for one host). */
  readonly replicas?: unknown;
  /** `connection.ssl` is the TLS, checked; the rest reaches knex and the driver untouched. */
  readonly driverOptions?: unknown;
}

/** The options minus `iam`, distributed over unions. */
export type IamMikroOrmConfig<T> = T extends unknown ? Omit<T, "iam"> : never;
