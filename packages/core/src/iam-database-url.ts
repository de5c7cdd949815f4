import { isAbsolute, resolve } from "node:path";
import { type PreparedBinding, prepareBinding } from "./binding";
import { writeCaFile } from "./ca-file";
import type { IamConnectionOptions } from "./connection-options";
import {
  buildDatabaseUrl,
  DATABASE_URL_FLAVORS,
  type DatabaseUrlFlavor,
  type DatabaseUrlTls,
} from "./database-url";
import { describeValue, type Engine, parseEngine } from "./engine";
import { RdsIamError } from "./errors";
import { type ResolvedTls, rdsCaBundle, rdsCaBundleForRegion } from "./tls";
import { checkUrlParams } from "./url-params";

/** Options for {@link iamDatabaseUrl}: the IAM and TLS options plus what the URL names. */
export interface IamDatabaseUrlOptions extends IamConnectionOptions {
  /** `postgres` or `mysql` (aliases: `postgresql`, `pg`, `mariadb`, `mysql2`). */
  engine: Engine | (string & {});
  /** The database to name in the URL's path. Default: none (the server's default). */
  database?: string | undefined;
  /** Who reads the URL. Default `"prisma"` (Prisma's schema engine). */
  flavor?: DatabaseUrlFlavor | undefined;
  /**
   * A PEM file with the CA certificates to trust, named in the URL by its absolute path.
   * Default: the CA in use (the RDS CA bundle, or `ssl.ca`) written to a file in a
   * directory only the current user can write, `os.tmpdir()/rds-iam-<uid>/` (see
   * `writeCaFile`). Ignored by the `mysql2` flavour, whose URL carries the CA inline.
   */
  caFile?: string | undefined;
  /**
   * Extra query parameters appended to the URL (e.g. `{ schema: "app" }`). Default none.
   * Keys that govern TLS (`sslmode`, `sslaccept`, `sslrootcert`, every `ssl*`, ...), the
   * target or login (`host`, `port`, `user`, `password`, `socket`, ...) or packet logging
   * (`debug`) are refused with `CONFLICTING_OPTIONS`: use `ssl`, `caFile` and the target
   * options, where they are checked.
   */
  params?: Readonly<Record<string, string>> | undefined;
}

/** Names of the URL-only options, kept out of the IAM options. */
const URL_KEYS = ["database", "flavor", "caFile", "params"] as const;

/**
 * Mints a token and returns a connection URL carrying it, correctly encoded, with TLS
 * parameters in the consumer's flavour. For one-shot tools: `prisma migrate deploy`
 * through `prisma.config.ts`, `DATABASE_URL=... some-tool`. The token is valid for 15
 * minutes; connections opened in that time stay open after it expires.
 *
 * Refuses `engine: "mysql"` with the `prisma` flavour: Prisma's engine cannot send the
 * cleartext password RDS needs for MySQL IAM logins (prisma/prisma#10304).
 *
 * @throws RdsIamError for bad options (naming them), and the token provider's errors.
 */
export function iamDatabaseUrl(given: IamDatabaseUrlOptions): Promise<string> {
  // Async from the first check on: bad options reject, as they always have.
  return Promise.resolve().then(() =>
    iamDatabaseUrlOf(prepareBinding(given, { what: "iamDatabaseUrl" })),
  );
}

/**
 * The URL view of a prepared binding (see {@link iamDatabaseUrl}); the binding's driver
 * options are the URL's own (`database`, `flavor`, `caFile`, `params`).
 */
