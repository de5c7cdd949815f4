import { type CredentialServer, startCredentialServer } from "@rds-iam/gateway";
import { type IamKnexConnection, iamConnection, iamAuthOf as knexAuthOf } from "@rds-iam/knex";
import { createIamAdapter, iamAuthOf as prismaAuthOf } from "@rds-iam/prisma";
import { iamAuthOf as typeormAuthOf, withIamAuth } from "@rds-iam/typeorm";
import knex, { type Knex } from "knex";
import { DataSource } from "typeorm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  loadPrismaClient,
  type TestPrismaClient,
} from "../packages/prisma/test/support/prisma-clients";
import { isolatedAwsEnv, withEnv } from "./support/aws-env";
import { type IamFixture, startIamFixture } from "./support/iam-fixture";
import { registerCredentials } from "./support/secret-scan";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const OBJECTS = 4;

/**
 * Many ORM objects for one database user in one process (tests, tenants, serverless
 * handlers): on the default credential chain they share one chain and one token, so
 * they cost one credential request and one signature, not one per object; destroying
 * them stops the background refreshes.
 */
describe.each(["postgres", "mysql"] as const)(
  "ORM objects sharing credentials and tokens (%s)",
  (engine) => {
    let server: CredentialServer;
    let fixture: IamFixture;

    beforeAll(async () => {
      server = await startCredentialServer({ onIssue: (issued) => registerCredentials(issued) });
      fixture = await startIamFixture(engine, { credentials: () => server.issued() });
    });
    afterAll(async () => {
      await fixture?.close();
      await server?.close();
    });

    /** The fixture's target, on the default chain (no `credentials`): what apps in AWS do. */
    function target(extra: Record<string, unknown> = {}) {
      const { credentials: _static, ...options } = fixture.iamOptions();
      return { ...options, database: fixture.database, ...extra };
    }

    async function openAll(extra: Record<string, unknown> = {}) {
      const knexes: { db: Knex; connection: IamKnexConnection }[] = [];
      const dataSources: DataSource[] = [];
      const prismas: { prisma: TestPrismaClient; adapter: ReturnType<typeof createIamAdapter> }[] =
        [];
      const PrismaClient = await loadPrismaClient(engine);
      for (let i = 0; i < OBJECTS; i++) {
        const connection = iamConnection(target(extra));
        const db = knex({
          client: engine === "postgres" ? "pg" : "mysql2",
          connection,
          pool: { min: 0, max: 2 },
        });
        knexes.push({ db, connection });
        const { host, port, user, ssl, database, ...iam } = target(extra);
        dataSources.push(
          new DataSource(
            withIamAuth({
              type: engine,
              host,
              port,
              username: user,
              database,
              ssl,
              poolSize: 2,
              iam,
            }) as ConstructorParameters<typeof DataSource>[0],
          ),
        );
        const adapter = createIamAdapter({ engine, ...target(extra) } as never);
        prismas.push({ prisma: new PrismaClient({ adapter }), adapter });
      }
      const query = async () => {
        const one = "select 1 as one";
        await Promise.all([
          ...knexes.map(({ db }) => {
            // A destroyed knex is started again explicitly, as applications do.
            if ((db.client as { pool?: unknown }).pool === undefined) db.initialize();
            return db.raw(one);
          }),
          ...dataSources.map(async (dataSource) => {
            if (!dataSource.isInitialized) await dataSource.initialize();
            await dataSource.query(one);
          }),
          ...prismas.map(({ prisma }) => prisma.$queryRawUnsafe(one)),
        ]);
      };
      const auths = () => [
        ...knexes.map(({ connection }) => knexAuthOf(connection)),
        ...dataSources.map((dataSource) => typeormAuthOf(dataSource)),
        ...prismas.map(({ adapter }) => prismaAuthOf(adapter)),
      ];
      const destroy = async () => {
        await Promise.all([
          ...knexes.map(({ db }) => db.destroy()),
          ...dataSources.map((dataSource) => dataSource.destroy()),
          ...prismas.map(({ prisma }) => prisma.$disconnect()),
        ]);
      };
      return { query, auths, destroy };
    }

    it(`${OBJECTS * 3} knex instances, DataSources and PrismaClients: one credential request, one mint`, async () => {
      await withEnv(isolatedAwsEnv(server.env()), async () => {
        const requests = server.stats().requests;
        const accepted = fixture.gateway.stats().accepted;
        const objects = await openAll();
        try {
          await objects.query();
          await objects.query();
          const stats = objects.auths().map((auth) => auth.stats());
          expect(server.stats().requests - requests).toBe(1);
          expect(stats.reduce((sum, s) => sum + s.mints, 0)).toBe(1);
          expect(stats.reduce((sum, s) => sum + s.failures, 0)).toBe(0);
          // Every object logged in (at least once each) with that one token.
          expect(fixture.gateway.stats().accepted - accepted).toBeGreaterThanOrEqual(OBJECTS * 3);
        } finally {
          await objects.destroy();
        }
      });
    });

    it("destroying the ORM objects stops their background refreshes; a later query resumes", async () => {
      await withEnv(isolatedAwsEnv(server.env()), async () => {
        // One-second tokens: the refresh timer would fire 750 ms after each mint.
        const objects = await openAll({ iamTokenExpiration: 1 });
        await objects.query();
        await objects.query();
        await objects.destroy();
        const mints = () => objects.auths().reduce((sum, auth) => sum + auth.stats().mints, 0);
        const before = mints();
        await sleep(1_200);
        expect(mints()).toBe(before);
        // Destroyed is not closed: the next query logs in with a fresh token.
        await objects.query();
        expect(mints()).toBeGreaterThan(before);
        await objects.destroy();
      });
    });
  },
);
