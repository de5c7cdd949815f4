import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { createIamSql } from "@rds-iam/postgres";
import { eq, sql } from "drizzle-orm";
import { drizzle, type PostgresJsDatabase } from "drizzle-orm/postgres-js";
import { migrate } from "drizzle-orm/postgres-js/migrator";
import type postgres from "postgres";
import { todos } from "./schema";

/** Where the app connects, as it would in AWS (here: the gateway on 127.0.0.1). */
export interface Endpoint {
  /** Where the driver connects. In AWS, the RDS endpoint itself; here, the gateway. */
  readonly host: string;
  readonly port: number;
  /** The RDS endpoint the token is signed for (omit in AWS: it defaults to host). */
  readonly iamHost: string;
  readonly iamDefaultPort: number;
  readonly user: string;
  readonly database: string;
  /** The CA that signed the server certificate (omit in AWS: the RDS CA bundle is the default). */
  readonly ca: string;
  /** In AWS, omit: the AWS SDK's default provider chain finds the credentials. */
  readonly credentials: { accessKeyId: string; secretAccessKey: string };
}

/** The part an application writes: a postgres.js `sql` whose logins use IAM tokens, under Drizzle. */
export function openDatabase(endpoint: Endpoint): { db: PostgresJsDatabase; client: postgres.Sql } {
  const client = createIamSql({
    host: endpoint.host,
    port: endpoint.port,
    iamHost: endpoint.iamHost,
    iamDefaultPort: endpoint.iamDefaultPort,
    user: endpoint.user,
    database: endpoint.database,
    credentials: endpoint.credentials,
    ssl: { ca: endpoint.ca },
    connection: { application_name: "drizzle-postgres-js-example" },
    max: 5,
  });
  return { db: drizzle({ client }), client };
}

/** The migrations drizzle-kit generated from src/schema.ts. */
const MIGRATIONS = fileURLToPath(new URL("../drizzle", import.meta.url));

/** The tags of the migrations recorded in the database (Drizzle records their timestamps). */
async function appliedMigrations(db: PostgresJsDatabase): Promise<string[]> {
  const journal = JSON.parse(readFileSync(`${MIGRATIONS}/meta/_journal.json`, "utf8")) as {
    entries: { when: number; tag: string }[];
  };
  const rows = await db.execute<{ created_at: string }>(
    sql`select created_at from drizzle.__drizzle_migrations order by created_at`,
  );
  return rows.map(
    (row) => journal.entries.find((entry) => entry.when === Number(row.created_at))?.tag ?? "?",
  );
}

/** A few ordinary queries: the migrations, inserts in a transaction, a select. */
export async function work(db: PostgresJsDatabase): Promise<void> {
  await migrate(db, { migrationsFolder: MIGRATIONS });
  console.log(`migrations applied: ${(await appliedMigrations(db)).join(", ") || "none"}`);

  await db.transaction(async (tx) => {
    await tx.insert(todos).values([{ title: "read the README" }, { title: "run the example" }]);
    await tx.update(todos).set({ done: true }).where(eq(todos.title, "read the README"));
  });
  console.table(await db.select().from(todos).orderBy(todos.id));

  const rows = await db.execute<{ who: string; version: string }>(
    sql`select current_user as who, version() as version`,
  );
  const who = rows[0];
  console.log(`logged in as ${who?.who} (${String(who?.version).split(",")[0]})`);
}
