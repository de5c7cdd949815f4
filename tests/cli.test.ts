import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import mysql from "mysql2/promise";
import pg from "pg";
import { parseIntoClientConfig } from "pg-connection-string";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isolatedAwsEnv } from "./support/aws-env";
import { type IamFixture, startIamFixture } from "./support/iam-fixture";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CLI = join(ROOT, "packages", "core", "src", "cli.ts");
const CORE = join(ROOT, "packages", "core");
/** The bin as installed: the built file that @rds-iam/core's manifest names. */
const BUILT_CLI = join(
  CORE,
  (JSON.parse(readFileSync(join(CORE, "package.json"), "utf8")) as { bin: { "rds-iam": string } })
    .bin["rds-iam"],
);

interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the `rds-iam` CLI, in an environment with only the given AWS settings: from its
 * sources, or with `built`, the package's bin as `pnpm build` left it (plain node).
 */
function rdsIam(
  args: string[],
  env: Record<string, string> = {},
  { built = false }: { built?: boolean } = {},
): Promise<Run> {
  const base: Record<string, string | undefined> = { ...process.env, ...isolatedAwsEnv(env) };
  const childEnv = Object.fromEntries(
    Object.entries(base).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      built ? [BUILT_CLI, ...args] : ["--import", "tsx", CLI, ...args],
      { cwd: ROOT, env: childEnv, timeout: 30_000 },
      (error, stdout, stderr) => {
        const status = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
        resolve({ status, stdout, stderr });
      },
    );
  });
}

function keysOf(fixture: IamFixture): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: fixture.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: fixture.credentials.secretAccessKey,
  };
}

