import type { CreateIamAuthOptions } from "./iam-auth";

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

/** Splits a binding's input into the IAM part and the driver's own options. */
export function splitIamOptions<T extends object>(
  input: T,
): { iam: Pick<T, Extract<keyof T, IamKey>>; driver: Omit<T, IamKey> } {
  const iam: Record<string, unknown> = {};
  const driver: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    if ((IAM_KEYS as readonly string[]).includes(key)) iam[key] = value;
    else driver[key] = value;
  }
  return { iam: iam as Pick<T, Extract<keyof T, IamKey>>, driver: driver as Omit<T, IamKey> };
}
