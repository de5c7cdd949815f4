import { describeValue } from "./engine";
import { RdsIamError } from "./errors";
import { isArraySafe, readOptions } from "./read-options";

/** A query parameter's name: plain characters only, so it cannot smuggle `&` or `=`. */
const KEY_SHAPE = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * Parameters that decide TLS in at least one consumer (pg-connection-string, libpq,
 * Prisma's engine, mysql2's URL parser, which JSON-parses every value into its
 * connection options). Consumers take the last value of a repeated key, so any of
 * these after ours would switch verification off. Every `ssl*` key is refused too.
 */
const TLS_KEYS = new Set([
  "requiressl",
  "tls",
  "gssencmode",
  "uselibpqcompat",
  "enablecleartextplugin",
  "verifyidentity",
  "rejectunauthorized",
  "ca",
  "servername",
  "checkserveridentity",
  "secureprotocol",
  "flags",
]);

/**
 * Parameters that would replace where the token goes or what logs in: node-postgres
 * prefers `host`, `user`, `password` and `port` query values over the URL's own parts,
 * mysql2 copies any key into its options, Prisma reads `host` / `socket` as a socket.
 */
const TARGET_KEYS = new Set([
  "host",
  "hostaddr",
  "port",
  "user",
  "username",
  "password",
  "password1",
  "password2",
  "password3",
  "passwordsha1",
  "passfile",
  "socket",
  "socketpath",
  // mysql2 parses a nested URL and copies its parameters (debug, ssl, ...) in.
  "uri",
  "localaddress",
  "stream",
  "authplugins",
  "authswitchhandler",
  "isserver",
]);

/** How the caller's users set what a refused parameter would have set (options or flags). */
export interface UrlParamFixes {
  /** Where TLS is configured instead. */
  readonly tls: string;
  /** Where the target and login are given instead. */
  readonly target: string;
}

const LIBRARY_FIXES: UrlParamFixes = {
  tls: "to trust your own CA pass ssl: { ca } or caFile, and for a local test gateway without TLS, ssl: false with iamAllowPlaintext",
  target: "set host, port or user as options",
};

/** Parameters that print or keep packets, the token among them. */
const DEBUG_KEYS = new Set(["debug", "logpackets", "debugcompress"]);

/**
 * Checks the extra query parameters of a URL that carries a token: plain keys, string
 * values, and none of the keys that govern TLS, the target or packet logging (those
 * come from `ssl`, `caFile`, `host`, `port` and `user`, where they are verified).
 *
 * @param option How the caller spells the parameters option (`params`, `--param`).
 * @param nameOf How to name one parameter in an error (default `params.<key>`).
 * @param fixes What the errors suggest instead (default: the library's options).
 * @throws RdsIamError `INVALID_OPTION` for a malformed entry, `CONFLICTING_OPTIONS`
 * naming `params.<key>` for a refused key.
 */
export function checkUrlParams(
  params: unknown,
  option = "params",
  nameOf: (key: string) => string = (key) => `${option}.${key}`,
  fixes: UrlParamFixes = LIBRARY_FIXES,
): Record<string, string> {
  if (params === undefined || params === null) return {};
  if (typeof params !== "object" || isArraySafe(params)) {
    throw new RdsIamError(
      "INVALID_OPTION",
      `${option} must be an object of string values, e.g. { schema: "app" } (got ${describeValue(params)}).`,
      { option },
    );
  }
  const checked: Record<string, string> = {};
  for (const [key, value] of Object.entries(readOptions(params, option))) {
    const named = nameOf(key);
    if (!KEY_SHAPE.test(key)) {
      throw new RdsIamError(
        "INVALID_OPTION",
        `${option} has a key ${describeValue(key)} that is not a plain parameter name (letters, digits, "_", "-", "."; at most 64).`,
        { option },
      );
    }
    const lower = key.toLowerCase();
    if (lower.startsWith("ssl") || TLS_KEYS.has(lower)) {
      throw new RdsIamError(
        "CONFLICTING_OPTIONS",
        `${named} governs TLS, which rds-iam sets itself so that the token only travels over verified TLS. Remove it; ${fixes.tls}.`,
        { option: named },
      );
    }
    if (TARGET_KEYS.has(lower)) {
      throw new RdsIamError(
        "CONFLICTING_OPTIONS",
        `${named} would replace where the token is sent or who logs in. Remove it and ${fixes.target} (the token is the password).`,
        { option: named },
      );
    }
    if (DEBUG_KEYS.has(lower)) {
      throw new RdsIamError(
        "CONFLICTING_OPTIONS",
        `${named} makes the driver print or keep its packets, the token among them. Remove it.`,
        { option: named },
      );
    }
    if (typeof value !== "string") {
      throw new RdsIamError(
        "INVALID_OPTION",
        `${named} must be a string (got ${describeValue(value)}).`,
        { option: named },
      );
    }
    checked[key] = value;
  }
  return checked;
}
