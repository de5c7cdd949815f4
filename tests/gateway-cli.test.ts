import { type ChildProcess, execFile, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { generateAuthToken } from "@rds-iam/core";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isolatedAwsEnv } from "./support/aws-env";
import { createMysqlUser, createPostgresUser, type DatabaseUser } from "./support/databases";
import { testCredentials } from "./support/iam-fixture";
import { record, registerCredentials, registerSecret } from "./support/secret-scan";

// The built CLIs, as a user runs them (`pnpm test` builds before testing).
const CLI = fileURLToPath(new URL("../packages/gateway/dist/cli.js", import.meta.url));
const TOKEN_CLI = fileURLToPath(new URL("../packages/core/dist/cli.js", import.meta.url));
const ENDPOINT = "cli.cluster-abc123.eu-central-1.rds.amazonaws.com";

describe("rds-iam-gateway CLI", () => {
  const credentials = testCredentials();
  let user: DatabaseUser;
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    user = await createPostgresUser("cli");
  });
  afterAll(async () => {
    child?.kill("SIGTERM");
    await user?.drop();
  });

  it("prints help and exits 0", () => {
    const result = spawnSync(process.execPath, [CLI, "--help"], { encoding: "utf8" });
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/--engine postgres\|mysql/);
    expect(result.stdout).toMatch(/--serve-credentials {2}/);
    expect(result.stdout).toMatch(/--handshake-timeout SECONDS/);
  });

  it("explains bad arguments on stderr with a non-zero exit", () => {
    const result = spawnSync(process.execPath, [CLI, "--engine", "oracle"], { encoding: "utf8" });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/--engine must be postgres or mysql/);
    expect(result.stdout).toBe("");
  });

  it("starts a gateway that a token signed with the same credentials logs in through", async () => {
    child = spawn(
      process.execPath,
      [CLI, "--engine", "postgres", "--endpoint", ENDPOINT, "--backend", "127.0.0.1:5432"],
      {
        env: {
          ...process.env,
          AWS_ACCESS_KEY_ID: credentials.accessKeyId,
          AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
        },
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    const [line] = (await once(child.stdout as NodeJS.ReadableStream, "data")) as [Buffer];
    const match = / on 127\.0\.0\.1:(\d+), standing for (.+):5432 \(eu-central-1\)/.exec(
      String(line),
    );
    expect(match?.[2]).toBe(ENDPOINT);
    const token = await generateAuthToken({
      hostname: ENDPOINT,
      port: 5432,
      username: user.user,
      region: "eu-central-1",
      credentials,
    });
    const client = new pg.Client({
      host: "127.0.0.1",
      port: Number(match?.[1]),
      user: user.user,
      database: user.database,
      password: token,
      // The CLI's certificate is self-signed; sslmode=require, as with psql.
      ssl: { rejectUnauthorized: false },
    });
    await client.connect();
    const { rows } = await client.query("select current_user as who");
    expect(rows[0].who).toBe(user.user);
    await client.end();
    child.kill("SIGTERM");
    const [code] = await once(child, "exit");
    expect(code).toBe(0);
    child = undefined;
  });
});

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a program to completion; its output goes to the secret scan unless told not to. */
function run(
  file: string,
  args: readonly string[],
  env: Record<string, string | undefined>,
  options: { readonly recordStdout?: boolean } = {},
): Promise<Run> {
  const childEnv = Object.fromEntries(
    Object.entries({ ...process.env, ...env }).filter(
      (entry): entry is [string, string] => entry[1] !== undefined,
    ),
  );
  return new Promise((resolve, reject) => {
    execFile(file, args, { env: childEnv, timeout: 30_000 }, (error, stdout, stderr) => {
      if (error && (error as NodeJS.ErrnoException).code === "ENOENT") {
        // Never skip: the acceptance test needs the real clients.
        reject(
          new Error(
            `${file} is not installed; install the PostgreSQL and MariaDB clients ` +
              "(Debian: postgresql-client, mariadb-client)",
          ),
        );
        return;
      }
      if (options.recordStdout !== false) record(`stdout:${file}`, stdout);
      record(`stderr:${file}`, stderr);
      const status = error === null ? 0 : typeof error.code === "number" ? error.code : null;
      resolve({ status, stdout, stderr });
    });
  });
}

