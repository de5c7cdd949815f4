import { iamAuthOf, withIamAuth } from "@rds-iam/sequelize";
import { QueryTypes, Sequelize } from "sequelize";
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

type Dialect = "postgres" | "mysql" | "mariadb";

/** The fixture's IAM options in Sequelize's spelling: the target at the top, TLS in dialectOptions. */
function sequelizeOptions(dialect: Dialect, options: Record<string, unknown>, size: number) {
  const { host, port, user, ssl, database, ...iam } = options;
  return withIamAuth({
    dialect,
    host: host as string,
    port: port as number,
    username: user as string,
    database: database as string,
    // A loaded two-core machine can take longer than the mariadb connector's 1 s default.
    dialectOptions: dialect === "mariadb" ? { ssl, connectTimeout: 10_000 } : { ssl },
    pool: { max: size, min: 0 },
    logging: false,
    iam,
  });
}

/** A connection as Sequelize's pool hands it out. */
type Connection = object;
interface ConnectionManagerLike {
  getConnection(): Promise<Connection>;
  destroyConnection(connection: Connection): Promise<void>;
  pool: { size: number; available: number; using: number };
}

async function openSequelize(
  dialect: Dialect,
  options: Record<string, unknown>,
  size: number,
): Promise<PoolUnderTest> {
  const sequelizeOptionsMade = sequelizeOptions(dialect, options, size);
  const auth = trackTokens(iamAuthOf(sequelizeOptionsMade));
  const sequelize = new Sequelize(sequelizeOptionsMade);
  const query = async (n: number) => {
    const rows = await sequelize.query<{ n: unknown }>("select :n as n", {
      replacements: { n },
      type: QueryTypes.SELECT,
    });
    if (Number(rows[0]?.n) !== n) throw new Error(`wrong answer for ${n}`);
  };
  await query(0);
  const manager = sequelize.connectionManager as unknown as ConnectionManagerLike;
  return {
    query,
    async recycle() {
      // Destroyed instead of released: the pool's next acquisition logs in anew.
      await manager.destroyConnection(await manager.getConnection());
    },
    async settle() {
      // sequelize-pool counts a connection being created in `size` only: wait for those
      // logins, so that the soak's clock does not move under a token in flight.
      const { pool } = manager;
      while (pool.size > pool.available + pool.using) await tick(1);
    },
    stats: () => auth.stats(),
    async close() {
      await sequelize.close();
      auth.close();
    },
  };
}

describeAdapterReliability({
  name: 'Sequelize dialect "postgres"',
  engine: "postgres",
  open: (options, size) => openSequelize("postgres", options, size),
});
describeAdapterReliability({
  name: 'Sequelize dialect "mysql" (mysql2)',
  engine: "mysql",
  open: (options, size) => openSequelize("mysql", options, size),
});
describeAdapterReliability({
  name: 'Sequelize dialect "mariadb" (mariadb connector 3)',
  engine: "mysql",
  open: (options, size) => openSequelize("mariadb", options, size),
});

const HOST = "mydb.cluster-abc123.us-east-1.rds.amazonaws.com";
const BASE = {
  dialect: "postgres",
  host: HOST,
  username: "app",
  database: "app",
  iam: { credentials: SECRET_CREDENTIALS },
};
// biome-ignore lint/suspicious/noExplicitAny: bad input on purpose.
type Loose = any;
const wrap = (options: Record<string, unknown>) => withIamAuth(options as Loose);

