import { inspect } from "node:util";
import { TokenCache } from "@rds-iam/core";
import { createIamPool, iamAuthOf } from "@rds-iam/pg";
import { sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/node-postgres";
import { Kysely, sql as kyselySql, PostgresDialect } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type IamFixture, startIamFixture } from "./support/iam-fixture";

describe("@rds-iam/pg: a pg.Pool for raw queries, Drizzle and Kysely, through the gateway", () => {
  let fixture: IamFixture;
  beforeAll(async () => {
    fixture = await startIamFixture("postgres");
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

  it("is a real pg.Pool: raw queries log in as the IAM user over verified TLS", async () => {
    const pool = poolFor({ max: 3 });
    try {
      const results = await Promise.all(
        Array.from({ length: 9 }, () => pool.query("select current_user as who")),
      );
      expect(new Set(results.map((r) => r.rows[0].who))).toEqual(new Set([fixture.user]));
      expect(pool.totalCount).toBe(3);
      expect(iamAuthOf(pool).stats().mints).toBe(1);
      const shown = inspect(pool, { depth: 6 }) + JSON.stringify(pool.options);
      expect(shown).not.toContain("X-Amz-Signature");
    } finally {
      await pool.end();
    }
  });

  it("serves Drizzle (drizzle-orm/node-postgres)", async () => {
    const pool = poolFor();
    try {
      const db = drizzle({ client: pool });
      const result = await db.execute(sql`select current_user as who, 40 + 2 as answer`);
      expect(result.rows[0]).toEqual({ who: fixture.user, answer: 42 });
    } finally {
      await pool.end();
    }
  });

  it("serves Kysely (PostgresDialect)", async () => {
    const pool = poolFor();
    const db = new Kysely<Record<string, never>>({ dialect: new PostgresDialect({ pool }) });
    try {
      const { rows } = await kyselySql<{ who: string }>`select current_user as who`.execute(db);
      expect(rows[0]?.who).toBe(fixture.user);
    } finally {
      await db.destroy();
    }
  });

  it("retries a rejected login once with a fresh token", async () => {
    const pool = poolFor({ max: 1 });
    try {
      fixture.gateway.faults.rejectNextLogins(1);
      const { rows } = await pool.query("select 1 as one");
      expect(rows[0].one).toBe(1);
      expect(iamAuthOf(pool).stats()).toMatchObject({ mints: 2, invalidations: 1 });
    } finally {
      fixture.gateway.faults.reset();
      await pool.end();
    }
  });

  it("through a credential outage, pooled connections keep serving; new ones fail clearly, then recover", async () => {
    let down = false;
    const credentials = async () => {
      if (down) throw new Error("credential endpoint unreachable (test)");
      return fixture.credentials;
    };
    // One-second tokens, so that waiting past one needs a new token for a new connection.
    const pool = poolFor({ max: 2, credentials, iamTokenExpiration: 1, idleTimeoutMillis: 0 });
    const held = await pool.connect();
    try {
      await held.query("select 1");
      down = true;
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      expect((await held.query("select 2 as two")).rows[0].two).toBe(2);
      await expect(pool.query("select 3")).rejects.toMatchObject({
        name: "RdsIamError",
        code: "CREDENTIALS_UNAVAILABLE",
      });
      down = false;
      expect((await pool.query("select 4 as four")).rows[0].four).toBe(4);
    } finally {
      held.release();
      await pool.end();
    }
  });
});
