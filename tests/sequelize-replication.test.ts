import { TokenCache } from "@rds-iam/core";
import { type Gateway, startGateway } from "@rds-iam/gateway";
import { withIamAuth } from "@rds-iam/sequelize";
import { DataTypes, QueryTypes, Sequelize } from "sequelize";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type IamFixture, REGION, startIamFixture } from "./support/iam-fixture";
import { observe } from "./support/secret-scan";

const READER = "mydb.cluster-ro-abc123.us-east-1.rds.amazonaws.com";

/**
 * `replication` through two gateways standing for two RDS endpoints (the writer and
 * the cluster's reader endpoint) in front of the same database. Each gateway accepts
 * only tokens signed for its own endpoint (anything else is refused as `endpoint`), so
 * every accepted login proves the token was signed for the host it went to.
 */
const DIALECTS = [
  {
    dialect: "postgres",
    engine: "postgres",
    read: 'select body, current_user as who from "Notes"',
  },
  {
    dialect: "mysql",
    engine: "mysql",
    read: "select body, substring_index(current_user(), '@', 1) as who from `Notes`",
  },
  {
    dialect: "mariadb",
    engine: "mysql",
    read: "select body, substring_index(current_user(), '@', 1) as who from `Notes`",
  },
] as const;

describe.each(DIALECTS)(
  "Sequelize 6 replication ($dialect): writer and reader each get tokens signed for their own endpoint",
  ({ dialect, engine, read }) => {
    let writer: IamFixture;
    let reader: Gateway;
    beforeAll(async () => {
      writer = await startIamFixture(engine);
      reader = await startGateway({
        engine,
        endpoint: { hostname: READER },
        region: REGION,
        credentials: [writer.credentials],
        backend: writer.backend,
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
          dialect,
          username: user,
          database: writer.database,
          // Two gateways, two self-signed CAs: trust both.
          dialectOptions: { ssl: { ca: [ssl.ca, reader.caCertificate] } },
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
        const Note = sequelize.define(
          "Note",
          { body: DataTypes.STRING(50) },
          { timestamps: false },
        );
        await Note.sync();
        await Note.create({ body: "hello" });
        const writerLogins = writer.gateway.stats().accepted;
        expect(writerLogins).toBeGreaterThanOrEqual(1);
        expect(reader.stats().accepted).toBe(0);
        const rows = await sequelize.query<{ body: string; who: string }>(read, {
          type: QueryTypes.SELECT,
        });
        expect(rows).toEqual([{ body: "hello", who: user }]);
        expect(reader.stats().accepted).toBe(1);
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
  },
);
