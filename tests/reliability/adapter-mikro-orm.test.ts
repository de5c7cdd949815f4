import { MikroORM } from "@mikro-orm/core";
import { MariaDbDriver } from "@mikro-orm/mariadb";
import { MySqlDriver } from "@mikro-orm/mysql";
import { PostgreSqlDriver } from "@mikro-orm/postgresql";
import { iamAuthOf, withIamAuth } from "@rds-iam/mikro-orm";
import { afterAll, describe, it } from "vitest";
import { isolatedAwsEnv, withEnv } from "../support/aws-env";
import { assertNoLeaks, trackTokens } from "../support/secret-scan";
import { describeAdapterReliability, type PoolUnderTest } from "./support/adapter-suite";
import {
  type BadInputCase,
  expectBadInput,
  SECRET_CREDENTIALS,
  TOKEN_LIKE,
} from "./support/bad-input";
import { tick } from "./support/simulation";

type Driver = typeof PostgreSqlDriver | typeof MySqlDriver | typeof MariaDbDriver;

/** The knex client under MikroORM's SQL connection, reduced to what these tests drive. */
interface KnexClientLike {
  acquireConnection(): Promise<object>;
  releaseConnection(connection: object): Promise<void>;
  pool?: { numPendingCreates(): number };
}

async function openMikroOrm(
  driver: Driver,
  options: Record<string, unknown>,
  size: number,
): Promise<PoolUnderTest> {
  const { host, port, user, ssl, database, ...iam } = options;
  // Connections marked here fail knex's validation on their next acquisition, so the
  // pool destroys them and opens new ones: a recycle without waiting for idle timers.
  const retired = new WeakSet<object>();
  const config = withIamAuth({
    driver,
    host: host as string,
    port: port as number,
    user: user as string,
    dbName: database as string,
    entities: [],
    discovery: { warnWhenNoEntities: false },
    pool: { min: 0, max: size },
    driverOptions: {
      connection: { ssl },
      pool: { validate: (connection: object) => !retired.has(connection) },
    },
    // Failed logins are expected in the rejection tests; MikroORM would log each.
    logger: () => {},
    iam,
  });
  const auth = trackTokens(iamAuthOf(config));
  const orm = await MikroORM.init(config as Parameters<typeof MikroORM.init>[0]);
  const connection = orm.em.getConnection();
  const client = () =>
    (connection as unknown as { getKnex(): { client: KnexClientLike } }).getKnex().client;
  const query = async (n: number) => {
    const [row] = await connection.execute("select ? as n", [n]);
    if (Number(row?.n) !== n) throw new Error(`wrong answer for ${n}`);
  };
  try {
    await query(0);
  } catch (error) {
    await orm.close(true);
    throw error;
  }
  return {
    query,
    async recycle() {
      const raw = await client().acquireConnection();
      retired.add(raw);
      await client().releaseConnection(raw);
    },
    async settle() {
      while ((client().pool?.numPendingCreates() ?? 0) > 0) await tick(1);
    },
    stats: () => auth.stats(),
    async close() {
      await orm.close(true);
      auth.close();
    },
  };
}

describeAdapterReliability({
  name: "MikroORM PostgreSqlDriver",
  engine: "postgres",
  open: (options, size) => openMikroOrm(PostgreSqlDriver, options, size),
});
describeAdapterReliability({
  name: "MikroORM MySqlDriver",
  engine: "mysql",
  open: (options, size) => openMikroOrm(MySqlDriver, options, size),
});
describeAdapterReliability({
  name: "MikroORM MariaDbDriver",
  engine: "mysql",
  open: (options, size) => openMikroOrm(MariaDbDriver, options, size),
});

/** Stands for a driver of another database (@mikro-orm/sqlite needs a native build). */
class SqliteDriver {}

const HOST = "mydb.cluster-abc123.us-east-1.rds.amazonaws.com";
const BASE = {
  driver: PostgreSqlDriver,
  host: HOST,
  user: "app",
  dbName: "app",
  iam: { credentials: SECRET_CREDENTIALS },
};
// biome-ignore lint/suspicious/noExplicitAny: bad input on purpose.
type Loose = any;
const make = (options: Record<string, unknown>) => withIamAuth(options as Loose);

