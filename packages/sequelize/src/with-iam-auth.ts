import { type IamAuth, RdsIamError } from "@rds-iam/core";
import { isArraySafe, readOptions, refusePacketDebug } from "@rds-iam/core/driver";
import { endpointOf, iamBeforeConnect, registerEndpoint } from "./connect-hook";
import {
  iamOf,
  iamOptionsOf,
  namesFor,
  refuseTopLevelIamKeys,
  replicationOf,
  type Spelling,
} from "./iam-fields";
import { type SequelizeEndpoint, sequelizeEndpoint } from "./sequelize-endpoint";
import type {
  IamSequelizeDialect,
  IamSequelizeFields,
  IamSequelizeOptions,
  IamSequelizeResult,
} from "./sequelize-iam-options";

const providers = new WeakMap<object, IamAuth>();
const SPELLING: Spelling = { user: "username", ssl: "dialectOptions.ssl" };
const DIALECTS: readonly string[] = ["postgres", "mysql", "mariadb"];
type Options = Record<string, unknown>;

/**
 * Sequelize 6 options whose every new pooled connection logs in with a current RDS IAM
 * token:
 *
 * ```ts
 * new Sequelize(withIamAuth({ dialect: "postgres", host, username, database, iam: { iamRegion } }));
 * ```
 *
 * - A `beforeConnect` hook (before yours) gives each new connection its token: pg's
 *   password function, mysql2's clear-password plugin (in `dialectOptions`), or the
 *   token handed to the mariadb connector per attempt; never a token in the config.
 * - TLS verified against the RDS CA bundle unless you set `dialectOptions.ssl`
 *   (`false` needs `iam.iamAllowPlaintext` and a loopback host).
 * - A login the database rejects is retried once with a fresh token; a second
 *   rejection is `AUTH_REJECTED`.
 * - `replication`: the writer and every read replica get tokens signed for their own
 *   endpoint.
 *
 * @throws RdsIamError naming the option at fault; nothing connects yet.
 */
export function withIamAuth<T extends IamSequelizeFields>(
  options: T & { readonly iam?: IamSequelizeOptions | undefined },
): IamSequelizeResult<T> {
  if (typeof options !== "object" || options === null || isArraySafe(options)) {
    throw new RdsIamError(
      "INVALID_OPTION",
      'withIamAuth needs Sequelize options: { dialect: "postgres" | "mysql" | "mariadb", host, username, database, ... }.',
      { option: "options" },
    );
  }
  const { iam: iamGiven, ...input } = readOptions(options, "Sequelize options");
  const iam = iamOptionsOf(iamGiven, "iam", SPELLING);
  refuseTopLevelIamKeys(input);
  const dialect = dialectOf(input.dialect);
  refuseOverrides(input, "");
  if (input.native === true) {
    throw new RdsIamError(
      "CONFLICTING_OPTIONS",
      "native: true makes Sequelize use pg-native, which ignores the per-connection password function. Remove native.",
      { option: "native" },
    );
  }
  if (input.ssl !== undefined) {
    throw new RdsIamError(
      "INVALID_OPTION",
      "Sequelize does not pass a top-level ssl option to pg, mysql2 or mariadb: TLS is dialectOptions.ssl (default with IAM: verified against the RDS CA bundle). Move it there, or remove it.",
      { option: "ssl" },
    );
  }
  const dialectOptions = dialectOptionsOf(input.dialectOptions, dialect, iam);
  const { ssl, ...driverOptions } = dialectOptions;
  const endpointFor = (entry: Options, prefix: string, entryIam: Options): SequelizeEndpoint => {
    const username = entry.username ?? input.username;
    if (typeof username !== "string" || username.trim() === "") {
      throw new RdsIamError(
        "MISSING_OPTION",
        "username is required: the database user the token is for (it must match the IAM policy's dbuser).",
        { option: entry.username === undefined ? "username" : `${prefix}username` },
      );
    }
    const endpoint = sequelizeEndpoint({
      major: 6,
      dialect,
      host: entry.host ?? input.host,
      port: entry.port ?? input.port,
      username,
      ssl,
      dialectOptions: driverOptions,
      iam: { ...iamOf(iam, entry.host !== undefined && entry.host !== input.host), ...entryIam },
      names: namesFor(prefix, entry, entryIam, SPELLING),
    });
    registerEndpoint(endpoint);
    return endpoint;
  };
  const hooks = hooksWithOurs(input.hooks);
  if (input.replication === undefined || input.replication === false) {
    const endpoint = endpointFor({}, "", {});
    const result = {
      ...input,
      password: endpoint.password,
      dialectOptions: endpoint.dialectOptions,
      hooks,
    };
    providers.set(result, endpoint.auth);
    return result as unknown as IamSequelizeResult<T>;
  }
  const { read, write } = replicationOf(input.replication, SPELLING);
  const entry = (given: Options, prefix: string) => {
    const { iam: own, ...fields } = given;
    refuseOverrides(fields, prefix);
    const endpoint = endpointFor(fields, prefix, iamOptionsOf(own, `${prefix}iam`, SPELLING));
    return {
      endpoint,
      config: { ...fields, password: endpoint.password, dialectOptions: endpoint.dialectOptions },
    };
  };
  const writer = entry(write, "replication.write.");
  const readers = read.map((replica, index) => entry(replica, `replication.read[${index}].`));
  const result = {
    ...input,
    password: writer.endpoint.password,
    dialectOptions: writer.endpoint.dialectOptions,
    replication: { write: writer.config, read: readers.map((reader) => reader.config) },
    hooks,
  };
  providers.set(result, writer.endpoint.auth);
  return result as unknown as IamSequelizeResult<T>;
}

