import { type IamKnexConnection, iamConnection } from "@rds-iam/knex";
import knex, { type Knex } from "knex";

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

/** The part an application writes: knex with an IAM connection, for "mysql2" or "mariadb". */
export function openDatabase(
  client: "mysql2" | "mariadb",
  endpoint: Endpoint,
): { db: Knex; connection: IamKnexConnection } {
  const connection = iamConnection({
    host: endpoint.host,
    port: endpoint.port,
    iamHost: endpoint.iamHost,
    iamDefaultPort: endpoint.iamDefaultPort,
    user: endpoint.user,
    database: endpoint.database,
    credentials: endpoint.credentials,
    ssl: { ca: endpoint.ca },
    timezone: "Z",
  });
  const db = knex({ client, connection, pool: { min: 0, max: 5 } });
  return { db, connection };
}

const migrations: Record<string, Knex.Migration> = {
  "001_create_todos": {
    up: (db) =>
      db.schema.createTable("todos", (table) => {
        table.increments("id");
        table.string("title").notNullable();
        table.string("client").notNullable();
        table.boolean("done").notNullable().defaultTo(false);
      }),
    down: (db) => db.schema.dropTable("todos"),
  },
};

/** Migrations from memory, so the example needs no migrations directory. */
export const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(migrations),
  getMigrationName: (name) => name,
  getMigration: async (name) => migrations[name] as Knex.Migration,
};

/** A few ordinary queries: a migration, inserts in a transaction, a select. */
export async function work(db: Knex, client: string): Promise<void> {
  const [, applied] = await db.migrate.latest({ migrationSource });
  console.log(`[${client}] migrations applied: ${applied.join(", ") || "none"}`);

  await db.transaction(async (trx) => {
    await trx("todos").insert([
      { title: "read the README", client },
      { title: "run the example", client },
    ]);
    await trx("todos").where({ title: "read the README", client }).update({ done: true });
  });
  const todos = await db("todos").select("id", "title", "client", "done").orderBy("id");
  console.table(todos);

  const who = await db.first(db.raw("current_user() as who, version() as version"));
  console.log(`[${client}] logged in as ${who.who} (${who.version})`);
}
