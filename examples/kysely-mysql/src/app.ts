import { promises as fs } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createIamPool } from "@rds-iam/mysql2";
import { FileMigrationProvider, type Generated, Kysely, Migrator, MysqlDialect, sql } from "kysely";

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

/** The tables as Kysely sees them. */
export interface Database {
  todos: {
    id: Generated<number>;
    title: string;
    /** MySQL's BOOLEAN is TINYINT(1): mysql2 returns 0 or 1. */
    done: Generated<number>;
  };
}

export type MysqlPool = ReturnType<typeof createIamPool>;

/** The part an application writes: a mysql2 pool whose logins use IAM tokens, under Kysely. */
export function openDatabase(endpoint: Endpoint): { db: Kysely<Database>; pool: MysqlPool } {
  const pool = createIamPool({
    host: endpoint.host,
    port: endpoint.port,
    iamHost: endpoint.iamHost,
    iamDefaultPort: endpoint.iamDefaultPort,
    user: endpoint.user,
    database: endpoint.database,
    credentials: endpoint.credentials,
    ssl: { ca: endpoint.ca },
    connectionLimit: 5,
  });
  return { db: new Kysely<Database>({ dialect: new MysqlDialect({ pool }) }), pool };
}

/** Kysely's migrator, reading the files in src/migrations (tsx loads them as TypeScript). */
function migrator(db: Kysely<Database>): Migrator {
  return new Migrator({
    db,
    provider: new FileMigrationProvider({
      fs,
      path,
      migrationFolder: fileURLToPath(new URL("./migrations", import.meta.url)),
    }),
  });
}

/** A few ordinary queries: the migrations, inserts in a transaction, a select. */
export async function work(db: Kysely<Database>): Promise<void> {
  const { error, results = [] } = await migrator(db).migrateToLatest();
  if (error) throw error;
  const applied = results.filter((r) => r.status === "Success").map((r) => r.migrationName);
  console.log(`migrations applied: ${applied.join(", ") || "none"}`);

  await db.transaction().execute(async (trx) => {
    await trx
      .insertInto("todos")
      .values([{ title: "read the README" }, { title: "run the example" }])
      .execute();
    await trx
      .updateTable("todos")
      .set({ done: 1 })
      .where("title", "=", "read the README")
      .execute();
  });
  console.table(await db.selectFrom("todos").selectAll().orderBy("id").execute());

  const { rows } = await sql<{
    who: string;
    version: string;
  }>`select current_user() as who, version() as version`.execute(db);
  console.log(`logged in as ${rows[0]?.who} (${rows[0]?.version})`);
}
