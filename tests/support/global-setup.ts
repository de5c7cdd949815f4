import mysql from "mysql2/promise";
import { MYSQL_BACKEND } from "./databases";

/**
 * MariaDB's default `max_connections` (151) is below what the suite's load tests open
 * at once (500 sessions) while other files run beside them. Test files used to raise
 * and restore it themselves, and their restores raced: one file lowered the limit
 * while another had hundreds of sessions open, and unrelated files got "Too many
 * connections". It is raised once here, before any file runs, and never lowered (a
 * restore would race the same way with a second test run on the machine).
 */
export const MYSQL_MAX_CONNECTIONS = 1200;

export default async function setup(): Promise<void> {
  let admin: mysql.Connection;
  try {
    admin = await mysql.createConnection({
      host: MYSQL_BACKEND.host,
      port: MYSQL_BACKEND.port,
      user: MYSQL_BACKEND.adminUser,
      password: MYSQL_BACKEND.adminPassword,
    });
  } catch {
    // Not fatal here, so that a run of unit tests alone needs no database; every
    // integration test that needs MariaDB fails loudly on its own (databases.ts).
    return;
  }
  try {
    await admin.query("set global max_connections = greatest(@@global.max_connections, ?)", [
      MYSQL_MAX_CONNECTIONS,
    ]);
  } finally {
    await admin.end();
  }
}
