import type { IamAuthStats } from "@rds-iam/core";
import { iamConnection } from "@rds-iam/knex";
import { createIamAdapter } from "@rds-iam/prisma";
import { iamAuthOf, withIamAuth } from "@rds-iam/typeorm";
import knex from "knex";
import { DataSource, EntitySchema } from "typeorm";

/** What every ORM gets: the gateway to dial, the endpoint to sign for, TLS, the clock. */
export interface Target {
  readonly engine: "postgres" | "mysql";
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly database: string;
  readonly iamHost: string;
  readonly iamDefaultPort: number;
  readonly ca: string;
  readonly clock: () => number;
}

/** One ORM, connected with IAM authentication. */
export interface Contender {
  readonly name: string;
  /** Writes a row and reads the table back; resolves with the row count. */
  writeAndRead(body: string): Promise<number>;
  /** Closes every pooled connection so the next query opens new ones. */
  reconnect(): Promise<void>;
  stats(): IamAuthStats;
  close(): Promise<void>;
}

export async function knexContender(target: Target): Promise<Contender> {
  const connection = iamConnection({
    host: target.host,
    port: target.port,
    user: target.user,
    database: target.database,
    iamHost: target.iamHost,
    iamDefaultPort: target.iamDefaultPort,
    ssl: { ca: target.ca },
    clock: target.clock,
  });
  const db = knex({
    client: target.engine === "postgres" ? "pg" : "mysql2",
    connection,
    pool: { min: 0, max: 1 },
  });
  await db.schema.createTable("knex_notes", (table) => {
    table.increments("id");
    table.string("body").notNullable();
  });
  return {
    name: "knex",
    async writeAndRead(body) {
      await db("knex_notes").insert({ body });
      return (await db("knex_notes").select("id")).length;
    },
    async reconnect() {
      await db.destroy();
      db.initialize();
    },
    stats: () => connection.stats(),
    async close() {
      await db.destroy();
      connection.close();
    },
  };
}

interface Note {
  id: number;
  body: string;
}

const NoteSchema = new EntitySchema<Note>({
  name: "Note",
  tableName: "typeorm_notes",
  columns: {
    id: { type: Number, primary: true, generated: true },
    body: { type: String },
  },
});

export async function typeormContender(target: Target): Promise<Contender> {
  const options = withIamAuth({
    type: target.engine,
    host: target.host,
    port: target.port,
    username: target.user,
    database: target.database,
    ssl: { ca: target.ca },
    entities: [NoteSchema],
    synchronize: true,
    extra: target.engine === "postgres" ? { max: 1 } : { connectionLimit: 1 },
    iam: { iamHost: target.iamHost, iamDefaultPort: target.iamDefaultPort, clock: target.clock },
  });
  const dataSource = new DataSource(options);
  await dataSource.initialize();
  const notes = () => dataSource.getRepository(NoteSchema);
  return {
    name: "TypeORM",
    async writeAndRead(body) {
      await notes().save({ body });
      return notes().count();
    },
    async reconnect() {
      await dataSource.destroy();
      await dataSource.initialize();
    },
    stats: () => iamAuthOf(options).stats(),
    async close() {
      await dataSource.destroy();
    },
  };
}

export async function prismaContender(target: Target): Promise<Contender> {
  const common = {
    host: target.host,
    port: target.port,
    user: target.user,
    database: target.database,
    iamHost: target.iamHost,
    iamDefaultPort: target.iamDefaultPort,
    ssl: { ca: target.ca },
    clock: target.clock,
  };
  const adapter =
    target.engine === "postgres"
      ? createIamAdapter({ ...common, engine: "postgres", max: 1 })
      : createIamAdapter({ ...common, engine: "mysql", connectionLimit: 1 });
  const { PrismaClient } =
    target.engine === "postgres"
      ? await import("./generated/postgres/client.ts")
      : await import("./generated/mysql/client.ts");
  const prisma = new PrismaClient({ adapter });
  await prisma.$executeRawUnsafe(
    target.engine === "postgres"
      ? `CREATE TABLE "Note" (id serial PRIMARY KEY, source text NOT NULL, body text NOT NULL)`
      : "CREATE TABLE Note (id int AUTO_INCREMENT PRIMARY KEY, source varchar(191) NOT NULL, body varchar(191) NOT NULL)",
  );
  return {
    name: "Prisma",
    async writeAndRead(body) {
      await prisma.note.create({ data: { source: "prisma", body } });
      return prisma.note.count();
    },
    async reconnect() {
      await prisma.$disconnect();
    },
    stats: () => adapter.auth.stats(),
    async close() {
      await prisma.$disconnect();
    },
  };
}
