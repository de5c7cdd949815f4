import { inspect } from "node:util";
import { TokenCache } from "@rds-iam/core";
import { type IamAuth, iamAuthOf, withIamAuth } from "@rds-iam/sequelize";
import { DataTypes, type Model, type ModelStatic, QueryTypes, Sequelize } from "sequelize";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fakeClock, rejectedSince } from "../knex/helpers";
import { type IamFixture, startIamFixture } from "../support/iam-fixture";
import { observe, trackTokens } from "../support/secret-scan";

const MINUTE = 60_000;
type Dialect = "postgres" | "mysql" | "mariadb";

interface ConnectionManagerLike {
  getConnection(): Promise<object>;
  destroyConnection(connection: object): Promise<void>;
}

/**
 * Sequelize 6 through the gateway in front of a real database: every login is a SigV4
 * token the gateway verifies the way RDS does.
 */
export function sequelizeSuite(dialect: Dialect): void {
  const engine = dialect === "postgres" ? "postgres" : "mysql";
  const whoAmISql =
    dialect === "postgres"
      ? "select current_user as who"
      : "select substring_index(current_user(), '@', 1) as who";
  const opened: { sequelize: Sequelize; auth: IamAuth }[] = [];
  const logged: string[] = [];

  // One fake clock for the gateway and every provider of this suite.
  const clock = fakeClock();

  function build(fixture: IamFixture, { max = 3 }: { max?: number } = {}) {
    const { host, port, user, ssl, ...iam } = fixture.iamOptions();
    const options = withIamAuth({
      dialect,
      host,
      port,
      username: user,
      database: fixture.database,
      // A loaded two-core machine can take longer than the mariadb connector's 1 s default.
      dialectOptions: dialect === "mariadb" ? { ssl, connectTimeout: 10_000 } : { ssl },
      pool: { max, min: 0 },
      // Sequelize's own query log: recorded, and scanned for tokens below.
      logging: (line: string) => logged.push(line),
      iam: { ...iam, tokenCache: new TokenCache(), clock },
    });
    const auth = trackTokens(iamAuthOf(options));
    const sequelize = new Sequelize(options);
    opened.push({ sequelize, auth });
    return { sequelize, auth };
  }

  async function whoAmI(sequelize: Sequelize): Promise<string> {
    const rows = await sequelize.query<{ who: string }>(whoAmISql, { type: QueryTypes.SELECT });
    return rows[0]?.who ?? "";
  }

  /** Destroys one pooled connection, so the next query logs in anew. */
  async function dropOneConnection(sequelize: Sequelize): Promise<void> {
    const manager = sequelize.connectionManager as unknown as ConnectionManagerLike;
    await manager.destroyConnection(await manager.getConnection());
  }

  describe(`Sequelize 6 dialect "${dialect}" through the gateway (fake clock shared with it)`, () => {
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
      expect(fixture.gateway.stats().rejected.plaintext ?? 0).toBe(0);
      expect(logged.length).toBeGreaterThan(0);
      observe("sequelize logging", logged.join("\n"));
      const shown = observe(
        "sequelize inspect",
        inspect(sequelize, { depth: 8, showHidden: true }),
      );
      expect(shown).not.toContain("X-Amz-Signature");
      expect(JSON.stringify(sequelize.config)).not.toContain("X-Amz");
    });

    it("defines a model, syncs it, inserts and selects; runs a migration and transactions", async () => {
      const { sequelize } = build(fixture);
      const queryInterface = sequelize.getQueryInterface();
      // A migration as sequelize-cli runs it: createTable up, dropTable down.
      await queryInterface.createTable("authors", {
        id: { type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true },
        name: { type: DataTypes.STRING(100), allowNull: false },
      });
      const Author = sequelize.define(
        "Author",
        { name: DataTypes.STRING(100) },
        {
          tableName: "authors",
          timestamps: false,
        },
      ) as ModelStatic<Model<{ id?: number; name: string }>>;
      const Post = sequelize.define(
        "Post",
        { title: DataTypes.STRING(100) },
        {
          tableName: "posts",
          timestamps: false,
        },
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
      await queryInterface.dropTable("authors");
      expect((await queryInterface.showAllTables()).map(String)).not.toContain("authors");
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

    it("refuses a later beforeConnect hook that re-targets the connection, before any token is sent", async () => {
      const { host, port, user, ssl, ...iam } = fixture.iamOptions();
      const sequelize = new Sequelize(
        withIamAuth({
          dialect,
          host,
          port,
          username: user,
          database: fixture.database,
          dialectOptions: { ssl },
          logging: false,
          hooks: {
            beforeConnect: (config: { host?: string }) => {
              config.host = "localhost";
            },
          },
          iam: { ...iam, clock },
        }),
      );
      const accepted = fixture.gateway.stats().accepted;
      try {
        await expect(sequelize.authenticate()).rejects.toMatchObject({
          name: "RdsIamError",
          code: "CONFLICTING_OPTIONS",
          option: "config.host",
        });
        expect(fixture.gateway.stats().accepted).toBe(accepted);
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
        observe("sequelize AUTH_REJECTED", error);
      } finally {
        fixture.gateway.faults.reset();
      }
    });
  });
}
