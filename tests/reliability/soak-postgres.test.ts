import { pgIamConfig } from "@rds-iam/core";
import { withPgAuthRetry } from "@rds-iam/core/driver";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withEnv } from "../support/aws-env";
import { assertNoLeaks, observe, trackTokens } from "../support/secret-scan";
import {
  HOUR,
  MINUTE,
  type RotatingWorld,
  startRotatingWorld,
  theoreticalMints,
} from "./support/simulation";
import { describeFailures, runSoak } from "./support/soak";

describe("24-hour soak: pg Pool with core's pg binding", () => {
  let world: RotatingWorld;
  beforeAll(async () => {
    world = await startRotatingWorld("postgres");
  });
  afterAll(async () => {
    await world?.close();
    assertNoLeaks({ secretKeyShape: true });
  });

  it("rotates tokens ~100 times and credentials hourly with zero failed queries", async () => {
    await withEnv(world.env, async () => {
      const { config, auth } = pgIamConfig(world.iamOptions());
      trackTokens(auth);
      const Pool = withPgAuthRetry(pg.Pool, auth);
      const pool = new Pool({ ...config, max: 4 });
      try {
        const span = 24 * HOUR;
        const step = MINUTE;
        const result = await runSoak({
          world,
          spanMs: span,
          stepMs: step,
          concurrency: 4,
          target: {
            async query(n) {
              const { rows } = await pool.query("select $1::int as n", [n]);
              if (rows[0]?.n !== n) throw new Error(`wrong answer ${rows[0]?.n} for ${n}`);
            },
            async recycle() {
              const client = await pool.connect();
              client.release(true);
            },
          },
        });
        expect(result.failures, describeFailures(result)).toEqual([]);
        expect(result.steps).toBe(24 * 60);
        expect(result.refused).toBe(0);
        // One new physical connection per simulated minute, each with a token.
        expect(result.logins).toBeGreaterThanOrEqual(24 * 60);
        const stats = auth.stats();
        const theory = theoreticalMints(span, step);
        expect(theory).toBe(103);
        expect(Math.abs(stats.mints - theory)).toBeLessThanOrEqual(2);
        expect(stats.failures).toBe(0);
        // A one-hour set is replaced at the first mint with under 15.5 min left: every 56 min.
        expect(result.credentialSets).toBeGreaterThanOrEqual(25);
        expect(result.credentialSets).toBeLessThanOrEqual(27);
        // One request per set: no polling, no retries.
        expect(result.credentialRequests).toBe(result.credentialSets);
        observe("soak pg auth", auth);
        observe("soak pg stats", stats);
        observe("soak pg config", config);
      } finally {
        await pool.end();
        auth.close();
      }
    });
  });
});