describe("rds-iam CLI: help and errors", () => {
  it("prints help for the tool and for each command", async () => {
    const runs = await Promise.all([
      rdsIam(["--help"]),
      rdsIam(["token", "--help"]),
      rdsIam(["url", "-h"]),
      rdsIam(["inspect", "--help"]),
    ]);
    for (const run of runs) expect(run).toMatchObject({ status: 0, stderr: "" });
    expect(runs[0]?.stdout).toMatch(/Usage: rds-iam <command>[\s\S]*token[\s\S]*url[\s\S]*inspect/);
    expect(runs[1]?.stdout).toContain("Usage: rds-iam token");
    expect(runs[2]?.stdout).toContain("Usage: rds-iam url");
    expect(runs[2]?.stdout).toContain("prisma/prisma#10304");
    expect(runs[3]?.stdout).toContain("Usage: rds-iam inspect");
  });

  it("reports mistakes on stderr with a non-zero status", async () => {
    const [none, unknown, missing, badFlag, ipHost, mysqlPrisma] = await Promise.all([
      rdsIam([]),
      rdsIam(["sign"]),
      rdsIam(["token", "--host", "mydb.abc123.us-east-1.rds.amazonaws.com", "--port", "5432"]),
      rdsIam(["url", "--nope"]),
      rdsIam(["token", "--host", "10.1.2.3", "--port", "5432", "--user", "app"]),
      rdsIam(
        [
          "url",
          "--engine",
          "mysql",
          "--host",
          "mydb.abc123.us-east-1.rds.amazonaws.com",
          "--user",
          "app",
        ],
        { AWS_ACCESS_KEY_ID: "AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY: "secret-key-value" },
      ),
    ]);
    expect(none).toMatchObject({ status: 2, stdout: "" });
    expect(none.stderr).toContain("Usage: rds-iam");
    expect(unknown).toMatchObject({ status: 2, stdout: "" });
    expect(unknown.stderr).toContain('unknown command "sign"');
    expect(missing).toMatchObject({ status: 2, stdout: "" });
    expect(missing.stderr).toContain("--user is required");
    expect(badFlag.status).toBe(2);
    expect(badFlag.stderr).toContain("--nope");
    expect(ipHost).toMatchObject({ status: 1, stdout: "" });
    expect(ipHost.stderr).toContain("--iam-host");
    expect(ipHost.stderr).toContain("IAM_HOST_REQUIRED");
    expect(mysqlPrisma).toMatchObject({ status: 1, stdout: "" });
    expect(mysqlPrisma.stderr).toContain("prisma/prisma#10304");
    expect(mysqlPrisma.stderr).not.toContain("secret-key-value");
  });

  it("url refuses a --param that would switch TLS off or redirect the token, before minting", async () => {
    const keys = { AWS_ACCESS_KEY_ID: "AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY: "secret-key-value" };
    const base = ["url", "--host", "mydb.abc123.us-east-1.rds.amazonaws.com", "--port", "5432"];
    const [sslmode, host] = await Promise.all([
      rdsIam([...base, "--user", "app", "--param", "sslmode=disable"], keys),
      rdsIam([...base, "--user", "app", "--param", "host=attacker.example"], keys),
    ]);
    expect(sslmode).toMatchObject({ status: 1, stdout: "" });
    expect(sslmode.stderr).toContain("--param sslmode governs TLS");
    expect(sslmode.stderr).toContain("--ca <file>");
    expect(sslmode.stderr).not.toContain("iamAllowPlaintext");
    expect(sslmode.stderr).toContain("CONFLICTING_OPTIONS");
    expect(host).toMatchObject({ status: 1, stdout: "" });
    expect(host.stderr).toContain("--param host");
    expect(host.stderr).toContain("--host, --port or --user");
  });

  it("inspect --check exits 1 when the credentials do not load, naming the CLI's flags", async () => {
    // No credentials anywhere (isolated environment, metadata disabled).
    const run = await rdsIam(["inspect", "db1.abc123.us-east-1.rds.amazonaws.com", "--check"]);
    expect(run.status).toBe(1);
    expect(run.stdout).toContain("Loaded");
    expect(run.stdout).toContain("--profile");
    expect(run.stdout).not.toContain("credentials option");
    expect(run.stderr).toContain("CREDENTIALS_UNAVAILABLE");
  });

  it("url --ca with a relative path names the file by its absolute path", async () => {
    const dir = join(tmpdir(), `rds-iam-cli-ca-${randomBytes(4).toString("hex")}`);
    mkdirSync(dir);
    writeFileSync(
      join(dir, "rel.pem"),
      "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
    );
    const run = await new Promise<Run>((resolve) => {
      execFile(
        process.execPath,
        [
          // The built bin: `--import tsx` would be resolved from that directory.
          BUILT_CLI,
          "url",
          "--host",
          "db1.abc123.us-east-1.rds.amazonaws.com",
          "--user",
          "app",
          "--engine",
          "postgres",
          "--ca",
          "rel.pem",
        ],
        {
          cwd: dir,
          env: Object.fromEntries(
            Object.entries({
              ...process.env,
              ...isolatedAwsEnv({
                AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
                AWS_SECRET_ACCESS_KEY: "secret-key-value",
              }),
            }).filter((entry): entry is [string, string] => entry[1] !== undefined),
          ),
          timeout: 30_000,
        },
        (error, stdout, stderr) =>
          resolve({
            status: error === null ? 0 : typeof error.code === "number" ? error.code : -1,
            stdout,
            stderr,
          }),
      );
    });
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    rmSync(dir, { recursive: true, force: true });
    expect(new URL(run.stdout.trim()).searchParams.get("sslcert")).toBe(join(dir, "rel.pem"));
  });

  it("inspect explains the signing target without printing secrets", async () => {
    const secret = randomBytes(30).toString("base64");
    const env = { AWS_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE", AWS_SECRET_ACCESS_KEY: secret };
    const [text, json] = await Promise.all([
      rdsIam(
        [
          "inspect",
          "db1.cluster-ro-xyz789.eu-west-3.rds.amazonaws.com",
          "--user",
          "app",
          "--check",
        ],
        env,
      ),
      rdsIam(
        [
          "inspect",
          "--host",
          "10.0.0.5",
          "--iam-host",
          "db1.xyz789.rds.cn-north-1.amazonaws.com.cn",
          "--port",
          "3306",
          "--json",
        ],
        env,
      ),
    ]);
    expect(text.status).toBe(0);
    expect(text.stdout).toContain("Aurora cluster reader endpoint");
    expect(text.stdout).toContain("eu-west-3 (from the hostname)");
    expect(text.stdout).toContain("db1.cluster-ro-xyz789.eu-west-3.rds.amazonaws.com:5432");
    expect(text.stdout).toContain("environment variables");
    expect(text.stdout).toContain("AKIA************MPLE");
    expect(json.status).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      host: "10.0.0.5",
      signingHost: "db1.xyz789.rds.cn-north-1.amazonaws.com.cn",
      signingPort: 3306,
      region: "cn-north-1",
      partition: "aws-cn",
      endpointKind: "instance",
    });
    for (const run of [text, json]) {
      expect(run.stdout + run.stderr).not.toContain(secret);
      expect(run.stdout + run.stderr).not.toContain("AKIAIOSFODNN7EXAMPLE");
      expect(run.stdout + run.stderr).not.toContain("X-Amz-Signature");
    }
  });
});

describe("rds-iam CLI through the gateway", () => {
  let postgres: IamFixture;
  let mariadb: IamFixture;
  const caFiles = { postgres: "", mysql: "" };
  beforeAll(async () => {
    [postgres, mariadb] = await Promise.all([
      startIamFixture("postgres"),
      startIamFixture("mysql"),
    ]);
    // One file per gateway: their self-signed certificates share a subject name, so
    // OpenSSL would try only the first of them from a combined bundle.
    for (const fixture of [postgres, mariadb]) {
      const file = join(tmpdir(), `rds-iam-cli-ca-${randomBytes(4).toString("hex")}.pem`);
      writeFileSync(file, fixture.ca);
      caFiles[fixture.engine] = file;
    }
  });
  afterAll(async () => {
    await Promise.all([postgres?.close(), mariadb?.close()]);
    for (const file of Object.values(caFiles)) if (file !== "") rmSync(file, { force: true });
  });

  it("token: prints a token the gateway accepts as the password", async () => {
    const run = await rdsIam(
      [
        "token",
        "--hostname",
        postgres.iamHost,
        "--port",
        String(postgres.iamDefaultPort),
        "--username",
        postgres.user,
      ],
      keysOf(postgres),
    );
    expect(run).toMatchObject({ status: 0, stderr: "" });
    const token = run.stdout.trim();
    expect(token.startsWith(`${postgres.iamHost}:${postgres.iamDefaultPort}/?Action=connect`)).toBe(
      true,
    );
    const client = new pg.Client({
      host: postgres.host,
      port: postgres.port,
      user: postgres.user,
      password: token,
      database: postgres.database,
      ssl: { ca: postgres.ca },
    });
    await client.connect();
    try {
      const { rows } = await client.query<{ user: string }>('SELECT current_user AS "user"');
      expect(rows[0]?.user).toBe(postgres.user);
    } finally {
      await client.end();
    }
  });

  it("url: a node-postgres URL logs in through pg-connection-string", async () => {
    const run = await rdsIam(
      [
        "url",
        "--engine",
        "postgres",
        "--flavor",
        "node-postgres",
        "--host",
        postgres.host,
        "--port",
        String(postgres.port),
        "--iam-host",
        postgres.iamHost,
        "--iam-port",
        String(postgres.iamDefaultPort),
        "--user",
        postgres.user,
        "-d",
        postgres.database,
        "--ca",
        caFiles.postgres,
      ],
      keysOf(postgres),
    );
    expect(run).toMatchObject({ status: 0, stderr: "" });
    const url = run.stdout.trim();
    expect(new URL(url).searchParams.get("sslrootcert")).toBe(caFiles.postgres);
    const client = new pg.Client(parseIntoClientConfig(url));
    await client.connect();
    try {
      const { rows } = await client.query<{ user: string }>('SELECT current_user AS "user"');
      expect(rows[0]?.user).toBe(postgres.user);
    } finally {
      await client.end();
    }
  });

  it("url: a mysql2 URL logs in to MariaDB with the cleartext plugin over TLS", async () => {
    const run = await rdsIam(
      [
        "url",
        "--engine",
        "mysql",
        "--flavor",
        "mysql2",
        "--host",
        mariadb.host,
        "--port",
        String(mariadb.port),
        "--iam-host",
        mariadb.iamHost,
        "--iam-port",
        String(mariadb.iamDefaultPort),
        "--user",
        mariadb.user,
        "--database",
        mariadb.database,
        "--ca",
        caFiles.mysql,
      ],
      keysOf(mariadb),
    );
    expect(run).toMatchObject({ status: 0, stderr: "" });
    const connection = await mysql.createConnection(run.stdout.trim());
    try {
      const [rows] = await connection.query("SELECT DATABASE() AS db");
      expect((rows as { db: string }[])[0]?.db).toBe(mariadb.database);
    } finally {
      await connection.end();
    }
    expect(mariadb.gateway.stats().rejected).toEqual({});
  });
});

// What users run: the bin of the built package (`pnpm build` first, as `pnpm test` does).
describe("rds-iam CLI from the built package", () => {
  let postgres: IamFixture;
  let mariadb: IamFixture;
  let caFile = "";
  beforeAll(async () => {
    [postgres, mariadb] = await Promise.all([
      startIamFixture("postgres"),
      startIamFixture("mysql"),
    ]);
    caFile = join(tmpdir(), `rds-iam-cli-built-ca-${randomBytes(4).toString("hex")}.pem`);
    writeFileSync(caFile, postgres.ca);
  });
  afterAll(async () => {
    await Promise.all([postgres?.close(), mariadb?.close()]);
    if (caFile !== "") rmSync(caFile, { force: true });
  });

  it("answers --help for the tool and each command, and fails on stderr", async () => {
    const built = { built: true };
    const [tool, token, url, inspect, none, bad] = await Promise.all([
      rdsIam(["--help"], {}, built),
      rdsIam(["token", "--help"], {}, built),
      rdsIam(["url", "--help"], {}, built),
      rdsIam(["inspect", "--help"], {}, built),
      rdsIam([], {}, built),
      rdsIam(["token", "--host", "10.1.2.3", "--port", "5432", "--user", "app"], {}, built),
    ]);
    expect(tool).toMatchObject({ status: 0, stderr: "" });
    expect(tool.stdout).toMatch(/Usage: rds-iam <command>[\s\S]*token[\s\S]*url[\s\S]*inspect/);
    for (const [run, name] of [
      [token, "token"],
      [url, "url"],
      [inspect, "inspect"],
    ] as const) {
      expect(run).toMatchObject({ status: 0, stderr: "" });
      expect(run.stdout).toContain(`Usage: rds-iam ${name}`);
    }
    expect(none).toMatchObject({ status: 2, stdout: "" });
    expect(bad).toMatchObject({ status: 1, stdout: "" });
    expect(bad.stderr).toContain("IAM_HOST_REQUIRED");
  });

  it("url (Prisma's flavour, the default): the decoded URL logs in, verifying the CA file it names", async () => {
    const run = await rdsIam(
      [
        "url",
        "--engine",
        "postgres",
        "--host",
        postgres.host,
        "--port",
        String(postgres.port),
        "--iam-host",
        postgres.iamHost,
        "--iam-port",
        String(postgres.iamDefaultPort),
        "--user",
        postgres.user,
        "--database",
        postgres.database,
        "--ca",
        caFile,
      ],
      keysOf(postgres),
      { built: true },
    );
    expect(run).toMatchObject({ status: 0, stderr: "" });
    // Read the way Prisma's engine reads it: WHATWG parsing, then percent-decoding.
    const url = new URL(run.stdout.trim());
    expect(Object.fromEntries(url.searchParams)).toEqual({
      sslmode: "require",
      sslcert: caFile,
      sslaccept: "strict",
    });
    const client = new pg.Client({
      host: decodeURIComponent(url.hostname),
      port: Number(url.port),
      user: decodeURIComponent(url.username),
      password: decodeURIComponent(url.password),
      database: decodeURIComponent(url.pathname.slice(1)),
      ssl: { ca: readFileSync(url.searchParams.get("sslcert") ?? "", "utf8") },
    });
    await client.connect();
    try {
      const { rows } = await client.query<{ user: string }>('SELECT current_user AS "user"');
      expect(rows[0]?.user).toBe(postgres.user);
    } finally {
      await client.end();
    }
    expect(postgres.gateway.stats().rejected).toEqual({});
  });

  it("token for MySQL: mysql2 logs in to MariaDB with it, cleartext over TLS", async () => {
    const run = await rdsIam(
      [
        "token",
        "--host",
        mariadb.iamHost,
        "--port",
        String(mariadb.iamDefaultPort),
        "--user",
        mariadb.user,
      ],
      keysOf(mariadb),
      { built: true },
    );
    expect(run).toMatchObject({ status: 0, stderr: "" });
    const token = run.stdout.trim();
    const connection = await mysql.createConnection({
      host: mariadb.host,
      port: mariadb.port,
      user: mariadb.user,
      database: mariadb.database,
      ssl: { ca: mariadb.ca },
      authPlugins: { mysql_clear_password: () => () => `${token}\0` },
    });
    try {
      const [rows] = await connection.query("SELECT DATABASE() AS db");
      expect((rows as { db: string }[])[0]?.db).toBe(mariadb.database);
    } finally {
      await connection.end();
    }
    expect(mariadb.gateway.stats().rejected).toEqual({});
  });
});

describe("rds-iam CLI: an Aurora global writer endpoint", () => {
  it("token signs for the writer's region, looked up through the RDS API; inspect says so", async () => {
    const { startRdsApi } = await import("./support/rds-api");
    const keys = {
      AWS_ACCESS_KEY_ID: "AKIDGLOBALCLI0001",
      AWS_SECRET_ACCESS_KEY: randomBytes(30).toString("base64"),
    };
    const api = await startRdsApi({
      credentials: [
        { accessKeyId: keys.AWS_ACCESS_KEY_ID, secretAccessKey: keys.AWS_SECRET_ACCESS_KEY },
      ],
      writers: { orders: "eu-west-1" },
    });
    try {
      const env = {
        ...keys,
        AWS_REGION: "us-east-1",
        AWS_ENDPOINT_URL_RDS: api.url,
        // The SDK's clients warn once on Node < 22 (its support policy from 2027), on stderr.
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      };
      const host = "orders.global-abc123.global.rds.amazonaws.com";
      const [token, inspect] = await Promise.all([
        rdsIam(["token", "--host", host, "--user", "app", "--engine", "postgres"], env),
        rdsIam(["inspect", host, "--user", "app"], env),
      ]);
      expect(token).toMatchObject({ status: 0, stderr: "" });
      const signed = new URL(`https://${token.stdout.trim()}`);
      expect(signed.host).toBe(`${host}:5432`);
      expect(signed.searchParams.get("X-Amz-Credential")).toContain("/eu-west-1/rds-db/");
      expect(api.calls("orders")).toBe(1);
      expect(inspect.status).toBe(0);
      expect(inspect.stdout).toContain("Aurora global database writer endpoint");
      expect(inspect.stdout).toContain("looked up with DescribeGlobalClusters in us-east-1");
      expect(inspect.stdout).toContain("rds:DescribeGlobalClusters");
      // inspect explains; it does not call the API.
      expect(api.calls("orders")).toBe(1);
    } finally {
      await api.close();
    }
  });
});
