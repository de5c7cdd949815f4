// Kysely (MysqlDialect) + MySQL/MariaDB with RDS IAM authentication, end to end,
// without an AWS account: a local @rds-iam/gateway plays RDS (it verifies each SigV4
// token the way RDS does) in front of the local MariaDB. Run: pnpm start
import { randomBytes } from "node:crypto";
import { startGateway } from "@rds-iam/gateway";
import { iamAuthOf } from "@rds-iam/mysql2";
import { type Endpoint, openDatabase, work } from "./app";
import { BACKEND, createLocalUser } from "./local-database";

const RDS_ENDPOINT = "mydb.cluster-abc123.us-east-1.rds.amazonaws.com";

// Made-up credentials that this gateway, and only it, accepts.
const credentials = {
  accessKeyId: `AKIDEXAMPLE${randomBytes(4).toString("hex").toUpperCase()}`,
  secretAccessKey: randomBytes(30).toString("base64"),
};

const local = await createLocalUser();
const gateway = await startGateway({
  engine: "mysql",
  endpoint: { hostname: RDS_ENDPOINT },
  credentials: [credentials],
  backend: {
    host: BACKEND.host,
    port: BACKEND.port,
    password: (user) => (user === local.user ? local.password : undefined),
  },
}).catch(async (error: unknown) => {
  await local.drop();
  throw error;
});
console.log(`gateway for ${RDS_ENDPOINT} listening on ${gateway.host}:${gateway.port}`);

const endpoint: Endpoint = {
  host: gateway.host,
  port: gateway.port,
  iamHost: gateway.endpoint.hostname,
  iamDefaultPort: gateway.endpoint.port,
  user: local.user,
  database: local.database,
  ca: gateway.caCertificate,
  credentials,
};

try {
  const app = openDatabase(endpoint);
  try {
    await work(app.db);
    console.log(`token provider: ${JSON.stringify(iamAuthOf(app.pool).stats())}`);
  } finally {
    // Ends the pool's connections and stops its token provider's refreshes.
    await app.db.destroy();
  }

  // RDS rejects a token now and then (expired, signed by a revoked session): the new
  // connection is retried once with a fresh token, and the query still succeeds.
  const again = openDatabase(endpoint);
  try {
    gateway.faults.rejectNextLogins(1);
    const row = await again.db
      .selectFrom("todos")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .executeTakeFirstOrThrow();
    // The first login reused the token the previous pool left in the process's cache
    // (same user, same credentials); the retry minted a fresh one.
    const { mints } = iamAuthOf(again.pool).stats();
    console.log(
      `after a rejected login: ${row.n} todos, ${mints} token minted (the retry's; the first login reused the earlier pool's)`,
    );
  } finally {
    await again.db.destroy();
  }

  const stats = gateway.stats();
  console.log(
    `gateway: ${stats.accepted} logins accepted, rejected ${JSON.stringify(stats.rejected)}`,
  );
} finally {
  await gateway.close();
  await local.drop();
}
