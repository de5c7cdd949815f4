import { randomBytes } from "node:crypto";
import mysql from "mysql2/promise";
import pg from "pg";
import type { Engine } from "./setup";

/** The machine's real databases, behind the gateway (same as tests/support/databases.ts). */
export const BACKENDS = {
  postgres: { host: "127.0.0.1", port: 5432, adminUser: "postgres", adminDatabase: "postgres" },
  mysql: { host: "127.0.0.1", port: 3306, adminUser: "root", adminPassword: "" },
} as const;

/** A throw-away database user owning a database of its own. */
export interface BenchDatabaseUser {
  readonly engine: Engine;
  readonly user: string;
  readonly database: string;
  /** What the gateway logs in to the backend with (MySQL; PostgreSQL trusts loopback). */
  readonly password: string;
  drop(): Promise<void>;
}

function unreachable(what: string, error: unknown): Error {
  return new Error(
    `${what} is not reachable (the benchmark needs PostgreSQL on 127.0.0.1:5432 and MariaDB/MySQL on 127.0.0.1:3306): ${(error as Error).message}`,
    { cause: error },
  );
}

function pgAdmin(): pg.Client {
  const backend = BACKENDS.postgres;
  return new pg.Client({
    host: backend.host,
    port: backend.port,
    user: backend.adminUser,
    database: backend.adminDatabase,
  });
}

function mysqlAdmin(): Promise<mysql.Connection> {
  const backend = BACKENDS.mysql;
  return mysql.createConnection({
    host: backend.host,
    port: backend.port,
    user: backend.adminUser,
    password: backend.adminPassword,
  });
}

export async function createBenchUser(engine: Engine): Promise<BenchDatabaseUser> {
  return engine === "postgres" ? createPostgresUser() : createMysqlUser();
}

async function createPostgresUser(): Promise<BenchDatabaseUser> {
  const name = `bench_${randomBytes(4).toString("hex")}`;
  const admin = pgAdmin();
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
      const cleanup = pgAdmin();
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

async function createMysqlUser(): Promise<BenchDatabaseUser> {
  const name = `bench_${randomBytes(4).toString("hex")}`;
  const password = randomBytes(12).toString("hex");
  let admin: mysql.Connection;
  try {
    admin = await mysqlAdmin();
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
      const cleanup = await mysqlAdmin();
      try {
        await cleanup.query(`DROP DATABASE IF EXISTS \`${name}\``);
        await cleanup.query(`DROP USER IF EXISTS '${name}'@'%'`);
      } finally {
        await cleanup.end();
      }
    },
  };
}

/** The backend's own version string, for the report. */
export async function serverVersion(engine: Engine): Promise<string> {
  if (engine === "postgres") {
    const admin = pgAdmin();
    await admin.connect();
    try {
      const result = await admin.query<{ server_version: string }>("SHOW server_version");
      return `PostgreSQL ${result.rows[0]?.server_version ?? "unknown"}`;
    } finally {
      await admin.end();
    }
  }
  const admin = await mysqlAdmin();
  try {
    const [rows] = await admin.query("SELECT VERSION() AS version");
    const version = (rows as Array<{ version: string }>)[0]?.version ?? "unknown";
    return version.toLowerCase().includes("mariadb") ? `MariaDB ${version}` : `MySQL ${version}`;
  } finally {
    await admin.end();
  }
}
