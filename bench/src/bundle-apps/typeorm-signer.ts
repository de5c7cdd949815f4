import { Signer } from "@aws-sdk/rds-signer";
import pg from "pg";
import { DataSource } from "typeorm";
import { bundleTarget } from "./target";

// The same Lambda function with @aws-sdk/rds-signer by hand: pg calls the password
// function for each new connection. TypeORM 1.x loads pg with require(name), which no
// bundler follows, so a bundled app hands it the module (driver).
const { host, port, user, database, iamHost, iamDefaultPort, region, ca } = bundleTarget();
const signer = new Signer({ hostname: iamHost, port: iamDefaultPort, username: user, region });
const source = new DataSource({
  type: "postgres",
  driver: pg,
  host,
  port,
  username: user,
  database,
  ssl: { ca },
  password: () => signer.getAuthToken(),
  extra: { max: 1 },
});

/** The first token, asked for during init (the Signer caches nothing). */
export const firstToken: Promise<string> = signer.getAuthToken();

export async function handler(): Promise<unknown> {
  if (!source.isInitialized) await source.initialize();
  return source.query("select 1 as one");
}
