import { iamAuthOf, withIamAuth } from "@rds-iam/sequelize";
import { DataTypes, type Model, type ModelStatic, QueryTypes, type Sequelize } from "sequelize";

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

/** The part an application writes: Sequelize options with IAM authentication. */
export function sequelizeOptions(endpoint: Endpoint) {
  return withIamAuth({
    dialect: "postgres",
    host: endpoint.host,
    port: endpoint.port,
    username: endpoint.user,
    database: endpoint.database,
    dialectOptions: { ssl: { ca: endpoint.ca }, application_name: "sequelize-postgres-example" },
    pool: { max: 5 },
    logging: false,
    iam: {
      iamHost: endpoint.iamHost,
      iamDefaultPort: endpoint.iamDefaultPort,
      credentials: endpoint.credentials,
    },
  });
}

export { iamAuthOf };

interface TodoFields {
  id?: number;
  title: string;
  done?: boolean;
}

/** The model, defined on a Sequelize instance. */
export function defineTodo(sequelize: Sequelize): ModelStatic<Model<TodoFields>> {
  return sequelize.define<Model<TodoFields>>(
    "Todo",
    {
      id: { type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true },
      title: { type: DataTypes.STRING(255), allowNull: false },
      done: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
    },
    { tableName: "todos", timestamps: false },
  );
}

/** A few ordinary queries: a migration, inserts in a transaction, a model query. */
export async function work(sequelize: Sequelize): Promise<void> {
  // The schema as a migration would create it (sequelize-cli runs the same call).
  await sequelize.getQueryInterface().createTable("todos", {
    id: { type: DataTypes.INTEGER, autoIncrement: true, primaryKey: true },
    title: { type: DataTypes.STRING(255), allowNull: false },
    done: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
  });
  console.log("table created: todos");
  const Todo = defineTodo(sequelize);
  await sequelize.transaction(async (transaction) => {
    await Todo.bulkCreate([{ title: "read the README" }, { title: "run the example" }], {
      transaction,
    });
    await Todo.update({ done: true }, { where: { title: "read the README" }, transaction });
  });
  const todos = await Todo.findAll({ order: [["id", "ASC"]], raw: true });
  console.table(todos);
  const [who] = await sequelize.query<{ who: string; version: string }>(
    "select current_user as who, version() as version",
    { type: QueryTypes.SELECT },
  );
  console.log(`logged in as ${who?.who} (${String(who?.version).split(",")[0]})`);
}
