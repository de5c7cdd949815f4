import { prepareBinding } from "../binding";
import { DATABASE_URL_FLAVORS, type DatabaseUrlFlavor } from "../database-url";
import { RdsIamError } from "../errors";
import { iamAuthFor } from "../iam-auth";
import { iamDatabaseUrlOf } from "../iam-database-url";
import { resolveIamOptions } from "../options";
import { describeTarget } from "./describe";
import { exec } from "./exec";
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

/** Where a command writes; tests and the bin pass the process's streams. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: NodeJS.ProcessEnv;
}

export interface Command {
  readonly summary: string;
  readonly help: string;
  /** Resolves to the exit status (`exec`: the command's), or nothing for 0. */
  run(argv: readonly string[], io: CliIo): Promise<number | undefined>;
}

const token: Command = {
  summary: "Print an IAM authentication token (like `aws rds generate-db-auth-token`).",
  help: `Usage: rds-iam token --host <endpoint> --port <port> --user <name> [options]

Prints a token signed for <endpoint>:<port>, valid for 15 minutes, to stdout.
Use it as the password of a TLS connection to the database.

${TARGET_HELP}

Example:
  PGPASSWORD="$(rds-iam token --host mydb.abc123.us-east-1.rds.amazonaws.com --port 5432 --user app)" \\
    psql "host=mydb.abc123.us-east-1.rds.amazonaws.com user=app dbname=app sslmode=verify-full"`,
  async run(argv, io) {
    const { values } = parse(argv, TARGET_OPTIONS);
    if (values.help) {
      io.stdout(`${this.help}\n`);
      return undefined;
    }
    const port = pick(values, "port");
    // The engine only picks the default port; with --port any engine signs the same.
    const options = targetOptions(values, { engine: port === undefined ? undefined : "postgres" });
    const auth = iamAuthFor(resolveIamOptions(options, FLAG_NAMES), undefined, FLAG_NAMES);
    try {
      io.stdout(`${await auth.getToken()}\n`);
    } finally {
      auth.close();
    }
  },
};

const URL_OPTIONS = {
  ...TARGET_OPTIONS,
  database: { type: "string", short: "d" },
  flavor: { type: "string" },
  ca: { type: "string" },
  param: { type: "string", multiple: true },
  "allow-plaintext": { type: "boolean" },
} as const;

const url: Command = {
  summary: "Print a database URL with a fresh token (for DATABASE_URL=... prisma migrate deploy).",
  help: `Usage: rds-iam url --engine <engine> --host <host> --user <name> [--database <db>] [options]

Prints a connection URL whose password is a fresh token (encoded with
encodeURIComponent), valid for 15 minutes: build it right before the command.

URL:
  -d, --database <db>    Database name in the URL path.
  --flavor <flavor>      Who reads the URL (default prisma):
                           prisma         Prisma's engine: sslmode=require&sslcert=<CA file>&sslaccept=strict
                           node-postgres  pg / pg-connection-string: sslmode=verify-full&sslrootcert=<CA file>
                           mysql2         mysql2: ssl=<profile or JSON>&enableCleartextPlugin=true
  --ca <file>            PEM file of CA certificates to trust. Default: the RDS CA bundle,
                         written once to <tmpdir>/rds-iam/.
  --param <key=value>    Extra query parameter (repeatable), e.g. --param schema=app.
  --allow-plaintext      No TLS; only for a local test gateway on a loopback host.

${TARGET_HELP}

MySQL: Prisma's engine cannot send the cleartext password RDS needs (prisma/prisma#10304),
so --engine mysql --flavor prisma is refused; see @rds-iam/prisma's deployMysqlMigrations.

Example:
  DATABASE_URL="$(rds-iam url --engine postgres --host mydb.abc123.us-east-1.rds.amazonaws.com \\
    --user app --database app)" npx prisma migrate deploy`,
  async run(argv, io) {
    const { values } = parse(argv, URL_OPTIONS);
    if (values.help) {
      io.stdout(`${this.help}\n`);
      return undefined;
    }
    const options = targetOptions(values, { engine: engineFromPort(pick(values, "port")) });
    const flavor = pick(values, "flavor");
    if (flavor !== undefined && !(DATABASE_URL_FLAVORS as readonly string[]).includes(flavor)) {
      throw new UsageError(`--flavor must be one of ${DATABASE_URL_FLAVORS.join(", ")}.`);
    }
    const params = urlParams(values, "--allow-plaintext");
    const caFile = pick(values, "ca");
    const plaintext = values["allow-plaintext"] === true;
    if (plaintext && caFile !== undefined) {
      throw new UsageError("--ca and --allow-plaintext contradict each other.");
    }
    const ssl = plaintext
      ? false
      : caFile === undefined
        ? undefined
        : { ca: readPem(caFile, "--ca") };
    io.stdout(
      `${await iamDatabaseUrlOf(
        prepareBinding(
          {
            ...options,
            database: pick(values, "database"),
            flavor: flavor as DatabaseUrlFlavor | undefined,
            caFile,
            params,
            ssl,
            iamAllowPlaintext: plaintext,
          },
          { what: "rds-iam url", names: FLAG_NAMES },
        ),
      )}\n`,
    );
  },
};

const INSPECT_OPTIONS = {
  ...TARGET_OPTIONS,
  json: { type: "boolean" },
  check: { type: "boolean" },
} as const;

const inspect: Command = {
  summary: "Explain what a token for a host would be signed for (prints no secrets).",
  help: `Usage: rds-iam inspect <host> [--port <port>] [--user <name>] [options]

Explains, without printing any secret: the endpoint kind, the region and where it
comes from, the signed host and port, where credentials would come from, and TLS.

  --check    Also load the credentials (shows the access key id, masked, and expiry).
  --json     Machine-readable output.

${TARGET_HELP}`,
  async run(argv, io) {
    const { values, positionals } = parse(argv, INSPECT_OPTIONS, true);
    if (values.help) {
      io.stdout(`${this.help}\n`);
      return undefined;
    }
    if (positionals.length > 1) throw new UsageError("inspect takes one host.");
    const positional = positionals[0];
    if (positional !== undefined && pick(values, "host", "hostname") !== undefined) {
      throw new UsageError("Give the host either as an argument or as --host, not both.");
    }
    const port = pick(values, "port");
    const options = targetOptions(values, {
      host: positional,
      user: "<user>",
      engine: engineFromPort(port) ?? "postgres",
    });
    const report = await describeTarget(options, {
      env: io.env,
      check: values.check === true,
      engineGiven: pick(values, "engine") !== undefined || engineFromPort(port) !== undefined,
    });
    io.stdout(values.json ? `${JSON.stringify(report.data, null, 2)}\n` : `${report.text}\n`);
    // The report says why; the exit status lets scripts and CI tell.
    if (report.credentialsFailed) {
      throw new RdsIamError(
        "CREDENTIALS_UNAVAILABLE",
        "--check: the AWS credentials could not be loaded (see Loaded above).",
        { option: "--profile" },
      );
    }
  },
};

export const COMMANDS: Readonly<Record<string, Command>> = { token, url, exec, inspect };
