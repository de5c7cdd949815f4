import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { constants } from "node:os";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { prepareBinding } from "../binding";
import { buildDatabaseUrl, DATABASE_URL_FLAVORS, type DatabaseUrlFlavor } from "../database-url";
import { RdsIamError } from "../errors";
import type { IamTarget } from "../iam-auth";
import { urlFlavor } from "../iam-database-url";
import { rdsCaBundle, rdsCaBundleForRegion } from "../tls";
import type { Command } from "./commands";
import { type ExecLogin, execEnvironment, execVariables, mysqlOptionFile } from "./exec-env";
import {
  engineFromPort,
  FLAG_NAMES,
  parse,
  pick,
  readPem,
  TARGET_HELP,
  TARGET_OPTIONS,
  targetOptions,
  UsageError,
  urlParams,
} from "./options";
import { makePrivateDirectory, type PrivateDirectory } from "./private-dir";
import { FORWARDED_SIGNALS, runChild } from "./run-child";

const EXEC_OPTIONS = {
  ...TARGET_OPTIONS,
  database: { type: "string", short: "d" },
  flavor: { type: "string" },
  ca: { type: "string" },
  param: { type: "string", multiple: true },
  verbose: { type: "boolean" },
} as const;

/** Each engine's default: the URL syntax most of its tools read (libpq's, mysql2's). */
const DEFAULT_FLAVOR = { postgres: "node-postgres", mysql: "mysql2" } as const;

const HELP = `Usage: rds-iam exec [options] -- <command> [args...]

Mints a token, then runs <command> (no shell) with the login in its environment, in
the engine's own variables and DATABASE_URL, and exits with its status. The token is
valid for 15 minutes: the command must open its connections within that time (open
ones stay open).

Options:
  -d, --database <db>    Database: PGDATABASE, the MySQL client's default, DATABASE_URL's path.
  --flavor <flavor>      How DATABASE_URL spells TLS (see "rds-iam url --help"). Default:
                         node-postgres for PostgreSQL (libpq's syntax: psql, pg, drizzle-kit),
                         mysql2 for MySQL. For \`prisma migrate deploy\`: --flavor prisma.
  --ca <file>            PEM file of CA certificates to trust. Default: the RDS CA bundle,
                         written to a private temporary directory removed when <command> exits.
  --param <key=value>    Extra DATABASE_URL query parameter (repeatable), e.g. --param schema=app.
  --verbose              Print what is set to stderr, the token as <token>.

What <command> gets:
  PostgreSQL  PGHOST PGPORT PGUSER PGPASSWORD PGDATABASE PGSSLMODE=verify-full PGSSLROOTCERT
              PGGSSENCMODE=disable. When --host is not the endpoint (a tunnel, an IP), PGHOST
              is --iam-host and PGHOSTADDR the address of --host: libpq checks that the
              certificate names the endpoint. An inherited PGSERVICE is removed (it would win).
  MySQL       MYSQL_HOST MYSQL_TCP_PORT MYSQL_PWD, and MYSQL_HOME: an option file the MariaDB
              clients read (user, TCP, the CA, ssl-verify-server-cert). Oracle's mysql client
              reads none of it: pass --enable-cleartext-plugin --ssl-mode=VERIFY_IDENTITY
              --ssl-ca="$RDS_IAM_CA_FILE" -u <user> yourself (through sh -c).
  Both        DATABASE_URL, RDS_IAM_CA_FILE (the CA file's path)

The token is only in <command>'s environment, which your user and root can read
(/proc/<pid>/environ), never on a command line (which every local user can read).
SIGINT, SIGTERM and SIGHUP are passed on to <command>. Exit status: <command>'s, or
128+n if it died of signal n, 127 if it was not found; 1 (failure) or 2 (usage) when
rds-iam stopped before running it.

${TARGET_HELP}

Examples:
  # PostgreSQL: psql, pg_dump, and Node tools reading DATABASE_URL (drizzle-kit, sequelize-cli)
  rds-iam exec --engine postgres --host mydb.abc123.us-east-1.rds.amazonaws.com --user app -d app \\
    -- psql -c 'select current_user'
  rds-iam exec --engine postgres --host mydb.abc123.us-east-1.rds.amazonaws.com --user app -d app \\
    -- pg_dump --schema-only --file schema.sql
  rds-iam exec --engine postgres --host mydb.abc123.us-east-1.rds.amazonaws.com --user app -d app \\
    --flavor prisma -- npx prisma migrate deploy

  # MySQL / MariaDB: the mariadb client, and Node tools reading DATABASE_URL (mysql2)
  rds-iam exec --engine mysql --host mydb.abc123.us-east-1.rds.amazonaws.com --user app -d app \\
    -- mariadb -e 'select current_user()'
  rds-iam exec --engine mysql --host mydb.abc123.us-east-1.rds.amazonaws.com --user app \\
    -- mariadb-dump --no-data app`;

