import { iamAuthOf, withIamAuth } from "@rds-iam/typeorm";
import {
  DataSource,
  EntitySchema,
  type MigrationInterface,
  type QueryRunner,
  Table,
  TableForeignKey,
} from "typeorm";

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
  todos?: Todo[];
}

export interface Todo {
  id: number;
  title: string;
  done: boolean;
  list?: TodoList;
}

/** Entities as schemas, not decorators: no `experimentalDecorators` or metadata emit needed. */
export const TodoListEntity = new EntitySchema<TodoList>({
  name: "TodoList",
  tableName: "todo_lists",
  columns: {
    id: { type: Number, primary: true, generated: "increment" },
    name: { type: String },
  },
  relations: {
    todos: { type: "one-to-many", target: "Todo", inverseSide: "list" },
  },
});

export const TodoEntity = new EntitySchema<Todo>({
  name: "Todo",
  tableName: "todos",
  columns: {
    id: { type: Number, primary: true, generated: "increment" },
    title: { type: String },
    done: { type: Boolean, default: false },
  },
  relations: {
    list: {
      type: "many-to-one",
      target: "TodoList",
      inverseSide: "todos",
      joinColumn: { name: "list_id" },
      nullable: false,
      onDelete: "CASCADE",
    },
  },
});

/** The schema, as a migration (TypeORM records it in its `migrations` table). */
export class CreateTodos1700000000000 implements MigrationInterface {
  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: "todo_lists",
        columns: [
          {
            name: "id",
            type: "int",
            isPrimary: true,
            isGenerated: true,
            generationStrategy: "increment",
          },
          { name: "name", type: "varchar", length: "255" },
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: "todos",
        columns: [
          {
            name: "id",
            type: "int",
            isPrimary: true,
            isGenerated: true,
            generationStrategy: "increment",
          },
          { name: "title", type: "varchar", length: "255" },
          { name: "done", type: "boolean", default: false },
          { name: "list_id", type: "int" },
        ],
      }),
    );
    await queryRunner.createForeignKey(
      "todos",
      new TableForeignKey({
        columnNames: ["list_id"],
        referencedTableName: "todo_lists",
        referencedColumnNames: ["id"],
        onDelete: "CASCADE",
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable("todos", true, true);
    await queryRunner.dropTable("todo_lists");
  }
}

/** The part an application writes: a TypeORM DataSource with IAM authentication. */
export function openDatabase(endpoint: Endpoint): {
  dataSource: DataSource;
  auth: ReturnType<typeof iamAuthOf>;
} {
  const options = withIamAuth({
    type: "mysql",
    host: endpoint.host,
    port: endpoint.port,
    username: endpoint.user,
    database: endpoint.database,
    ssl: { ca: endpoint.ca },
    timezone: "Z",
    entities: [TodoListEntity, TodoEntity],
    migrations: [CreateTodos1700000000000],
    extra: { connectionLimit: 5 },
    iam: {
      iamHost: endpoint.iamHost,
      iamDefaultPort: endpoint.iamDefaultPort,
      credentials: endpoint.credentials,
    },
  });
  return { dataSource: new DataSource(options), auth: iamAuthOf(options) };
}

/** A few ordinary queries: a migration, inserts in a transaction, a repository query. */
export async function work(dataSource: DataSource): Promise<void> {
  const applied = await dataSource.runMigrations();
  console.log(`migrations applied: ${applied.map((m) => m.name).join(", ") || "none"}`);

  await dataSource.transaction(async (manager) => {
    const list = await manager.save(TodoListEntity, { name: "chores" });
    await manager.save(TodoEntity, [
      { title: "read the README", list },
      { title: "run the example", list },
    ]);
    await manager.update(TodoEntity, { title: "read the README" }, { done: true });
  });
  const todos = await dataSource
    .getRepository(TodoEntity)
    .find({ relations: { list: true }, order: { id: "ASC" } });
  console.table(todos.map(({ id, title, done, list }) => ({ id, title, done, list: list?.name })));

  const [who] = await dataSource.query("select current_user() as who, version() as version");
  console.log(`logged in as ${who.who} (${who.version})`);
}