export async function iamDatabaseUrlOf(binding: PreparedBinding): Promise<string> {
  const names = binding.names;
  const options = binding.driver as Partial<Record<(typeof URL_KEYS)[number], unknown>>;
  const unknown = Object.keys(options).filter(
    (key) => !(URL_KEYS as readonly string[]).includes(key),
  );
  if (unknown.length > 0) {
    throw new RdsIamError(
      "INVALID_OPTION",
      `Unknown option ${describeValue(unknown[0])} for a database URL. Pass IAM options (host, port, user, iamHost, iamRegion, ...), ssl, database, flavor, caFile or params.`,
      { option: unknown[0] ?? "options" },
    );
  }
  const engine = binding.engine ?? parseEngine(undefined, names.engine ?? "engine");
  const flavor = urlFlavor(options.flavor, engine);
  for (const key of ["database", "caFile"] as const) {
    const value = options[key];
    if (value !== undefined && (typeof value !== "string" || value === "")) {
      throw new RdsIamError(
        "INVALID_OPTION",
        `${key} must be a non-empty string (got ${describeValue(value)}).`,
        { option: key },
      );
    }
  }
  const database = options.database as string | undefined;
  const caFileOption = options.caFile as string | undefined;
  const params = checkUrlParams(options.params);

  // A provider of its own: closing it must not close the binding's other views.
  const auth = binding.oneShotAuth(engine);
  try {
    const tls = binding.tls;
    const mode = tlsMode(tls);
    const pems = mode === "verify" ? caPems(tls, binding.ssl) : undefined;
    // A relative path would be read from the consumer's working directory, not ours.
    const caFile =
      caFileOption !== undefined
        ? isAbsolute(caFileOption)
          ? caFileOption
          : resolve(caFileOption)
        : pems === undefined || flavor === "mysql2"
          ? undefined
          : await writeCaFile(pems.pems);
    const token = await auth.getToken();
    return buildDatabaseUrl({
      engine,
      flavor,
      host: auth.target.host,
      port: auth.target.port,
      user: auth.target.user,
      token,
      database,
      tls: mode,
      caFile,
      // mysql2's URL carries its CA inline: the region's part of the RDS bundle keeps
      // it small enough for an environment variable.
      ca:
        pems === undefined
          ? undefined
          : pems.isRdsBundle
            ? // Read after getToken(): a global writer endpoint's region is looked up then.
              auth.target.region === undefined
              ? rdsCaBundle()
              : rdsCaBundleForRegion(auth.target.region)
            : pems.pems,
      params,
    });
  } finally {
    // A one-shot provider: no background refresh may outlive the call.
    auth.close();
  }
}

/** The URL's consumer, checked against the engine (default `prisma`). */
export function urlFlavor(value: unknown, engine: Engine): DatabaseUrlFlavor {
  const flavor = value ?? "prisma";
  if (!(DATABASE_URL_FLAVORS as readonly unknown[]).includes(flavor)) {
    throw new RdsIamError(
      "INVALID_OPTION",
      `flavor must be one of ${DATABASE_URL_FLAVORS.map((f) => `"${f}"`).join(", ")} (got ${describeValue(flavor)}).`,
      { option: "flavor" },
    );
  }
  if (engine === "mysql" && flavor === "prisma") {
    throw new RdsIamError(
      "CONFLICTING_OPTIONS",
      `Prisma's schema engine cannot log in to MySQL with an IAM token: RDS asks for the token through mysql_clear_password, which the engine does not implement (prisma/prisma#10304). Apply migrations through a driver that can (see @rds-iam/prisma's deployMysqlMigrations), or use flavor "mysql2" for mysql2-based tools.`,
      { option: "flavor" },
    );
  }
  if (flavor === "node-postgres" && engine !== "postgres") {
    throw new RdsIamError(
      "CONFLICTING_OPTIONS",
      `flavor "node-postgres" is for PostgreSQL; for MySQL use "mysql2".`,
      { option: "flavor" },
    );
  }
  if (flavor === "mysql2" && engine !== "mysql") {
    throw new RdsIamError(
      "CONFLICTING_OPTIONS",
      `flavor "mysql2" is for MySQL/MariaDB; for PostgreSQL use "prisma" or "node-postgres".`,
      { option: "flavor" },
    );
  }
  return flavor as DatabaseUrlFlavor;
}

function tlsMode(tls: ResolvedTls): DatabaseUrlTls {
  if (tls === false) return "disable";
  return tls.rejectUnauthorized === false ? "no-verify" : "verify";
}

/** The CA certificates a verified connection trusts, or `undefined` for Node's defaults. */
function caPems(
  tls: ResolvedTls,
  ssl: unknown,
): { pems: string[]; isRdsBundle: boolean } | undefined {
  if (tls === false || tls.ca === undefined) return undefined;
  const list = Array.isArray(tls.ca) ? tls.ca : [tls.ca];
  const pems = list.map((entry: unknown) =>
    Buffer.isBuffer(entry) ? entry.toString("utf8") : String(entry),
  );
  const isRdsBundle = ssl === undefined || ssl === null || ssl === true || ssl === "require";
  return { pems: isRdsBundle ? [...rdsCaBundle()] : pems, isRdsBundle };
}
