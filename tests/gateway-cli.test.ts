import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { generateAuthToken } from "@rds-iam/core";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPostgresUser, type DatabaseUser } from "./support/databases";
import { testCredentials } from "./support/iam-fixture";

// The built CLI, as a user runs it (`pnpm test` builds before testing).
const CLI = fileURLToPath(new URL("../packages/gateway/dist/cli.js", import.meta.url));
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
