import { type IamAuth, RdsIamError } from "@rds-iam/core";
import { isArraySafe, readOptions, refuseUnverifyingMariadb } from "@rds-iam/core/driver";
import { endpointOf, registerEndpoint } from "./connect-hook";
import {
  iamOf,
  iamOptionsOf,
  namesFor,
  refuseTopLevelIamKeys,
  replicationOf,
  type Spelling,
} from "./iam-fields";
import { type SequelizeEndpoint, sequelizeEndpoint } from "./sequelize-endpoint";
import type { IamSequelizeDialect, IamSequelizeOptions } from "./sequelize-iam-options";
import { iamDialect } from "./v7-iam-dialect";
import type {
  IamSequelize7DialectClass,
  IamSequelize7Fields,
  IamSequelize7Result,
} from "./v7-iam-options";

const providers = new WeakMap<object, IamAuth>();
const SPELLING: Spelling = { user: "user", ssl: "ssl" };
type Options = Record<string, unknown>;

/** The dialect classes of @sequelize/postgres, @sequelize/mysql and @sequelize/mariadb. */
const DIALECT_CLASSES: Readonly<Record<string, IamSequelizeDialect>> = {
  PostgresDialect: "postgres",
  MySqlDialect: "mysql",
  MariaDbDialect: "mariadb",
};

/** Connection options that are the endpoint itself: the binding gets them by name. */
const TARGET_KEYS = ["host", "port", "user", "password", "database", "ssl"];

/**
 * Connection options that would replace the token or its target, with the fix: anywhere
 * a connection config is given (the root and each replication entry).
 */
const OVERRIDES: Readonly<Record<string, string>> = {
  password: "the token is the password. Remove it",
  password1: "mysql2 would send it as a second factor: the token is the only password. Remove it",
  password2: "mysql2 would send it as a second factor: the token is the only password. Remove it",
  password3: "mysql2 would send it as a second factor: the token is the only password. Remove it",
  passwordSha1: "mysql2 would log in with it instead of the token. Remove it",
  url: "Sequelize would take the URL's host, user and password over the token's endpoint. Give host, port, user and database instead",
  connectionString:
    "pg would log in with the URL's password instead of the token. Give host, port, user and database instead",
  uri: "mysql2 would log in with the URL's password instead of the token. Give host, port, user and database instead",
};

/**
 * Sequelize 7 (`@sequelize/core`) options whose every new pooled connection logs in
 * with a current RDS IAM token:
 *
 * ```ts
 * import { PostgresDialect } from "@sequelize/postgres";
 * new Sequelize(withIamAuth({ dialect: PostgresDialect, host, user, database, iam: { iamRegion } }));
 * ```
 *
 * - `dialect` becomes a subclass of yours whose connection manager gives each new
 *   connection its token: pg's password function, mysql2's clear-password plugin, or
 *   the token handed to the mariadb connector per attempt; never a token in the config.
 * - TLS verified against the RDS CA bundle unless you set `ssl` (`false` needs
 *   `iam.iamAllowPlaintext` and a loopback host).
 * - A login the database rejects is retried once with a fresh token; a second
 *   rejection is `AUTH_REJECTED`.
 * - `replication`: the writer and every read replica get tokens signed for their own
 *   endpoint.
 *
 * @throws RdsIamError naming the option at fault; nothing connects yet.
 */
