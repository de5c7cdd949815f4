import { type IamAuth, isRdsIamError, RdsIamError } from "@rds-iam/core";
import {
  closestName,
  IAM_ONLY_OPTION_NAMES,
  isArraySafe,
  mariadbConfigOf,
  mysql2ConfigOf,
  pgConfigOf,
  prepareBinding,
  readOptions,
  refusePacketDebug,
} from "@rds-iam/core/driver";
import type {
  IamMikroOrmConfig,
  IamMikroOrmFields,
  IamMikroOrmOptions,
} from "./iam-mikro-orm-options";
import { iamDriverClass } from "./knex-client";
import { driverKind, type IamMikroOrmDriverKind, KIND_ENGINE } from "./mikro-orm-driver";

/** How errors name the options, as MikroORM users write them. */
const NAMES = {
  host: "host",
  port: "port",
  user: "user",
  iamHost: "iam.iamHost",
  iamDefaultPort: "iam.iamDefaultPort",
  iamRegion: "iam.iamRegion",
  iamTokenExpiration: "iam.iamTokenExpiration",
  credentials: "iam.credentials",
  awsProfile: "iam.awsProfile",
  clock: "iam.clock",
  iamTimeout: "iam.iamTimeout",
} as const;

const CONNECTION = "driverOptions.connection";
const IAM_KEYS: readonly string[] = IAM_ONLY_OPTION_NAMES;

/**
 * What knex would apply over ours from `driverOptions.connection` (MikroORM merges it
 * last into the connection config): the token, its target, or a URL carrying both.
 */
const CONNECTION_OVERRIDES: Readonly<Record<string, string>> = {
  password: "the token is the password: remove it",
  connectionString:
    "pg would log in with the URL's password instead of the token: set host, port, user and dbName",
  uri: "mysql2 would log in with the URL's password instead of the token: set host, port, user and dbName",
  host: "set host at the top level of the options",
  port: "set port at the top level of the options",
  user: "set user at the top level of the options",
};

const auths = new WeakMap<object, IamAuth>();

/**
 * MikroORM 6 options whose every new physical connection logs in with a current RDS
 * IAM token:
 *
 * ```ts
 * const orm = await MikroORM.init(withIamAuth({ driver: PostgreSqlDriver, host, user, dbName, entities, iam: { iamRegion } }));
 * ```
 *
 * - `password` becomes MikroORM's password callback. It hands knex a config that never
 *   expires (so knex keeps one pool and never rebuilds it), because the driver asks the
 *   token provider at each login: pg calls the password function in it, mysql2 the
 *   clear-password plugin in `driverOptions.connection.authPlugins`, and for the
 *   mariadb connector the knex client gets the current token right before each login.
 * - TLS (`driverOptions.connection.ssl`) is verified against the RDS CA bundle unless
 *   you say otherwise; plaintext needs `iam.iamAllowPlaintext` and a loopback host.
 *   Packet debug output of mysql2 / mariadb is refused.
 * - A login the database rejects is retried once with a fresh token; a second
 *   rejection is `AUTH_REJECTED`, which reaches you as an `RdsIamError` (not wrapped
 *   into MikroORM's `DriverException`). The driver is a same-named subclass of yours.
 * - Migrations (`orm.migrator.up()`, `mikro-orm migration:up`) use the same options.
 *
 * Options are validated now, so mistakes surface before `MikroORM.init`.
 * {@link iamAuthOf} returns the token provider (stats, close).
 *
 * @throws RdsIamError naming the option at fault.
 */
