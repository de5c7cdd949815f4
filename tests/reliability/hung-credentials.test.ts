import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, unlink, writeFile } from "node:fs/promises";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createIamAuth, type IamAuth, isRdsIamError } from "@rds-iam/core";
import { afterAll, describe, expect, it } from "vitest";
import { isolatedAwsEnv, withEnv } from "../support/aws-env";
import { assertNoLeaks, observe, registerCredentials, trackTokens } from "../support/secret-scan";

const HOST = "mydb.cluster-abc123.us-east-1.rds.amazonaws.com";
/** Small so the test is quick; assertions on time are loose (two busy cores). */
const IAM_TIMEOUT_MS = 500;
/** Far above IAM_TIMEOUT_MS, far below the 60 s test timeout: "it did not hang". */
const PROMPTLY_MS = 15_000;
/** The longest a hanging credential_process lives, even if nobody kills it. */
const HANG_LIMIT_MS = 20_000;

interface FakeCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  readonly expiration: string;
}

/** Made-up temporary credentials, registered with the scan so they may never be printed. */
function fakeCredentials(label: string): FakeCredentials {
  const credentials = {
    accessKeyId: `ASIAHUNG${label}${randomBytes(4).toString("hex").toUpperCase()}`,
    secretAccessKey: randomBytes(30).toString("base64"),
    sessionToken: randomBytes(48).toString("base64"),
    expiration: new Date(Date.now() + 60 * 60_000).toISOString(),
  };
  registerCredentials(credentials);
  return credentials;
}

function accessKeyOf(token: string): string {
  return (
    (new URL(`https://${token}`).searchParams.get("X-Amz-Credential") ?? "").split("/")[0] ?? ""
  );
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

/**
 * What every test here checks: the first attempt fails with TIMEOUT promptly, names
 * iamTimeout and where to look, and the provider is not wedged afterwards.
 */
async function expectTimeoutThenRecovery(
  iam: IamAuth,
  recover: () => Promise<void> | void,
  expectedKey: string,
) {
  const started = Date.now();
  const error = await rejectionOf(iam.getToken());
  expect(Date.now() - started).toBeLessThan(PROMPTLY_MS);
  expect(isRdsIamError(error)).toBe(true);
  expect(error).toMatchObject({ code: "TIMEOUT", option: "iamTimeout" });
  const message = (error as Error).message;
  expect(message).toContain(`iamTimeout (${IAM_TIMEOUT_MS} ms)`);
  expect(message).toMatch(/credential source/);
  expect(message).toContain("ECS");
  expect(message).toContain("credential_process");
  observe("timeout error", error);
  expect(iam.stats()).toMatchObject({ mints: 0, failures: 1 });

  await recover();
  const token = await iam.getToken();
  expect(accessKeyOf(token)).toBe(expectedKey);
  expect(iam.stats()).toMatchObject({ mints: 1, failures: 1 });
  observe("recovered auth", iam);
}

/**
 * A loopback container credentials endpoint whose first request is accepted and never
 * answered (the socket stays open and silent); every later one is served.
 */
async function startHangOnceEndpoint(credentials: FakeCredentials) {
  const hung: ServerResponse[] = [];
  let requests = 0;
  const server = createServer((_request, response) => {
    requests++;
    if (requests === 1) {
      hung.push(response);
      return;
    }
    response.writeHead(200, { "content-type": "application/json" }).end(
      JSON.stringify({
        AccessKeyId: credentials.accessKeyId,
        SecretAccessKey: credentials.secretAccessKey,
        Token: credentials.sessionToken,
        Expiration: credentials.expiration,
      }),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/creds`,
    requests: () => requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const response of hung) response.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe("a hung credential source does not wedge the token provider (real AWS SDK default chain)", () => {
  afterAll(() => {
    assertNoLeaks({ secretKeyShape: true });
  });

  it("container endpoint that accepts the request and never answers: TIMEOUT, then a fresh chain succeeds", async () => {
    const credentials = fakeCredentials("ECS");
    const endpoint = await startHangOnceEndpoint(credentials);
    try {
      await withEnv(
        isolatedAwsEnv({ AWS_CONTAINER_CREDENTIALS_FULL_URI: endpoint.url }),
        async () => {
          // No credentials option: the SDK's default chain, which core creates.
          const iam = trackTokens(
            createIamAuth({ engine: "postgres", host: HOST, user: "app", iamTimeout: 500 }),
          );
          try {
            await expectTimeoutThenRecovery(
              iam,
              () => expect(endpoint.requests()).toBe(1),
              credentials.accessKeyId,
            );
            // The recovery came from a new request, not from the hung one.
            expect(endpoint.requests()).toBeGreaterThanOrEqual(2);
          } finally {
            iam.close();
          }
        },
      );
    } finally {
      await endpoint.close();
    }
  });

  it("credential_process that never exits: TIMEOUT, then the next attempt runs it anew", async () => {
    const dir = await mkdtemp(join(tmpdir(), "rds-iam-hung-process-"));
    const flag = join(dir, "hang");
    const credentials = fakeCredentials("PROC");
    try {
      // Hangs while the flag file exists (recording its pid so the test can end it, and
      // ending itself after HANG_LIMIT_MS regardless); otherwise prints credentials.
      const script = join(dir, "credentials.cjs");
      await writeFile(
        script,
        `const fs = require("node:fs");
const path = require("node:path");
if (fs.existsSync(${JSON.stringify(flag)})) {
  fs.writeFileSync(path.join(__dirname, "pid-" + process.pid), String(process.pid));
  setTimeout(() => process.exit(1), ${HANG_LIMIT_MS});
} else {
  process.stdout.write(JSON.stringify(${JSON.stringify({
    Version: 1,
    AccessKeyId: credentials.accessKeyId,
    SecretAccessKey: credentials.secretAccessKey,
    SessionToken: credentials.sessionToken,
    Expiration: credentials.expiration,
  })}));
}
`,
        { mode: 0o600 },
      );
      const config = join(dir, "config");
      await writeFile(
        config,
        `[profile hung]\ncredential_process = "${process.execPath}" "${script}"\n`,
        { mode: 0o600 },
      );
      await writeFile(flag, "");

      await withEnv(isolatedAwsEnv({ AWS_CONFIG_FILE: config }), async () => {
        const iam = trackTokens(
          createIamAuth({
            engine: "postgres",
            host: HOST,
            user: "app",
            awsProfile: "hung",
            iamTimeout: IAM_TIMEOUT_MS,
          }),
        );
        try {
          await expectTimeoutThenRecovery(
            iam,
            async () => {
              // The hung process really ran (and still runs); now the source recovers.
              expect((await readdir(dir)).some((name) => name.startsWith("pid-"))).toBe(true);
              await unlink(flag);
            },
            credentials.accessKeyId,
          );
        } finally {
          iam.close();
        }
      });
    } finally {
      if (existsSync(flag)) await unlink(flag);
      await killRecorded(dir);
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/** Ends the hanging credential processes this test started, by the pids they recorded. */
async function killRecorded(dir: string): Promise<void> {
  for (const name of await readdir(dir)) {
    if (!name.startsWith("pid-")) continue;
    const pid = Number(await readFile(join(dir, name), "utf8"));
    if (!Number.isInteger(pid) || pid <= 0) continue;
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
}
