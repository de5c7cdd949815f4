import type { IamSequelizeOptions } from "./sequelize-iam-options";

/**
 * A Sequelize 7 dialect class, as `@sequelize/postgres`, `@sequelize/mysql` and
 * `@sequelize/mariadb` export it (`PostgresDialect`, `MySqlDialect`, `MariaDbDialect`),
 * or a subclass of one. Described structurally: this package loads no Sequelize.
 */
export type IamSequelize7DialectClass = (new (
  ...args: never[]
) => object) & {
  getSupportedConnectionOptions(): readonly string[];
};

/**
 * A read replica or the writer under `replication`. Fields left out are taken from the
 * top level, as Sequelize does. `iam` holds IAM options for this endpoint only, merged
 * over the top-level `iam`; an entry with a `host` of its own is signed for that host
 * (or its own `iam.iamHost`), never for the top-level `iam.iamHost`. Other connection
 * options pass through; TLS and the options core binds are set once at the top level.
 */
export interface IamSequelize7Replica {
  readonly host?: string | undefined;
  readonly port?: number | string | undefined;
  readonly user?: string | undefined;
  readonly database?: string | undefined;
  /** Refused: the token is the password. */
  readonly password?: unknown;
  readonly iam?: IamSequelizeOptions | undefined;
}

/** The Sequelize 7 options `withIamAuth` reads; every other option passes through untouched. */
export interface IamSequelize7Fields {
  /** The dialect class (a string would make Sequelize load its own, which we cannot wrap). */
  readonly dialect: IamSequelize7DialectClass;
  readonly host?: string | undefined;
  readonly port?: number | string | undefined;
  readonly user?: string | undefined;
  readonly database?: string | undefined;
  /** Refused: the token is the password. */
  readonly password?: unknown;
  /** Refused: a URL carries its own target and password. */
  readonly url?: unknown;
  /** Decides TLS (default: verified against the RDS CA bundle). */
  readonly ssl?: unknown;
  readonly replication?:
    | false
    | {
        readonly read?: IamSequelize7Replica | readonly IamSequelize7Replica[] | undefined;
        readonly write?: IamSequelize7Replica | undefined;
      }
    | undefined;
  /** Refused when truthy (Sequelize then uses pg-native, which ignores the per-connection password function). */
  readonly native?: boolean | undefined;
  /**
   * Passed through. Named so that `logging: false` keeps its literal type (Sequelize 7
   * takes `false` or a function, not `boolean`).
   */
  readonly logging?: false | ((sql: string, timing?: number) => void) | undefined;
}

/** The options minus `iam`, distributed over unions: what `new Sequelize(...)` takes. */
export type IamSequelize7Result<T> = T extends unknown ? Omit<T, "iam"> : never;
