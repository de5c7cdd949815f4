import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server, Socket } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { rdsCaBundle } from "@rds-iam/core";
import { selfSignedCertificate } from "@rds-iam/gateway";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mysqlOptionFile } from "../packages/core/src/cli/exec-env";
import { isolatedAwsEnv } from "./support/aws-env";
import { MYSQL_BACKEND, POSTGRES_BACKEND } from "./support/databases";
import { type IamFixture, startIamFixture } from "./support/iam-fixture";
import { findLeaks, registerSecret } from "./support/secret-scan";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CLI = join(ROOT, "packages", "core", "src", "cli.ts");
/** The bin as installed: what `pnpm build` left (the test command builds first). */
const BUILT_CLI = join(ROOT, "packages", "core", "bin", "rds-iam.js");
/** drizzle.config.ts, the sequelize-cli config, migrations and a Node program reading DATABASE_URL. */
const TOOLS = join(ROOT, "tests", "exec");
const BIN = join(ROOT, "tests", "node_modules", ".bin");

interface Run {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

interface Started {
  readonly pid: number;
  /** Resolves with the first stdout line the command prints. */
  readonly firstLine: Promise<string>;
  readonly done: Promise<Run>;
}

/** A temporary directory of this test file, removed at the end. */
const scratch = mkdtempSync(join(tmpdir(), "rds-iam-exec-test-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/**
 * Starts `rds-iam exec <args>` from the sources, in an environment with only the given
 * AWS settings (plus `extra`), in `cwd` (default the tools' folder).
 */
function start(
  args: readonly string[],
  env: Record<string, string> = {},
  { cwd = TOOLS, built = false }: { cwd?: string; built?: boolean } = {},
): Started {
  const base: Record<string, string | undefined> = { ...process.env, ...isolatedAwsEnv(env) };
  const childEnv = Object.fromEntries(
    Object.entries(base).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
  const cli = built ? [BUILT_CLI] : ["--import", "tsx", CLI];
  const child = spawn(process.execPath, [...cli, "exec", ...args], {
    cwd,
    env: childEnv,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  let onLine: (line: string) => void = () => {};
  const firstLine = new Promise<string>((resolve) => {
    onLine = resolve;
  });
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
    if (stdout.includes("\n")) onLine(stdout.slice(0, stdout.indexOf("\n")));
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), 90_000);
  const done = new Promise<Run>((resolve) => {
    child.on("close", (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    });
  });
  return { pid: child.pid ?? -1, firstLine, done };
}

function rdsIamExec(
  args: readonly string[],
  env: Record<string, string> = {},
  options: { cwd?: string; built?: boolean } = {},
): Promise<Run> {
  return start(args, env, options).done;
}

function keysOf(fixture: IamFixture): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: fixture.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: fixture.credentials.secretAccessKey,
  };
}

/** The target flags for a fixture: dial the gateway, sign for the endpoint it plays. */
function targetOf(fixture: IamFixture, caFile?: string): string[] {
  return [
    "--engine",
    fixture.engine,
    "--host",
    fixture.host,
    "--port",
    String(fixture.port),
    "--iam-host",
    fixture.iamHost,
    "--iam-port",
    String(fixture.iamDefaultPort),
    "--user",
    fixture.user,
    "--database",
    fixture.database,
    ...(caFile === undefined ? [] : ["--ca", caFile]),
  ];
}

/** A Node one-liner as the command: the same on every machine, unlike shells' traps. */
function node(source: string): string[] {
  return [process.execPath, "-e", source];
}

const NO_KEYS = { AWS_ACCESS_KEY_ID: "AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY: "secret-key-value" };
const RDS = "mydb.abc123.us-east-1.rds.amazonaws.com";

describe("rds-iam exec: help and usage", () => {
  it("--help shows an example per engine and what the command gets, with no secret", async () => {
    const run = await rdsIamExec(["--help"]);
    expect(run).toMatchObject({ status: 0, stderr: "" });
    expect(run.stdout).toContain("Usage: rds-iam exec [options] -- <command> [args...]");
    expect(run.stdout).toMatch(/--engine postgres [^\n]*\n\s+-- psql/);
    expect(run.stdout).toMatch(/--engine mysql [^\n]*\n\s+-- mariadb/);
    expect(run.stdout).toContain("PGSSLMODE=verify-full");
    expect(run.stdout).toContain("MYSQL_PWD");
    expect(run.stdout).toContain("/proc/<pid>/environ");
    expect(run.stdout).not.toMatch(/X-Amz-/);
  });

  it("refuses, before running anything, a missing command, a command outside --, and bad options", async () => {
    const marker = join(scratch, `ran-${randomBytes(4).toString("hex")}`);
    const touch = [
      "--",
      ...node(`require("node:fs").writeFileSync(${JSON.stringify(marker)}, "")`),
    ];
    const target = ["--engine", "postgres", "--host", RDS, "--user", "app"];
    const runs = await Promise.all([
      rdsIamExec(target, NO_KEYS),
      rdsIamExec([...target, "--"], NO_KEYS),
      rdsIamExec([...target, "psql", "-c", "select 1"], NO_KEYS),
      rdsIamExec(["--host", RDS, "--engine", "postgres", ...touch], NO_KEYS),
      rdsIamExec([...target, "--flavor", "nope", ...touch], NO_KEYS),
      rdsIamExec([...target, "--bogus", ...touch], NO_KEYS),
      rdsIamExec([...target, "--param", "sslmode=disable", ...touch], NO_KEYS),
      rdsIamExec([...target, "--flavor", "mysql2", ...touch], NO_KEYS),
      rdsIamExec(
        ["--engine", "mysql", "--host", RDS, "--user", "app", "--flavor", "prisma", ...touch],
        NO_KEYS,
      ),
      rdsIamExec([...target, "--ca", join(scratch, "missing.pem"), ...touch], NO_KEYS),
      rdsIamExec(["--host", "10.1.2.3", "--port", "5432", "--user", "app", ...touch], NO_KEYS),
    ]);
    const [none, empty, outside, noUser, flavor, bogus, param, mismatch, prisma, ca, ip] = runs;
    for (const run of [none, empty, outside, noUser, flavor, bogus]) {
      expect(run?.status, run?.stderr).toBe(2);
      expect(run?.stderr).toContain('Run "rds-iam exec --help" for usage.');
    }
    expect(none?.stderr).toContain('no command to run: give it after "--"');
    expect(empty?.stderr).toContain('no command to run: give it after "--"');
    expect(outside?.stderr).toContain('put the command after "--": rds-iam exec [options] -- psql');
    expect(noUser?.stderr).toContain("--user is required");
    expect(flavor?.stderr).toContain("--flavor must be one of prisma, node-postgres, mysql2");
    expect(bogus?.stderr).toContain("--bogus");
    for (const run of [param, mismatch, prisma, ca, ip]) expect(run?.status, run?.stderr).toBe(1);
    expect(param?.stderr).toContain("--param sslmode governs TLS");
    expect(mismatch?.stderr).toContain("CONFLICTING_OPTIONS");
    expect(prisma?.stderr).toContain("prisma/prisma#10304");
    expect(ca?.stderr).toContain("--ca");
    expect(ip?.stderr).toContain("IAM_HOST_REQUIRED");
    for (const run of runs) {
      expect(run?.stdout).toBe("");
      expect(run?.stderr).not.toContain(NO_KEYS.AWS_SECRET_ACCESS_KEY);
    }
    expect(existsSync(marker)).toBe(false);
  });

  it("a command that is not found exits 127, one that is not executable 126", async () => {
    const plain = join(scratch, "not-executable");
    writeFileSync(plain, "#!/bin/sh\n", { mode: 0o644 });
    const target = ["--engine", "postgres", "--host", RDS, "--user", "app", "--"];
    const [missing, denied] = await Promise.all([
      rdsIamExec([...target, "rds-iam-no-such-command"], NO_KEYS),
      rdsIamExec([...target, plain], NO_KEYS),
    ]);
    expect(missing).toMatchObject({ status: 127, stdout: "" });
    expect(missing.stderr).toContain('cannot run "rds-iam-no-such-command": not found');
    expect(denied).toMatchObject({ status: 126, stdout: "" });
    expect(denied.stderr).toContain("not executable");
  });
});

describe("rds-iam exec: the MariaDB option file", () => {
  it("survives the real client's parser: quotes, backslashes and # stay in their value", async () => {
    const dir = mkdtempSync(join(scratch, "my-"));
    const user = 'we"ird\\user #1';
    writeFileSync(
      join(dir, "my.cnf"),
      mysqlOptionFile({
        host: "db.example",
        port: 3307,
        user,
        database: "app db",
        caFile: "/path with space/ca.pem",
      }),
    );
    const printed = await new Promise<string>((resolve, reject) => {
      const child = spawn("mariadb", ["--print-defaults"], {
        env: { ...process.env, MYSQL_HOME: dir, HOME: dir },
      });
      let out = "";
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
        out += chunk;
      });
      child.on("error", reject);
      child.on("close", () => resolve(out));
    });
    expect(printed).toContain(`--user=${user} `);
    expect(printed).toContain("--host=db.example --port=3307");
    expect(printed).toContain("--protocol=TCP --ssl-ca=/path with space/ca.pem");
    expect(printed).toContain("--ssl-verify-server-cert");
    expect(printed).toContain("--database=app db");
  });

  it("refuses a value with a line break, which would start another option", () => {
    expect(() =>
      mysqlOptionFile({
        host: "db.example",
        port: 3306,
        user: "app\nssl-verify-server-cert=0",
        caFile: "/ca.pem",
      }),
    ).toThrow(/--user may not contain a line break/);
  });
});

describe("rds-iam exec through the gateway", () => {
  let postgres: IamFixture;
  let mariadb: IamFixture;
  const caFiles = { postgres: "", mysql: "" };
  beforeAll(async () => {
    [postgres, mariadb] = await Promise.all([
      startIamFixture("postgres"),
      startIamFixture("mysql"),
    ]);
    for (const fixture of [postgres, mariadb]) {
      caFiles[fixture.engine] = join(scratch, `${fixture.engine}-ca.pem`);
      writeFileSync(caFiles[fixture.engine], fixture.ca);
    }
  });
  afterAll(async () => {
    await Promise.all([postgres?.close(), mariadb?.close()]);
  });

  const pgArgs = () => targetOf(postgres, caFiles.postgres);
  const myArgs = () => targetOf(mariadb, caFiles.mysql);

  it("psql logs in with the PG variables, over TLS verified against --ca", async () => {
    const run = await rdsIamExec(
      [...pgArgs(), "--", "psql", "-Atc", "SELECT current_user || ' ' || current_database()"],
      keysOf(postgres),
    );
    expect(run).toMatchObject({ status: 0, stderr: "" });
    expect(run.stdout.trim()).toBe(`${postgres.user} ${postgres.database}`);
    expect(postgres.gateway.stats().rejected).toEqual({});
  });

  it("pg_dump dumps the schema; its exit status is rds-iam's", async () => {
    const create = await rdsIamExec(
      [...pgArgs(), "--", "psql", "-c", "CREATE TABLE dumped_things (id int)"],
      keysOf(postgres),
    );
    expect(create.status, create.stderr).toBe(0);
    const [dump, missing] = await Promise.all([
      rdsIamExec([...pgArgs(), "--", "pg_dump", "--schema-only"], keysOf(postgres)),
      rdsIamExec([...pgArgs(), "--", "pg_dump", "--table", "no_such_table"], keysOf(postgres)),
    ]);
    expect(dump.status, dump.stderr).toBe(0);
    expect(dump.stdout).toContain("CREATE TABLE public.dumped_things");
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain("no matching tables");
  });

  it("without --ca, the RDS bundle in a private file that is gone after the command exits", async () => {
    const script = `
      const { statSync, readFileSync } = require("node:fs");
      const { dirname } = require("node:path");
      const file = process.env.PGSSLROOTCERT;
      console.log(JSON.stringify({
        file,
        same: process.env.RDS_IAM_CA_FILE === file,
        fileMode: (statSync(file).mode & 0o777).toString(8),
        dirMode: (statSync(dirname(file)).mode & 0o777).toString(8),
        certificates: readFileSync(file, "utf8").split("-----BEGIN CERTIFICATE-----").length - 1,
        url: new URL(process.env.DATABASE_URL).searchParams.get("sslrootcert"),
        host: process.env.PGHOST,
        hostaddr: process.env.PGHOSTADDR,
      }));`;
    const run = await rdsIamExec([...targetOf(postgres), "--", ...node(script)], keysOf(postgres));
    expect(run).toMatchObject({ status: 0, stderr: "" });
    const seen = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(seen).toMatchObject({
      same: true,
      fileMode: "600",
      dirMode: "700",
      certificates: rdsCaBundle().length,
      url: seen.file,
      // --host is not the endpoint: libpq dials the address, and checks the name.
      host: postgres.iamHost,
      hostaddr: postgres.host,
    });
    expect(dirname(String(seen.file))).toMatch(/rds-iam-exec-/);
    expect(existsSync(dirname(String(seen.file)))).toBe(false);

    // The gateway's test CA is not in the RDS bundle: psql must refuse it, so the
    // certificate really is checked against that file.
    const refused = await rdsIamExec([...targetOf(postgres), "--", "psql", "-c", "SELECT 1"], {
      ...keysOf(postgres),
    });
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain("certificate verify failed");
  });

  it("the mariadb client logs in with MYSQL_PWD and the option file, cleartext inside verified TLS", async () => {
    const run = await rdsIamExec(
      [...myArgs(), "--", "mariadb", "-N", "-e", "SELECT CURRENT_USER(), DATABASE()"],
      keysOf(mariadb),
    );
    expect(run).toMatchObject({ status: 0, stderr: "" });
    expect(run.stdout.trim()).toBe(`${mariadb.user}@%\t${mariadb.database}`);
    const dump = await rdsIamExec(
      [...myArgs(), "--", "mariadb-dump", "--no-data", mariadb.database],
      keysOf(mariadb),
    );
    expect(dump.status, dump.stderr).toBe(0);
    expect(dump.stdout).toContain(`-- Host: ${mariadb.host}`);
    expect(mariadb.gateway.stats().rejected).toEqual({});
  });

  it("a Node program reading DATABASE_URL logs in (node-postgres and mysql2 flavours by default)", async () => {
    const [pgRun, myRun] = await Promise.all([
      rdsIamExec([...pgArgs(), "--", process.execPath, "read-database-url.mjs"], keysOf(postgres)),
      rdsIamExec([...myArgs(), "--", process.execPath, "read-database-url.mjs"], keysOf(mariadb)),
    ]);
    expect(pgRun).toMatchObject({ status: 0, stderr: "" });
    expect(JSON.parse(pgRun.stdout)).toEqual({ who: postgres.user, db: postgres.database });
    expect(myRun).toMatchObject({ status: 0, stderr: "" });
    expect(JSON.parse(myRun.stdout)).toEqual({ who: mariadb.user, db: mariadb.database });
  });

  it.each(["postgres", "mysql"] as const)(
    "drizzle-kit migrate (%s) applies migrations with a config reading DATABASE_URL",
    async (engine) => {
      const fixture = engine === "postgres" ? postgres : mariadb;
      const args = engine === "postgres" ? pgArgs() : myArgs();
      const run = await rdsIamExec(
        [...args, "--", join(BIN, "drizzle-kit"), "migrate", "--config", "drizzle.config.ts"],
        keysOf(fixture),
      );
      expect(run.status, run.stdout + run.stderr).toBe(0);
      expect(run.stdout + run.stderr).toContain("migrations applied successfully");
      const query = "SELECT name FROM widgets";
      const check = await rdsIamExec(
        [
          ...args,
          "--",
          ...(engine === "postgres" ? ["psql", "-Atc"] : ["mariadb", "-N", "-e"]),
          query,
        ],
        keysOf(fixture),
      );
      expect(check.stdout.trim(), check.stderr).toBe("from drizzle-kit");
    },
  );

  it.each(["postgres", "mysql"] as const)(
    "sequelize-cli db:migrate (%s) with a config reading the environment",
    async (engine) => {
      const fixture = engine === "postgres" ? postgres : mariadb;
      const args = engine === "postgres" ? pgArgs() : myArgs();
      const run = await rdsIamExec(
        [
          ...args,
          "--",
          join(BIN, "sequelize-cli"),
          "db:migrate",
          "--config",
          "sequelize/config.cjs",
          "--migrations-path",
          "sequelize/migrations",
          "--env",
          engine,
        ],
        keysOf(fixture),
      );
      expect(run.status, run.stdout + run.stderr).toBe(0);
      expect(run.stdout).toContain("20260101000000-create-gadgets: migrated");
      const query = "SELECT name FROM gadgets";
      const check = await rdsIamExec(
        [
          ...args,
          "--",
          ...(engine === "postgres" ? ["psql", "-Atc"] : ["mariadb", "-N", "-e"]),
          query,
        ],
        keysOf(fixture),
      );
      expect(check.stdout.trim(), check.stderr).toBe("from sequelize-cli");
    },
  );

  it("an inherited PGSERVICE or PGHOSTADDR cannot redirect psql or switch TLS off", async () => {
    const serviceFile = join(scratch, "pg_service.conf");
    writeFileSync(
      serviceFile,
      `[elsewhere]\nhost=127.0.0.1\nport=${POSTGRES_BACKEND.port}\nsslmode=disable\nuser=postgres\n`,
    );
    const run = await rdsIamExec([...pgArgs(), "--", "psql", "-Atc", "SELECT current_user"], {
      ...keysOf(postgres),
      PGSERVICEFILE: serviceFile,
      PGSERVICE: "elsewhere",
      PGHOSTADDR: "127.0.0.1",
      PGSSLMODE: "disable",
    });
    expect(run).toMatchObject({ status: 0, stderr: "" });
    expect(run.stdout.trim()).toBe(postgres.user);
  });

  it("exits with the command's status, and 128+n when it dies of signal n (sources and built bin)", async () => {
    const exit42 = [...pgArgs(), "--", ...node("process.exit(42)")];
    const kill9 = [...myArgs(), "--", ...node("process.kill(process.pid, 'SIGKILL')")];
    const [fortyTwo, killed, builtFortyTwo, builtKilled] = await Promise.all([
      rdsIamExec(exit42, keysOf(postgres)),
      rdsIamExec(kill9, keysOf(mariadb)),
      rdsIamExec(exit42, keysOf(postgres), { built: true }),
      rdsIamExec(kill9, keysOf(mariadb), { built: true }),
    ]);
    for (const run of [fortyTwo, builtFortyTwo])
      expect(run).toMatchObject({ status: 42, stderr: "" });
    for (const run of [killed, builtKilled]) expect(run).toMatchObject({ status: 137, stderr: "" });
  });

  it("--host given as a name that is not the endpoint: libpq dials its address, checks the endpoint", async () => {
    const script =
      "console.log(JSON.stringify([process.env.PGHOST, process.env.PGHOSTADDR, process.env.DATABASE_URL.split('@')[1]]))";
    const viaName = pgArgs().map((arg) => (arg === postgres.host ? "localhost" : arg));
    const [seen, psql, unresolved] = await Promise.all([
      rdsIamExec([...viaName, "--", ...node(script)], keysOf(postgres)),
      rdsIamExec([...viaName, "--", "psql", "-Atc", "SELECT current_user"], keysOf(postgres)),
      rdsIamExec(
        [
          ...pgArgs().map((arg) => (arg === postgres.host ? "no-such-host.invalid" : arg)),
          "--",
          ...node("process.exit(0)"),
        ],
        keysOf(postgres),
      ),
    ]);
    expect(seen).toMatchObject({ status: 0, stderr: "" });
    const [pgHost, pgHostAddr, urlHost] = JSON.parse(seen.stdout) as string[];
    expect(pgHost).toBe(postgres.iamHost);
    expect(["127.0.0.1", "::1"]).toContain(pgHostAddr);
    // DATABASE_URL names what was given: Node drivers dial it and check that name.
    expect(urlHost).toMatch(/^localhost:\d+\//);
    expect(psql).toMatchObject({ status: 0, stderr: "" });
    expect(psql.stdout.trim()).toBe(postgres.user);
    expect(unresolved.status).toBe(1);
    expect(unresolved.stderr).toContain('--host "no-such-host.invalid" does not resolve');
    expect(unresolved.stderr).toContain("INVALID_OPTION");
  });

  it.each(["SIGTERM", "SIGINT", "SIGHUP"] as const)(
    "forwards %s to the command, exits with its status, and removes its files",
    async (signal) => {
      const script = `
        process.on(${JSON.stringify(signal)}, () => process.exit(7));
        console.log(process.env.MYSQL_HOME);
        setInterval(() => {}, 1000);`;
      const started = start([...targetOf(mariadb), "--", ...node(script)], keysOf(mariadb));
      const home = await started.firstLine;
      expect(existsSync(join(home, "my.cnf"))).toBe(true);
      process.kill(started.pid, signal);
      const run = await started.done;
      expect(run).toMatchObject({ status: 7, signal: null, stderr: "" });
      expect(existsSync(home)).toBe(false);
    },
  );

  it("a command that does not handle SIGTERM dies of it: 143, and the files are gone", async () => {
    const script = "console.log(process.env.PGSSLROOTCERT); setInterval(() => {}, 1000);";
    const started = start([...targetOf(postgres), "--", ...node(script)], keysOf(postgres));
    const file = await started.firstLine;
    expect(existsSync(file)).toBe(true);
    process.kill(started.pid, "SIGTERM");
    const run = await started.done;
    expect(run).toMatchObject({ status: 143, signal: null, stderr: "" });
    expect(existsSync(dirname(file))).toBe(false);
  });

  it("prints nothing of the token, --verbose included; the command gets it in its environment only", async () => {
    const tokens = join(scratch, `tokens-${randomBytes(4).toString("hex")}`);
    // The command keeps what it got, so the scan knows the real tokens; it fails on
    // purpose, as a tool would, to show nothing is printed on that path either.
    const script = `
      const { appendFileSync } = require("node:fs");
      appendFileSync(process.env.TOKENS_OUT, (process.env.PGPASSWORD ?? process.env.MYSQL_PWD) + "\\n");
      console.error("tool failed");
      process.exit(3);`;
    const env = (fixture: IamFixture) => ({ ...keysOf(fixture), TOKENS_OUT: tokens });
    const runs = await Promise.all([
      rdsIamExec([...pgArgs(), "--verbose", "--", ...node(script)], env(postgres)),
      rdsIamExec([...myArgs(), "--verbose", "--", ...node(script)], env(mariadb)),
      rdsIamExec(
        [...pgArgs(), "--verbose", "--flavor", "prisma", "--", ...node(script)],
        env(postgres),
      ),
    ]);
    const got = readFileSync(tokens, "utf8").trim().split("\n");
    expect(got).toHaveLength(3);
    for (const token of got) {
      expect(token).toContain("X-Amz-Signature=");
      registerSecret(token);
    }
    for (const run of runs) {
      expect(run.status).toBe(3);
      expect(run.stderr).toContain("tool failed");
      expect(run.stderr).toMatch(/rds-iam exec: (PGPASSWORD|MYSQL_PWD)=<token>\n/);
      expect(run.stderr).toMatch(
        /rds-iam exec: DATABASE_URL=(postgresql|mysql):\/\/[^:]+:<token>@/,
      );
    }
    expect(runs[1]?.stderr).toMatch(/ssl=<\d+ characters>&enableCleartextPlugin=true/);
    const leaks = findLeaks(
      runs.flatMap((run, i) => [
        { source: `exec ${i} stdout`, text: run.stdout },
        { source: `exec ${i} stderr`, text: run.stderr },
      ]),
    );
    expect(leaks).toEqual([]);
  });
});

/**
 * A relay to a real database that speaks no TLS, recording what the client sends: a
 * man in the middle who strips TLS. The client must give up before sending the token.
 */
async function recordingRelay(
  port: number,
): Promise<{ port: number; sent: () => string; close: () => Promise<void> }> {
  const chunks: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = new Socket();
    sockets.add(client).add(upstream);
    upstream.connect(port, "127.0.0.1");
    client.on("data", (chunk: Buffer) => chunks.push(chunk));
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  return {
    port: typeof address === "object" && address !== null ? address.port : 0,
    sent: () => Buffer.concat(chunks).toString("latin1"),
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe("rds-iam exec: the clients refuse a server that is not the endpoint, before the token leaves", () => {
  let attacked: { postgres: IamFixture; mysql: IamFixture } | undefined;
  let attackerCa = "";
  beforeAll(async () => {
    // Trusted (it is --ca) and valid for the loopback names, but not for the endpoint.
    const attacker = await selfSignedCertificate(["attacker.example"]);
    attackerCa = join(scratch, "attacker-ca.pem");
    writeFileSync(attackerCa, attacker.cert);
    const [postgres, mysql] = await Promise.all([
      startIamFixture("postgres", { gateway: { tls: attacker } }),
      // The MariaDB client checks the name it dials: an address the certificate lacks.
      startIamFixture("mysql", { gateway: { tls: attacker, listen: { host: "127.0.0.2" } } }),
    ]);
    attacked = { postgres, mysql };
  });
  afterAll(async () => {
    await Promise.all([attacked?.postgres.close(), attacked?.mysql.close()]);
  });

  it("psql wants the endpoint's name even when it dials an address the certificate names", async () => {
    const { postgres } = attacked as { postgres: IamFixture };
    expect(postgres.host).toBe("127.0.0.1");
    const run = await rdsIamExec(
      [...targetOf(postgres, attackerCa), "--", "psql", "-c", "SELECT 1"],
      keysOf(postgres),
    );
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(
      /server certificate for "attacker\.example" \(and \d+ other names?\) does not match host name "mydb\.cluster-abc123\.us-east-1\.rds\.amazonaws\.com"/,
    );
    expect(postgres.gateway.stats().accepted).toBe(0);
    expect(postgres.gateway.stats().rejected).toEqual({});
  });

  it("the mariadb client refuses a certificate that does not name the host it dials", async () => {
    const { mysql } = attacked as { mysql: IamFixture };
    expect(mysql.host).toBe("127.0.0.2");
    const run = await rdsIamExec(
      [...targetOf(mysql, attackerCa), "--", "mariadb", "-e", "SELECT 1"],
      keysOf(mysql),
    );
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("ERROR 2026");
    expect(mysql.gateway.stats().accepted).toBe(0);
    expect(mysql.gateway.stats().rejected).toEqual({});
  });

  it.each(["postgres", "mysql"] as const)(
    "a %s server without TLS: the client stops, and no token crosses the wire",
    async (engine) => {
      const relay = await recordingRelay(
        engine === "postgres" ? POSTGRES_BACKEND.port : MYSQL_BACKEND.port,
      );
      try {
        const run = await rdsIamExec(
          [
            "--engine",
            engine,
            "--host",
            "127.0.0.1",
            "--port",
            String(relay.port),
            "--iam-host",
            "mydb.cluster-abc123.us-east-1.rds.amazonaws.com",
            "--user",
            engine === "postgres" ? POSTGRES_BACKEND.adminUser : MYSQL_BACKEND.adminUser,
            "--ca",
            attackerCa,
            "--",
            ...(engine === "postgres" ? ["psql", "-c", "SELECT 1"] : ["mariadb", "-e", "SELECT 1"]),
          ],
          NO_KEYS,
        );
        expect(run.status).not.toBe(0);
        expect(run.stderr).toMatch(
          engine === "postgres"
            ? /server does not support SSL, but SSL was required/
            : /SSL is required, but the server does not support it/,
        );
        // psql's SSLRequest went through: the relay was reached, and nothing else was sent.
        if (engine === "postgres") expect(relay.sent().length).toBe(8);
        expect(relay.sent()).not.toContain("X-Amz-");
      } finally {
        await relay.close();
      }
    },
  );
});
