import { Signer } from "@aws-sdk/rds-signer";
import knex from "knex";
import { bundleTarget } from "./target";

// The same Lambda function with @aws-sdk/rds-signer by hand: a token per new connection.
const { host, port, user, database, iamHost, iamDefaultPort, region, ca } = bundleTarget();
const signer = new Signer({ hostname: iamHost, port: iamDefaultPort, username: user, region });
const db = knex({
  client: "pg",
  connection: async () => ({
    host,
    port,
    user,
    database,
    ssl: { ca },
    password: await signer.getAuthToken(),
  }),
  pool: { min: 0, max: 1 },
});

/** The first token, asked for during init (the Signer caches nothing). */
export const firstToken: Promise<string> = signer.getAuthToken();

export async function handler(): Promise<unknown> {
  const result = await db.raw("select 1 as one");
  return result.rows[0];
}
