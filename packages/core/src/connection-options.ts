import { closestName } from "./closest-name";
import { RdsIamError } from "./errors";
import type { CreateIamAuthOptions } from "./iam-auth";
import { readOptions } from "./read-options";

/**
 * The options every driver binding takes: the IAM options, TLS, and the explicit
 * plaintext opt-out. Anything else in a binding's input is the driver's own and
 * passes through untouched.
 */
export interface IamConnectionOptions extends Omit<CreateIamAuthOptions, "engine"> {
  /**
   * TLS. Default (omitted, `true` or `"require"`): TLS verified against the RDS CA
   * bundle, and the certificate must name the RDS endpoint (`iamHost`), also through a
   * tunnel and with every driver. An object is used as given, plus the same name check
   * unless it has its own `checkServerIdentity` or says `rejectUnauthorized: false`.
   * `false` / `"disable"` is refused unless `iamAllowPlaintext` is set and the host is
   * loopback. See `resolveTls` in `@rds-iam/core`.
   */
  ssl?: unknown;
  /** Let a token travel without TLS to a loopback host (a local test gateway). Default false. */
  iamAllowPlaintext?: boolean | undefined;
  /**
   * Let the driver's packet debug output (mysql2 / mariadb `debug`, mariadb
   * `logPackets`) run with IAM, although it prints or keeps the token. Default false:
   * such options are refused.
   */
  iamAllowTokenInDebugOutput?: boolean | undefined;
}

/**
 * The options that only say how to sign and where tokens may travel, without the
 * target (`engine`, `host`, `port`, `user`) and `ssl`. Adapters that read the target
 * from their ORM's own options use this list for the rest.
 */
export const IAM_ONLY_OPTION_NAMES = [
  "iamHost",
  "iamDefaultPort",
  "iamRegion",
  "iamTokenExpiration",
  "credentials",
  "awsProfile",
  "clock",
  "tokenCache",
  "iamAllowPlaintext",
  "iamTimeout",
  "iamAllowTokenInDebugOutput",
] as const;

const IAM_KEYS = ["engine", "host", "port", "user", ...IAM_ONLY_OPTION_NAMES, "ssl"] as const;

type IamKey = (typeof IAM_KEYS)[number];

/**
 * Splits a binding's input into the IAM part and the driver's own options. Keys that
 * look like ours but are not (`iamRegoin`, `IAMHost`, `awsProfle`) are refused,
 * naming the likely one: passed to the driver they would be ignored, and the default
 * they failed to override used in silence.
 *
 * @throws RdsIamError `INVALID_OPTION` naming the key.
 */
export function splitIamOptions<T extends object>(
  input: T,
): { iam: Pick<T, Extract<keyof T, IamKey>>; driver: Omit<T, IamKey> } {
  const iam: Record<string, unknown> = {};
  const driver: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(readOptions(input))) {
    if ((IAM_KEYS as readonly string[]).includes(key)) iam[key] = value;
    else {
      refuseLookalike(key);
      driver[key] = value;
    }
  }
  return { iam: iam as Pick<T, Extract<keyof T, IamKey>>, driver: driver as Omit<T, IamKey> };
}

/** Our option names, for look-alike checks (the target keys are also the drivers'). */
const OWN_KEYS: readonly string[] = [...IAM_ONLY_OPTION_NAMES, "engine"];

function refuseLookalike(key: string): void {
  const lower = key.toLowerCase();
  const ours = lower.startsWith("iam") || lower.startsWith("aws");
  const sameLetters = IAM_KEYS.find((name) => name.toLowerCase() === lower);
  if (!ours && sameLetters === undefined) return;
  const guess = sameLetters ?? closestName(key, OWN_KEYS);
  throw new RdsIamError(
    "INVALID_OPTION",
    `Unknown option ${JSON.stringify(key)}${guess === undefined ? "" : ` (did you mean ${guess}?)`}: it looks like an rds-iam option, and the driver would ignore it. Known: ${OWN_KEYS.join(", ")}.`,
    { option: key },
  );
}

/**
 * A binding's input as a plain snapshot, refused with a typed error if it is not an
 * object or cannot be read (see `readOptions`).
 *
 * @param what How the binding names its input in errors.
 */
export function bindingInput<T extends object>(input: T, what: string): T {
  const refuse = () =>
    new RdsIamError("INVALID_OPTION", `${what} takes an options object: { host, user, ... }.`, {
      option: "options",
    });
  if (typeof input !== "object" || input === null) throw refuse();
  // readOptions first: Array.isArray throws on a revoked Proxy.
  const snapshot = readOptions(input);
  if (Array.isArray(input)) throw refuse();
  return snapshot as T;
}