export function withIamAuth<T extends IamMikroOrmFields>(
  options: T & { readonly iam?: IamMikroOrmOptions | undefined },
): IamMikroOrmConfig<T> {
  if (typeof options !== "object" || options === null || isArraySafe(options)) {
    throw new RdsIamError(
      "INVALID_OPTION",
      "withIamAuth needs MikroORM options: { driver: PostgreSqlDriver | MySqlDriver | MariaDbDriver, host, user, dbName, ... }.",
      { option: "options" },
    );
  }
  const { iam: iamGiven = {}, ...input } = readOptions(options, "MikroORM options");
  const iam = readIam(iamGiven);
  refuseTopLevel(input);
  const kind = driverKind(input.driver);
  refuseOptions(input);
  const driverOptions = readObject(input.driverOptions, "driverOptions");
  const { ssl, ...connection } = readObject(driverOptions.connection, CONNECTION);
  for (const key of Object.keys(CONNECTION_OVERRIDES)) {
    if (connection[key] === undefined || connection[key] === null) continue;
    throw new RdsIamError(
      "CONFLICTING_OPTIONS",
      `${CONNECTION}.${key} cannot be combined with IAM authentication (knex would use it over ours): ${CONNECTION_OVERRIDES[key]}.`,
      { option: `${CONNECTION}.${key}` },
    );
  }
  for (const key of Object.keys(connection)) {
    if (!IAM_KEYS.includes(key) && key !== "engine") continue;
    throw new RdsIamError(
      "INVALID_OPTION",
      `${CONNECTION}.${key} is not a driver option: ${key === "engine" ? "remove it (driver decides the engine)" : `move it under iam, e.g. iam: { ${key}: ... }`}.`,
      { option: `${CONNECTION}.${key}` },
    );
  }
  if (kind !== "pg") {
    refusePacketDebug(connection, kind, iam.iamAllowTokenInDebugOutput, `${CONNECTION}.`);
  }
  const { config, auth } = namingTls(() =>
    driverView(
      kind,
      prepareBinding(
        { ...connection, ...iam, host: input.host, port: input.port, user: input.user, ssl },
        { what: "withIamAuth", engine: KIND_ENGINE[kind], names: NAMES },
      ),
    ),
  );
  const { password: pgPassword, ...ours } = config;
  // The config knex gets never expires: the driver asks the provider at each login.
  const password = async () => ({
    password: kind === "pg" ? pgPassword : undefined,
    expirationChecker: () => false,
  });
  const driver = iamDriverClass(input.driver as Parameters<typeof iamDriverClass>[0], kind, auth);
  auths.set(driver, auth);
  return {
    ...input,
    password,
    driver,
    driverOptions: { ...driverOptions, connection: ours },
  } as unknown as IamMikroOrmConfig<T>;
}

/**
 * The token provider behind options made by {@link withIamAuth}, or behind the
 * `MikroORM` instance, its `config` or its `driver` built from them: counters,
 * `invalidate()`, `close()`. The same call every adapter offers.
 *
 * @throws RdsIamError `INVALID_OPTION` for anything else.
 */
export function iamAuthOf(target: object): IamAuth {
  const found = [
    target,
    (target as { driver?: unknown })?.driver,
    configDriver((target as { config?: unknown })?.config),
    configDriver(target),
  ]
    .map(lookup)
    .find((auth) => auth !== undefined);
  if (found === undefined) {
    throw new RdsIamError(
      "INVALID_OPTION",
      "This is not a MikroORM instance or options made with withIamAuth().",
      { option: "options" },
    );
  }
  return found;
}

function lookup(value: unknown): IamAuth | undefined {
  if (typeof value === "function") return auths.get(value);
  if (typeof value === "object" && value !== null) return auths.get(value.constructor);
  return undefined;
}

function configDriver(config: unknown): unknown {
  const get = (config as { get?: unknown } | undefined)?.get;
  return typeof get === "function" ? get.call(config, "driver") : undefined;
}

function driverView(
  kind: IamMikroOrmDriverKind,
  binding: ReturnType<typeof prepareBinding>,
): { config: Record<string, unknown>; auth: IamAuth } {
  if (kind === "pg") return pgConfigOf(binding);
  if (kind === "mysql2") return mysql2ConfigOf(binding);
  return mariadbConfigOf(binding);
}

/** Core names TLS errors `ssl`; MikroORM users set it as `driverOptions.connection.ssl`. */
function namingTls<T>(build: () => T): T {
  try {
    return build();
  } catch (error) {
    const option = isRdsIamError(error) ? error.option : undefined;
    if (!isRdsIamError(error) || option === undefined || !/^ssl(\.|$)/.test(option)) throw error;
    throw new RdsIamError(
      error.code,
      error.message.replace(/(?<![\w.])ssl(?![\w])/g, `${CONNECTION}.ssl`),
      {
        option: `${CONNECTION}.${option}`,
        ...(error.cause === undefined ? {} : { cause: error.cause }),
      },
    );
  }
}