export const exec: Command = {
  summary: "Run a command with a fresh token in its environment (psql, mariadb, migration tools).",
  help: HELP,
  async run(argv, io) {
    const split = argv.indexOf("--");
    const own = split === -1 ? argv : argv.slice(0, split);
    const [command, ...args] = split === -1 ? [] : argv.slice(split + 1);
    // A command given without "--" would have its own flags read as ours: say so
    // before the strict parse complains about the first of them.
    const stray = firstPositional(own);
    if (stray !== undefined) {
      throw new UsageError(
        `put the command after "--": rds-iam exec [options] -- ${own.slice(stray).join(" ")}`,
      );
    }
    const { values } = parse(own, EXEC_OPTIONS);
    if (values.help) {
      io.stdout(`${HELP}\n`);
      return undefined;
    }
    if (command === undefined || command === "") {
      throw new UsageError(
        'no command to run: give it after "--", e.g. rds-iam exec --engine postgres --host <host> --user <name> -- psql',
      );
    }
    const options = targetOptions(values, { engine: engineFromPort(pick(values, "port")) });
    const flavorFlag = pick(values, "flavor");
    if (
      flavorFlag !== undefined &&
      !(DATABASE_URL_FLAVORS as readonly string[]).includes(flavorFlag)
    ) {
      throw new UsageError(`--flavor must be one of ${DATABASE_URL_FLAVORS.join(", ")}.`);
    }
    const params = urlParams(values);
    const database = pick(values, "database");
    const caFlag = pick(values, "ca");
    const caPem = caFlag === undefined ? undefined : readPem(caFlag, "--ca");
    // The same checks as every binding (target, region, TLS), before anything is minted.
    const binding = prepareBinding(
      { ...options, ssl: caPem === undefined ? undefined : { ca: caPem } },
      { what: "rds-iam exec", names: FLAG_NAMES },
    );
    const engine = binding.engine ?? "postgres";
    const flavor: DatabaseUrlFlavor = urlFlavor(flavorFlag ?? DEFAULT_FLAVOR[engine], engine);
    const auth = binding.oneShotAuth(engine);
    const target = auth.target;
    // Fails on a line break in a value before anything is written or minted.
    const optionFile = (caFile: string) =>
      mysqlOptionFile({
        host: target.host,
        port: target.port,
        user: target.user,
        database,
        caFile,
      });
    if (engine === "mysql") optionFile(caFlag === undefined ? "/" : resolve(caFlag));
    let hostAddress: string | undefined;
    try {
      hostAddress = engine === "postgres" ? await libpqHostAddress(target) : undefined;
    } catch (error) {
      auth.close();
      throw error;
    }

    let dir: PrivateDirectory | undefined;
    const cleanup = () => dir?.remove();
    // Until the command runs, a signal stops rds-iam itself: the directory goes first.
    const early = (signal: NodeJS.Signals) => {
      cleanup();
      process.exit(128 + (signalNumber(signal) ?? 0));
    };
    for (const signal of FORWARDED_SIGNALS) process.on(signal, early);
    process.once("exit", cleanup);
    try {
      let token: string;
      let expiresAt: number;
      try {
        ({ token, expiresAt } = await auth.getTokenWithExpiry());
      } finally {
        // One token for one command: no background refresh may keep rds-iam alive.
        auth.close();
      }
      if (caFlag === undefined || engine === "mysql") dir = makePrivateDirectory();
      const caFile =
        caFlag === undefined
          ? (dir as PrivateDirectory).write("rds-ca-bundle.pem", `${rdsCaBundle().join("\n")}\n`)
          : resolve(caFlag);
      const mysqlHome = engine === "mysql" ? (dir as PrivateDirectory).path : undefined;
      if (engine === "mysql") (dir as PrivateDirectory).write("my.cnf", optionFile(caFile));
      const login: ExecLogin = {
        engine,
        host: target.host,
        iamHost: target.iamHost,
        hostAddress,
        port: target.port,
        user: target.user,
        database,
        token,
        caFile,
        mysqlHome,
        databaseUrl: buildDatabaseUrl({
          engine,
          flavor,
          host: target.host,
          port: target.port,
          user: target.user,
          token,
          database,
          tls: "verify",
          caFile,
          // mysql2's URL carries its CA inline: the region's part of the bundle keeps it short
          // (read after the token: a global writer endpoint's region is looked up then).
          ca:
            caPem ??
            (target.region === undefined ? rdsCaBundle() : rdsCaBundleForRegion(target.region)),
          params,
        }),
      };
      const variables = execVariables(login);
      if (values.verbose === true) {
        io.stderr(describeRun(login, variables.set, expiresAt, command, target.iamHost));
      }
      for (const signal of FORWARDED_SIGNALS) process.off(signal, early);
      const result = await runChild(command, args, execEnvironment(io.env, variables));
      if (result.failure !== undefined) io.stderr(`rds-iam exec: ${result.failure}\n`);
      return result.status;
    } finally {
      for (const signal of FORWARDED_SIGNALS) process.off(signal, early);
      process.off("exit", cleanup);
      cleanup();
    }
  },
};