/**
 * The token provider behind options made by {@link withIamAuth}, or behind a Sequelize
 * instance built from them (with `replication`: the writer's): counters,
 * `invalidate()`, `close()`. The same call every adapter offers.
 *
 * @throws RdsIamError `INVALID_OPTION` for anything else.
 */
export function iamAuthOf(optionsOrSequelize: object): IamAuth {
  const given = optionsOrSequelize as { config?: { password?: unknown } } | null;
  const auth =
    (typeof given === "object" && given !== null ? providers.get(given) : undefined) ??
    endpointOf(given?.config?.password)?.auth;
  if (auth === undefined) {
    throw new RdsIamError(
      "INVALID_OPTION",
      "These are neither Sequelize options made by withIamAuth() nor a Sequelize instance built from them.",
      { option: "options" },
    );
  }
  return auth;
}

function dialectOf(dialect: unknown): IamSequelizeDialect {
  if (typeof dialect === "string" && DIALECTS.includes(dialect)) {
    return dialect as IamSequelizeDialect;
  }
  throw new RdsIamError(
    "INVALID_OPTION",
    `dialect ${JSON.stringify(dialect) ?? String(dialect)} is not supported with IAM authentication; use "postgres", "mysql" or "mariadb".`,
    { option: "dialect" },
  );
}

/**
 * Keys Sequelize would hand the driver over the token or its target: a password
 * anywhere, and in `dialectOptions` (spread last over the connection options by the
 * mysql and mariadb dialects) the target and connection URLs.
 */
const DIALECT_OVERRIDES: Readonly<Record<string, string>> = {
  password: "the token is the password: remove it",
  user: "set username in the Sequelize options",
  host: "set host in the Sequelize options",
  port: "set port in the Sequelize options",
  uri: "mysql2 would log in with the URL's password instead of the token: give host, port, username and database",
  connectionString:
    "pg would log in with the URL's password instead of the token: give host, port, username and database",
};

function refuseOverrides(fields: Options, prefix: string): void {
  if (fields.password !== undefined && fields.password !== null) {
    throw new RdsIamError(
      "CONFLICTING_OPTIONS",
      `${prefix}password cannot be combined with IAM authentication: the token is the password. Remove it.`,
      { option: `${prefix}password` },
    );
  }
  if (prefix !== "" && fields.dialectOptions !== undefined) {
    throw new RdsIamError(
      "INVALID_OPTION",
      `${prefix}dialectOptions is not supported with IAM authentication: set dialectOptions once at the top level (TLS and the token wiring are added per endpoint).`,
      { option: `${prefix}dialectOptions` },
    );
  }
}

function dialectOptionsOf(given: unknown, dialect: IamSequelizeDialect, iam: Options): Options {
  if (given === undefined || given === null) return {};
  if (typeof given !== "object" || isArraySafe(given)) {
    throw new RdsIamError("INVALID_OPTION", "dialectOptions must be an object.", {
      option: "dialectOptions",
    });
  }
  const options = readOptions(given, "dialectOptions");
  for (const [key, fix] of Object.entries(DIALECT_OVERRIDES)) {
    if (options[key] === undefined) continue;
    throw new RdsIamError(
      "CONFLICTING_OPTIONS",
      `dialectOptions.${key} cannot be combined with IAM authentication (Sequelize would pass it to the driver over ours): ${fix}.`,
      { option: `dialectOptions.${key}` },
    );
  }
  if (dialect !== "postgres") {
    refusePacketDebug(
      options,
      dialect === "mysql" ? "mysql2" : "mariadb",
      iam.iamAllowTokenInDebugOutput,
      "dialectOptions.",
    );
  }
  return options;
}

/** Sequelize takes a function or an array per hook; ours runs first. */
function hooksWithOurs(given: unknown): Options {
  if (given !== undefined && (typeof given !== "object" || given === null || isArraySafe(given))) {
    throw new RdsIamError("INVALID_OPTION", "hooks must be an object of Sequelize hooks.", {
      option: "hooks",
    });
  }
  const hooks = given === undefined ? {} : readOptions(given, "hooks");
  const theirs = hooks.beforeConnect;
  const list = theirs === undefined ? [] : isArraySafe(theirs) ? (theirs as unknown[]) : [theirs];
  return { ...hooks, beforeConnect: [iamBeforeConnect, ...list] };
}
