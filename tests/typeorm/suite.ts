import { inspect } from "node:util";
import { type IamAuth, TokenCache } from "@rds-iam/core";
import { iamAuthOf, withIamAuth } from "@rds-iam/typeorm";
import type { DataSource } from "typeorm";
import * as typeorm1 from "typeorm";
import * as typeorm03 from "typeorm-03";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fakeClock, rejectedSince } from "../knex/helpers";
import { type IamFixture, startIamFixture } from "../support/iam-fixture";
import {
  type Author,
  createTablesMigration,
  entities,
  type Post,
  type TypeormModule,
} from "./schema";

const MINUTE = 60_000;

/** What differs between the runs of this suite. */
export interface TypeormSuiteOptions {
  /** The TypeORM database type under test. */
  readonly type: "postgres" | "mysql" | "mariadb";
  /** The TypeORM major: `1.x` (`typeorm`) or `0.3` (the `typeorm-03` alias). */
  readonly major: "1.x" | "0.3";
}

/** Both majors, installed side by side in this package's dev dependencies. */
const MODULES: Record<TypeormSuiteOptions["major"], TypeormModule> = {
  "1.x": typeorm1,
  // 0.3's declarations differ in details the suite does not touch.
  "0.3": typeorm03 as unknown as TypeormModule,
};

interface PgPoolLike {
  connect(): Promise<{ release(destroy?: boolean): void }>;
}
interface Mysql2PoolLike {
  getConnection(callback: (error: unknown, connection?: { destroy(): void }) => void): void;
}

/**
 * TypeORM through the gateway in front of a real database: every login is a SigV4
 * token the gateway verifies the way RDS does.
 */
