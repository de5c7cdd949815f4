import { randomBytes } from "node:crypto";
import mysql from "mysql2/promise";
import pg from "pg";

/** The machine's real databases, as the gateway's backends. */
export const POSTGRES_BACKEND = {
  host: "127.0.0.1",
  port: 5432,
  adminUser: "postgres",
  adminDatabase: "postgres",
} as const;
export const MYSQL_BACKEND = {
  host: "127.0.0.1",
  port: 3306,
  adminUser: "root",
  adminPassword: "",
} as const;

/** A throw-away database user with a database of its own on a real backend. */
export interface DatabaseUser {
  readonly engine: "postgres" | "mysql";
  readonly user: string;
  readonly database: string;
  /** The backend password the gateway logs in with (MySQL; PostgreSQL trusts loopback). */
  readonly password: string;
  drop(): Promise<void>;
}

function unreachable(what: string, error: unknown): Error {
  // Integration tests must fail loudly, never skip, when a database is missing.
  return new Error(
    `${what} is not reachable; start it (see README: PostgreSQL on 127.0.0.1:5432, MariaDB on 127.0.0.1:3306): ${(error as Error).message}`,
    { cause: error },
  );
}

/** Creates a PostgreSQL role owning a fresh database. */
export async function createPostgresUser(prefix = "iam"): Promise<DatabaseUser> {
  const name = `${prefix}_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({
    host: POSTGRES_BACKEND.host,
    port: POSTGRES_BACKEND.port,
    user: POSTGRES_BACKEND.adminUser,
    database: POSTGRES_BACKEND.adminDatabase,
  });
  try {
    await admin.connect();
  } catch (error) {
    throw unreachable("PostgreSQL", error);
  }
  try {
    await admin.query(`CREATE ROLE "${name}" LOGIN`);
    await admin.query(`CREATE DATABASE "${name}" OWNER "${name}"`);
  } finally {
    await admin.end();
  }
  return {
    engine: "postgres",
    user: name,
    database: name,
    password: "",
    async drop() {
      const cleanup = new pg.Client({
        host: POSTGRES_BACKEND.host,
        port: POSTGRES_BACKEND.port,
        user: POSTGRES_BACKEND.adminUser,
        database: POSTGRES_BACKEND.adminDatabase,
      });
      await cleanup.connect();
      try {
        await cleanup.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
        await cleanup.query(`DROP ROLE IF EXISTS "${name}"`);
      } finally {
        await cleanup.end();
      }
    },
  };
}

/** Creates a MariaDB/MySQL user (password-authenticated on the backend) with its own database. */
export async function createMysqlUser(prefix = "iam"): Promise<DatabaseUser> {
  const name = `${prefix}_${randomBytes(4).toString("hex")}`;
  const password = randomBytes(12).toString("hex");
  let admin: mysql.Connection;
  try {
    admin = await mysql.createConnection({
      host: MYSQL_BACKEND.host,
      port: MYSQL_BACKEND.port,
      user: MYSQL_BACKEND.adminUser,
      password: MYSQL_BACKEND.adminPassword,
    });
  } catch (error) {
    throw unreachable("MariaDB/MySQL", error);
  }
  try {
    await admin.query(`CREATE USER '${name}'@'%' IDENTIFIED BY '${password}'`);
    await admin.query(`CREATE DATABASE \`${name}\``);
    await admin.query(`GRANT ALL PRIVILEGES ON \`${name}\`.* TO '${name}'@'%'`);
  } finally {
    await admin.end();
  }
  return {
    engine: "mysql",
    user: name,
    database: name,
    password,
    async drop() {
      const cleanup = await mysql.createConnection({
        host: MYSQL_BACKEND.host,
        port: MYSQL_BACKEND.port,
        user: MYSQL_BACKEND.adminUser,
        password: MYSQL_BACKEND.adminPassword,
      });
      try {
        await cleanup.query(`DROP DATABASE IF EXISTS \`${name}\``);
        await cleanup.query(`DROP USER IF EXISTS '${name}'@'%'`);
      } finally {
        await cleanup.end();
      }
    },
  };
}
