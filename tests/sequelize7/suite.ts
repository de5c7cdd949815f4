import { inspect } from "node:util";
import { TokenCache } from "@rds-iam/core";
import { type IamAuth, iamAuthOf, withIamAuth } from "@rds-iam/sequelize/v7";
import { DataTypes, type Model, type ModelStatic, QueryTypes, Sequelize } from "@sequelize/core";
import { MariaDbDialect } from "@sequelize/mariadb";
import { MySqlDialect } from "@sequelize/mysql";
import { PostgresDialect } from "@sequelize/postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fakeClock, rejectedSince } from "../knex/helpers";
import { type IamFixture, startIamFixture } from "../support/iam-fixture";
import { observe, trackTokens } from "../support/secret-scan";

const MINUTE = 60_000;
type Dialect = "postgres" | "mysql" | "mariadb";
const CLASSES = { postgres: PostgresDialect, mysql: MySqlDialect, mariadb: MariaDbDialect };

type AnySequelize = Sequelize;

/** One suite for three dialects: the options' type depends on the dialect class. */
const iamOptions = (options: Record<string, unknown>): object =>
  withIamAuth(options as unknown as Parameters<typeof withIamAuth>[0]);

/**
 * Sequelize 7 (`@sequelize/core`) through the gateway in front of a real database:
 * every login is a SigV4 token the gateway verifies the way RDS does.
 */