interface CliGateway {
  readonly port: number;
  readonly child: ChildProcess;
  /** Everything the gateway printed to stderr so far. */
  stderr(): string;
  /** Everything the gateway printed to stdout so far. */
  stdout(): string;
  stop(): Promise<number | null>;
}

/** Starts `rds-iam-gateway` and waits for the line that says where it listens. */
async function startCliGateway(
  args: readonly string[],
  env: Record<string, string | undefined>,
): Promise<CliGateway> {
  const childEnv = Object.fromEntries(
    Object.entries({ ...process.env, ...env }).filter(
      (entry): entry is [string, string] => entry[1] !== undefined,
    ),
  );
  const child = spawn(process.execPath, [CLI, ...args], {
    env: childEnv,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += String(chunk);
    record("stderr:rds-iam-gateway", String(chunk));
  });
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the gateway did not start: ${stderr}`)),
      20_000,
    );
    child.stdout?.on("data", (chunk: Buffer) => {
      stdout += String(chunk);
      record("stdout:rds-iam-gateway", String(chunk));
      const end = stdout.indexOf("\n");
      if (end !== -1) {
        clearTimeout(timer);
        resolve(stdout.slice(0, end));
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the gateway exited with ${code}: ${stderr}`));
    });
  });
  const port = Number(/ on 127\.0\.0\.1:(\d+),/.exec(line)?.[1]);
  expect(port).toBeGreaterThan(0);
  return {
    port,
    child,
    stderr: () => stderr,
    stdout: () => stdout,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill("SIGTERM");
      const [code] = (await once(child, "exit")) as [number | null];
      return code;
    },
  };
}

/*
 * Issue 3's acceptance, literally: the gateway CLI, a token printed by a short script
 * (the `rds-iam token` CLI, which any shell can run), and the real `psql` and `mariadb`
 * command-line clients logging in through it over TLS. Also what they see when the
 * token is wrong or TLS is off: RDS's own answers.
 */
