// Drizzle ORM (postgres.js) + PostgreSQL with RDS IAM authentication, end to end,
// without an AWS account: a local @rds-iam/gateway plays RDS (it verifies each SigV4
// token the way RDS does) in front of the local PostgreSQL. Run: pnpm start
import { randomBytes } from "node:crypto";
import { startGateway } from "@rds-iam/gateway";
import { iamAuthOf } from "@rds-iam/postgres";
import { count } from "drizzle-orm";
import { type Endpoint, openDatabase, work } from "./app";
import { BACKEND, createLocalUser } from "./local-database";
import { todos } from "./schema";

const RDS_ENDPOINT = "mydb.cluster-abc123.us-east-1.rds.amazonaws.com";

// Made-up credentials that this gateway, and only it, accepts.
const credentials = {
  accessKeyId: `AKIDEXAMPLE${randomBytes(4).toString("hex").toUpperCase()}`,
  secretAccessKey: randomBytes(30).toString("base64"),
};

const local = await createLocalUser();
const gateway = await startGateway({
  engine: "postgres",
  endpoint: { hostname: RDS_ENDPOINT },
  credentials: [credentials],
  backend: { host: BACKEND.host, port: BACKEND.port },
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
    console.log(`token provider: ${JSON.stringify(iamAuthOf(app.client).stats())}`);
  } finally {
    // Ends the connections and stops the token provider's refreshes.
    await app.client.end();
  }

  // RDS rejects a token now and then (expired, signed by a revoked session): the new
  // connection is retried once with a fresh token, and the query still succeeds.
  const again = openDatabase(endpoint);
  try {
    gateway.faults.rejectNextLogins(1);
    const [row] = await again.db.select({ n: count() }).from(todos);
    // The first login reused the token the previous `sql` left in the process's cache
    // (same user, same credentials); the retry minted a fresh one.
    const { mints } = iamAuthOf(again.client).stats();
    console.log(
      `after a rejected login: ${row?.n} todos, ${mints} token minted (the retry's; the first login reused the earlier sql's)`,
    );
  } finally {
    await again.client.end();
  }

  const stats = gateway.stats();
  console.log(
    `gateway: ${stats.accepted} logins accepted, rejected ${JSON.stringify(stats.rejected)}`,
  );
} finally {
  await gateway.close();
  await local.drop();
}
