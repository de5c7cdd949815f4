// A typed knexfile, as users write one. It is typechecked with the workspace
// (`tsc -p tsconfig.json`) and loaded by knexfile.test.ts: knex's own types must
// accept iamConnection() as `connection`, with no casts.
import { iamConnection } from "@rds-iam/knex";
import type { Knex } from "knex";

const postgres: Knex.Config = {
  client: "pg",
  connection: iamConnection({
    host: "mydb.cluster-abc123.us-east-1.rds.amazonaws.com",
    user: "app",
    database: "app",
    // Driver options pass through to pg.
    application_name: "knexfile",
    statement_timeout: 30_000,
  }),
  pool: { min: 0, max: 10 },
  migrations: { tableName: "knex_migrations", directory: "./migrations" },
};

const config: { [environment: string]: Knex.Config } = {
  production: postgres,
  mysql: {
    client: "mysql2",
    connection: iamConnection({
      host: "mydb.cluster-abc123.eu-west-1.rds.amazonaws.com",
      port: 3306,
      user: "app",
      database: "app",
      timezone: "Z",
      charset: "utf8mb4",
      iamTokenExpiration: 600,
    }),
  },
  mariadb: {
    client: "mariadb",
    connection: iamConnection({
      host: "127.0.0.1",
      port: 13306,
      iamHost: "mydb.cluster-abc123.eu-west-1.rds.amazonaws.com",
      iamDefaultPort: 3306,
      user: "app",
      database: "app",
      ssl: { ca: "-----BEGIN CERTIFICATE-----\n...", rejectUnauthorized: true },
    }),
  },
};

export default config;
