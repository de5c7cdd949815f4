import { randomBytes } from "node:crypto";
import pg from "pg";

/**
 * The real PostgreSQL the gateway relays to. Defaults: 127.0.0.1:5432, user
 * `postgres`, trust authentication; override with PGHOST, PGPORT, PGUSER, PGPASSWORD.
 */
export const BACKEND = {
  host: process.env.PGHOST ?? "127.0.0.1",
  port: Number(process.env.PGPORT ?? 5432),
  user: process.env.PGUSER ?? "postgres",
  password: process.env.PGPASSWORD,
  database: "postgres",
};

/** A throw-away login role owning a database of its own, standing for the IAM user. */
export interface LocalUser {
  readonly user: string;
  readonly database: string;
  drop(): Promise<void>;
}

async function asAdmin<T>(fn: (admin: pg.Client) => Promise<T>): Promise<T> {
  const admin = new pg.Client(BACKEND);
  try {
    await admin.connect();
  } catch (error) {
    throw new Error(
      `Cannot reach PostgreSQL at ${BACKEND.host}:${BACKEND.port} as ${BACKEND.user} (set PGHOST, PGPORT, PGUSER, PGPASSWORD): ${(error as Error).message}`,
    );
  }
  try {
    return await fn(admin);
  } finally {
    await admin.end();
  }
}

export async function createLocalUser(): Promise<LocalUser> {
  const name = `sequelize_example_${randomBytes(3).toString("hex")}`;
  await asAdmin(async (admin) => {
    await admin.query(`CREATE ROLE "${name}" LOGIN`);
    await admin.query(`CREATE DATABASE "${name}" OWNER "${name}"`);
  });
  return {
    user: name,
    database: name,
    drop: () =>
      asAdmin(async (admin) => {
        await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
        await admin.query(`DROP ROLE IF EXISTS "${name}"`);
      }),
  };
}
