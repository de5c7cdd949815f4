import { inspect } from "node:util";
import { TokenCache } from "@rds-iam/core";
import { type IamKnexConnection, iamConnection } from "@rds-iam/knex";
import knex, { type Knex } from "knex";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type IamFixture, startIamFixture } from "../support/iam-fixture";
import { fakeClock, knexTracker, poolDrained, REAPING_POOL, rejectedSince } from "./helpers";

const MINUTE = 60_000;

/** What differs between the engines in these tests. */
export interface KnexSuiteOptions {
  readonly engine: "postgres" | "mysql";
  /** The knex client names to run with (the first one runs everything; the others, a smoke test). */
  readonly clients: readonly [string, ...string[]];
}

/** The statement that names the logged-in database user. */
function whoAmI(db: Knex, engine: "postgres" | "mysql"): Promise<string> {
  const sql =
    engine === "postgres"
      ? "current_user as who"
      : "substring_index(current_user(), '@', 1) as who";
  return db
    .first(db.raw(sql))
    .then((row: { who: string } | undefined) => (row === undefined ? "" : row.who));
}

// For knex instances whose logins are meant to fail: knex logs every failed
// acquisition as a warning, which is noise there.
const QUIET: Knex.Logger = { warn: () => {} };

/** Migrations as a knex migration source, so no files are involved. */
const MIGRATIONS: Record<string, Knex.Migration> = {
  "001_create_notes": {
    up: (db) =>
      db.schema.createTable("notes", (table) => {
        table.increments("id");
        table.string("body").notNullable();
      }),
    down: (db) => db.schema.dropTable("notes"),
  },
  "002_create_tags": {
    up: (db) =>
      db.schema.createTable("tags", (table) => {
        table.increments("id");
        table.integer("note_id").unsigned().notNullable().references("notes.id");
        table.string("name").notNullable();
      }),
    down: (db) => db.schema.dropTable("tags"),
  },
};
const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(MIGRATIONS),
  getMigrationName: (name) => name,
  getMigration: async (name) => MIGRATIONS[name] as Knex.Migration,
};

/**
 * The knex adapter against a real database behind the gateway: every login is a
 * SigV4 token the gateway verifies the way RDS does.
 */
