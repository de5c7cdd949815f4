import { inspect } from "node:util";
import { mysql2IamConfig, pgIamConfig } from "@rds-iam/core";
import { createMariadbConnectionFactory } from "@rds-iam/core/driver";
import { iamConnection } from "@rds-iam/knex";
import { createIamAdapter } from "@rds-iam/prisma";
import { withIamAuth } from "@rds-iam/typeorm";
import knex, { type Knex } from "knex";
import * as mariadb from "mariadb";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type IamFixture, startIamFixture } from "../support/iam-fixture";

const QUIET: Knex.Logger = { warn: () => {}, error: () => {} };
const TARGET = {
  host: "mydb.cluster-abc123.us-east-1.rds.amazonaws.com",
  user: "app",
  credentials: { accessKeyId: "AKIDEXAMPLEDEBUG01", secretAccessKey: "secretsecretsecret" },
};

/**
 * mysql2's `debug` and the mariadb connector's `debug` / `debugCompress` /
 * `logger.network` print every packet; the clear-password packet is the token.
 */
describe("packet debug output is refused with IAM unless asked for by name", () => {
  it.each([true, ["ComQuery"], 1])("core mysql2IamConfig: debug %j", (debug) => {
    expect(() => mysql2IamConfig({ ...TARGET, debug })).toThrow(
      expect.objectContaining({ code: "CONFLICTING_OPTIONS", option: "debug" }),
    );
  });

  it("the explicit opt-in passes debug through", () => {
    const { config, auth } = mysql2IamConfig({
      ...TARGET,
      debug: true,
      iamAllowTokenInDebugOutput: true,
    });
    expect(config.debug).toBe(true);
    auth.close();
    expect(() =>
      mysql2IamConfig({ ...TARGET, iamAllowTokenInDebugOutput: "yes" as never }),
    ).toThrow(
      expect.objectContaining({ code: "INVALID_OPTION", option: "iamAllowTokenInDebugOutput" }),
    );
  });

  it.each([
    [{ debug: true }, "debug"],
    [{ debugCompress: true }, "debugCompress"],
    [{ logPackets: true }, "logPackets"],
    [{ logger: { network: console.log } }, "logger.network"],
    // A function is the connector's logger for everything, packets included.
    [{ logger: console.log }, "logger"],
  ])("mariadb connector: %j", (extra, option) => {
    expect(() => createMariadbConnectionFactory(mariadb, { ...TARGET, ...extra })).toThrow(
      expect.objectContaining({ code: "CONFLICTING_OPTIONS", option }),
    );
  });

  it("Prisma's MySQL adapter (mariadb connector underneath)", () => {
    expect(() => createIamAdapter({ engine: "mysql", ...TARGET, debug: true } as never)).toThrow(
      expect.objectContaining({ code: "CONFLICTING_OPTIONS", option: "debug" }),
    );
    expect(() =>
      createIamAdapter({ engine: "mysql", ...TARGET, logger: console.log } as never),
    ).toThrow(expect.objectContaining({ code: "CONFLICTING_OPTIONS", option: "logger" }));
    // Query logs without packets stay possible.
    expect(() =>
      createIamAdapter({ engine: "mysql", ...TARGET, logger: { query: () => {} } } as never),
    ).not.toThrow();
  });

  it("mysql2's uri, which would copy a nested URL's debug=true in, is refused", () => {
    expect(() => mysql2IamConfig({ ...TARGET, uri: "mysql://x@y/?debug=true" })).toThrow(
      expect.objectContaining({ code: "CONFLICTING_OPTIONS", option: "uri" }),
    );
  });

  it.each(["mysql", "mariadb"] as const)("TypeORM %s: debug and extra.debug", (type) => {
    const base = {
      type,
      host: TARGET.host,
      username: "app",
      iam: { credentials: TARGET.credentials },
    };
    expect(() => withIamAuth({ ...base, debug: true } as never)).toThrow(
      expect.objectContaining({ code: "CONFLICTING_OPTIONS", option: "debug" }),
    );
    expect(() => withIamAuth({ ...base, extra: { debug: true } } as never)).toThrow(
      expect.objectContaining({ code: "CONFLICTING_OPTIONS", option: "extra.debug" }),
    );
    expect(() =>
      withIamAuth({
        ...base,
        debug: true,
        iam: { ...base.iam, iamAllowTokenInDebugOutput: true },
      } as never),
    ).not.toThrow();
  });
});

describe("knex: debug refused before any login", () => {
  let fixture: IamFixture;
  beforeAll(async () => {
    fixture = await startIamFixture("mysql");
  });
  afterAll(async () => {
    await fixture?.close();
  });

  it.each(["mysql2", "mariadb"])("%s", async (client) => {
    const db = knex({
      client,
      connection: iamConnection({ ...fixture.iamOptions(), debug: true }),
      log: QUIET,
    });
    try {
      await expect(db.raw("select 1")).rejects.toMatchObject({
        code: "CONFLICTING_OPTIONS",
        option: "debug",
      });
      expect(fixture.gateway.stats().accepted).toBe(0);
    } finally {
      await db.destroy();
    }
  });
});

describe("pg keeps no token in its clients after login", () => {
  let fixture: IamFixture;
  beforeAll(async () => {
    fixture = await startIamFixture("postgres");
  });
  afterAll(async () => {
    await fixture?.close();
  });

  const holdsToken = (value: unknown) =>
    inspect(value, { showHidden: true, depth: 6 }).includes("X-Amz-Signature");

  it("a pooled client, inspected with showHidden, shows no token", async () => {
    const { config, auth } = pgIamConfig({ ...fixture.iamOptions(), database: fixture.database });
    const pool = new pg.Pool(config as pg.PoolConfig);
    try {
      await pool.query("select 1");
      const client = await pool.connect();
      try {
        await client.query("select 1");
        expect(holdsToken(client)).toBe(false);
        expect(holdsToken(pool)).toBe(false);
      } finally {
        client.release();
      }
      // The client still works and a new one still logs in with the function.
      const second = await pool.connect();
      const third = await pool.connect();
      await third.query("select 1");
      expect(holdsToken(third)).toBe(false);
      second.release();
      third.release();
      expect(fixture.gateway.stats().accepted).toBeGreaterThanOrEqual(2);
    } finally {
      await pool.end();
      auth.close();
    }
  });

  it("knex pg: the raw connection shows no token", async () => {
    const db = knex({
      client: "pg",
      connection: iamConnection({ ...fixture.iamOptions(), database: fixture.database }),
    });
    try {
      await db.transaction(async (trx) => {
        const connection = await (
          trx as unknown as { client: { acquireConnection(): Promise<unknown> } }
        ).client.acquireConnection();
        expect(holdsToken(connection)).toBe(false);
      });
    } finally {
      await db.destroy();
    }
  });
});
