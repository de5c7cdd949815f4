import { EntitySchema, MikroORM } from "@mikro-orm/core";
import type { MariaDbDriver } from "@mikro-orm/mariadb";
import { Migration, Migrator } from "@mikro-orm/migrations";
import type { MySqlDriver } from "@mikro-orm/mysql";
import { withIamAuth } from "@rds-iam/mikro-orm";

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

export interface TodoList {
  id: number;
  name: string;
}

export interface Todo {
  id: number;
  title: string;
  done: boolean;
  list: TodoList;
}

/** Entities as schemas, not decorators: no `experimentalDecorators` or metadata emit needed. */
export const TodoListSchema = new EntitySchema<TodoList>({
  name: "TodoList",
  tableName: "todo_lists",
  properties: {
    id: { type: "number", primary: true, autoincrement: true },
    name: { type: "string" },
  },
});

export const TodoSchema = new EntitySchema<Todo>({
  name: "Todo",
  tableName: "todos",
  properties: {
    id: { type: "number", primary: true, autoincrement: true },
    title: { type: "string" },
    done: { type: "boolean" },
    list: { kind: "m:1", entity: () => TodoListSchema, deleteRule: "cascade" },
  },
});

/** The schema, as a migration (MikroORM records it in its `mikro_orm_migrations` table). */
export class Migration20260101000000 extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      "create table todo_lists (id int unsigned auto_increment primary key, name varchar(255) not null)",
    );
    this.addSql(
      "create table todos (id int unsigned auto_increment primary key, title varchar(255) not null, done tinyint(1) not null, list_id int unsigned not null, constraint todos_list_id_foreign foreign key (list_id) references todo_lists (id) on delete cascade)",
    );
  }

  override async down(): Promise<void> {
    this.addSql("drop table todos");
    this.addSql("drop table todo_lists");
  }
}

/**
 * The part an application writes: MikroORM with IAM authentication. `driver` is
 * MySqlDriver (mysql2 underneath) or MariaDbDriver (the mariadb connector).
 */
export function openOrm(
  driver: typeof MySqlDriver | typeof MariaDbDriver,
  endpoint: Endpoint,
): Promise<MikroORM<MySqlDriver | MariaDbDriver>> {
  return MikroORM.init<MySqlDriver | MariaDbDriver>(
    withIamAuth({
      driver,
      host: endpoint.host,
      port: endpoint.port,
      user: endpoint.user,
      dbName: endpoint.database,
      entities: [TodoListSchema, TodoSchema],
      extensions: [Migrator],
      // MySQL commits DDL implicitly, so the migration runs outside a transaction.
      migrations: {
        migrationsList: [{ name: "Migration20260101000000", class: Migration20260101000000 }],
        transactional: false,
      },
      pool: { min: 0, max: 5 },
      driverOptions: { connection: { ssl: { ca: endpoint.ca } } },
      iam: {
        iamHost: endpoint.iamHost,
        iamDefaultPort: endpoint.iamDefaultPort,
        credentials: endpoint.credentials,
      },
    }),
  );
}

/** A few ordinary queries: the migration, inserts in a transaction, a query with a relation. */
export async function work(
  orm: MikroORM<MySqlDriver | MariaDbDriver>,
  label: string,
): Promise<void> {
  const applied = await orm.migrator.up();
  console.log(`[${label}] migrations applied: ${applied.map((m) => m.name).join(", ") || "none"}`);

  await orm.em.fork().transactional(async (em) => {
    const list = em.create(TodoListSchema, { name: `${label} chores` });
    em.create(TodoSchema, { title: "read the README", done: true, list });
    em.create(TodoSchema, { title: "run the example", done: false, list });
  });
  const todos = await orm.em
    .fork()
    .find(TodoSchema, {}, { populate: ["list"], orderBy: { id: "asc" } });
  console.table(
    todos.map(({ id, title, done, list }) => ({ id, title, done: Boolean(done), list: list.name })),
  );

  const [who] = await orm.em
    .getConnection()
    .execute("select current_user() as who, version() as version");
  console.log(`[${label}] logged in as ${who?.who} (${who?.version})`);
}