export function sequelize7Suite(dialect: Dialect): void {
  const engine = dialect === "postgres" ? "postgres" : "mysql";
  const whoAmISql =
    dialect === "postgres"
      ? "select current_user as who"
      : "select substring_index(current_user(), '@', 1) as who";
  const opened: { sequelize: AnySequelize; auth: IamAuth }[] = [];
  const logged: string[] = [];

  // One fake clock for the gateway and every provider of this suite.
  const clock = fakeClock();

  /** The fixture's target in Sequelize 7's spelling: the driver's names at the root. */
  function target(fixture: IamFixture) {
    const { host, port, user, ssl, ...iam } = fixture.iamOptions();
    const base = { dialect: CLASSES[dialect], host, port, user, database: fixture.database };
    // A loaded two-core machine can take longer than the mariadb connector's 1 s default.
    const extra = dialect === "mariadb" ? { connectTimeout: 10_000 } : {};
    return { base: { ...base, ...extra }, ssl, iam };
  }

  function build(fixture: IamFixture, { max = 3 }: { max?: number } = {}) {
    const { base, ssl, iam } = target(fixture);
    const options = iamOptions({
      ...base,
      ssl,
      pool: { max, min: 0 },
      // Sequelize's own query log: recorded, and scanned for tokens below.
      logging: (line: string) => logged.push(line),
      iam: { ...iam, tokenCache: new TokenCache(), clock },
    });
    const auth = trackTokens(iamAuthOf(options));
    const sequelize: AnySequelize = new Sequelize(options as never);
    opened.push({ sequelize, auth });
    return { sequelize, auth };
  }

  async function whoAmI(sequelize: AnySequelize): Promise<string> {
    const rows = await sequelize.query<{ who: string }>(whoAmISql, { type: QueryTypes.SELECT });
    return rows[0]?.who ?? "";
  }

  /** Destroys one pooled connection, so the next query logs in anew. */
  async function dropOneConnection(sequelize: AnySequelize): Promise<void> {
    const pool = sequelize.pool.write;
    await pool.destroy(await pool.acquire());
  }

  describe(`Sequelize 7 dialect "${dialect}" through the gateway (fake clock shared with it)`, () => {
    let fixture: IamFixture;
    beforeAll(async () => {
      fixture = await startIamFixture(engine, { gateway: { now: clock } });
    });
    afterAll(async () => {
      for (const { sequelize, auth } of opened.splice(0)) {
        await sequelize.close();
        auth.close();
      }
      await fixture?.close();
    });

    it("authenticates with one token over TLS as the IAM user; no token in logs, inspect or the config", async () => {
      const { sequelize, auth } = build(fixture);
      await sequelize.authenticate();
      expect(await whoAmI(sequelize)).toBe(fixture.user);
      expect(auth.stats().mints).toBe(1);
      expect(iamAuthOf(sequelize)).toBe(auth);
      expect(sequelize.dialect.name).toBe(dialect);
      expect(fixture.gateway.stats().rejected.plaintext ?? 0).toBe(0);
      expect(logged.length).toBeGreaterThan(0);
      observe("sequelize 7 logging", logged.join("\n"));
      const shown = observe(
        "sequelize 7 inspect",
        inspect(sequelize, { depth: 8, showHidden: true }),
      );
      expect(shown).not.toContain("X-Amz-Signature");
      expect(JSON.stringify(sequelize.options)).not.toContain("X-Amz");
      expect(JSON.stringify(sequelize.rawOptions)).not.toContain("X-Amz");
    });

    it("defines a model, syncs it, inserts and selects; runs a migration and transactions", async () => {
      const { sequelize } = build(fixture);
      const queryInterface = sequelize.queryInterface;
      // A migration's up and down: createTable, dropTable.
      await queryInterface.createTable("authors7", {
        id: { type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true },
        name: { type: DataTypes.STRING(100), allowNull: false },
      });
      const Author = sequelize.define(
        "Author",
        { name: DataTypes.STRING(100) },
        { tableName: "authors7", timestamps: false },
      ) as ModelStatic<Model<{ id?: number; name: string }>>;
      const Post = sequelize.define(
        "Post",
        { title: DataTypes.STRING(100) },
        { tableName: "posts7", timestamps: false },
      );
      await Post.sync();
      await Author.create({ name: "Ada" });
      await sequelize.transaction(async (transaction) => {
        await Author.create({ name: "Bob" }, { transaction });
      });
      await expect(
        sequelize.transaction(async (transaction) => {
          await Author.create({ name: "Eve" }, { transaction });
          throw new Error("rolled back on purpose");
        }),
      ).rejects.toThrow("rolled back on purpose");
      const names = (await Author.findAll({ order: [["name", "ASC"]] })).map((a) => a.get("name"));
      expect(names).toEqual(["Ada", "Bob"]);
      await Post.drop();
      await queryInterface.dropTable("authors7");
      const tables = (await queryInterface.listTables()).map((table) => table.tableName);
      expect(tables).not.toContain("authors7");
    });

    it("a new connection 15 minutes on (fake clock, shared with the gateway) gets a fresh token", async () => {
      const { sequelize, auth } = build(fixture, { max: 1 });
      expect(await whoAmI(sequelize)).toBe(fixture.user);
      const accepted = fixture.gateway.stats().accepted;
      clock.advance(15 * MINUTE);
      await dropOneConnection(sequelize);
      expect(await whoAmI(sequelize)).toBe(fixture.user);
      expect(auth.stats().mints).toBe(2);
      expect(fixture.gateway.stats().accepted).toBe(accepted + 1);
    });

    it("retries a rejected login once with a fresh token", async () => {
      const { sequelize, auth } = build(fixture, { max: 1 });
      const before = fixture.gateway.stats();
      fixture.gateway.faults.rejectNextLogins(1);
      try {
        expect(await whoAmI(sequelize)).toBe(fixture.user);
      } finally {
        fixture.gateway.faults.reset();
      }
      expect(rejectedSince(before.rejected, fixture.gateway.stats().rejected)).toEqual({
        injected: 1,
      });
      expect(auth.stats()).toMatchObject({ mints: 2, invalidations: 1 });
    });

    it("refuses a beforeConnect hook that re-targets the connection, before any token is sent", async () => {
      const { base, ssl, iam } = target(fixture);
      const sequelize: AnySequelize = new Sequelize(
        iamOptions({
          ...base,
          ssl,
          logging: false,
          hooks: {
            beforeConnect: (config: { host?: string }) => {
              config.host = "localhost";
            },
          },
          iam: { ...iam, tokenCache: new TokenCache(), clock },
        }) as never,
      );
      const auth = iamAuthOf(sequelize);
      const accepted = fixture.gateway.stats().accepted;
      try {
        await expect(sequelize.authenticate()).rejects.toMatchObject({
          name: "RdsIamError",
          code: "CONFLICTING_OPTIONS",
          option: "config.host",
        });
        expect(fixture.gateway.stats().accepted).toBe(accepted);
        expect(auth.stats().mints).toBe(0);
      } finally {
        await sequelize.close();
      }
    });

    it("fails with AUTH_REJECTED after one retry when the database keeps refusing", async () => {
      const { sequelize } = build(fixture, { max: 1 });
      const before = fixture.gateway.stats().rejected.injected ?? 0;
      fixture.gateway.faults.rejectNextLogins(100);
      try {
        const error = await sequelize.authenticate().then(
          () => undefined,
          (caught: unknown) => caught,
        );
        expect(error).toMatchObject({ name: "RdsIamError", code: "AUTH_REJECTED" });
        expect((fixture.gateway.stats().rejected.injected ?? 0) - before).toBe(2);
        observe("sequelize 7 AUTH_REJECTED", error);
      } finally {
        fixture.gateway.faults.reset();
      }
    });

    it("verifies TLS by default: without the gateway's CA no login reaches the gateway", async () => {
      const { base, iam } = target(fixture);
      const sequelize: AnySequelize = new Sequelize(
        iamOptions({
          ...base,
          logging: false,
          iam: { ...iam, tokenCache: new TokenCache(), clock },
        }) as never,
      );
      const before = fixture.gateway.stats();
      try {
        await expect(sequelize.authenticate()).rejects.toThrow(/certificate/i);
        const after = fixture.gateway.stats();
        expect(after.accepted).toBe(before.accepted);
        expect(rejectedSince(before.rejected, after.rejected)).toEqual({});
      } finally {
        await sequelize.close();
      }
    });
  });
}
