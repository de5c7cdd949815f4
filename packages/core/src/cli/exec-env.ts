import type { Engine } from "../engine";
import { RdsIamError } from "../errors";

/** What `rds-iam exec` hands its command. The token is the password. */
export interface ExecLogin {
  readonly engine: Engine;
  /** Where the command connects (`--host`). */
  readonly host: string;
  /** The RDS endpoint the token is signed for. */
  readonly iamHost: string;
  /**
   * PostgreSQL: the address of `host` when it is not the endpoint (a tunnel, an IP, a
   * custom name), so that libpq dials it while checking the certificate against the
   * endpoint (`PGHOST=iamHost PGHOSTADDR=address`).
   */
  readonly hostAddress?: string | undefined;
  readonly port: number;
  readonly user: string;
  readonly database?: string | undefined;
  readonly token: string;
  /** Absolute path of the PEM file of CA certificates to trust. */
  readonly caFile: string;
  /** `DATABASE_URL`, in the chosen flavour. */
  readonly databaseUrl: string;
  /** MySQL only: the directory holding the option file `my.cnf` (see {@link mysqlOptionFile}). */
  readonly mysqlHome?: string | undefined;
}

/**
 * Inherited PostgreSQL variables that would change where libpq connects or how, and
 * that we do not set ourselves: libpq reads a service file (`PGSERVICE`) *before* the
 * environment, so its `host` or `sslmode=disable` would win over ours, `PGHOSTADDR`
 * would send the connection to another address, and an inherited `PGDATABASE` would
 * disagree with `DATABASE_URL` (without `--database`, both clients default to the user's name).
 */
const PG_DROPPED = ["PGHOSTADDR", "PGSERVICE", "PGDATABASE"];

/** The variables `rds-iam exec` sets for its command, and the inherited ones it removes. */
export interface ExecVariables {
  readonly set: Readonly<Record<string, string>>;
  readonly unset: readonly string[];
}

/**
 * The engine's variables for a login.
 *
 * PostgreSQL (libpq: psql, pg_dump, pg_restore): `PGHOST` (the endpoint when `--host`
 * is not: libpq checks the certificate against it) and `PGHOSTADDR` (the address
 * dialed, then), `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGDATABASE` (when given),
 * `PGSSLMODE=verify-full`, `PGSSLROOTCERT`, and `PGGSSENCMODE=disable` (GSSAPI
 * encryption would stand in for TLS, with no certificate checked).
 *
 * MySQL/MariaDB: `MYSQL_HOST`, `MYSQL_TCP_PORT`, `MYSQL_PWD` (read by the MariaDB client
 * library; MySQL's client deprecates it), and `MYSQL_HOME`, the directory of an option file
 * the MariaDB clients read (user, TCP, CA file, server certificate verification: no
 * variable exists for those; see {@link mysqlOptionFile}).
 * `LIBMYSQL_ENABLE_CLEARTEXT_PLUGIN` is *not* set: it would let Oracle's client send
 * the token in cleartext over a connection that need not be TLS (its default
 * `--ssl-mode=PREFERRED` falls back to plaintext), and nothing in the environment can
 * make that client verify the server.
 *
 * Both: `DATABASE_URL` and `RDS_IAM_CA_FILE` (for tools configured by flags, such as
 * Oracle's `mysql --ssl-ca`).
 */
export function execVariables(login: ExecLogin): ExecVariables {
  const set: Record<string, string> = {};
  let unset: readonly string[] = [];
  if (login.engine === "postgres") {
    unset = PG_DROPPED;
    Object.assign(set, {
      ...(login.hostAddress === undefined
        ? { PGHOST: login.host }
        : { PGHOST: login.iamHost, PGHOSTADDR: login.hostAddress }),
      PGPORT: String(login.port),
      PGUSER: login.user,
      PGPASSWORD: login.token,
      ...(login.database === undefined ? {} : { PGDATABASE: login.database }),
      PGSSLMODE: "verify-full",
      PGSSLROOTCERT: login.caFile,
      PGGSSENCMODE: "disable",
    });
  } else {
    if (login.mysqlHome === undefined) throw new Error("execVariables: mysqlHome is required");
    Object.assign(set, {
      MYSQL_HOST: login.host,
      MYSQL_TCP_PORT: String(login.port),
      MYSQL_PWD: login.token,
      MYSQL_HOME: login.mysqlHome,
    });
  }
  Object.assign(set, { DATABASE_URL: login.databaseUrl, RDS_IAM_CA_FILE: login.caFile });
  return { set, unset };
}

/** The child's environment: `base` (rds-iam's own) with {@link execVariables} applied. */
export function execEnvironment(
  base: NodeJS.ProcessEnv,
  variables: ExecVariables,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(base)) {
    if (value !== undefined && !variables.unset.includes(key)) env[key] = value;
  }
  return Object.assign(env, variables.set);
}

/**
 * The option file the MariaDB clients (`mariadb`, `mariadb-dump`, ...) read from
 * `$MYSQL_HOME/my.cnf`, after the system's files and before `~/.my.cnf`. It holds no
 * secret: the token travels in `MYSQL_PWD` only.
 *
 * - `[client]` (every client): host, port, user, `protocol=TCP` (`localhost` would
 *   otherwise mean the local socket) and the CA;
 * - `[client-mariadb]` (MariaDB's programs only: Oracle's removed the option):
 *   `ssl-verify-server-cert`, so the client refuses a server without TLS or with a
 *   certificate that does not name the host, before it sends the password;
 * - `[mysql]` (the interactive client only; `mariadb-dump` would read `database` as
 *   a prefix of its `--databases` flag): the database.
 *
 * @throws RdsIamError `INVALID_OPTION` for a value with a line break or NUL, which
 * would start a new option.
 */
export function mysqlOptionFile(
  login: Pick<ExecLogin, "host" | "port" | "user" | "database" | "caFile">,
): string {
  const lines = [
    "# Written by rds-iam exec for one command; removed when it exits. No secret here:",
    "# the token is in MYSQL_PWD.",
    "[client]",
    `host=${quote(login.host, "--host")}`,
    `port=${login.port}`,
    `user=${quote(login.user, "--user")}`,
    "protocol=TCP",
    `ssl-ca=${quote(login.caFile, "--ca")}`,
    "",
    "[client-mariadb]",
    "ssl-verify-server-cert",
  ];
  if (login.database !== undefined) {
    lines.push("", "[mysql]", `database=${quote(login.database, "--database")}`);
  }
  return `${lines.join("\n")}\n`;
}

/** A double-quoted option file value: the parser unescapes `\\` and `\"` inside quotes. */
function quote(value: string, option: string): string {
  if (/[\r\n\0]/.test(value)) {
    throw new RdsIamError(
      "INVALID_OPTION",
      `${option} may not contain a line break or NUL character for a MySQL login.`,
      { option },
    );
  }
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}
