import { RdsIamError } from "@rds-iam/core";
import {
  type BindingNames,
  closestName,
  IAM_ONLY_OPTION_NAMES,
  isArraySafe,
  readOptions,
} from "@rds-iam/core/driver";

/**
 * The `iam` key and the replication entries, read the same way for Sequelize 6 and 7;
 * only the spelling differs: Sequelize 6 says `username` and `dialectOptions.ssl`,
 * Sequelize 7 the driver's `user` and `ssl` at the root.
 */
export interface Spelling {
  readonly user: "username" | "user";
  readonly ssl: "dialectOptions.ssl" | "ssl";
}

export const IAM_KEYS: readonly string[] = IAM_ONLY_OPTION_NAMES;
type Options = Record<string, unknown>;

/** `iam` (top level or a replica's), checked: an object of known IAM option names. */
export function iamOptionsOf(given: unknown, option: string, spelling: Spelling): Options {
  if (given === undefined) return {};
  if (typeof given !== "object" || given === null || isArraySafe(given)) {
    throw new RdsIamError(
      "INVALID_OPTION",
      `${option} must be an object of IAM options, e.g. { iamRegion: "us-east-1" }.`,
      { option },
    );
  }
  const iam = readOptions(given, option);
  for (const key of Object.keys(iam)) {
    if (IAM_KEYS.includes(key)) continue;
    const known = closestName(key, IAM_KEYS);
    const placed = ["host", "port", "username", "user", "ssl", "password"].includes(key);
    const own =
      key === "ssl" ? spelling.ssl : key === "user" || key === "username" ? spelling.user : key;
    throw new RdsIamError(
      "INVALID_OPTION",
      placed
        ? `${option}.${key} is not an IAM option: Sequelize's own ${own} says it.`
        : `${option}.${key} is not an IAM option${known ? ` (did you mean ${option}.${known}?)` : ""}; known: ${IAM_KEYS.join(", ")}.`,
      { option: `${option}.${key}` },
    );
  }
  return iam;
}

/**
 * The top-level `iam` as it applies to an endpoint: one with a host of its own is
 * signed for that host, not for the `iamHost` / `iamDefaultPort` meant for the top-level host.
 */
export function iamOf(iam: Options, ownHost: boolean): Options {
  if (!ownHost) return iam;
  const { iamHost: _host, iamDefaultPort: _port, ...rest } = iam;
  return rest;
}

/** Errors name options as the Sequelize user wrote them. */
export function namesFor(
  prefix: string,
  entry: Options,
  entryIam: Options,
  spelling: Spelling,
): BindingNames {
  const name = (key: string, own: boolean) => (own && prefix !== "" ? `${prefix}${key}` : key);
  const names: Record<string, string> = {
    host: name("host", entry.host !== undefined),
    port: name("port", entry.port !== undefined),
    user: name(spelling.user, entry[spelling.user] !== undefined),
  };
  // An entry with a host of its own is signed for it: its iamHost / iamDefaultPort are its own.
  const ownTarget = prefix !== "" && entry.host !== undefined;
  for (const key of IAM_KEYS) {
    const own = key in entryIam || (ownTarget && (key === "iamHost" || key === "iamDefaultPort"));
    names[key] = own ? `${prefix}iam.${key}` : `iam.${key}`;
  }
  return names as BindingNames;
}

export function replicationOf(
  given: unknown,
  spelling: Spelling,
): { read: Options[]; write: Options } {
  const shape = () =>
    new RdsIamError(
      "INVALID_OPTION",
      "replication must be { read: [{ host, ... }, ...], write: { host, ... } } (or false).",
      { option: "replication" },
    );
  if (typeof given !== "object" || given === null || isArraySafe(given)) throw shape();
  const { read = [], write = {}, ...rest } = readOptions(given, "replication");
  const unknown = Object.keys(rest)[0];
  if (unknown !== undefined) throw shape();
  const list = isArraySafe(read) ? (read as unknown[]) : [read];
  const entry = (value: unknown, option: string): Options => {
    if (typeof value !== "object" || value === null || isArraySafe(value)) {
      throw new RdsIamError(
        "INVALID_OPTION",
        `${option} must be an object: { host, port, ${spelling.user}, database, iam }.`,
        {
          option,
        },
      );
    }
    return readOptions(value, option);
  };
  return {
    write: entry(write, "replication.write"),
    read: list.map((value, index) => entry(value, `replication.read[${index}]`)),
  };
}

/**
 * IAM options belong under `iam`: at the top level Sequelize would ignore them (and the
 * default they meant to override would be used in silence).
 */
export function refuseTopLevelIamKeys(input: Options): void {
  for (const key of Object.keys(input)) {
    const lower = key.toLowerCase();
    if (!IAM_KEYS.includes(key) && !lower.startsWith("iam") && !lower.startsWith("aws")) continue;
    const guess = IAM_KEYS.includes(key) ? key : closestName(key, IAM_KEYS);
    throw new RdsIamError(
      "INVALID_OPTION",
      guess === key
        ? `${key} is an IAM option: move it under iam, e.g. withIamAuth({ ..., iam: { ${key}: ... } }).`
        : `${key} is not a Sequelize option${guess === undefined ? "" : `; did you mean iam.${guess}?`} IAM options go under iam: { ... }; known: ${IAM_KEYS.join(", ")}.`,
      { option: key },
    );
  }
}
