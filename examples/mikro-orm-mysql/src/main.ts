// MikroORM 6 + MySQL/MariaDB with RDS IAM authentication, end to end, without an AWS
// account: a local @rds-iam/gateway plays RDS (it verifies each SigV4 token the way
// RDS does) in front of the local MariaDB. MySqlDriver (mysql2), then MariaDbDriver
// (the mariadb connector). Run: pnpm start
import { randomBytes } from "node:crypto";
import { MariaDbDriver } from "@mikro-orm/mariadb";
import { MySqlDriver } from "@mikro-orm/mysql";
import { startGateway } from "@rds-iam/gateway";
import { iamAuthOf } from "@rds-iam/mikro-orm";
import { type Endpoint, openOrm, TodoSchema, work } from "./app";
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
  for (const [label, driver] of [
    ["mysql2", MySqlDriver],
    ["mariadb", MariaDbDriver],
  ] as const) {
    const orm = await openOrm(driver, endpoint);
    const auth = iamAuthOf(orm);
    try {
      await work(orm, label);
      console.log(`[${label}] token provider: ${JSON.stringify(auth.stats())}`);

      // RDS rejects a token now and then (expired, signed by a revoked session). Close
      // the pool so the next query needs a new login, and have the gateway refuse it:
      // the cached token is dropped, the login is retried once with a fresh token, and
      // the query still succeeds. Tokens are shared in the process: the second ORM's
      // first login reused the first one's token, so only its retry minted.
      await orm.close();
      gateway.faults.rejectNextLogins(1);
      await orm.connect();
      const count = await orm.em.fork().count(TodoSchema);
      const { mints, invalidations } = auth.stats();
      console.log(
        `[${label}] after a rejected login: ${count} todos, ${mints} ${mints === 1 ? "token" : "tokens"} minted, ${invalidations} rejected token dropped`,
      );
    } finally {
      await orm.close();
    }
  }

  const stats = gateway.stats();
  console.log(
    `gateway: ${stats.accepted} logins accepted, rejected ${JSON.stringify(stats.rejected)}`,
  );
} finally {
  await gateway.close();
  await local.drop();
}
