import type { IamConnectionOptions } from "@rds-iam/core";

/** The Sequelize dialects `withIamAuth` supports. */
export type IamSequelizeDialect = "postgres" | "mysql" | "mariadb";

/**
 * The `iam` key of the options given to `withIamAuth`: core's IAM options without the
 * target and TLS, which are Sequelize's own (`host`, `port`, `username`,
 * `dialectOptions.ssl`).
 *
 * - `iamHost`: the RDS endpoint the token is signed for. Default: `host`. Required
 *   when `host` is an IP address, a custom domain or a tunnel.
 * - `iamDefaultPort`: the port the token is signed for. Default: `port`, else 5432 / 3306.
 * - `iamRegion`: default: parsed from the signing host, else `AWS_REGION`,
 *   `AWS_DEFAULT_REGION` or the profile's region.
 * - `iamTokenExpiration`: seconds a token is handed out after minting. Default 870 (max 900).
 * - `credentials`, `awsProfile`: default: the AWS SDK's node provider chain.
 * - `tokenCache`, `clock`, `iamTimeout`: see `@rds-iam/core`.
 * - `iamAllowPlaintext`: with `dialectOptions.ssl: false`, lets a token travel without
 *   TLS to a loopback host (a local test gateway). Default false.
 * - `iamAllowTokenInDebugOutput`: lets the driver's packet debug output run. Default false.
 */
export interface IamSequelizeOptions
  extends Omit<IamConnectionOptions, "host" | "port" | "user" | "ssl"> {}

/**
 * A read replica or the writer under `replication`. Fields left out are taken from the
 * top level, as Sequelize does. `iam` holds IAM options for this endpoint only, merged
 * over the top-level `iam`; an entry with a `host` of its own is signed for that host
 * (or its own `iam.iamHost`), never for the top-level `iam.iamHost`.
 */
export interface IamSequelizeReplica {
  readonly host?: string | undefined;
  readonly port?: number | string | undefined;
  readonly username?: string | undefined;
  readonly database?: string | undefined;
  /** Refused: the token is the password. */
  readonly password?: unknown;
  readonly iam?: IamSequelizeOptions | undefined;
}

/** The Sequelize options `withIamAuth` reads; every other option passes through untouched. */
export interface IamSequelizeFields {
  readonly dialect: IamSequelizeDialect;
  readonly host?: string | undefined;
  readonly port?: number | string | undefined;
  readonly username?: string | undefined;
  readonly database?: string | undefined;
  /** Refused: the token is the password. */
  readonly password?: unknown;
  /** `ssl` here decides TLS (default: verified against the RDS CA bundle). */
  readonly dialectOptions?: object | undefined;
  readonly replication?:
    | false
    | {
        readonly read?: IamSequelizeReplica | readonly IamSequelizeReplica[] | undefined;
        readonly write?: IamSequelizeReplica | undefined;
      }
    | undefined;
  /** Merged: rds-iam's `beforeConnect` runs first, yours after it. */
  readonly hooks?: object | undefined;
  /** Refused when true: pg-native ignores the per-connection password function. */
  readonly native?: boolean | undefined;
}

/** The options minus `iam`, distributed over unions: what `new Sequelize(...)` takes. */
export type IamSequelizeResult<T> = T extends unknown
  ? Omit<T, "iam"> & { readonly hooks: object; readonly dialectOptions: object }
  : never;
