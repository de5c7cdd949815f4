import { mysql2IamConfig } from "@rds-iam/core";
import { createMariadbConnectionFactory, withMysql2AuthRetry } from "@rds-iam/core/driver";
import mariadb, { type Connection } from "mariadb";
import mysql from "mysql2";
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
import { describeFailures, runSoak, type SoakResult } from "./support/soak";

const SPAN = 24 * HOUR;
const STEP = MINUTE;

function expectHealthySoak(result: SoakResult, mints: number): void {
  expect(result.failures, describeFailures(result)).toEqual([]);
  expect(result.steps).toBe(SPAN / STEP);
  expect(result.refused).toBe(0);
  expect(result.logins).toBeGreaterThanOrEqual(SPAN / STEP);
  expect(Math.abs(mints - theoreticalMints(SPAN, STEP))).toBeLessThanOrEqual(2);
  expect(result.credentialSets).toBeGreaterThanOrEqual(25);
  expect(result.credentialSets).toBeLessThanOrEqual(27);
  expect(result.credentialRequests).toBe(result.credentialSets);
}

describe("24-hour soak on MariaDB with core's bindings", () => {
  let world: RotatingWorld;
  beforeAll(async () => {
    world = await startRotatingWorld("mysql");
  });
  afterAll(async () => {
    await world?.close();
    assertNoLeaks({ secretKeyShape: true });
  });

  it("mysql2 pool: tokens rotate ~100 times, credentials hourly, zero failed queries", async () => {
    await withEnv(world.env, async () => {
      const { config, auth } = mysql2IamConfig(world.iamOptions());
      trackTokens(auth);
      const pool = withMysql2AuthRetry(mysql.createPool({ ...config, connectionLimit: 4 }), auth);
      const promisePool = pool.promise();
      try {
        const result = await runSoak({
          world,
          spanMs: SPAN,
          stepMs: STEP,
          concurrency: 4,
          target: {
            async query(n) {
              const [rows] = await promisePool.query<mysql.RowDataPacket[]>("select ? as n", [n]);
              if (Number(rows[0]?.n) !== n) throw new Error(`wrong answer for ${n}`);
            },
            async recycle() {
              const connection = await promisePool.getConnection();
              connection.connection.destroy();
            },
          },
        });
        expectHealthySoak(result, auth.stats().mints);
        expect(auth.stats().failures).toBe(0);
        observe("soak mysql2 auth", auth);
        observe("soak mysql2 config", config);
      } finally {
        await promisePool.end();
        auth.close();
      }
    });
  });

  it("mariadb connector: a connection per step, each with a current token", async () => {
    await withEnv(world.env, async () => {
      const { connect, auth, config } = createMariadbConnectionFactory(mariadb, world.iamOptions());
      trackTokens(auth);
      // The connector's own pool snapshots one password, so the factory is the pool here:
      // three live connections, the oldest replaced every step.
      const live: Connection[] = [];
      try {
        for (let i = 0; i < 3; i++) live.push(await connect());
        const result = await runSoak({
          world,
          spanMs: SPAN,
          stepMs: STEP,
          concurrency: 3,
          target: {
            async query(n) {
              const connection = live[n % live.length];
              if (connection === undefined) throw new Error("no live connection");
              const rows = await connection.query("select ? as n", [n]);
              if (Number(rows[0]?.n) !== n) throw new Error(`wrong answer for ${n}`);
            },
            async recycle() {
              const fresh = await connect();
              const oldest = live.shift();
              live.push(fresh);
              await oldest?.end();
            },
          },
        });
        expectHealthySoak(result, auth.stats().mints);
        observe("soak mariadb auth", auth);
        observe("soak mariadb config", config);
      } finally {
        await Promise.all(live.map((connection) => connection.end().catch(() => undefined)));
        auth.close();
      }
    });
  });
});