export function knexSuite({ engine, clients }: KnexSuiteOptions): void {
  const [client, ...aliases] = clients;
  const dbs = knexTracker();

  describe(`knex "${client}" through the gateway (${engine})`, () => {
    let fixture: IamFixture;
    beforeAll(async () => {
      fixture = await startIamFixture(engine);
    });
    afterAll(async () => {
      await dbs.destroyAll();
      await fixture?.close();
    });

    /**
     * A knex instance. `ownTokens`: a token cache of its own, for tests that count this
     * instance's mints (by default instances for the same user share the process's tokens).
     */
    function open(
      pool: Knex.PoolConfig = { min: 0, max: 4 },
      {
        name = client,
        log,
        ownTokens = false,
      }: { name?: string; log?: Knex.Logger; ownTokens?: boolean } = {},
    ): { db: Knex; connection: IamKnexConnection } {
      const connection = iamConnection({
        ...fixture.iamOptions(),
        database: fixture.database,
        ...(ownTokens ? { tokenCache: new TokenCache() } : {}),
      });
      const config: Knex.Config = { client: name, connection, pool, ...(log ? { log } : {}) };
      return { db: dbs.track(knex(config)), connection };
    }

    it("logs in as the IAM user over TLS and runs queries", async () => {
      const { db, connection } = open(undefined, { ownTokens: true });
      expect(await whoAmI(db, engine)).toBe(fixture.user);
      // The gateway refuses plaintext, so an accepted login was a TLS one.
      expect(fixture.gateway.stats().rejected.plaintext ?? 0).toBe(0);
      expect(connection.stats().mints).toBe(1);
    });

    for (const alias of aliases) {
      it(`works with the "${alias}" client name too`, async () => {
        const { db } = open(undefined, { name: alias });
        expect(await whoAmI(db, engine)).toBe(fixture.user);
      });
    }

    it("commits and rolls back transactions", async () => {
      const { db } = open();
      await db.schema.createTable("accounts", (table) => {
        table.increments("id");
        table.string("owner").notNullable();
        table.integer("balance").notNullable();
      });
      await db.transaction(async (trx) => {
        await trx("accounts").insert([
          { owner: "ada", balance: 100 },
          { owner: "bob", balance: 50 },
        ]);
      });
      await expect(
        db.transaction(async (trx) => {
          await trx("accounts").where({ owner: "ada" }).decrement("balance", 70);
          throw new Error("insufficient funds elsewhere");
        }),
      ).rejects.toThrow("insufficient funds elsewhere");
      const rows = await db("accounts").select("owner", "balance").orderBy("owner");
      expect(rows).toEqual([
        { owner: "ada", balance: 100 },
        { owner: "bob", balance: 50 },
      ]);
      await db.schema.dropTable("accounts");
    });

    it("runs migrations with knex.migrate.latest and rolls them back", async () => {
      const { db } = open();
      const [batch, applied] = await db.migrate.latest({ migrationSource });
      expect(batch).toBe(1);
      expect(applied).toEqual(["001_create_notes", "002_create_tags"]);
      expect(await db.schema.hasTable("tags")).toBe(true);
      await db("notes").insert({ body: "hello" });
      const note: { id: number } | undefined = await db("notes").first("id");
      await db("tags").insert({ note_id: note?.id, name: "greeting" });
      // knex reports the version as the migration name's leading digits.
      expect(await db.migrate.currentVersion({ migrationSource })).toBe("002");
      await db.migrate.rollback({ migrationSource }, true);
      expect(await db.schema.hasTable("notes")).toBe(false);
    });

    it("retries a rejected login once: the query succeeds with exactly one extra mint", async () => {
      const { db, connection } = open({ min: 0, max: 1 }, { ownTokens: true });
      const before = fixture.gateway.stats();
      fixture.gateway.faults.rejectNextLogins(1);
      expect(await whoAmI(db, engine)).toBe(fixture.user);
      const after = fixture.gateway.stats();
      expect(rejectedSince(before.rejected, after.rejected)).toEqual({ injected: 1 });
      expect(after.accepted - before.accepted).toBe(1);
      // One mint for the first login, one for the retry.
      expect(connection.stats()).toMatchObject({ mints: 2, invalidations: 1 });
    });

    it("fails with AUTH_REJECTED, naming no secret, when the retry is rejected too", async () => {
      const { db, connection } = open({ min: 0, max: 1 }, { log: QUIET, ownTokens: true });
      fixture.gateway.faults.rejectNextLogins(2);
      const error = await whoAmI(db, engine).then(
        () => undefined,
        (reason: unknown) => reason,
      );
      expect(error).toMatchObject({ name: "RdsIamError", code: "AUTH_REJECTED" });
      expect(connection.stats().mints).toBe(2);
      const token = await connection.auth?.getToken();
      expect(token).toBeTruthy();
      for (const text of [inspect(error, { depth: null }), JSON.stringify(error), String(error)]) {
        expect(text).not.toContain(token);
        expect(text).not.toContain(fixture.credentials.secretAccessKey);
      }
      // No loop, and the next query logs in normally.
      expect(await whoAmI(db, engine)).toBe(fixture.user);
    });

    it("answers 100 concurrent acquisitions on a cold pool with one mint", async () => {
      const { db, connection } = open({ min: 0, max: 10 }, { ownTokens: true });
      const before = fixture.gateway.stats().accepted;
      const users = await Promise.all(Array.from({ length: 100 }, () => whoAmI(db, engine)));
      expect(new Set(users)).toEqual(new Set([fixture.user]));
      expect(connection.stats().mints).toBe(1);
      const logins = fixture.gateway.stats().accepted - before;
      expect(logins).toBeGreaterThan(1);
      expect(logins).toBeLessThanOrEqual(10);
    });

    it("keeps the token out of knex's client, its config and its connections", async () => {
      const { db, connection } = open();
      await whoAmI(db, engine);
      const token = await connection.auth?.getToken();
      expect(token).toBeTruthy();
      const shown = [
        inspect(db.client, { depth: 6 }),
        inspect(db.client.config, { depth: null }),
        JSON.stringify(db.client.config),
        inspect(connection, { depth: null }),
      ];
      for (const text of shown) expect(text).not.toContain(token);
    });
  });

  describe(`knex "${client}" under a fake clock shared with the gateway (${engine})`, () => {
    let fixture: IamFixture;
    const clock = fakeClock();
    beforeAll(async () => {
      fixture = await startIamFixture(engine, { gateway: { now: clock } });
    });
    afterAll(async () => {
      await dbs.destroyAll();
      await fixture?.close();
    });

    function open(pool: Knex.PoolConfig, tokenClock: () => number = clock) {
      const connection = iamConnection({
        ...fixture.iamOptions(),
        database: fixture.database,
        clock: tokenClock,
      });
      const log = tokenClock === clock ? {} : { log: QUIET };
      return { db: dbs.track(knex({ client, connection, pool, ...log })), connection };
    }

    it("rotates: open connections outlive their token, new ones log in with a new token", async () => {
      const { db, connection } = open({ min: 0, max: 2 });
      const stuckAt = clock();
      const before = fixture.gateway.stats();
      const trx = await db.transaction();
      expect(await whoAmI(trx, engine)).toBe(fixture.user);

      clock.advance(16 * MINUTE);
      // The connection opened with the first token keeps serving.
      expect(await whoAmI(trx, engine)).toBe(fixture.user);
      // While it is busy, a new connection logs in, with a fresh token.
      expect(await whoAmI(db, engine)).toBe(fixture.user);
      await trx.commit();
      expect(connection.stats().mints).toBe(2);
      const after = fixture.gateway.stats();
      // Two logins, or three: the clock jumped past the deadline with no traffic in the
      // last 30 s, so the checker fetched the next token only when the new connection
      // was made, and knex 3.2+ then replaced that fresh connection once (in steady
      // traffic the next token is in hand at the deadline).
      expect(after.accepted - before.accepted).toBeGreaterThanOrEqual(2);
      expect(after.accepted - before.accepted).toBeLessThanOrEqual(3);
      expect(rejectedSince(before.rejected, after.rejected)).toEqual({});

      // The control: a provider whose clock stayed behind signs tokens the gateway
      // now finds expired, so the rotation above is what made the logins work.
      const stale = open({ min: 0, max: 1 }, () => stuckAt);
      await expect(whoAmI(stale.db, engine)).rejects.toMatchObject({ code: "AUTH_REJECTED" });
      expect(rejectedSince(after.rejected, fixture.gateway.stats().rejected)).toEqual({
        expired: 2,
      });
    });

    it("keeps serving from the pool through a credential outage, and recovers after it", async () => {
      let down = false;
      const connection = iamConnection({
        ...fixture.iamOptions(),
        database: fixture.database,
        clock,
        credentials: async () => {
          if (down) throw new Error("credential source down (test)");
          return fixture.credentials;
        },
      });
      // One pooled connection that knex validates (3.2+) at every acquisition.
      const db = dbs.track(knex({ client, connection, pool: { min: 1, max: 1 }, log: QUIET }));
      expect(await whoAmI(db, engine)).toBe(fixture.user);
      down = true;
      // Queries shortly before the token's deadline start the provider's refresh
      // ahead, which fails: the outage is known before the token expires.
      clock.advance(14 * MINUTE + 10_000);
      expect(await whoAmI(db, engine)).toBe(fixture.user);
      await vi.waitFor(() => expect(connection.stats().failures).toBeGreaterThan(0));
      clock.advance(20 * MINUTE);
      // The token is long expired and none can be minted: the open connection needs none.
      for (let i = 0; i < 10; i++) expect(await whoAmI(db, engine)).toBe(fixture.user);
      down = false;
      clock.advance(10_000);
      for (let i = 0; i < 10; i++) expect(await whoAmI(db, engine)).toBe(fixture.user);
      // Once a new token was in hand, knex 3.2+ replaced the connection with one logged
      // in with it (earlier knex versions keep the old connection).
      await vi.waitFor(async () => expect(connection.stats().mints).toBe(2));
      // Its pool must not log in again during the tests below, which count logins.
      await db.destroy();
    });

    it("serves a one-hour run with zero failed acquisitions", async () => {
      // A pool that closes idle connections at once: every minute logs in anew.
      const reaping = open(REAPING_POOL);
      // A pool that keeps its connection (knex 3.2+ replaces it when the token rotates).
      const steady = open({ min: 1, max: 1 });
      const before = fixture.gateway.stats();
      let failures = 0;
      let queries = 0;
      for (let minute = 0; minute < 60; minute++) {
        const round = [
          ...Array.from({ length: REAPING_POOL.max }, () => whoAmI(reaping.db, engine)),
          whoAmI(steady.db, engine),
        ];
        for (const result of await Promise.allSettled(round)) {
          queries++;
          if (result.status === "rejected" || result.value !== fixture.user) failures++;
        }
        await poolDrained(reaping.db);
        clock.advance(MINUTE);
      }
      expect({ failures, queries }).toEqual({ failures: 0, queries: 240 });
      const after = fixture.gateway.stats();
      expect(rejectedSince(before.rejected, after.rejected)).toEqual({});
      // Every minute opened new connections, each with a token the gateway accepted.
      expect(after.accepted - before.accepted).toBeGreaterThanOrEqual(60);
      // A token is handed out for 14.5 minutes: minutes 0 to 59 need at least 4, and
      // refreshes ahead of expiry add at most one per token, never a storm. The two knex
      // instances share one token at a time (same user, keys and clock): together they
      // mint what one would.
      const [a, b] = [reaping.connection.stats(), steady.connection.stats()];
      expect(a.mints + b.mints).toBeGreaterThanOrEqual(4);
      expect(a.mints + b.mints).toBeLessThanOrEqual(6);
      expect(a.failures + b.failures).toBe(0);
    });
  });
}
