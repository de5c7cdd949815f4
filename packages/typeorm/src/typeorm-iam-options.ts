import type { IamConnectionOptions } from "@rds-iam/core";

/** The database types `withIamAuth` supports (mysql2 underneath for MySQL and MariaDB). */
export type IamTypeormDatabaseType = "postgres" | "mysql" | "mariadb";

/**
 * The `iam` key of the options given to `withIamAuth`. The target (`host`, `port`,
 * `username`) and `ssl` are TypeORM's own options and are read from there.
 */
export interface IamTypeormOptions
  extends Omit<IamConnectionOptions, "host" | "port" | "user" | "ssl"> {}

/**
 * The DataSource options `withIamAuth` reads. The options of both TypeORM majors
 * (0.3 and 1.x) for `postgres`, `mysql` and `mariadb` fit this shape.
 */
export interface IamTypeormDataSourceFields {
  readonly type: IamTypeormDatabaseType;
  readonly host?: string | undefined;
  readonly port?: number | undefined;
  readonly username?: string | undefined;
  /** Refused: the token is the password. */
  readonly password?: unknown;
  /** Refused: pg would drop the token in favour of the URL's password. */
  readonly url?: string | undefined;
  readonly ssl?: unknown;
  readonly extra?: unknown;
  /** The driver module (`pg` / `mysql2`); default: the one TypeORM would load. */
  readonly driver?: unknown;
  readonly replication?: unknown;
  readonly connectorPackage?: string | undefined;
}
