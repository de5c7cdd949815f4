import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, unlink, writeFile } from "node:fs/promises";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createIamAuth, type IamAuth, isRdsIamError } from "@rds-iam/core";
import { afterAll, describe, expect, it, vi } from "vitest";
import { isolatedAwsEnv, withEnv } from "../support/aws-env";
import { assertNoLeaks, observe, registerCredentials, trackTokens } from "../support/secret-scan";

const HOST = "mydb.cluster-abc123.us-east-1.rds.amazonaws.com";
/**
 * Small so the test is quick, but not so small that spawning a credential_process on a
 * busy machine misses it; assertions on time are loose (two busy cores).
 */
const IAM_TIMEOUT_MS = 500;
/** As in iam-auth.ts: the shared attempt is abandoned at this many times iamTimeout. */
const ATTEMPT_LIMIT_MS = 10 * IAM_TIMEOUT_MS;
/** Timers do not fire early, but Date.now() and the timer clock may differ by a tick. */
const TIMER_SLACK_MS = 20;
/** Far above ATTEMPT_LIMIT_MS, far below the 60 s test timeout: "it did not hang". */
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

/** Checks a caller's TIMEOUT: names iamTimeout, where to look, and that the attempt goes on. */
function expectCallerTimeout(error: unknown) {
  expect(isRdsIamError(error)).toBe(true);
  expect(error).toMatchObject({ code: "TIMEOUT", option: "iamTimeout" });
  const message = (error as Error).message;
  expect(message).toContain(`iamTimeout (${IAM_TIMEOUT_MS} ms)`);
  expect(message).toContain(`It goes on in the background for up to ${ATTEMPT_LIMIT_MS} ms`);
  expect(message).toMatch(/credential source/);
  expect(message).toContain("ECS");
  expect(message).toContain("credential_process");
  observe("timeout error", error);
}

/**
 * What the hung-source tests check: the first caller fails with TIMEOUT promptly,
 * naming iamTimeout and where to look; a caller joining the hung attempt times out
 * too; the attempt is abandoned at 10 x iamTimeout, not before, and until then the
 * source was asked once (`whileHung` checks the source's side); and the provider is not
 * wedged: once the source recovers, the next call starts afresh (a new default chain)
 * and succeeds.
 */
