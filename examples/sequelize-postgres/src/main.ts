// Sequelize 6 + PostgreSQL with RDS IAM authentication, end to end, without an AWS
// account: a local @rds-iam/gateway plays RDS (it verifies each SigV4 token the way RDS
// does) in front of the local PostgreSQL. Run: pnpm start
import { randomBytes } from "node:crypto";
import { startGateway } from "@rds-iam/gateway";
import { Sequelize } from "sequelize";
import { defineTodo, type Endpoint, iamAuthOf, sequelizeOptions, work } from "./app";
import { BACKEND, createLocalUser } from "./local-database";

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
  const options = sequelizeOptions(endpoint);
  const auth = iamAuthOf(options);
  const sequelize = new Sequelize(options);
  try {
    await work(sequelize);
    console.log(`token provider: ${JSON.stringify(auth.stats())}`);
  } finally {
    await sequelize.close();
  }

  // RDS rejects a token now and then (expired, signed by a revoked session). A second
  // Sequelize from the same options opens a new connection; the gateway refuses its
  // login once: the cached token is dropped, the login is retried once with a fresh
  // token, and the query still succeeds.
  gateway.faults.rejectNextLogins(1);
  const again = new Sequelize(options);
  try {
    const count = await defineTodo(again).count();
    const { mints } = auth.stats();
    console.log(`after a rejected login: ${count} todos, ${mints} tokens minted (1 + 1 retry)`);
  } finally {
    await again.close();
    auth.close();
  }

  const stats = gateway.stats();
  console.log(
    `gateway: ${stats.accepted} logins accepted, rejected ${JSON.stringify(stats.rejected)}`,
  );
} finally {
  await gateway.close();
  await local.drop();
}
