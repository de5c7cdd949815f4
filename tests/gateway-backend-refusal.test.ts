import { randomBytes } from "node:crypto";
import { pgIamConfig } from "@rds-iam/core";
import type { GatewayRefusal } from "@rds-iam/gateway";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type IamFixture, startIamFixture } from "./support/iam-fixture";

/**
 * A valid token for a user the backend does not know: PostgreSQL (trust auth here)
 * answers AuthenticationOk and only then refuses the role. The gateway must report and
 * count that refusal, as it does for refusals before AuthenticationOk.
 */
describe("PostgreSQL gateway: a backend refusal after AuthenticationOk", () => {
  let fixture: IamFixture;
  const refusals: GatewayRefusal[] = [];
  beforeAll(async () => {
    fixture = await startIamFixture("postgres", {
      gateway: { onRefusal: (refusal) => refusals.push(refusal) },
    });
  });
  afterAll(async () => {
    await fixture?.close();
  });

  it("is reported with reason backend, and the client gets the database's error", async () => {
    const user = `nobody_${randomBytes(4).toString("hex")}`;
    const { config, auth } = pgIamConfig({ ...fixture.iamOptions(), user, database: "postgres" });
    const client = new pg.Client(config as pg.ClientConfig);
    try {
      const error = await client.connect().catch((e: unknown) => e);
      expect(String((error as Error).message)).toContain(`role "${user}" does not exist`);
      expect(fixture.gateway.stats().rejected.backend).toBe(1);
      expect(refusals).toEqual([
        expect.objectContaining({ reason: "backend", user, detail: expect.stringContaining(user) }),
      ]);
      // A user the backend knows still logs in and queries.
      const { config: good } = pgIamConfig({ ...fixture.iamOptions(), database: fixture.database });
      const ok = new pg.Client(good as pg.ClientConfig);
      await ok.connect();
      expect((await ok.query("select current_user as u")).rows[0]?.u).toBe(fixture.user);
      await ok.end();
    } finally {
      await client.end().catch(() => {});
      auth.close();
    }
  });
});
