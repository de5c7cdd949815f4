import { type IamAuth, RdsIamError } from "@rds-iam/core";
import { closestName, IAM_ONLY_OPTION_NAMES, isArraySafe, readOptions } from "@rds-iam/core/driver";
import { mysqlIamOptions } from "./mysql-options";
import { postgresIamOptions } from "./postgres-options";
import type { IamTypeormDataSourceFields, IamTypeormOptions } from "./typeorm-iam-options";

const providers = new WeakMap<object, IamAuth>();

/**
 * The options minus `iam`, distributed over unions, so options typed as
 * `PostgresConnectionOptions | MysqlConnectionOptions` stay DataSource options.
 */
export type IamTypeormDataSourceOptions<T> = T extends unknown ? Omit<T, "iam"> : never;

/**
 * DataSource options that log every new pooled connection in with a current RDS IAM
 * token:
 *
 * ```ts
 * new DataSource(withIamAuth({ type: "postgres", host, username, database, entities, iam: { iamRegion } }));
 * ```
 *
 * - `postgres`: `password` becomes a function pg calls per new connection; `url` and a
 *   static `password` are refused (pg would send them instead of the token); pg-native
 *   is never used (it ignores password functions).
 * - `mysql` / `mariadb`: mysql2's clear-password plugin goes into `extra` (merged with
 *   yours); `connectorPackage` is `mysql2` (the `mysql` package cannot send a token).
 * - Both: TLS verified against the RDS CA bundle unless you set `ssl` (`ssl: false`
 *   needs `iam.iamAllowPlaintext` and a loopback host); a login the database rejects is
 *   retried once with a fresh token, through a wrapped `driver` (yours if given, else
 *   the module TypeORM would load).
 *
 * Works with TypeORM 1.x and 0.3. Options are validated here, so mistakes surface
 * before `initialize()`. {@link iamAuthOf} returns the token provider (stats, close).
 *
 * @throws RdsIamError naming the option at fault.
 */
export function withIamAuth<T extends IamTypeormDataSourceFields>(
  options: T & { readonly iam?: IamTypeormOptions | undefined },
): IamTypeormDataSourceOptions<T> {
  if (typeof options !== "object" || options === null) {
    throw new RdsIamError(
      "INVALID_OPTION",
      'withIamAuth needs DataSource options: { type: "postgres" | "mysql" | "mariadb", host, username, ... }.',
      { option: "options" },
    );
  }
  // Snapshots, read once (a getter that throws or a revoked Proxy is a typed error).
  const { iam: iamGiven = {}, ...rest } = readOptions(options, "DataSource options") as {
    iam?: unknown;
  } & Record<string, unknown>;
  const input = rest as unknown as IamTypeormDataSourceFields & Record<string, unknown>;
  if (typeof iamGiven !== "object" || iamGiven === null || isArraySafe(iamGiven)) {
    throw new RdsIamError(
      "INVALID_OPTION",
      'iam must be an object of IAM options, e.g. { iamRegion: "us-east-1" }.',
      {
        option: "iam",
      },
    );
  }
  const iam = readOptions(iamGiven, "iam") as IamTypeormOptions;
  refuseTopLevelIamKeys(input);
  refuseUnknownIamKeys(iam);
  refuse(input);
  refuseExtraOverrides(input.extra);
  const result =
    input.type === "postgres"
      ? postgresIamOptions(input, iam)
      : input.type === "mysql" || input.type === "mariadb"
        ? mysqlIamOptions(input, iam)
        : unsupported(input.type);
  providers.set(result.options, result.auth);
  return result.options as IamTypeormDataSourceOptions<T>;
}

/**
 * The token provider behind options made by {@link withIamAuth}, or behind a
 * DataSource built from them: counters, `invalidate()`, `close()`. The same call every
 * adapter offers.
 *
 * @throws RdsIamError `INVALID_OPTION` for anything else.
 */
export function iamAuthOf(optionsOrDataSource: object): IamAuth {
  const options = (optionsOrDataSource as { options?: unknown }).options;
  const auth =
    providers.get(optionsOrDataSource) ??
    (typeof options === "object" && options !== null ? providers.get(options) : undefined);
  if (!auth) {
    throw new RdsIamError(
      "INVALID_OPTION",
      "These DataSource options were not made by withIamAuth().",
      {
        option: "options",
      },
    );
  }
  return auth;
}

// The keys `iam` may hold: core's IAM-only options. The target (`host`, `port`,
// `username`) and `ssl` are TypeORM's own options, read from there, never from `iam`.
const IAM_KEYS: readonly string[] = IAM_ONLY_OPTION_NAMES;