async function expectTimeoutThenRecovery(
  iam: IamAuth,
  whileHung: () => Promise<void> | void,
  recover: () => Promise<void> | void,
  expectedKey: string,
) {
  const started = Date.now();
  const error = await rejectionOf(iam.getToken());
  expect(Date.now() - started).toBeLessThan(PROMPTLY_MS);
  expectCallerTimeout(error);
  // A caller's timeout is not a failed attempt: the attempt is still running.
  expect(iam.stats()).toMatchObject({ mints: 0, failures: 0 });

  expectCallerTimeout(await rejectionOf(iam.getToken()));
  expect(iam.stats()).toMatchObject({ mints: 0, failures: 0, credentialResolutions: 1 });

  await vi.waitFor(() => expect(iam.stats().failures).toBe(1), {
    timeout: PROMPTLY_MS,
    interval: 50,
  });
  expect(Date.now() - started).toBeGreaterThanOrEqual(ATTEMPT_LIMIT_MS - TIMER_SLACK_MS);
  await whileHung();

  await recover();
  const token = await iam.getToken();
  expect(accessKeyOf(token)).toBe(expectedKey);
  expect(iam.stats()).toMatchObject({ mints: 1, failures: 1, credentialResolutions: 2 });
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

  it("container endpoint that accepts the request and never answers: TIMEOUT, abandoned at 10 x iamTimeout, then a fresh chain succeeds", async () => {
    const credentials = fakeCredentials("ECS");
    const endpoint = await startHangOnceEndpoint(credentials);
    try {
      await withEnv(
        isolatedAwsEnv({ AWS_CONTAINER_CREDENTIALS_FULL_URI: endpoint.url }),
        async () => {
          // No credentials option: the SDK's default chain, which core creates.
          const iam = trackTokens(
            createIamAuth({
              engine: "postgres",
              host: HOST,
              user: "app",
              iamTimeout: IAM_TIMEOUT_MS,
            }),
          );
          try {
            await expectTimeoutThenRecovery(
              iam,
              // Every caller so far waited on the one silent request.
              () => expect(endpoint.requests()).toBe(1),
              () => {},
              credentials.accessKeyId,
            );
            // The recovery came from one new request (a fresh chain), not the hung one.
            expect(endpoint.requests()).toBe(2);
          } finally {
            iam.close();
          }
        },
      );
    } finally {
      await endpoint.close();
    }
  });

  it("credential_process that never exits: TIMEOUT, abandoned at 10 x iamTimeout, then the next attempt runs it anew", async () => {
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
              // One hung process really ran (and still runs), shared by every caller.
              expect((await readdir(dir)).filter((name) => name.startsWith("pid-"))).toHaveLength(
                1,
              );
            },
            // Now the source recovers.
            () => unlink(flag),
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
  it("credential_process that is slow but valid: the attempt outlives the callers' waits and its one process yields the token", async () => {
    const dir = await mkdtemp(join(tmpdir(), "rds-iam-slow-process-"));
    const runs = join(dir, "runs");
    const credentials = fakeCredentials("SLOW");
    /** Twice iamTimeout: every caller's wait is too short, the attempt's limit is not. */
    const slowMs = 2 * IAM_TIMEOUT_MS;
    try {
      // Records each run, then answers after slowMs and exits: it ends by itself.
      const script = join(dir, "credentials.cjs");
      await writeFile(
        script,
        `const fs = require("node:fs");
fs.appendFileSync(${JSON.stringify(runs)}, process.pid + "\\n");
setTimeout(() => {
  process.stdout.write(JSON.stringify(${JSON.stringify({
    Version: 1,
    AccessKeyId: credentials.accessKeyId,
    SecretAccessKey: credentials.secretAccessKey,
    SessionToken: credentials.sessionToken,
    Expiration: credentials.expiration,
  })}));
}, ${slowMs});
`,
        { mode: 0o600 },
      );
      const config = join(dir, "config");
      await writeFile(
        config,
        `[profile slow]\ncredential_process = "${process.execPath}" "${script}"\n`,
        { mode: 0o600 },
      );

      await withEnv(isolatedAwsEnv({ AWS_CONFIG_FILE: config }), async () => {
        const iam = trackTokens(
          createIamAuth({
            engine: "postgres",
            host: HOST,
            user: "app",
            awsProfile: "slow",
            iamTimeout: IAM_TIMEOUT_MS,
          }),
        );
        try {
          const started = Date.now();
          expectCallerTimeout(await rejectionOf(iam.getToken()));
          expect(iam.stats()).toMatchObject({ mints: 0, failures: 0 });

          // Callers keep coming, each waiting its own iamTimeout on the same attempt,
          // until one of them gets the token the slow process finally printed.
          let token: string | undefined;
          while (token === undefined) {
            try {
              token = await iam.getToken();
            } catch (error) {
              expectCallerTimeout(error);
              if (Date.now() - started > PROMPTLY_MS) throw error;
            }
          }
          expect(Date.now() - started).toBeGreaterThanOrEqual(slowMs - TIMER_SLACK_MS);
          expect(accessKeyOf(token)).toBe(credentials.accessKeyId);
          expect(await iam.getToken()).toBe(token);

          // Not starved: one process ran and its answer was used (with the attempt
          // abandoned at iamTimeout, every attempt would have started a new one).
          const pids = (await readFile(runs, "utf8")).split("\n").filter(Boolean);
          expect(pids).toHaveLength(1);
          expect(iam.stats()).toMatchObject({ mints: 1, failures: 0, credentialResolutions: 1 });
          observe("slow source auth", iam);
        } finally {
          iam.close();
        }
      });
    } finally {
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
