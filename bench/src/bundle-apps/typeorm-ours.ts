import { iamAuthOf, withIamAuth } from "@rds-iam/typeorm";
import { DataSource } from "typeorm";
import { bundleTarget } from "./target";

// A Lambda function with TypeORM and @rds-iam/typeorm; the DataSource is created at
// init and initialized by the first invocation.
const { host, port, user, database, iamHost, iamDefaultPort, region, ca } = bundleTarget();
const source = new DataSource(
  withIamAuth({
    type: "postgres",
    host,
    port,
    username: user,
    database,
    ssl: { ca },
    iam: { iamHost, iamDefaultPort, iamRegion: region },
    extra: { max: 1 },
  }),
);

/** Warmed during init: the first invocation finds a token in the cache. */
export const firstToken: Promise<string> = iamAuthOf(source).getToken();

export async function handler(): Promise<unknown> {
  if (!source.isInitialized) await source.initialize();
  return source.query("select 1 as one");
}
