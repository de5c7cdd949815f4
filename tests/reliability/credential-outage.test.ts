import { isRdsIamError, pgIamConfig } from "@rds-iam/core";
import { withPgAuthRetry } from "@rds-iam/core/driver";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withEnv } from "../support/aws-env";
import { assertNoLeaks, observe, trackTokens } from "../support/secret-scan";
import { MINUTE, type RotatingWorld, startRotatingWorld } from "./support/simulation";

/** Concurrent new logins per simulated minute: a burst that a storm would multiply. */
const BURST = 8;

interface Minute {
  readonly minute: number;
  readonly outage: boolean;
  readonly ok: number;
  readonly errors: readonly unknown[];
  readonly requests: number;
}

describe("credential endpoint outage (default AWS SDK provider chain, loopback container endpoint)", () => {
  let world: RotatingWorld;
  beforeAll(async () => {
    // One-hour credentials, renewed once less than 15 min remain (the server's defaults).
    world = await startRotatingWorld("postgres");
  });
  afterAll(async () => {
    await world?.close();
    assertNoLeaks({ secretKeyShape: true });
  });

  it("serves from cache while it can, then fails clearly with the cause, recovers, and never storms", async () => {
    await withEnv(world.env, async () => {
      const { config, auth } = pgIamConfig(world.iamOptions());
      trackTokens(auth);
      const Pool = withPgAuthRetry(pg.Pool, auth);
      const pool = new Pool({ ...config, max: BURST });
      const minutes: Minute[] = [];
      // The first set of credentials expires 60 min in. The endpoint fails from minute 52
      // to minute 62: the tokens already minted, and new ones signed with the still
      // valid old credentials, carry the pool until those credentials expire (60).
      const OUTAGE_FROM = 52;
      const OUTAGE_TO = 62;
      try {
        for (let minute = 0; minute <= 70; minute++) {
          if (minute > 0) world.clock.advance(MINUTE);
          const outage = minute >= OUTAGE_FROM && minute < OUTAGE_TO;
          world.server.setFailing(outage);
          const before = world.server.stats().requests;
          // Every connection is new: each needs a token, all at once.
          const settled = await Promise.allSettled(
            Array.from({ length: BURST }, async () => {
              const client = await pool.connect();
              try {
                await client.query("select 1");
              } finally {
                client.release(true);
              }
            }),
          );
          minutes.push({
            minute,
            outage,
            ok: settled.filter((s) => s.status === "fulfilled").length,
            errors: settled.flatMap((s) => (s.status === "rejected" ? [s.reason] : [])),
            requests: world.server.stats().requests - before,
          });
        }
      } finally {
        world.server.setFailing(false);
        await pool.end();
        auth.close();
      }

      const failedMinutes = minutes.filter((m) => m.ok < BURST).map((m) => m.minute);
      // Failures only once the credentials that signed the last token have expired,
      // and only until the endpoint is back.
      expect(failedMinutes).toEqual([60, 61]);
      for (const m of minutes.filter((m) => failedMinutes.includes(m.minute))) {
        expect(m.ok).toBe(0);
        for (const error of m.errors) {
          expect(isRdsIamError(error)).toBe(true);
          expect(error).toMatchObject({ code: "CREDENTIALS_UNAVAILABLE", option: "credentials" });
          expect((error as Error).message).toMatch(/Could not load AWS credentials/);
          // The SDK's own error, for the operator.
          expect((error as Error).cause).toBeInstanceOf(Error);
          observe("outage error", error);
        }
      }
      // Recovery without intervention: the first minute the endpoint answers again.
      expect(minutes.find((m) => m.minute === OUTAGE_TO)?.ok).toBe(BURST);

      // No retry storm: during the outage the endpoint is asked only when core needs
      // new credentials (a refresh ahead at 56, a short-lived token at 59, the failed
      // mints at 60 and 61), once per burst of 8 logins, however many logins wait.
      // No retry storm: 80 logins were attempted during the outage, but the endpoint is
      // asked only when core needs new credentials: the refresh ahead at minute 56 (the
      // credentials have under 15.5 min left; the old ones still sign), the short-lived
      // token at 59, and the failed mints at 60 and 61. Each is one resolution of the
      // SDK chain, which makes 5 requests: fromHttp tries 4 times (1 s apart, real time),
      // then the container-metadata provider once. A background refresh spills into the
      // next simulated minute, so the bound is per minute and the count is exact in total.
      const SDK_REQUESTS_PER_RESOLUTION = 5;
      const outageMinutes = minutes.filter((m) => m.outage);
      for (const m of outageMinutes)
        expect(m.requests).toBeLessThanOrEqual(SDK_REQUESTS_PER_RESOLUTION);
      const outageRequests = outageMinutes.reduce((sum, m) => sum + m.requests, 0);
      expect(outageRequests).toBe(4 * SDK_REQUESTS_PER_RESOLUTION);
      expect(auth.stats().failures).toBe(2);
      // Outside the outage: one request per credential set, nothing else.
      const calm = minutes.filter((m) => !m.outage).reduce((sum, m) => sum + m.requests, 0);
      expect(calm).toBe(world.server.stats().issued);
      observe("outage auth", auth);
    });
  });
});