function readIam(given: unknown): IamMikroOrmOptions {
  if (typeof given !== "object" || given === null || isArraySafe(given)) {
    throw new RdsIamError(
      "INVALID_OPTION",
      'iam must be an object of IAM options, e.g. { iamRegion: "us-east-1" }.',
      {
        option: "iam",
      },
    );
  }
  const iam = readOptions(given, "iam");
  // `withIamAuth` infers its type from the argument, so TypeScript's excess property
  // check misses `iam.iamRegoin`: refuse it rather than sign with another region.
  for (const key of Object.keys(iam)) {
    if (IAM_KEYS.includes(key)) continue;
    const placed = ["host", "port", "user", "password", "dbName"].includes(key);
    const known = closestName(key, IAM_KEYS);
    throw new RdsIamError(
      "INVALID_OPTION",
      key === "ssl"
        ? `iam.ssl is not an IAM option: set TLS as ${CONNECTION}.ssl.`
        : placed
          ? `iam.${key} is not an IAM option: set ${key} at the top level of the MikroORM options.`
          : `iam.${key} is not an IAM option${known ? ` (did you mean iam.${known}?)` : ""}; known: ${IAM_KEYS.join(", ")}.`,
      { option: `iam.${key}` },
    );
  }
  return iam as IamMikroOrmOptions;
}

/** IAM options belong under `iam`, TLS under `driverOptions.connection`: MikroORM would ignore them at the top. */
function refuseTopLevel(input: Record<string, unknown>): void {
  for (const key of Object.keys(input)) {
    if (key === "ssl") {
      throw new RdsIamError(
        "INVALID_OPTION",
        `ssl is not a MikroORM option: set TLS as ${CONNECTION}.ssl.`,
        {
          option: "ssl",
        },
      );
    }
    const lower = key.toLowerCase();
    if (!IAM_KEYS.includes(key) && !lower.startsWith("iam") && !lower.startsWith("aws")) continue;
    const guess = IAM_KEYS.includes(key) ? key : closestName(key, IAM_KEYS);
    throw new RdsIamError(
      "INVALID_OPTION",
      guess === key
        ? `${key} is an IAM option: move it under iam, e.g. withIamAuth({ ..., iam: { ${key}: ... } }).`
        : `${key} is not a MikroORM option${guess === undefined ? "" : `; did you mean iam.${guess}?`} IAM options go under iam: { ... }; known: ${IAM_KEYS.join(", ")}.`,
      { option: key },
    );
  }
}

function refuseOptions(input: Record<string, unknown>): void {
  const conflict = (option: string, why: string) =>
    new RdsIamError(
      "CONFLICTING_OPTIONS",
      `${option} cannot be combined with IAM authentication: ${why}`,
      {
        option,
      },
    );
  if (input.password !== undefined && input.password !== null) {
    throw conflict("password", "the token is the password. Remove it.");
  }
  if (input.clientUrl !== undefined && input.clientUrl !== null) {
    throw conflict(
      "clientUrl",
      "its password, host and user would replace the token and the endpoint it is signed for. Set host, port, user and dbName instead.",
    );
  }
  if (Array.isArray(input.replicas) ? input.replicas.length > 0 : input.replicas != null) {
    throw new RdsIamError(
      "INVALID_OPTION",
      "replicas are not supported with IAM authentication yet (each token is signed for one endpoint): create one MikroORM instance per endpoint.",
      { option: "replicas" },
    );
  }
  // MikroORM reads MIKRO_ORM_PASSWORD at init and puts it over the password callback.
  if (process.env.MIKRO_ORM_PASSWORD !== undefined && process.env.MIKRO_ORM_PASSWORD !== "") {
    throw conflict(
      "MIKRO_ORM_PASSWORD",
      "MikroORM would log in with this environment variable instead of the token. Unset it.",
    );
  }
  const driverOptions = input.driverOptions as Record<string, unknown> | undefined;
  if (driverOptions?.context !== undefined) {
    throw conflict(
      "driverOptions.context",
      "a knex instance of your own bypasses the token. Remove it; MikroORM builds the knex client.",
    );
  }
  if (driverOptions?.client !== undefined) {
    throw conflict(
      "driverOptions.client",
      "it would replace MikroORM's knex dialect. Remove it; driver decides the dialect.",
    );
  }
}

function readObject(value: unknown, option: string): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || isArraySafe(value)) {
    throw new RdsIamError("INVALID_OPTION", `${option} must be an object.`, { option });
  }
  return readOptions(value, option);
}
