import { describeValue, type Engine, parseEngine } from "./engine";
import { RdsIamError } from "./errors";
import { isHostOrIpLiteral } from "./host-syntax";
import { readOptions } from "./read-options";
import { rdsCaBundle } from "./tls";
import { checkUrlParams } from "./url-params";

/**
 * Which consumer a URL is written for; each reads TLS settings differently:
 * - `prisma`: Prisma's schema engine (`prisma migrate deploy`, `db pull`, ...):
 *   `sslmode=require`, and certificates are verified only with
 *   `sslaccept=strict&sslcert=<CA file>` (PostgreSQL); MySQL uses `sslaccept` / `sslcert`.
 * - `node-postgres`: `pg` / `pg-connection-string`: `sslmode=verify-full&sslrootcert=<CA file>`.
 * - `mysql2`: mysql2's URL parser (`ConnectionConfig.parseUrl`, which JSON-parses query
 *   values): `ssl` as a JSON object (CA inline, `verifyIdentity`), plus `enableCleartextPlugin=true`.
 */
export type DatabaseUrlFlavor = "prisma" | "node-postgres" | "mysql2";

/** The URL flavours, for validation and help texts. */
export const DATABASE_URL_FLAVORS: readonly DatabaseUrlFlavor[] = Object.freeze([
  "prisma",
  "node-postgres",
  "mysql2",
]);

/**
 * How the URL's consumer should treat TLS:
 * - `verify`: TLS, certificate chain and name verified (against `caFile` / `ca` when given);
 * - `no-verify`: TLS without verification (only when the user's `ssl` says `rejectUnauthorized: false`);
 * - `disable`: no TLS (only for an explicitly allowed loopback connection).
 */
export type DatabaseUrlTls = "verify" | "no-verify" | "disable";

/** What goes into a database URL. The token is the password. */
export interface DatabaseUrlParams {
  /** Decides the scheme: `postgresql://` or `mysql://`. */
  readonly engine: Engine;
  /** The host the consumer connects to (IPv6 literals are bracketed). */
  readonly host: string;
  /** The port the consumer connects to. */
  readonly port: number;
  /** The database user; encoded with `encodeURIComponent`. */
  readonly user: string;
  /** The password: an IAM token. Encoded with `encodeURIComponent`. */
  readonly token: string;
  /** The database named in the URL's path. Default: none (the server's default). */
  readonly database?: string | undefined;
  /** Who reads the URL: decides how TLS is spelled. See {@link DatabaseUrlFlavor}. */
  readonly flavor: DatabaseUrlFlavor;
  /** Default `verify`. See {@link DatabaseUrlTls}. */
  readonly tls?: DatabaseUrlTls | undefined;
  /**
   * A PEM file holding the CA certificates to trust. Prisma's engine verifies
   * certificates only against such a file (`sslcert`); node-postgres reads it as
   * `sslrootcert`. Not used by the `mysql2` flavour, which cannot read files (see `ca`).
   */
  readonly caFile?: string | undefined;
  /**
   * The `mysql2` flavour only: CA certificates (PEM) to embed in the `ssl` JSON, with
   * `verifyIdentity` so that mysql2 checks the certificate's name too (its
   * `"Amazon RDS"` profile checks the chain only: any RDS server would do).
   * Default: the whole RDS CA bundle (`iamDatabaseUrl` passes the region's part of it).
   */
  readonly ca?: string | readonly string[] | undefined;
  /**
   * Extra query parameters, appended after the TLS ones (e.g. `schema`,
   * `connection_limit`). Keys that govern TLS (`ssl*`, ...), the target or the login
   * (`host`, `port`, `user`, `password`, `socket`, ...) or packet logging (`debug`) are
   * refused: consumers take the last value, so they would override ours.
   */
  readonly params?: Readonly<Record<string, string>> | undefined;
}

/**
 * Builds a connection URL carrying a token, in the flavour its consumer understands.
 * Every component is encoded with `encodeURIComponent`: the WHATWG `URL.password`
 * setter leaves `&` and `%` raw and would break the token's signature, and
 * `URLSearchParams` would turn spaces in file paths into `+`.
 *
 * The host must be a hostname or an IP literal, and `params` may not carry keys that
 * govern TLS, the target or packet logging (see {@link DatabaseUrlParams.params}):
 * either could send the token elsewhere or in cleartext.
 *
 * @throws RdsIamError `INVALID_OPTION` for an unknown flavour or TLS mode, a host that
 * is not a hostname or IP literal, or a bad port; `CONFLICTING_OPTIONS` naming
 * `params.<key>` for a refused parameter.
 */
