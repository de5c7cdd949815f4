import type { IamAuth, IamAuthStats, IamConnectionOptions } from "@rds-iam/core";

/** Engine names {@link IamKnexConnectionOptions.engine} accepts. */
export type IamKnexEngine = "postgres" | "postgresql" | "pg" | "mysql" | "mysql2" | "mariadb";

/**
 * Options for {@link iamConnection}: the IAM options of `@rds-iam/core`, plus
 * anything the driver takes (`database`, `timezone`, `charset`, `statement_timeout`,
 * `application_name`, ...), which reaches the driver untouched.
 *
 * IAM options and their defaults:
 * - `host` (required): where the driver connects; also the signing host unless
 *   `iamHost` is set.
 * - `port`: default 5432 (PostgreSQL) or 3306 (MySQL / MariaDB).
 * - `user` (required): the database user, as in the IAM policy's `dbuser`.
 * - `iamHost`: the RDS endpoint the token is signed for. Default: `host`. Required
 *   when `host` is an IP address, a custom domain, a tunnel or a proxy.
 * - `iamDefaultPort`: the port the token is signed for. Default: `port`.
 * - `iamRegion`: default: parsed from the signing host, else `AWS_REGION`,
 *   `AWS_DEFAULT_REGION` or the profile's region.
 * - `iamTokenExpiration`: seconds a token is used after minting. Default 870 (max 900).
 * - `credentials`: static credentials or a provider. Default: the AWS SDK's node
 *   provider chain, honouring `awsProfile` (default `AWS_PROFILE`).
 * - `clock`: ms since the epoch, for tests. Default `Date.now`.
 * - `tokenCache`: share tokens between providers. Default: one of its own.
 * - `ssl`: default: TLS verified against the RDS CA bundle, the certificate must
 *   name the RDS endpoint. An object is used as given.
 * - `iamAllowPlaintext`: with `ssl: false`, lets a token travel without TLS to a
 *   loopback host (a local test gateway). Default false.
 */
export interface IamKnexConnectionOptions extends IamConnectionOptions {
  /**
   * The engine. Default: inferred from the knex client that calls the function
   * (`pg`, `postgres`, `postgresql` -> PostgreSQL; `mysql2`, `mariadb` -> MySQL).
   * Needed only when the function is called outside knex.
   */
  engine?: IamKnexEngine | undefined;
  /** The database (schema) to use. Default: the driver's (for PostgreSQL, the user name). */
  database?: string | undefined;
  /** Refused: the token is the password. */
  password?: never;
  /** Refused: node-postgres lets a connection string override the token. */
  connectionString?: never;
  /** Refused: mysql2 lets a URI override host, user and password. */
  uri?: never;
  /** Any other driver option passes through to the driver. */
  [option: string]: unknown;
}

/**
 * What knex receives on each call: the driver's config (pg, mysql2 or mariadb) with
 * host, port, user, TLS and the token wired in, and an `expirationChecker` that
 * turns true when the token's hand-out window ends (knex then calls again).
 */
export interface IamKnexConnectionConfig {
  /** The host the driver connects to. */
  host: string;
  /** The port the driver connects to (default 5432 / 3306). */
  port: number;
  /** The database user. */
  user: string;
  /** True once the token in this config may no longer be handed out (knex then calls again). */
  expirationChecker(): boolean;
  /** The driver's own options, TLS and the token wiring (never an enumerable token). */
  [option: string]: unknown;
}

/**
 * The async function knex takes as `connection`. Knex calls it for new physical
 * connections (and, from knex 3.2, when validating pooled ones) whenever the last
 * config's `expirationChecker` says so.
 */
export interface IamKnexConnection {
  /** Called by knex: a fresh config with a current token. */
  (): Promise<IamKnexConnectionConfig>;
  /**
   * The token provider. `undefined` until the first call, which tells the driver
   * (the knex client's, or `engine`'s default: pg or mysql2).
   */
  readonly auth: IamAuth | undefined;
  /** The token provider's counters (all zero before the first call). */
  stats(): IamAuthStats;
  /**
   * Stops background token refreshes. Later connection attempts fail with `CLOSED`.
   * Call it after `knex.destroy()`; timers never keep the process alive anyway.
   */
  close(): void;
}
