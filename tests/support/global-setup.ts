import mysql from "mysql2/promise";
import { MYSQL_BACKEND } from "./databases";

/**
 * MariaDB's default `max_connections` (151) is below what the suite's load tests open
 * at once (500 sessions) while other files run beside them. Test files used to raise
 * and restore it themselves, and their restores raced: one file lowered the limit
 * while another had hundreds of sessions open, and unrelated files got "Too many
 * connections". The limit is raised once here for the whole run and restored after.
 */
export const MYSQL_MAX_CONNECTIONS = 1200;

export default async function setup(): Promise<() => Promise<void>> {
  let admin: mysql.Connection;
  try {
    admin = await mysql.createConnection({
      host: MYSQL_BACKEND.host,
      port: MYSQL_BACKEND.port,
      user: MYSQL_BACKEND.adminUser,
      password: MYSQL_BACKEND.adminPassword,
    });
  } catch (error) {
    // Integration tests fail loudly, never skip, when a database is missing.
    throw new Error(
      `MariaDB/MySQL is not reachable on ${MYSQL_BACKEND.host}:${MYSQL_BACKEND.port}; start it (see README): ${(error as Error).message}`,
      { cause: error },
    );
  }
  const [[row]] = await admin.query<mysql.RowDataPacket[]>("select @@global.max_connections as n");
  const saved = Number(row?.n);
  await admin.query("set global max_connections = greatest(@@global.max_connections, ?)", [
    MYSQL_MAX_CONNECTIONS,
  ]);
  await admin.end();
  return async () => {
    const cleanup = await mysql.createConnection({
      host: MYSQL_BACKEND.host,
      port: MYSQL_BACKEND.port,
      user: MYSQL_BACKEND.adminUser,
      password: MYSQL_BACKEND.adminPassword,
    });
    try {
      await cleanup.query("set global max_connections = ?", [saved]);
    } finally {
      await cleanup.end();
    }
  };
}
