import { inspect } from "node:util";
import { TokenCache } from "@rds-iam/core";
import { createIamPool, iamAuthOf } from "@rds-iam/mysql2";
import { sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/mysql2";
import { Kysely, sql as kyselySql, MysqlDialect } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type IamFixture, startIamFixture } from "./support/iam-fixture";

const WHO = "SELECT SUBSTRING_INDEX(CURRENT_USER(), '@', 1) AS who";

describe("@rds-iam/mysql2: a mysql2 pool for raw queries, Kysely and Drizzle, through the gateway", () => {
  let fixture: IamFixture;
  beforeAll(async () => {
    fixture = await startIamFixture("mysql");
  });
  afterAll(async () => {
    await fixture?.close();
  });

  /** A pool for the fixture; a token cache of its own, so its counts are its own. */
  const poolFor = (extra: Record<string, unknown> = {}) =>
    createIamPool({
      ...fixture.iamOptions(),
      database: fixture.database,
      tokenCache: new TokenCache(),
      ...extra,
    });

  it("serves the callback and the promise API, logged in as the IAM user over verified TLS", async () => {
    const pool = poolFor({ connectionLimit: 3 });
    const promised = pool.promise();
    try {
      const rows = await new Promise<{ who: string }[]>((resolve, reject) =>
        pool.query(WHO, (error, result) => (error ? reject(error) : resolve(result as never))),
      );
      expect(rows[0]?.who).toBe(fixture.user);
      const results = await Promise.all(Array.from({ length: 9 }, () => promised.query(WHO)));
      expect(new Set(results.map(([r]) => (r as { who: string }[])[0]?.who))).toEqual(
        new Set([fixture.user]),
      );
      expect(iamAuthOf(promised)).toBe(iamAuthOf(pool));
      expect(iamAuthOf(pool).stats().mints).toBe(1);
      expect(inspect(pool.config, { depth: 6 })).not.toContain("X-Amz-Signature");
    } finally {
      await promised.end();
    }
  });

  it("serves Kysely (MysqlDialect)", async () => {
    const db = new Kysely<Record<string, never>>({
      dialect: new MysqlDialect({ pool: poolFor() }),
    });
    try {
      const { rows } = await kyselySql<{ who: string }>`${kyselySql.raw(WHO)}`.execute(db);
      expect(rows[0]?.who).toBe(fixture.user);
    } finally {
      await db.destroy();
    }
  });

  it("serves Drizzle (drizzle-orm/mysql2)", async () => {
    const pool = poolFor();
    try {
      const db = drizzle({ client: pool });
      const [rows] = (await db.execute(sql.raw(WHO))) as unknown as [{ who: string }[]];
      expect(rows[0]?.who).toBe(fixture.user);
    } finally {
      await pool.promise().end();
    }
  });

  it("retries a rejected login once with a fresh token", async () => {
    const pool = poolFor({ connectionLimit: 1 });
    try {
      fixture.gateway.faults.rejectNextLogins(1);
      const [rows] = await pool.promise().query("SELECT 1 AS one");
      expect((rows as { one: number }[])[0]?.one).toBe(1);
      expect(iamAuthOf(pool).stats()).toMatchObject({ mints: 2, invalidations: 1 });
    } finally {
      fixture.gateway.faults.reset();
      await pool.promise().end();
    }
  });

  it("through a credential outage, pooled connections keep serving; new ones fail clearly, then recover", async () => {
    let down = false;
    const credentials = async () => {
      if (down) throw new Error("credential endpoint unreachable (test)");
      return fixture.credentials;
    };
    // One-second tokens, so that waiting past one needs a new token for a new connection.
    const pool = poolFor({ connectionLimit: 2, credentials, iamTokenExpiration: 1 }).promise();
    const held = await pool.getConnection();
    try {
      await held.query("SELECT 1");
      down = true;
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      expect(((await held.query("SELECT 2 AS two"))[0] as { two: number }[])[0]?.two).toBe(2);
      await expect(pool.query("SELECT 3")).rejects.toMatchObject({
        code: "CREDENTIALS_UNAVAILABLE",
      });
      down = false;
      expect(((await pool.query("SELECT 4 AS four"))[0] as { four: number }[])[0]?.four).toBe(4);
    } finally {
      held.release();
      await pool.end();
    }
  });
});