// `withIamAuth` infers its options' type from the argument, so TypeScript's excess
// property check does not reach `iam`: a misspelt `iamRegoin` would be ignored and
// the region quietly taken from elsewhere. Refuse it instead.
function refuseUnknownIamKeys(iam: object): void {
  for (const key of Object.keys(iam)) {
    if (IAM_KEYS.includes(key)) continue;
    const known = closestName(key, IAM_KEYS);
    const placed = ["host", "port", "username", "user", "ssl", "password"].includes(key);
    throw new RdsIamError(
      "INVALID_OPTION",
      placed
        ? `iam.${key} is not an IAM option: set ${key === "user" ? "username" : key} at the top level of the DataSource options.`
        : `iam.${key} is not an IAM option${known ? ` (did you mean iam.${known}?)` : ""}; known: ${IAM_KEYS.join(", ")}.`,
      { option: `iam.${key}` },
    );
  }
}

/**
 * IAM options belong under `iam`: at the top level TypeORM would ignore them (and the
 * default they meant to override would be used in silence).
 */
function refuseTopLevelIamKeys(input: Record<string, unknown>): void {
  for (const key of Object.keys(input)) {
    const lower = key.toLowerCase();
    const named = IAM_KEYS.includes(key) ? key : undefined;
    if (named === undefined && !lower.startsWith("iam") && !lower.startsWith("aws")) continue;
    const guess = named ?? closestName(key, IAM_KEYS);
    throw new RdsIamError(
      "INVALID_OPTION",
      guess === key
        ? `${key} is an IAM option: move it under iam, e.g. withIamAuth({ ..., iam: { ${key}: ... } }).`
        : `${key} is not a DataSource option${guess === undefined ? "" : `; did you mean iam.${guess}?`} IAM options go under iam: { ... }; known: ${IAM_KEYS.join(", ")}.`,
      { option: key },
    );
  }
}

/**
 * TypeORM merges `extra` last into the driver's pool config, so these keys there
 * would silently replace the token (`password`, `connectionString`), the target the
 * token is signed for (`host`, `port`, `user`) or the verified TLS (`ssl`).
 */
const EXTRA_OVERRIDES: Readonly<Record<string, string>> = {
  password: "the token is the password: remove it",
  connectionString:
    "pg would log in with the URL's password instead of the token: give host, port, username and database",
  uri: "mysql2 would log in with the URL's password instead of the token: give host, port, username and database",
  user: "set username at the top level of the DataSource options",
  host: "set host at the top level of the DataSource options",
  port: "set port at the top level of the DataSource options",
  ssl: "set ssl at the top level of the DataSource options, where it is checked (verified TLS by default)",
};

function refuseExtraOverrides(extra: unknown): void {
  if (typeof extra !== "object" || extra === null) return;
  for (const key of Object.keys(extra)) {
    const fix = EXTRA_OVERRIDES[key];
    if (fix === undefined || (extra as Record<string, unknown>)[key] === undefined) continue;
    throw new RdsIamError(
      "CONFLICTING_OPTIONS",
      `extra.${key} cannot be combined with IAM authentication (TypeORM would pass it to the driver over ours): ${fix}.`,
      { option: `extra.${key}` },
    );
  }
}

function refuse(input: IamTypeormDataSourceFields & Record<string, unknown>): void {
  if (input.url !== undefined) {
    throw new RdsIamError(
      "CONFLICTING_OPTIONS",
      "url cannot be combined with IAM authentication: the driver would use the URL's password instead of the token. Give host, port, username and database instead.",
      { option: "url" },
    );
  }
  if (input.password !== undefined && input.password !== null) {
    throw new RdsIamError(
      "CONFLICTING_OPTIONS",
      "password cannot be combined with IAM authentication: the token is the password. Remove it.",
      { option: "password" },
    );
  }
  if (input.replication !== undefined) {
    throw new RdsIamError(
      "INVALID_OPTION",
      "replication is not supported with IAM authentication yet: create one DataSource per endpoint.",
      { option: "replication" },
    );
  }
  if (
    input.driver !== undefined &&
    input.driver !== null &&
    typeof input.driver !== "object" &&
    typeof input.driver !== "function"
  ) {
    throw new RdsIamError(
      "INVALID_OPTION",
      `driver must be the driver module (pg for postgres, mysql2 for mysql / mariadb), e.g. driver: require("pg"); omit it to use the one TypeORM would load (got ${typeof input.driver}).`,
      { option: "driver" },
    );
  }
  if (input.connectorPackage !== undefined && input.connectorPackage !== "mysql2") {
    throw new RdsIamError(
      "CONFLICTING_OPTIONS",
      `connectorPackage "${String(input.connectorPackage)}" cannot send an IAM token; remove it (mysql2 is used).`,
      { option: "connectorPackage" },
    );
  }
  if (typeof input.username !== "string" || input.username.trim() === "") {
    throw new RdsIamError(
      "MISSING_OPTION",
      "username is required: the database user the token is for (it must match the IAM policy's dbuser).",
      { option: "username" },
    );
  }
}

function unsupported(type: unknown): never {
  throw new RdsIamError(
    "INVALID_OPTION",
    `type ${JSON.stringify(type)} is not supported with IAM authentication; use "postgres", "mysql" or "mariadb".`,
    { option: "type" },
  );
}
