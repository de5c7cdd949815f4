import { describe, expect, it } from "vitest";
import { registerCredentials } from "../../../tests/support/secret-scan";
import { main } from "../src/cli/main";
import { decodeToken, STATIC_CREDENTIALS } from "./support";

registerCredentials(STATIC_CREDENTIALS);

/** Runs the CLI in this process with captured output. */
async function run(argv: string[], env: NodeJS.ProcessEnv = {}) {
  let stdout = "";
  let stderr = "";
  const status = await main(argv, {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    env,
  });
  return { status, stdout, stderr };
}

// The bin (src/cli.ts) only hands process.argv and stdio to `main`; tests/cli.test.ts
// runs the built bin against the gateway and real clients.
describe("rds-iam (in process)", () => {
  it("prints usage on stderr with status 2 when no command is given", async () => {
    const { status, stdout, stderr } = await run([]);
    expect(status).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toMatch(/^Usage: rds-iam <command>/);
  });

  it("prints help and the version on stdout", async () => {
    expect((await run(["--help"])).stdout).toMatch(/Commands:\n {2}token/);
    expect((await run(["help", "token"])).stdout).toMatch(/--host/);
    // From the sources the version is "unknown"; the built bin reads package.json.
    expect((await run(["--version"])).stdout).toMatch(/^(\d+\.\d+\.\d+|unknown)\n$/);
  });

  it("lists exec; exec without a command, or with one outside --, is a usage error", async () => {
    expect((await run(["--help"])).stdout).toMatch(
      /\n {2}exec {6}Run a command with a fresh token/,
    );
    expect((await run(["help", "exec"])).stdout).toContain("Usage: rds-iam exec [options] --");
    const none = await run([
      "exec",
      "--engine",
      "postgres",
      "--host",
      "db.example",
      "--user",
      "app",
    ]);
    expect(none).toMatchObject({ status: 2, stdout: "" });
    expect(none.stderr).toContain('rds-iam exec: no command to run: give it after "--"');
    const outside = await run([
      "exec",
      "--engine",
      "mysql",
      "--host",
      "db.example",
      "mariadb",
      "-e",
      "x",
    ]);
    expect(outside.status).toBe(2);
    expect(outside.stderr).toContain(
      'put the command after "--": rds-iam exec [options] -- mariadb -e x',
    );
  });

  it("signs a token with the credentials of the environment, printing nothing else", async () => {
    const env = {
      AWS_ACCESS_KEY_ID: STATIC_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: STATIC_CREDENTIALS.secretAccessKey,
    };
    const saved = { ...process.env };
    Object.assign(process.env, env);
    try {
      const { status, stdout, stderr } = await run(
        [
          "token",
          "--host",
          "mydb.cluster-abc123.eu-west-1.rds.amazonaws.com",
          "--user",
          "cli_app",
          "--port",
          "5432",
        ],
        env,
      );
      expect({ status, stderr }).toEqual({ status: 0, stderr: "" });
      const token = decodeToken(stdout.trim());
      expect(token).toMatchObject({
        region: "eu-west-1",
        accessKeyId: STATIC_CREDENTIALS.accessKeyId,
      });
      expect(token.params.get("DBUser")).toBe("cli_app");
    } finally {
      for (const key of Object.keys(env)) {
        if (saved[key] === undefined) delete process.env[key];
        else process.env[key] = saved[key];
      }
    }
  });

  it("names the CLI's flag when an option is wrong", async () => {
    const missing = await run(["token", "--host", "10.0.0.5", "--user", "app"]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain("--engine (postgres or mysql) or --port is required");
    const { status, stderr } = await run([
      "token",
      "--host",
      "10.0.0.5",
      "--user",
      "app",
      "--port",
      "5432",
    ]);
    expect(status).toBe(1);
    expect(stderr).toContain("--iam-host");
  });
});
