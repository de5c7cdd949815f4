import { randomBytes } from "node:crypto";
import mysql from "mysql2/promise";

/**
 * The real MySQL / MariaDB the gateway relays to. Defaults: 127.0.0.1:3306, user
 * `root` without a password; override with MYSQL_HOST, MYSQL_PORT, MYSQL_USER, MYSQL_PASSWORD.
 */
export const BACKEND = {
  host: process.env.MYSQL_HOST ?? "127.0.0.1",
  port: Number(process.env.MYSQL_PORT ?? 3306),
  user: process.env.MYSQL_USER ?? "root",
  password: process.env.MYSQL_PASSWORD ?? "",
};

/**
 * A throw-away user with a database of its own, standing for the IAM user. On RDS
 * it would be `IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS'`; here the gateway
 * checks the token and logs in to the backend with this password.
 */
export interface LocalUser {
  readonly user: string;
  readonly database: string;
  readonly password: string;
  drop(): Promise<void>;
}

async function asAdmin<T>(fn: (admin: mysql.Connection) => Promise<T>): Promise<T> {
  let admin: mysql.Connection;
  try {
    admin = await mysql.createConnection(BACKEND);
  } catch (error) {
    throw new Error(
      `Cannot reach MySQL/MariaDB at ${BACKEND.host}:${BACKEND.port} as ${BACKEND.user} (set MYSQL_HOST, MYSQL_PORT, MYSQL_USER, MYSQL_PASSWORD): ${(error as Error).message}`,
    );
  }
  try {
    return await fn(admin);
  } finally {
    await admin.end();
  }
}

export async function createLocalUser(): Promise<LocalUser> {
  const name = `mikro_orm_example_${randomBytes(3).toString("hex")}`;
  const password = randomBytes(12).toString("hex");
  await asAdmin(async (admin) => {
    await admin.query(`CREATE USER '${name}'@'%' IDENTIFIED BY '${password}'`);
    await admin.query(`CREATE DATABASE \`${name}\``);
    await admin.query(`GRANT ALL PRIVILEGES ON \`${name}\`.* TO '${name}'@'%'`);
  });
  return {
    user: name,
    database: name,
    password,
    drop: () =>
      asAdmin(async (admin) => {
        await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
        await admin.query(`DROP USER IF EXISTS '${name}'@'%'`);
      }),
  };
}
