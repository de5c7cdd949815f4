import { iamAuthOf, iamConnection } from "@rds-iam/knex";
import knex from "knex";
import { bundleTarget } from "./target";

// A Lambda function with knex and @rds-iam/knex. Everything at module scope runs once
// per execution environment (init); the handler reuses it on every invocation.
const { ca, region, ...target } = bundleTarget();
// `engine` lets the token be asked for before knex first calls the function (init).
const connection = iamConnection({ ...target, engine: "postgres", iamRegion: region, ssl: { ca } });
// One connection per environment: an environment serves one invocation at a time.
const db = knex({ client: "pg", connection, pool: { min: 0, max: 1 } });

/** Warmed during init: the first invocation finds a token in the cache. */
export const firstToken: Promise<string> = iamAuthOf(connection).getToken();

export async function handler(): Promise<unknown> {
  const result = await db.raw("select 1 as one");
  return result.rows[0];
}