export function withIamAuth<T extends IamSequelize7Fields>(
  options: T & { readonly iam?: IamSequelizeOptions | undefined },
): IamSequelize7Result<T> {
  if (typeof options !== "object" || options === null || isArraySafe(options)) {
    throw new RdsIamError(
      "INVALID_OPTION",
      "withIamAuth needs Sequelize 7 options: { dialect: PostgresDialect | MySqlDialect | MariaDbDialect, host, user, database, ... }.",
      { option: "options" },
    );
  }
  const { iam: iamGiven, ...input } = readOptions(options, "Sequelize options");
  const iam = iamOptionsOf(iamGiven, "iam", SPELLING);
  refuseTopLevelIamKeys(input);
  const base = input.dialect as IamSequelize7DialectClass;
  const dialect = dialectOf(base);
  refuseOverrides(input, "");
  // Sequelize uses pg-native for any truthy `native` (1, "false", ...), not only `true`.
  if (input.native) {
    throw new RdsIamError(
      "CONFLICTING_OPTIONS",
      `native: ${describeNative(input.native)} makes Sequelize use pg-native, which ignores the per-connection password function. Remove native.`,
      { option: "native" },
    );
  }
  // Checked here too, so that a user's old connector fails before anything is built.
  if (dialect === "mariadb" && input.mariaDbModule !== undefined) {
    refuseUnverifyingMariadb(input.mariaDbModule);
  }
  const connectionNames = new Set(base.getSupportedConnectionOptions());
  const driverOptions = Object.fromEntries(
    Object.entries(input).filter(([key]) => connectionNames.has(key) && !TARGET_KEYS.includes(key)),
  );
  const endpoints: SequelizeEndpoint[] = [];
  const endpointFor = (entry: Options, prefix: string, entryIam: Options): SequelizeEndpoint => {
    const user = entry.user ?? input.user;
    if (typeof user !== "string" || user.trim() === "") {
      throw new RdsIamError(
        "MISSING_OPTION",
        "user is required: the database user the token is for (it must match the IAM policy's dbuser).",
        { option: entry.user === undefined ? "user" : `${prefix}user` },
      );
    }
    const endpoint = sequelizeEndpoint({
      major: 7,
      dialect,
      host: entry.host ?? input.host,
      port: entry.port ?? input.port,
      username: user,
      ssl: input.ssl,
      dialectOptions: driverOptions,
      iam: { ...iamOf(iam, entry.host !== undefined && entry.host !== input.host), ...entryIam },
      names: namesFor(prefix, entry, entryIam, SPELLING),
    });
    registerEndpoint(endpoint);
    endpoints.push(endpoint);
    return endpoint;
  };
  const Dialect = iamDialect(base, dialect, endpoints);
  if (input.replication === undefined || input.replication === false) {
    const endpoint = endpointFor({}, "", {});
    const result = { ...input, dialect: Dialect, password: endpoint.password };
    providers.set(result, endpoint.auth);
    return result as unknown as IamSequelize7Result<T>;
  }
  const { read, write } = replicationOf(input.replication, SPELLING);
  const entry = (given: Options, prefix: string) => {
    const { iam: own, ...fields } = given;
    refuseOverrides(fields, prefix);
    for (const key of Object.keys(fields)) {
      if (key === "ssl" || key in driverOptions || BOUND_KEYS.includes(key)) {
        throw new RdsIamError(
          "INVALID_OPTION",
          `${prefix}${key} is not supported per endpoint with IAM authentication: set ${key} once at the top level (TLS and the token wiring are added per endpoint).`,
          { option: `${prefix}${key}` },
        );
      }
    }
    const endpoint = endpointFor(fields, prefix, iamOptionsOf(own, `${prefix}iam`, SPELLING));
    return { endpoint, config: { ...fields, password: endpoint.password } };
  };
  const writer = entry(write, "replication.write.");
  const readers = read.map((replica, index) => entry(replica, `replication.read[${index}].`));
  const result = {
    ...input,
    dialect: Dialect,
    password: writer.endpoint.password,
    replication: { write: writer.config, read: readers.map((reader) => reader.config) },
  };
  providers.set(result, writer.endpoint.auth);
  return result as unknown as IamSequelize7Result<T>;
}

/** Driver options core reads for the token's wiring (TLS checks, packet debug, dialling). */
const BOUND_KEYS = [
  "authPlugins",
  "stream",
  "socketPath",
  "debug",
  "debugCompress",
  "logPackets",
  "logger",
];

/**
 * The token provider behind options made by {@link withIamAuth}, or behind a Sequelize
 * 7 instance built from them (with `replication`: the writer's): counters,
 * `invalidate()`, `close()`. The same call every adapter offers.
 *
 * @throws RdsIamError `INVALID_OPTION` for anything else.
 */
export function iamAuthOf(optionsOrSequelize: object): IamAuth {
  const given = optionsOrSequelize as {
    options?: { replication?: { write?: { password?: unknown } } };
  } | null;
  const auth =
    (typeof given === "object" && given !== null ? providers.get(given) : undefined) ??
    endpointOf(given?.options?.replication?.write?.password)?.auth;
  if (auth === undefined) {
    throw new RdsIamError(
      "INVALID_OPTION",
      "These are neither Sequelize 7 options made by withIamAuth() nor a Sequelize instance built from them.",
      { option: "options" },
    );
  }
  return auth;
}

/** Which driver a dialect class (or a subclass of one) speaks, by the class it extends. */
function dialectOf(given: unknown): IamSequelizeDialect {
  for (let c: unknown = given; typeof c === "function"; c = Object.getPrototypeOf(c)) {
    const dialect = DIALECT_CLASSES[(c as { name: string }).name];
    if (
      dialect !== undefined &&
      typeof (given as { getSupportedConnectionOptions?: unknown })
        .getSupportedConnectionOptions === "function"
    ) {
      return dialect;
    }
  }
  const named = typeof given === "string";
  throw new RdsIamError(
    "INVALID_OPTION",
    named
      ? `dialect ${JSON.stringify(given)}: with IAM authentication pass the dialect class, e.g. import { PostgresDialect } from "@sequelize/postgres" (or MySqlDialect from @sequelize/mysql, MariaDbDialect from @sequelize/mariadb).`
      : "dialect is not supported with IAM authentication: pass PostgresDialect (@sequelize/postgres), MySqlDialect (@sequelize/mysql) or MariaDbDialect (@sequelize/mariadb).",
    { option: "dialect" },
  );
}

function refuseOverrides(fields: Options, prefix: string): void {
  for (const [key, fix] of Object.entries(OVERRIDES)) {
    if (fields[key] === undefined || fields[key] === null) continue;
    throw new RdsIamError(
      "CONFLICTING_OPTIONS",
      `${prefix}${key} cannot be combined with IAM authentication: ${fix}.`,
      { option: `${prefix}${key}` },
    );
  }
}

function describeNative(value: unknown): string {
  return typeof value === "string"
    ? JSON.stringify(value)
    : typeof value === "object"
      ? "an object"
      : String(value);
}