const CASES: readonly BadInputCase[] = [
  {
    name: "MikroORM: options not an object",
    run: () => make("postgres://x" as Loose),
    code: "INVALID_OPTION",
    option: "options",
  },
  {
    name: "MikroORM: no driver",
    run: () => make({ ...BASE, driver: undefined }),
    code: "MISSING_OPTION",
    option: "driver",
  },
  {
    name: "MikroORM: a driver name instead of the class",
    run: () => make({ ...BASE, driver: "postgresql" }),
    code: "INVALID_OPTION",
    option: "driver",
  },
  {
    name: "MikroORM: a driver for another database",
    run: () => make({ ...BASE, driver: SqliteDriver }),
    code: "INVALID_OPTION",
    option: "driver",
  },
  {
    name: "MikroORM: missing user",
    run: () => make({ ...BASE, user: undefined }),
    code: "MISSING_OPTION",
    option: "user",
  },
  {
    name: "MikroORM: a static password",
    run: () => make({ ...BASE, password: TOKEN_LIKE }),
    code: "CONFLICTING_OPTIONS",
    option: "password",
  },
  {
    name: "MikroORM: clientUrl",
    run: () =>
      make({
        ...BASE,
        clientUrl: `postgresql://app:${encodeURIComponent(TOKEN_LIKE)}@${HOST}/app`,
      }),
    code: "CONFLICTING_OPTIONS",
    option: "clientUrl",
  },
  {
    name: "MikroORM: read replicas",
    run: () => make({ ...BASE, replicas: [{ host: "reader.example.com" }] }),
    code: "INVALID_OPTION",
    option: "replicas",
  },
  {
    name: "MikroORM: driverOptions.connection.password",
    run: () => make({ ...BASE, driverOptions: { connection: { password: TOKEN_LIKE } } }),
    code: "CONFLICTING_OPTIONS",
    option: "driverOptions.connection.password",
  },
  {
    name: "MikroORM: driverOptions.connection.connectionString",
    run: () =>
      make({
        ...BASE,
        driverOptions: { connection: { connectionString: `postgres://${HOST}/app` } },
      }),
    code: "CONFLICTING_OPTIONS",
    option: "driverOptions.connection.connectionString",
  },
  {
    name: "MikroORM: driverOptions.connection.host",
    run: () => make({ ...BASE, driverOptions: { connection: { host: "10.0.0.12" } } }),
    code: "CONFLICTING_OPTIONS",
    option: "driverOptions.connection.host",
  },
  {
    name: "MikroORM: a knex instance of one's own",
    run: () => make({ ...BASE, driverOptions: { context: {} } }),
    code: "CONFLICTING_OPTIONS",
    option: "driverOptions.context",
  },
  {
    name: "MikroORM: plaintext to a remote host",
    run: () =>
      make({
        ...BASE,
        driverOptions: { connection: { ssl: false } },
        iam: { ...BASE.iam, iamAllowPlaintext: true },
      }),
    code: "PLAINTEXT_REFUSED",
    option: "driverOptions.connection.ssl",
  },
  {
    name: "MikroORM: plaintext without the opt-out",
    run: () => make({ ...BASE, driverOptions: { connection: { ssl: false } } }),
    code: "PLAINTEXT_REFUSED",
    option: "driverOptions.connection.ssl",
  },
  {
    name: "MikroORM: an ssl that is neither object nor switch",
    run: () => make({ ...BASE, driverOptions: { connection: { ssl: "verify-full" } } }),
    code: "INVALID_OPTION",
    option: "driverOptions.connection.ssl",
  },
  {
    name: "MikroORM: mysql2 ssl.verifyIdentity: false",
    run: () =>
      make({
        ...BASE,
        driver: MySqlDriver,
        driverOptions: { connection: { ssl: { verifyIdentity: false } } },
      }),
    code: "CONFLICTING_OPTIONS",
    option: "driverOptions.connection.ssl.verifyIdentity",
  },
  {
    name: "MikroORM: mysql2 packet debug",
    run: () =>
      make({ ...BASE, driver: MySqlDriver, driverOptions: { connection: { debug: true } } }),
    code: "CONFLICTING_OPTIONS",
    option: "driverOptions.connection.debug",
  },
  {
    name: "MikroORM: mariadb logPackets",
    run: () =>
      make({ ...BASE, driver: MariaDbDriver, driverOptions: { connection: { logPackets: true } } }),
    code: "CONFLICTING_OPTIONS",
    option: "driverOptions.connection.logPackets",
  },
  {
    name: "MikroORM: ssl at the top level",
    run: () => make({ ...BASE, ssl: true }),
    code: "INVALID_OPTION",
    option: "ssl",
  },
  {
    name: "MikroORM: an IAM option at the top level",
    run: () => make({ ...BASE, iamRegion: "us-east-1" }),
    code: "INVALID_OPTION",
    option: "iamRegion",
  },
  {
    name: "MikroORM: an IAM option in driverOptions.connection",
    run: () => make({ ...BASE, driverOptions: { connection: { iamRegion: "us-east-1" } } }),
    code: "INVALID_OPTION",
    option: "driverOptions.connection.iamRegion",
  },
  {
    name: "MikroORM: a misspelt IAM option",
    run: () => make({ ...BASE, iam: { ...BASE.iam, iamRegoin: "us-east-1" } }),
    code: "INVALID_OPTION",
    option: "iam.iamRegoin",
  },
  {
    name: "MikroORM: a bad region",
    run: () => make({ ...BASE, iam: { ...BASE.iam, iamRegion: "Mars" } }),
    code: "INVALID_OPTION",
    option: "iam.iamRegion",
  },
  {
    name: "MikroORM: iamTokenExpiration over 900",
    run: () => make({ ...BASE, iam: { ...BASE.iam, iamTokenExpiration: 3600 } }),
    code: "INVALID_OPTION",
    option: "iam.iamTokenExpiration",
  },
  {
    name: "MikroORM: IP host without iamHost",
    run: () => make({ ...BASE, host: "10.0.0.12" }),
    code: "IAM_HOST_REQUIRED",
    option: "iam.iamHost",
  },
  {
    name: "MikroORM: MIKRO_ORM_PASSWORD in the environment",
    run: () => withEnv({ MIKRO_ORM_PASSWORD: "hunter2" }, async () => make({ ...BASE })),
    code: "CONFLICTING_OPTIONS",
    option: "MIKRO_ORM_PASSWORD",
  },
  {
    name: "MikroORM: not our options",
    run: () => iamAuthOf({}),
    code: "INVALID_OPTION",
    option: "options",
  },
];

describe("bad input: @rds-iam/mikro-orm", () => {
  afterAll(() => {
    assertNoLeaks({ secretKeyShape: true });
  });
  it.each(CASES)("$name -> $code naming $option", async (row) => {
    await withEnv(isolatedAwsEnv(), () => expectBadInput(row));
  });
});