const SEQUELIZE_CASES: readonly BadInputCase[] = [
  {
    name: "sequelize: options not an object",
    run: () => wrap("postgres://app@host/app" as Loose),
    code: "INVALID_OPTION",
    option: "options",
  },
  {
    name: "sequelize: unsupported dialect",
    run: () => wrap({ ...BASE, dialect: "sqlite" }),
    code: "INVALID_OPTION",
    option: "dialect",
  },
  {
    name: "sequelize: a static password",
    run: () => wrap({ ...BASE, password: TOKEN_LIKE }),
    code: "CONFLICTING_OPTIONS",
    option: "password",
  },
  {
    name: "sequelize: a password in dialectOptions",
    run: () => wrap({ ...BASE, dialect: "mysql", dialectOptions: { password: TOKEN_LIKE } }),
    code: "CONFLICTING_OPTIONS",
    option: "dialectOptions.password",
  },
  {
    name: "sequelize: a mysql2 uri in dialectOptions",
    run: () =>
      wrap({
        ...BASE,
        dialect: "mysql",
        dialectOptions: { uri: `mysql://app:${encodeURIComponent(TOKEN_LIKE)}@${HOST}/app` },
      }),
    code: "CONFLICTING_OPTIONS",
    option: "dialectOptions.uri",
  },
  {
    name: "sequelize: a host in dialectOptions",
    run: () => wrap({ ...BASE, dialect: "mariadb", dialectOptions: { host: "10.0.0.9" } }),
    code: "CONFLICTING_OPTIONS",
    option: "dialectOptions.host",
  },
  {
    name: "sequelize: a replica's password",
    run: () =>
      wrap({ ...BASE, replication: { write: {}, read: [{ host: HOST, password: TOKEN_LIKE }] } }),
    code: "CONFLICTING_OPTIONS",
    option: "replication.read[0].password",
  },
  {
    name: "sequelize: replication not an object",
    run: () => wrap({ ...BASE, replication: "read-write" }),
    code: "INVALID_OPTION",
    option: "replication",
  },
  {
    name: "sequelize: a replica's misspelt IAM option",
    run: () => wrap({ ...BASE, replication: { read: [{ host: HOST, iam: { iamHots: HOST } }] } }),
    code: "INVALID_OPTION",
    option: "replication.read[0].iam.iamHots",
  },
  {
    name: "sequelize: a replica at an IP without iamHost",
    run: () => wrap({ ...BASE, replication: { write: {}, read: [{ host: "10.0.0.7" }] } }),
    code: "IAM_HOST_REQUIRED",
    option: "replication.read[0].iam.iamHost",
  },
  {
    name: "sequelize: pg-native",
    run: () => wrap({ ...BASE, native: true }),
    code: "CONFLICTING_OPTIONS",
    option: "native",
  },
  {
    name: "sequelize: a top-level ssl Sequelize would ignore",
    run: () => wrap({ ...BASE, ssl: true }),
    code: "INVALID_OPTION",
    option: "ssl",
  },
  {
    name: "sequelize: plaintext to a remote host",
    run: () =>
      wrap({
        ...BASE,
        dialectOptions: { ssl: false },
        iam: { ...BASE.iam, iamAllowPlaintext: true },
      }),
    code: "PLAINTEXT_REFUSED",
    option: "dialectOptions.ssl",
  },
  {
    name: "sequelize: mysql2 told not to check the certificate's name",
    run: () =>
      wrap({ ...BASE, dialect: "mysql", dialectOptions: { ssl: { verifyIdentity: false } } }),
    code: "CONFLICTING_OPTIONS",
    option: "dialectOptions.ssl.verifyIdentity",
  },
  {
    name: "sequelize: mysql2 packet debug",
    run: () => wrap({ ...BASE, dialect: "mysql", dialectOptions: { debug: true } }),
    code: "CONFLICTING_OPTIONS",
    option: "dialectOptions.debug",
  },
  {
    name: "sequelize: mariadb packet logging",
    run: () => wrap({ ...BASE, dialect: "mariadb", dialectOptions: { logPackets: true } }),
    code: "CONFLICTING_OPTIONS",
    option: "dialectOptions.logPackets",
  },
  {
    name: "sequelize: missing username",
    run: () => wrap({ ...BASE, username: undefined }),
    code: "MISSING_OPTION",
    option: "username",
  },
  {
    name: "sequelize: an IAM option at the top level",
    run: () => wrap({ ...BASE, iamRegion: "us-east-1" }),
    code: "INVALID_OPTION",
    option: "iamRegion",
  },
  {
    name: "sequelize: a misspelt IAM option",
    run: () => wrap({ ...BASE, iam: { ...BASE.iam, iamRegoin: "us-east-1" } }),
    code: "INVALID_OPTION",
    option: "iam.iamRegoin",
  },
  {
    name: "sequelize: unknown region shape",
    run: () => wrap({ ...BASE, iam: { ...BASE.iam, iamRegion: "virginia" } }),
    code: "INVALID_OPTION",
    option: "iam.iamRegion",
  },
  {
    name: "sequelize: iamTokenExpiration over 900",
    run: () => wrap({ ...BASE, dialect: "mysql", iam: { ...BASE.iam, iamTokenExpiration: 901 } }),
    code: "INVALID_OPTION",
    option: "iam.iamTokenExpiration",
  },
  {
    name: "sequelize: IP host without iamHost",
    run: () => wrap({ ...BASE, host: "10.0.0.5" }),
    code: "IAM_HOST_REQUIRED",
    option: "iam.iamHost",
  },
  {
    name: "sequelize: port out of range",
    run: () => wrap({ ...BASE, port: 0 }),
    code: "INVALID_OPTION",
    option: "port",
  },
  {
    name: "sequelize: iamAuthOf foreign options",
    run: () => iamAuthOf({ dialect: "postgres" }),
    code: "INVALID_OPTION",
    option: "options",
  },
];

describe("bad input: Sequelize adapter", () => {
  afterAll(() => {
    assertNoLeaks({ secretKeyShape: true });
  });
  it.each(SEQUELIZE_CASES)("$name -> $code naming $option", async (row) => {
    await withEnv(isolatedAwsEnv(), () => expectBadInput(row));
  });
});
