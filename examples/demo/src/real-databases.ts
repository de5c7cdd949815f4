import { randomBytes } from "node:crypto";
import mysql from "mysql2/promise";
import pg from "pg";

/**
 * A database user standing for the IAM user, on a real server named by an admin URL
 * (`DEMO_POSTGRES_URL`, `DEMO_MYSQL_URL`). The demo drops it when it ends.
 */
export interface RealDatabase {
  readonly engine: "postgres" | "mysql";
  /** Where the gateway relays to. */
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly database: string;
  /** The backend password the gateway logs in with (MySQL). */
  readonly password: string | undefined;
  drop(): Promise<void>;
}

const name = () => `rds_iam_demo_${randomBytes(3).toString("hex")}`;

export async function createPostgresDatabase(adminUrl: string): Promise<RealDatabase> {
  const url = new URL(adminUrl);
  const user = name();
  const admin = async (fn: (client: pg.Client) => Promise<void>) => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      await fn(client);
    } finally {
      await client.end();
    }
  };
  await admin(async (client) => {
    await client.query(`CREATE ROLE "${user}" LOGIN`);
    await client.query(`CREATE DATABASE "${user}" OWNER "${user}"`);
  });
  return {
    engine: "postgres",
    host: url.hostname,
    port: Number(url.port || 5432),
    user,
    database: user,
    password: undefined,
    drop: () =>
      admin(async (client) => {
        await client.query(`DROP DATABASE IF EXISTS "${user}" WITH (FORCE)`);
        await client.query(`DROP ROLE IF EXISTS "${user}"`);
      }),
  };
}

export async function createMysqlDatabase(adminUrl: string): Promise<RealDatabase> {
  const url = new URL(adminUrl);
  const user = name();
  const password = randomBytes(12).toString("hex");
  const admin = async (fn: (connection: mysql.Connection) => Promise<void>) => {
    const connection = await mysql.createConnection(adminUrl);
    try {
      await fn(connection);
    } finally {
      await connection.end();
    }
  };
  await admin(async (connection) => {
    await connection.query(`CREATE USER '${user}'@'%' IDENTIFIED BY '${password}'`);
    await connection.query(`CREATE DATABASE \`${user}\``);
    await connection.query(`GRANT ALL PRIVILEGES ON \`${user}\`.* TO '${user}'@'%'`);
  });
  return {
    engine: "mysql",
    host: url.hostname,
    port: Number(url.port || 3306),
    user,
    database: user,
    password,
    drop: () =>
      admin(async (connection) => {
        await connection.query(`DROP DATABASE IF EXISTS \`${user}\``);
        await connection.query(`DROP USER IF EXISTS '${user}'@'%'`);
      }),
  };
}
