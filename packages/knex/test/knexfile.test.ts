import type { IamKnexConnection } from "@rds-iam/knex";
import knex, { type Knex } from "knex";
import { describe, expect, expectTypeOf, it } from "vitest";
import { isolatedAwsEnv, withEnv } from "../../../tests/support/aws-env";
import config from "./knexfile";

// knexfile.ts must compile (the workspace typecheck covers it); here it must also work.
describe("a typed knexfile", () => {
  it("types iamConnection() as a knex connection, with no casts", () => {
    expectTypeOf<IamKnexConnection>().toExtend<NonNullable<Knex.Config["connection"]>>();
    expectTypeOf<IamKnexConnection>().toExtend<Knex.AsyncConnectionConfigProvider>();
  });

  it("gives knex a config per environment, signed with the default credential chain", async () => {
    const env = isolatedAwsEnv({
      AWS_ACCESS_KEY_ID: "AKIDEXAMPLEKNEXFILE1",
      AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYzEXAMPLEKEY",
    });
    await withEnv(env, async () => {
      const seen: Record<string, unknown> = {};
      for (const [environment, settings] of Object.entries(config)) {
        const db = knex(settings);
        try {
          const connection = settings.connection as IamKnexConnection;
          const resolved = await connection.call(db.client);
          seen[environment] = {
            host: resolved.host,
            port: resolved.port,
            database: resolved.database,
            region: connection.auth?.target.region,
          };
          connection.close();
        } finally {
          await db.destroy();
        }
      }
      expect(seen).toEqual({
        production: {
          host: "mydb.cluster-abc123.us-east-1.rds.amazonaws.com",
          port: 5432,
          database: "app",
          region: "us-east-1",
        },
        mysql: {
          host: "mydb.cluster-abc123.eu-west-1.rds.amazonaws.com",
          port: 3306,
          database: "app",
          region: "eu-west-1",
        },
        mariadb: { host: "127.0.0.1", port: 13306, database: "app", region: "eu-west-1" },
      });
    });
  });
});
