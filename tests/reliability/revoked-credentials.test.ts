import { type CredentialServer, startCredentialServer } from "@rds-iam/gateway";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isolatedAwsEnv, withEnv } from "../support/aws-env";
import { type IamFixture, startIamFixture } from "../support/iam-fixture";
import { assertNoLeaks, registerCredentials } from "../support/secret-scan";
import { CORE_BINDINGS } from "./support/bindings";

/**
 * An access key is revoked mid-run (the key leaked, or an operator rotated it): the
 * database refuses tokens signed with it, while the credential source already serves
 * a new key. The SDK's default chain has the old key memoized for hours; the retry
 * after the rejection must ask the source for fresh credentials, once.
 */
describe.each(CORE_BINDINGS)("a revoked access key: $name", (binding) => {
  let server: CredentialServer;
  let fixture: IamFixture;
  const revoked = new Set<string>();

  beforeAll(async () => {
    server = await startCredentialServer({ onIssue: (issued) => registerCredentials(issued) });
    fixture = await startIamFixture(binding.engine, {
      // The gateway accepts every set the endpoint issued, except revoked ones.
      credentials: () => server.issued().filter((set) => !revoked.has(set.accessKeyId)),
    });
  });
  afterAll(async () => {
    await fixture?.close();
    await server?.close();
    assertNoLeaks({ secretKeyShape: true });
  });

  it("the retry after the rejection signs with the new key, fetched once", async () => {
    await withEnv(isolatedAwsEnv(server.env()), async () => {
      const { credentials: _static, ...options } = fixture.iamOptions();
      const open = binding.open({ ...options, database: fixture.database });
      try {
        await open.login();
        const first = server.issued().at(-1);
        expect(first).toBeDefined();
        expect(server.stats().requests).toBe(1);

        // Revoke the key in use; the endpoint hands out a new one from now on.
        revoked.add(first?.accessKeyId ?? "");
        server.rotate();
        const before = {
          rejected: fixture.gateway.stats().rejected,
          accepted: fixture.gateway.stats().accepted,
        };

        // Concurrent new connections: one rejection each at most, one fetch in all.
        await Promise.all([open.login(), open.login(), open.login()]);
        expect(fixture.gateway.stats().accepted).toBe(before.accepted + 3);
        expect(server.issued().length).toBe(2);
        expect(server.stats().requests).toBe(2);
        // Later logins use the new key without any further rejection.
        const rejectedNow = fixture.gateway.stats().rejected;
        await open.login();
        expect(fixture.gateway.stats().rejected).toEqual(rejectedNow);
        expect(Object.values(rejectedNow).reduce((a, b) => a + b, 0)).toBeGreaterThan(
          Object.values(before.rejected).reduce((a, b) => a + b, 0),
        );
      } finally {
        await open.close();
      }
    });
  });
});