export function typeormSuite({ type, major }: TypeormSuiteOptions): void {
  const typeorm = MODULES[major];
  const engine = type === "postgres" ? "postgres" : "mysql";
  const whoAmISql =
    type === "postgres"
      ? "select current_user as who"
      : "select substring_index(current_user(), '@', 1) as who";
  const opened: { dataSource: DataSource; auth: IamAuth }[] = [];

  async function whoAmI(dataSource: DataSource): Promise<string> {
    const rows = (await dataSource.query(whoAmISql)) as { who: string }[];
    return rows[0]?.who ?? "";
  }

  /** Destroys one pooled connection, so the pool's next acquisition logs in anew. */
  async function dropOneConnection(dataSource: DataSource): Promise<void> {
    const driver = dataSource.driver as unknown as { master?: PgPoolLike; pool?: Mysql2PoolLike };
    if (engine === "postgres") {
      if (driver.master === undefined) throw new Error("TypeORM built no pg pool");
      (await driver.master.connect()).release(true);
      return;
    }
    const pool = driver.pool;
    if (pool === undefined) throw new Error("TypeORM built no mysql2 pool");
    await new Promise<void>((resolve, reject) =>
      pool.getConnection((error, connection) => {
        if (error) return reject(error);
        connection?.destroy();
        resolve();
      }),
    );
  }

  function build(
    fixture: IamFixture,
    {
      poolSize = 4,
      clock,
      migrations = false,
      ownTokens = false,
    }: {
      poolSize?: number;
      clock?: () => number;
      migrations?: boolean;
      /** A token cache of its own, for tests that count this DataSource's mints. */
      ownTokens?: boolean;
    } = {},
  ) {
    const { host, port, user, ssl, ...iam } = fixture.iamOptions();
    const options = withIamAuth({
      type,
      host,
      port,
      username: user,
      database: fixture.database,
      ssl,
      poolSize,
      entities: [...entities(typeorm)],
      migrations: migrations ? [createTablesMigration(typeorm)] : [],
      logging: false,
      iam: {
        ...iam,
        ...(clock ? { clock } : {}),
        ...(ownTokens ? { tokenCache: new TokenCache() } : {}),
      },
    });
    const auth = iamAuthOf(options);
    // The suite's options are typed loosely (`type` is a union here); a user's literal
    // options need no cast, as test/types.test.ts shows.
    const dataSource = new typeorm.DataSource(
      options as ConstructorParameters<typeof typeorm.DataSource>[0],
    );
    opened.push({ dataSource, auth });
    return { dataSource, auth };
  }

  async function closeAll(): Promise<void> {
    for (const { dataSource, auth } of opened.splice(0)) {
      if (dataSource.isInitialized) await dataSource.destroy();
      auth.close();
    }
  }

  describe(`TypeORM ${major} type "${type}" through the gateway`, () => {
    let fixture: IamFixture;
    beforeAll(async () => {
      fixture = await startIamFixture(engine);
    });
    afterAll(async () => {
      await closeAll();
      await fixture?.close();
    });

    it("initializes with one token over TLS and logs in as the IAM user", async () => {
      // The two majors are distinct installs: this run really drives the one it names.
      expect(typeorm.DataSource === typeorm1.DataSource).toBe(major === "1.x");
      const { dataSource, auth } = build(fixture, { ownTokens: true });
      await dataSource.initialize();
      expect(await whoAmI(dataSource)).toBe(fixture.user);
      expect(auth.stats().mints).toBe(1);
      expect(fixture.gateway.stats().rejected.plaintext ?? 0).toBe(0);
    });

    it("runs migrations, repositories with relations, transactions, and undoes the migration", async () => {
      const { dataSource } = build(fixture, { migrations: true });
      await dataSource.initialize();
      const applied = await dataSource.runMigrations();
      expect(applied.map((migration) => migration.name)).toEqual(["CreateTables1767225600000"]);

      const authors = dataSource.getRepository<Author>("Author");
      const posts = dataSource.getRepository<Post>("Post");
      const ada = await authors.save({
        name: "Ada",
        posts: [{ title: "Notes" }, { title: "Engines" }],
      } as Author);
      const found = await authors.findOne({ where: { id: ada.id }, relations: { posts: true } });
      expect(found?.posts?.map((post) => post.title).sort()).toEqual(["Engines", "Notes"]);
      const post = await posts.findOne({ where: { title: "Notes" }, relations: { author: true } });
      expect(post?.author?.name).toBe("Ada");

      await dataSource.transaction(async (manager) => {
        await manager.getRepository<Author>("Author").save({ name: "Bob" } as Author);
      });
      await expect(
        dataSource.transaction(async (manager) => {
          await manager.getRepository<Author>("Author").save({ name: "Eve" } as Author);
          throw new Error("rolled back on purpose");
        }),
      ).rejects.toThrow("rolled back on purpose");
      expect((await authors.find({ order: { name: "ASC" } })).map((author) => author.name)).toEqual(
        ["Ada", "Bob"],
      );

      await dataSource.undoLastMigration();
      const tables = (await dataSource.query(
        engine === "postgres"
          ? "select table_name as name from information_schema.tables where table_schema = current_schema()"
          : "select table_name as name from information_schema.tables where table_schema = database()",
      )) as { name: string }[];
      expect(tables.map((table) => table.name)).not.toContain("authors");
    });

    it("retries a rejected login once: initialize succeeds with exactly one extra mint", async () => {
      const { dataSource, auth } = build(fixture, { poolSize: 1, ownTokens: true });
      const before = fixture.gateway.stats();
      fixture.gateway.faults.rejectNextLogins(1);
      await dataSource.initialize();
      expect(await whoAmI(dataSource)).toBe(fixture.user);
      const after = fixture.gateway.stats();
      expect(rejectedSince(before.rejected, after.rejected)).toEqual({ injected: 1 });
      expect(auth.stats()).toMatchObject({ mints: 2, invalidations: 1 });
    });

    it("fails with AUTH_REJECTED after one retry, naming no secret, when the database keeps refusing", async () => {
      const { dataSource, auth } = build(fixture, { poolSize: 1, ownTokens: true });
      fixture.gateway.faults.rejectNextLogins(2);
      const error = await dataSource.initialize().then(
        () => undefined,
        (reason: unknown) => reason,
      );
      expect(error).toMatchObject({ name: "RdsIamError", code: "AUTH_REJECTED" });
      expect(auth.stats().mints).toBe(2);
      const token = await auth.getToken();
      for (const text of [inspect(error, { depth: null }), JSON.stringify(error), String(error)]) {
        expect(text).not.toContain(token);
        expect(text).not.toContain(fixture.credentials.secretAccessKey);
      }
    });

    it("keeps the token out of the DataSource, its options and its driver", async () => {
      const { dataSource, auth } = build(fixture);
      await dataSource.initialize();
      await whoAmI(dataSource);
      const token = await auth.getToken();
      const shown = [
        inspect(dataSource.options, { depth: null }),
        JSON.stringify(dataSource.options),
        inspect(dataSource.driver, { depth: 4 }),
        inspect(auth, { depth: null }),
      ];
      for (const text of shown) expect(text).not.toContain(token);
    });

    it("destroy() closes every connection it opened", async () => {
      const { dataSource } = build(fixture);
      await dataSource.initialize();
      await Promise.all(Array.from({ length: 8 }, () => whoAmI(dataSource)));
      expect(fixture.gateway.stats().active).toBeGreaterThan(0);
      await dataSource.destroy();
      await closeAll();
      // The gateway sees the clients hang up shortly after the pools end them.
      const deadline = Date.now() + 5_000;
      while (fixture.gateway.stats().active > 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(fixture.gateway.stats().active).toBe(0);
    });
  });

  describe(`TypeORM ${major} type "${type}" under a fake clock shared with the gateway`, () => {
    let fixture: IamFixture;
    const clock = fakeClock();
    beforeAll(async () => {
      fixture = await startIamFixture(engine, { gateway: { now: clock } });
    });
    afterAll(async () => {
      await closeAll();
      await fixture?.close();
    });

    it("rotates: a busy connection outlives its token, a new one logs in with a new token", async () => {
      const { dataSource, auth } = build(fixture, { poolSize: 2, clock });
      await dataSource.initialize();
      const before = fixture.gateway.stats();
      const runner = dataSource.createQueryRunner();
      await runner.connect();
      await runner.startTransaction();
      const first = (await runner.query(whoAmISql)) as { who: string }[];
      expect(first[0]?.who).toBe(fixture.user);

      clock.advance(16 * MINUTE);
      const again = (await runner.query(whoAmISql)) as { who: string }[];
      expect(again[0]?.who).toBe(fixture.user);
      // The pool's other slot opens a new connection, which needs a token minted now.
      expect(await whoAmI(dataSource)).toBe(fixture.user);
      await runner.commitTransaction();
      await runner.release();
      expect(auth.stats().mints).toBe(2);
      const after = fixture.gateway.stats();
      expect(rejectedSince(before.rejected, after.rejected)).toEqual({});
    });

    it("serves a one-hour run with zero failed queries, a new connection every minute", async () => {
      const { dataSource, auth } = build(fixture, { poolSize: 2, clock });
      await dataSource.initialize();
      const before = fixture.gateway.stats();
      let failures = 0;
      let queries = 0;
      for (let minute = 0; minute < 60; minute++) {
        await dropOneConnection(dataSource);
        for (const result of await Promise.allSettled([whoAmI(dataSource), whoAmI(dataSource)])) {
          queries++;
          if (result.status === "rejected" || result.value !== fixture.user) failures++;
        }
        clock.advance(MINUTE);
      }
      expect({ failures, queries }).toEqual({ failures: 0, queries: 120 });
      const after = fixture.gateway.stats();
      expect(rejectedSince(before.rejected, after.rejected)).toEqual({});
      expect(after.accepted - before.accepted).toBeGreaterThanOrEqual(60);
      // A token is handed out for 14.5 minutes: an hour needs at least 4, and refreshes
      // ahead of expiry add at most one per token.
      expect(auth.stats().mints).toBeGreaterThanOrEqual(4);
      expect(auth.stats().mints).toBeLessThanOrEqual(6);
      expect(auth.stats().failures).toBe(0);
    });
  });
}
