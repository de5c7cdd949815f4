import { mysql2IamConfig, pgIamConfig } from "@rds-iam/core";
import { withPgAuthRetry } from "@rds-iam/core/driver";
import mysql from "mysql2/promise";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { IamFixture } from "../support/iam-fixture";
import {
  assertNoLeaks,
  observe,
  trackTokens,
  unhandledRejections,
  warnings,
} from "../support/secret-scan";
import { settledHeap, startScannedFixture, tick } from "./support/simulation";

const CLIENTS = 500;
const WAVES = 3;
/**
 * Heap growth allowed between the first and the last wave, after a full GC: about 3 KB
 * per login of the last two waves (1,000 logins). Measured: under 0.5 MB.
 */
const HEAP_SLACK_BYTES = 3 * 1024 * 1024;

const listenerLeaks = () =>
  warnings().filter((warning) => warning.name === "MaxListenersExceededWarning");

async function waitForIdleGateway(fixture: IamFixture): Promise<void> {
  for (let i = 0; i < 200 && fixture.gateway.stats().active > 0; i++) await tick(25);
  expect(fixture.gateway.stats().active).toBe(0);
}

describe("load: 500 concurrent clients through the gateway", () => {
  afterAll(() => {
    assertNoLeaks({ secretKeyShape: true });
  });

  describe("MariaDB: 500 simultaneous mysql2 connections, one token", () => {
    let fixture: IamFixture;
    // 500 sessions exceed MariaDB's default of 151: the suite's global setup raises the
    // limit once for the whole run (tests/support/global-setup.ts).
    beforeAll(async () => {
      fixture = await startScannedFixture("mysql");
    });
    afterAll(async () => {
      await fixture?.close();
    });

    it("all succeed, no unhandled rejections or listener leaks, memory flat after", async () => {
      const { config, auth } = mysql2IamConfig({
        ...fixture.iamOptions(),
        database: fixture.database,
      });
      trackTokens(auth);
      const rejectionsBefore = unhandledRejections().length;
      const heaps: number[] = [];
      try {
        for (let wave = 0; wave < WAVES; wave++) {
          const accepted = fixture.gateway.stats().accepted;
          const settled = await Promise.allSettled(
            Array.from({ length: CLIENTS }, async (_, i) => {
              const connection = await mysql.createConnection(config);
              try {
                const [rows] = await connection.query<mysql.RowDataPacket[]>("select ? as n", [i]);
                if (Number(rows[0]?.n) !== i) throw new Error(`wrong answer for ${i}`);
              } finally {
                await connection.end();
              }
            }),
          );
          const failed = settled.filter((s) => s.status === "rejected");
          expect(failed.map((s) => (s as PromiseRejectedResult).reason?.message)).toEqual([]);
          expect(fixture.gateway.stats().accepted - accepted).toBe(CLIENTS);
          await waitForIdleGateway(fixture);
          heaps.push(settledHeap());
        }
        // 1500 logins, one token: the cache served every one.
        expect(auth.stats().mints).toBe(1);
        expect(auth.stats().cacheHits).toBeGreaterThanOrEqual(WAVES * CLIENTS - 1);
        expect(unhandledRejections().length).toBe(rejectionsBefore);
        expect(listenerLeaks()).toEqual([]);
        const [first, , last] = heaps as [number, number, number];
        expect(last - first, `heap after each wave: ${heaps.join(", ")}`).toBeLessThan(
          HEAP_SLACK_BYTES,
        );
        observe("load mysql auth", auth);
      } finally {
        auth.close();
      }
    });
  });

  describe("PostgreSQL: 500 concurrent callers through a pg Pool of 20", () => {
    // The PostgreSQL here allows 100 connections in all (shared with the other test
    // files running in parallel), so 500 simultaneous sessions are impossible: the
    // 500 callers queue on a pool of 20, and every one gets a brand-new connection,
    // so the gateway still sees 500 logins per wave.
    let fixture: IamFixture;
    beforeAll(async () => {
      fixture = await startScannedFixture("postgres");
    });
    afterAll(async () => {
      await fixture?.close();
    });

    it("all succeed, no unhandled rejections or listener leaks, memory flat after", async () => {
      const { config, auth } = pgIamConfig({ ...fixture.iamOptions(), database: fixture.database });
      trackTokens(auth);
      const Pool = withPgAuthRetry(pg.Pool, auth);
      const pool = new Pool({ ...config, max: 20 });
      const rejectionsBefore = unhandledRejections().length;
      const heaps: number[] = [];
      try {
        for (let wave = 0; wave < WAVES; wave++) {
          const accepted = fixture.gateway.stats().accepted;
          const settled = await Promise.allSettled(
            Array.from({ length: CLIENTS }, async (_, i) => {
              const client = await pool.connect();
              try {
                const { rows } = await client.query("select $1::int as n", [i]);
                if (rows[0]?.n !== i) throw new Error(`wrong answer for ${i}`);
              } finally {
                client.release(true);
              }
            }),
          );
          const failed = settled.filter((s) => s.status === "rejected");
          expect(failed.map((s) => (s as PromiseRejectedResult).reason?.message)).toEqual([]);
          expect(fixture.gateway.stats().accepted - accepted).toBe(CLIENTS);
          await waitForIdleGateway(fixture);
          expect(pool.totalCount).toBe(0);
          heaps.push(settledHeap());
        }
        expect(auth.stats().mints).toBe(1);
        expect(unhandledRejections().length).toBe(rejectionsBefore);
        expect(listenerLeaks()).toEqual([]);
        const [first, , last] = heaps as [number, number, number];
        expect(last - first, `heap after each wave: ${heaps.join(", ")}`).toBeLessThan(
          HEAP_SLACK_BYTES,
        );
        observe("load pg auth", auth);
      } finally {
        await pool.end();
        auth.close();
      }
    });
  });
});