describe("rds-iam-gateway CLI with psql and the mariadb client", () => {
  const credentials = testCredentials();
  registerSecret(credentials.secretAccessKey);
  const awsEnv = isolatedAwsEnv({
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
  });
  const dir = mkdtempSync(join(tmpdir(), "rds-iam-gateway-cli-"));
  const gateways: CliGateway[] = [];
  const users: DatabaseUser[] = [];

  afterAll(async () => {
    for (const gateway of gateways) await gateway.stop();
    for (const user of users) await user.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** `rds-iam token ...`: what a user's script prints. */
  async function printToken(port: number, user: string): Promise<string> {
    const result = await run(
      process.execPath,
      [TOKEN_CLI, "token", "--host", ENDPOINT, "--port", String(port), "--user", user],
      awsEnv,
      // Its stdout is the token itself: that is the point, not a leak.
      { recordStdout: false },
    );
    expect(result).toMatchObject({ status: 0, stderr: "" });
    const token = result.stdout.trim();
    registerSecret(token);
    expect(token.startsWith(`${ENDPOINT}:${port}/?Action=connect&DBUser=${user}&`)).toBe(true);
    return token;
  }

  it("psql logs in with sslmode=require (and verify-full against --ca-out)", async () => {
    const user = await createPostgresUser("clipsql");
    users.push(user);
    const ca = join(dir, "postgres-ca.pem");
    const gateway = await startCliGateway(
      [
        "--engine",
        "postgres",
        "--endpoint",
        ENDPOINT,
        "--backend",
        "127.0.0.1:5432",
        "--ca-out",
        ca,
      ],
      awsEnv,
    );
    gateways.push(gateway);
    const token = await printToken(5432, user.user);
    const conninfo = (host: string, ssl: string) =>
      `host=${host} port=${gateway.port} user=${user.user} dbname=${user.database} ${ssl}`;
    const psql = (info: string, password: string, ...sql: string[]) =>
      run("psql", ["--no-psqlrc", "-At", info, ...sql.flatMap((c) => ["-c", c])], {
        PGPASSWORD: password,
        PGSSLMODE: undefined,
        PGSERVICE: undefined,
      });

    const ok = await psql(
      conninfo("127.0.0.1", "sslmode=require"),
      token,
      "select current_user",
      "\\conninfo",
    );
    expect(ok.stderr).toBe("");
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain(user.user);
    expect(ok.stdout).toMatch(/SSL connection \(protocol: TLSv1\.[23]/);

    // The certificate the gateway made names localhost; with its CA, psql verifies it.
    const verified = await psql(
      conninfo("localhost", `sslmode=verify-full sslrootcert=${ca}`),
      token,
      "select current_user",
    );
    expect(verified).toMatchObject({ status: 0, stdout: `${user.user}\n` });

    // A tampered token and a plaintext client get RDS's answers.
    const tampered = tamperSignature(token);
    const bad = await psql(conninfo("127.0.0.1", "sslmode=require"), tampered, "select 1");
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain(`FATAL:  PAM authentication failed for user "${user.user}"`);
    const plaintext = await psql(conninfo("127.0.0.1", "sslmode=disable"), token, "select 1");
    expect(plaintext.status).not.toBe(0);
    expect(plaintext.stderr).toMatch(/no pg_hba\.conf entry for host .*no encryption/);

    expect(await gateway.stop()).toBe(0);
    // One line per refusal, with reason, client, user and (public) access key; the counts
    // at exit. Nothing else: the token never reaches the log (the secret scan checks).
    expect(gateway.stderr().split("\n").filter(Boolean)).toEqual([
      expect.stringMatching(
        new RegExp(
          `^rds-iam-gateway: refused \\(signature\\) client 127\\.0\\.0\\.1:\\d+, user "${user.user}", access key ${credentials.accessKeyId}: the signature does not match`,
        ),
      ),
      expect.stringMatching(
        new RegExp(
          `^rds-iam-gateway: refused \\(plaintext\\) client 127\\.0\\.0\\.1:\\d+, user "${user.user}": the client did not ask for TLS$`,
        ),
      ),
      expect.stringMatching(
        /^rds-iam-gateway: stopping: \d+ connections, 2 accepted, 2 refused \(plaintext 1, signature 1\)$/,
      ),
    ]);
  });

  it("the mariadb client logs in with --enable-cleartext-plugin --ssl (and a verified CA)", async () => {
    const user = await createMysqlUser("climaria");
    users.push(user);
    const ca = join(dir, "mysql-ca.pem");
    const gateway = await startCliGateway(
      [
        "--engine",
        "mysql",
        "--endpoint",
        ENDPOINT,
        "--backend",
        "127.0.0.1:3306",
        "--backend-password-env",
        "RDS_IAM_TEST_BACKEND_PASSWORD",
        "--ca-out",
        ca,
      ],
      { ...awsEnv, RDS_IAM_TEST_BACKEND_PASSWORD: user.password },
    );
    gateways.push(gateway);
    registerSecret(user.password);
    const token = await printToken(3306, user.user);
    // MariaDB's client always allows cleartext and calls the flag obsolete (on stdout or
    // stderr); MySQL's client needs it. The warning is dropped from what is compared.
    const obsolete = /^WARNING: option '--enable-cleartext-plugin' is obsolete\.\n/m;
    const mariadb = async (password: string, ...flags: string[]): Promise<Run> => {
      const result = await run(
        "mariadb",
        [
          // No option files: only what the test says.
          "--no-defaults",
          "--protocol=TCP",
          `--port=${gateway.port}`,
          `--user=${user.user}`,
          "--enable-cleartext-plugin",
          "--batch",
          "--skip-column-names",
          ...flags,
          user.database,
        ],
        // Not on the command line, where `ps` would show it.
        { MYSQL_PWD: password },
      );
      return {
        ...result,
        stdout: result.stdout.replace(obsolete, ""),
        stderr: result.stderr.replace(obsolete, ""),
      };
    };

    const ok = await mariadb(
      token,
      "--host=127.0.0.1",
      "--ssl",
      "--execute=select current_user(), database(); \\s",
    );
    expect(ok.stderr).toBe("");
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain(`${user.user}@%\t${user.database}`);
    expect(ok.stdout).toMatch(/SSL:\s+Cipher in use is \S+/);

    const verified = await mariadb(
      token,
      "--host=localhost",
      `--ssl-ca=${ca}`,
      "--ssl-verify-server-cert",
      "--execute=select current_user()",
    );
    expect(verified).toMatchObject({ status: 0, stdout: `${user.user}@%\n` });

    const accessDenied = `ERROR 1045 (28000): Access denied for user '${user.user}'@'127.0.0.1' (using password: YES)`;
    const tampered = tamperSignature(token);
    const bad = await mariadb(tampered, "--host=127.0.0.1", "--ssl", "--execute=select 1");
    expect(bad.status).not.toBe(0);
    expect(bad.stderr.trim()).toBe(accessDenied);
    const plaintext = await mariadb(token, "--host=127.0.0.1", "--skip-ssl", "--execute=select 1");
    expect(plaintext.status).not.toBe(0);
    expect(plaintext.stderr.trim()).toBe(accessDenied);

    expect(await gateway.stop()).toBe(0);
    expect(gateway.stderr().split("\n").filter(Boolean)).toEqual([
      expect.stringMatching(
        new RegExp(
          `^rds-iam-gateway: refused \\(signature\\) client 127\\.0\\.0\\.1:\\d+, user "${user.user}", access key ${credentials.accessKeyId}: `,
        ),
      ),
      expect.stringMatching(
        new RegExp(
          `^rds-iam-gateway: refused \\(plaintext\\) client 127\\.0\\.0\\.1:\\d+, user "${user.user}": `,
        ),
      ),
      expect.stringMatching(
        /^rds-iam-gateway: stopping: \d+ connections, 2 accepted, 2 refused \(plaintext 1, signature 1\)$/,
      ),
    ]);
  });
});

/** `token` with one hex digit of its signature changed: well-formed, not authentic. */
function tamperSignature(token: string): string {
  return token.replace(
    /X-Amz-Signature=(.)/,
    (_match, c: string) => `X-Amz-Signature=${c === "0" ? "1" : "0"}`,
  );
}

/** Polls `check` every 20 ms until it holds; fails after `ms`. */
async function waitUntil(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/*
 * The "first hour": the whole offline setup from the command line. The CLI
 * serves made-up rotating credentials on a loopback container endpoint, prints what
 * to export, and accepts the tokens the AWS SDK chain (here in `rds-iam token`) makes
 * from them; no AWS keys anywhere.
 */
describe("rds-iam-gateway --serve-credentials", () => {
  const users: DatabaseUser[] = [];
  const gateways: CliGateway[] = [];
  afterAll(async () => {
    for (const gateway of gateways) await gateway.stop();
    for (const user of users) await user.drop();
  });

  it("serves credentials that rds-iam token picks up, and psql logs in with its token", async () => {
    const user = await createPostgresUser("cliserve");
    users.push(user);
    // No AWS keys in the gateway's environment: only the credentials it serves count.
    const gateway = await startCliGateway(
      [
        "--engine",
        "postgres",
        "--endpoint",
        ENDPOINT,
        "--backend",
        "127.0.0.1:5432",
        "--serve-credentials",
      ],
      { ...isolatedAwsEnv(), AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: undefined },
    );
    gateways.push(gateway);
    await waitUntil("the export lines", () =>
      gateway.stdout().includes("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE="),
    );
    const exported = Object.fromEntries(
      [...gateway.stdout().matchAll(/^export (AWS_[A-Z_]+)=(\S+)$/gm)].map((m) => [m[1], m[2]]),
    );
    expect(Object.keys(exported).sort()).toEqual([
      "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
      "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ]);
    const url = exported.AWS_CONTAINER_CREDENTIALS_FULL_URI as string;
    const tokenFile = exported.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE as string;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);
    // The endpoint's authorization token is in a file only this user can read, and
    // without it the endpoint hands out nothing.
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    const authorization = readFileSync(tokenFile, "utf8");
    registerSecret(authorization);
    expect((await fetch(url)).status).toBe(401);
    const served = (await (await fetch(url, { headers: { authorization } })).json()) as {
      AccessKeyId: string;
      SecretAccessKey: string;
      Token: string;
    };
    registerCredentials({ secretAccessKey: served.SecretAccessKey, sessionToken: served.Token });

    // What a user runs in another shell after pasting the two export lines.
    const tokenEnv = isolatedAwsEnv(exported as Record<string, string>);
    const made = await run(
      process.execPath,
      [TOKEN_CLI, "token", "--host", ENDPOINT, "--port", "5432", "--user", user.user],
      tokenEnv,
      { recordStdout: false },
    );
    expect(made).toMatchObject({ status: 0, stderr: "" });
    const token = made.stdout.trim();
    registerSecret(token);
    expect(token).toContain(`X-Amz-Credential=${served.AccessKeyId}%2F`);
    expect(token).toContain("X-Amz-Security-Token=");
    const ok = await run(
      "psql",
      [
        "--no-psqlrc",
        "-At",
        `host=127.0.0.1 port=${gateway.port} user=${user.user} dbname=${user.database} sslmode=require`,
        "-c",
        "select current_user",
      ],
      { PGPASSWORD: token, PGSSLMODE: undefined, PGSERVICE: undefined },
    );
    expect(ok).toMatchObject({ status: 0, stdout: `${user.user}\n`, stderr: "" });

    // Static keys the gateway was never given are refused, and the log says whose.
    const stranger = testCredentials();
    registerSecret(stranger.secretAccessKey);
    const foreign = await generateAuthToken({
      hostname: ENDPOINT,
      port: 5432,
      username: user.user,
      region: "eu-central-1",
      credentials: stranger,
    });
    registerSecret(foreign);
    const refused = await run(
      "psql",
      [
        "--no-psqlrc",
        "-At",
        `host=127.0.0.1 port=${gateway.port} user=${user.user} dbname=${user.database} sslmode=require`,
        "-c",
        "select 1",
      ],
      { PGPASSWORD: foreign, PGSSLMODE: undefined, PGSERVICE: undefined },
    );
    expect(refused.stderr).toContain(`PAM authentication failed for user "${user.user}"`);

    expect(await gateway.stop()).toBe(0);
    expect(existsSync(tokenFile)).toBe(false);
    expect(gateway.stderr().split("\n").filter(Boolean)).toEqual([
      expect.stringMatching(
        new RegExp(
          `^rds-iam-gateway: refused \\(unknown-credentials\\) client 127\\.0\\.0\\.1:\\d+, user "${user.user}", access key ${stranger.accessKeyId}: `,
        ),
      ),
      "rds-iam-gateway: stopping: 2 connections, 1 accepted, 1 refused (unknown-credentials 1)",
    ]);
  });

  it("--handshake-timeout disconnects a client that sends nothing, and logs it", async () => {
    const gateway = await startCliGateway(
      [
        "--engine",
        "postgres",
        "--endpoint",
        ENDPOINT,
        "--backend",
        "127.0.0.1:5432",
        "--serve-credentials",
        "--handshake-timeout",
        "0.3",
      ],
      { ...isolatedAwsEnv(), AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: undefined },
    );
    gateways.push(gateway);
    const socket = connect({ host: "127.0.0.1", port: gateway.port });
    socket.on("error", () => undefined);
    const started = Date.now();
    await once(socket, "close");
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(5_000);
    expect(await gateway.stop()).toBe(0);
    expect(gateway.stderr()).toMatch(
      /^rds-iam-gateway: refused \(timeout\) client 127\.0\.0\.1:\d+: no verified login within 300 ms\nrds-iam-gateway: stopping: 1 connection, 0 accepted, 1 refused \(timeout 1\)\n$/,
    );
  });
});