export function buildDatabaseUrl(given: DatabaseUrlParams): string {
  if (typeof given !== "object" || given === null) {
    throw new RdsIamError("INVALID_OPTION", "buildDatabaseUrl takes an object of URL parts.", {
      option: "params",
    });
  }
  const params = readOptions(given, "params") as unknown as DatabaseUrlParams;
  for (const key of ["user", "token"] as const) {
    if (typeof params[key] !== "string") {
      throw new RdsIamError(
        "INVALID_OPTION",
        `${key} must be a string (got ${describeValue(params[key])}).`,
        {
          option: key,
        },
      );
    }
  }
  for (const key of ["database", "caFile"] as const) {
    if (params[key] !== undefined && typeof params[key] !== "string") {
      throw new RdsIamError(
        "INVALID_OPTION",
        `${key} must be a string when given (got ${describeValue(params[key])}).`,
        { option: key },
      );
    }
  }
  const ca = params.ca;
  if (
    ca !== undefined &&
    typeof ca !== "string" &&
    !(Array.isArray(ca) && ca.every((pem) => typeof pem === "string"))
  ) {
    throw new RdsIamError("INVALID_OPTION", "ca must be a PEM string or a list of them.", {
      option: "ca",
    });
  }
  parseEngine(params.engine);
  const tls = params.tls ?? "verify";
  if (!["verify", "no-verify", "disable"].includes(tls)) {
    throw new RdsIamError("INVALID_OPTION", `tls must be "verify", "no-verify" or "disable".`, {
      option: "tls",
    });
  }
  checkUrlHost(params.host);
  if (!Number.isInteger(params.port) || params.port < 1 || params.port > 65535) {
    throw new RdsIamError(
      "INVALID_OPTION",
      `port must be a whole number from 1 to 65535 (got ${describeValue(params.port)}).`,
      { option: "port" },
    );
  }
  const extra = checkUrlParams(params.params);
  const query = [...tlsParams(params, tls), ...Object.entries(extra)];
  const scheme = params.engine === "postgres" ? "postgresql" : "mysql";
  const auth = `${encodeURIComponent(params.user)}:${encodeURIComponent(params.token)}`;
  const database = params.database === undefined ? "" : encodeURIComponent(params.database);
  const search = query
    .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`)
    .join("&");
  return `${scheme}://${auth}@${urlHost(params.host)}:${params.port}/${database}${search ? `?${search}` : ""}`;
}

function tlsParams(params: DatabaseUrlParams, tls: DatabaseUrlTls): [string, string][] {
  switch (params.flavor) {
    case "prisma":
      return prismaTls(params, tls);
    case "node-postgres":
      if (params.engine !== "postgres") {
        throw new RdsIamError(
          "CONFLICTING_OPTIONS",
          `The node-postgres URL flavour is for PostgreSQL; for MySQL use "mysql2".`,
          { option: "flavor" },
        );
      }
      if (tls === "disable") return [["sslmode", "disable"]];
      if (tls === "no-verify") return [["sslmode", "no-verify"]];
      return [
        // verify-full, not require: pg-connection-string warns that it treats
        // `require` as verify-full, and libpq would not verify at all.
        ["sslmode", "verify-full"],
        ...(params.caFile === undefined
          ? []
          : [["sslrootcert", params.caFile] as [string, string]]),
      ];
    case "mysql2":
      return mysql2Tls(params, tls);
    default:
      throw new RdsIamError(
        "INVALID_OPTION",
        `flavor must be one of ${DATABASE_URL_FLAVORS.map((f) => `"${f}"`).join(", ")}.`,
        { option: "flavor" },
      );
  }
}

function prismaTls(params: DatabaseUrlParams, tls: DatabaseUrlTls): [string, string][] {
  // Prisma's engine knows sslmode=disable|prefer|require only, and with `require`
  // alone it accepts any certificate: verification needs sslaccept=strict + sslcert.
  const postgres = params.engine === "postgres";
  if (tls === "disable") return postgres ? [["sslmode", "disable"]] : [];
  const mode: [string, string][] = postgres ? [["sslmode", "require"]] : [];
  if (tls === "no-verify") return [...mode, ["sslaccept", "accept_invalid_certs"]];
  return [
    ...mode,
    ...(params.caFile === undefined ? [] : [["sslcert", params.caFile] as [string, string]]),
    ["sslaccept", "strict"],
  ];
}

function mysql2Tls(params: DatabaseUrlParams, tls: DatabaseUrlTls): [string, string][] {
  if (params.engine !== "mysql") {
    throw new RdsIamError(
      "CONFLICTING_OPTIONS",
      `The mysql2 URL flavour is for MySQL/MariaDB; for PostgreSQL use "node-postgres" or "prisma".`,
      { option: "flavor" },
    );
  }
  // mysql2 refuses mysql_clear_password unless asked; the token needs it (over TLS).
  const cleartext: [string, string] = ["enableCleartextPlugin", "true"];
  if (tls === "disable") return [cleartext];
  if (tls === "no-verify")
    return [["ssl", JSON.stringify({ rejectUnauthorized: false })], cleartext];
  // mysql2 checks the name only with verifyIdentity (against the URL's host), and a
  // profile name cannot carry that flag: the CA travels inline.
  const ca = params.ca ?? rdsCaBundle();
  return [
    ["ssl", JSON.stringify({ ca, rejectUnauthorized: true, verifyIdentity: true })],
    cleartext,
  ];
}

/**
 * Only a hostname or an IP literal: anything else (`db/app?sslmode=disable&x=`, a
 * scheme, user info) would rewrite the URL around the token.
 */
function checkUrlHost(host: unknown): void {
  if (!isHostOrIpLiteral(host)) {
    throw new RdsIamError(
      "INVALID_OPTION",
      `host must be a hostname or an IP address, with no scheme, port, path or query (got ${describeValue(host)}). Give the port as the port option.`,
      { option: "host" },
    );
  }
}

function urlHost(host: string): string {
  // An IPv6 literal must be bracketed in a URL; a zone id's "%" is encoded as "%25".
  const bare = host.startsWith("[") ? host.slice(1, -1) : host;
  return bare.includes(":") ? `[${bare.replace("%", "%25")}]` : bare;
}
