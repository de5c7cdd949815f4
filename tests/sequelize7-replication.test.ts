import { TokenCache } from "@rds-iam/core";
import { type Gateway, startGateway } from "@rds-iam/gateway";
import { withIamAuth } from "@rds-iam/sequelize/v7";
import { DataTypes, QueryTypes, Sequelize } from "@sequelize/core";
import { PostgresDialect } from "@sequelize/postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { POSTGRES_BACKEND } from "./support/databases";
import { type IamFixture, REGION, startIamFixture } from "./support/iam-fixture";
import { observe } from "./support/secret-scan";

const READER = "mydb.cluster-ro-abc123.us-east-1.rds.amazonaws.com";

/**
 * Sequelize 7 `replication` through two gateways standing for two RDS endpoints (the
 * writer and the cluster's reader endpoint) in front of the same database. Each gateway
 * accepts only tokens signed for its own endpoint (anything else is refused as
 * `endpoint`), so every accepted login proves the token was signed for the host it went to.
 */
describe("Sequelize 7 replication: writer and reader each get tokens signed for their own endpoint", () => {
  let writer: IamFixture;
  let reader: Gateway;
  beforeAll(async () => {
    writer = await startIamFixture("postgres");
    reader = await startGateway({
      engine: "postgres",
      endpoint: { hostname: READER },
      region: REGION,
      credentials: [writer.credentials],
      backend: { host: POSTGRES_BACKEND.host, port: POSTGRES_BACKEND.port },
    });
  });
  afterAll(async () => {
    await reader?.close();
    await writer?.close();
  });

  it("writes go to the writer, reads to the reader, every login verified by its own gateway", async () => {
    const { host, port, user, ssl, iamHost, iamDefaultPort, ...iam } = writer.iamOptions();
    const sequelize = new Sequelize(
      withIamAuth({
        dialect: PostgresDialect,
        user,
        database: writer.database,
        // Two gateways, two self-signed CAs: trust both.
        ssl: { ca: [ssl.ca, reader.caCertificate] },
        replication: {
          write: { host, port, iam: { iamHost, iamDefaultPort } },
          read: [
            {
              host: reader.host,
              port: reader.port,
              iam: { iamHost: READER, iamDefaultPort: reader.endpoint.port },
            },
          ],
        },
        logging: false,
        iam: { ...iam, tokenCache: new TokenCache() },
      }),
    );
    try {
      const Note = sequelize.define("Note7", { body: DataTypes.STRING(50) }, { timestamps: false });
      // Sequelize 7's sync already reads (the table's description) through the read pool.
      await Note.sync();
      await Note.create({ body: "hello" });
      const writerLogins = writer.gateway.stats().accepted;
      expect(writerLogins).toBeGreaterThanOrEqual(1);
      const rows = await sequelize.query<{ body: string; who: string }>(
        'select body, current_user as who from "Note7s"',
        { type: QueryTypes.SELECT },
      );
      expect(rows).toEqual([{ body: "hello", who: user }]);
      // Reads went to the reader only: the writer saw no login for them.
      expect(reader.stats().accepted).toBeGreaterThanOrEqual(1);
      expect(writer.gateway.stats().accepted).toBe(writerLogins);
      for (const stats of [writer.gateway.stats(), reader.stats()]) {
        observe("replication gateway refusals", stats.rejected);
        expect(stats.rejected).toEqual({});
      }
      await Note.drop();
    } finally {
      await sequelize.close();
    }
  });
});