/**
 * libpq checks the certificate against `host` and dials `hostaddr` when given: with
 * `PGHOST` the endpoint and `PGHOSTADDR` the address of `--host`, psql and pg_dump
 * demand a certificate naming the endpoint the token is signed for, through a tunnel
 * or a custom name too (a certificate naming only the address dialed is not enough).
 * `undefined` when `--host` is the endpoint.
 */
async function libpqHostAddress(target: IamTarget): Promise<string | undefined> {
  const host = target.host.replace(/^\[(.*)\]$/, "$1");
  if (host.toLowerCase().replace(/\.$/, "") === target.iamHost) return undefined;
  if (isIP(host) !== 0) return host;
  try {
    return (await lookup(host)).address;
  } catch (error) {
    throw new RdsIamError(
      "INVALID_OPTION",
      `--host ${JSON.stringify(host)} does not resolve (${(error as NodeJS.ErrnoException).code ?? "lookup failed"}); libpq needs its address to dial it while checking the certificate against --iam-host. Give --host as an IP address or a name that resolves.`,
      { option: "--host", cause: error },
    );
  }
}

/** Where the first argument that is neither an option nor an option's value sits. */
function firstPositional(argv: readonly string[]): number | undefined {
  const { tokens } = parseArgs({
    args: [...argv],
    options: EXEC_OPTIONS,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  return tokens.find((token) => token.kind === "positional")?.index;
}

function signalNumber(signal: NodeJS.Signals): number | undefined {
  return constants.signals[signal];
}

/** `--verbose`: what is set, with every copy of the token replaced by `<token>`. */
function describeRun(
  login: ExecLogin,
  set: Readonly<Record<string, string>>,
  expiresAt: number,
  command: string,
  iamHost: string,
): string {
  const lines = [
    `token for ${login.user} signed for ${iamHost}, valid until ${new Date(expiresAt).toISOString()}`,
    ...Object.entries(set).map(([key, value]) => `${key}=${redact(value, login.token)}`),
    `running ${JSON.stringify(command)}`,
  ];
  return lines.map((line) => `rds-iam exec: ${line}\n`).join("");
}

function redact(value: string, token: string): string {
  const hidden = value
    .split(token)
    .join("<token>")
    .split(encodeURIComponent(token))
    .join("<token>");
  // mysql2's inline CA makes DATABASE_URL tens of kilobytes: say how long instead.
  return hidden.replace(/=([^&=]{200,})/g, (_, long: string) => `=<${long.length} characters>`);
}
