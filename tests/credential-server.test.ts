import { createIamAuth } from "@rds-iam/core";
import { describe, expect, it } from "vitest";
import { startCredentialServer } from "../packages/gateway/src/credential-server";
import { isolatedAwsEnv, withEnv } from "./support/aws-env";

const HOST = "mydb.cluster-abc123.us-east-1.rds.amazonaws.com";

function accessKeyOf(token: string): string {
  return (
    (new URL(`https://${token}`).searchParams.get("X-Amz-Credential") ?? "").split("/")[0] ?? ""
  );
}

describe("loopback container credentials endpoint with the real AWS SDK chain", () => {
  it("serves rotating credentials that the default provider chain picks up", async () => {
    let now = Date.UTC(2026, 10, 24, 12);
    const clock = () => now;
    const server = await startCredentialServer({ clock, lifetimeMs: 60 * 60_000 });
    try {
      await withEnv(isolatedAwsEnv(server.env()), async () => {
        // No `credentials` option: the SDK's node provider chain finds the endpoint.
        const auth = createIamAuth({ engine: "postgres", host: HOST, user: "app", clock });
        const first = await auth.getToken();
        expect(accessKeyOf(first)).toBe(server.issued()[0]?.accessKeyId);
        expect(server.stats().requests).toBe(1);

        // 50 minutes later the credentials have 10 min left: a new set is fetched.
        now += 50 * 60_000;
        const second = await auth.getToken();
        expect(server.stats().issued).toBe(2);
        expect(accessKeyOf(second)).toBe(server.issued()[1]?.accessKeyId);
        auth.close();
      });
    } finally {
      await server.close();
    }
  });

  it("reports an outage as CREDENTIALS_UNAVAILABLE with the SDK error as cause", async () => {
    const server = await startCredentialServer();
    server.setFailing(true);
    try {
      await withEnv(isolatedAwsEnv(server.env()), async () => {
        const auth = createIamAuth({ engine: "mysql", host: HOST, user: "app" });
        const error = await auth.getToken().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toMatchObject({ code: "CREDENTIALS_UNAVAILABLE" });
        expect((error as Error).cause).toBeInstanceOf(Error);
        server.setFailing(false);
        await expect(auth.getToken()).resolves.toContain(HOST);
        auth.close();
      });
    } finally {
      await server.close();
    }
  });
});
