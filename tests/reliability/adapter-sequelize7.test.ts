import { createRequire } from "node:module";
import { iamAuthOf, withIamAuth } from "@rds-iam/sequelize/v7";
import { QueryTypes, Sequelize } from "@sequelize/core";
import { MariaDbDialect } from "@sequelize/mariadb";
import { MySqlDialect } from "@sequelize/mysql";
import { PostgresDialect } from "@sequelize/postgres";
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
const CLASSES = { postgres: PostgresDialect, mysql: MySqlDialect, mariadb: MariaDbDialect };

/** The fixture's IAM options in Sequelize 7's spelling: the driver's names at the root. */
function sequelizeOptions(dialect: Dialect, options: Record<string, unknown>, size: number) {
  const { host, port, user, ssl, database, ...iam } = options;
  return withIamAuth({
    dialect: CLASSES[dialect],
    host: host as string,
    port: port as number,
    user: user as string,
    database: database as string,
    ssl,
    // A loaded two-core machine can take longer than the mariadb connector's 1 s default.
    ...(dialect === "mariadb" ? { connectTimeout: 10_000 } : {}),
    pool: { max: size, min: 0 },
    logging: false,
    iam,
  } as unknown as Parameters<typeof withIamAuth>[0]);
}

interface PoolLike {
  acquire(): Promise<object>;
  destroy(connection: object): Promise<void>;
  size: number;
  available: number;
  using: number;
}

async function openSequelize(
  dialect: Dialect,
  options: Record<string, unknown>,
  size: number,
): Promise<PoolUnderTest> {
  const made = sequelizeOptions(dialect, options, size);
  const auth = trackTokens(iamAuthOf(made));
  const sequelize: Sequelize = new Sequelize(made as never);
  const query = async (n: number) => {
    const rows = await sequelize.query<{ n: unknown }>("select :n as n", {
      replacements: { n },
      type: QueryTypes.SELECT,
    });
    if (Number(rows[0]?.n) !== n) throw new Error(`wrong answer for ${n}`);
  };
  await query(0);
  const pool = sequelize.pool.write as unknown as PoolLike;
  return {
    query,
    async recycle() {
      // Destroyed instead of released: the pool's next acquisition logs in anew.
      await pool.destroy(await pool.acquire());
    },
    async settle() {
      // sequelize-pool counts a connection being created in `size` only: wait for those
      // logins, so that the soak's clock does not move under a token in flight.
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
  name: 'Sequelize 7 dialect "postgres"',
  engine: "postgres",
  open: (options, size) => openSequelize("postgres", options, size),
});
describeAdapterReliability({
  name: 'Sequelize 7 dialect "mysql" (mysql2)',
  engine: "mysql",
  open: (options, size) => openSequelize("mysql", options, size),
});
describeAdapterReliability({
  name: 'Sequelize 7 dialect "mariadb" (mariadb connector 3)',
  engine: "mysql",
  open: (options, size) => openSequelize("mariadb", options, size),
});

const HOST = "mydb.cluster-abc123.us-east-1.rds.amazonaws.com";
const OLD_CONNECTOR = createRequire(import.meta.url)("mariadb-3.4") as unknown;
const BASE = {
  dialect: PostgresDialect,
  host: HOST,
  user: "app",
  database: "app",
  iam: { credentials: SECRET_CREDENTIALS },
};
// biome-ignore lint/suspicious/noExplicitAny: bad input on purpose.
type Loose = any;
const wrap = (options: Record<string, unknown>) => withIamAuth(options as Loose);

const SEQUELIZE7_CASES: readonly BadInputCase[] = [
  {
    name: "sequelize 7: options not an object",
    run: () => wrap("postgres://app@host/app" as Loose),
    code: "INVALID_OPTION",
    option: "options",
  },
  {
    name: "sequelize 7: a dialect name instead of its class",
    run: () => wrap({ ...BASE, dialect: "postgres" }),
    code: "INVALID_OPTION",
    option: "dialect",
  },
  {
    name: "sequelize 7: an unsupported dialect class",
    run: () => wrap({ ...BASE, dialect: class SqliteDialect {} }),
    code: "INVALID_OPTION",
    option: "dialect",
  },
  {
    name: "sequelize 7: a static password",
    run: () => wrap({ ...BASE, password: TOKEN_LIKE }),
    code: "CONFLICTING_OPTIONS",
    option: "password",
  },
  {
    name: "sequelize 7: a mysql2 second-factor password",
    run: () => wrap({ ...BASE, dialect: MySqlDialect, password2: TOKEN_LIKE }),
    code: "CONFLICTING_OPTIONS",
    option: "password2",
  },
  {
    name: "sequelize 7: a connection url",
    run: () =>
      wrap({ ...BASE, url: `postgres://app:${encodeURIComponent(TOKEN_LIKE)}@${HOST}/app` }),
    code: "CONFLICTING_OPTIONS",
    option: "url",
  },
  {
    name: "sequelize 7: a pg connectionString",
    run: () => wrap({ ...BASE, connectionString: `postgres://app@${HOST}/app` }),
    code: "CONFLICTING_OPTIONS",
    option: "connectionString",
  },
  {
    name: "sequelize 7: a replica's url",
    run: () => wrap({ ...BASE, replication: { read: [{ url: `postgres://app@${HOST}/app` }] } }),
    code: "CONFLICTING_OPTIONS",
    option: "replication.read[0].url",
  },
  {
    name: "sequelize 7: a replica's password",
    run: () =>
      wrap({ ...BASE, replication: { write: {}, read: [{ host: HOST, password: TOKEN_LIKE }] } }),
    code: "CONFLICTING_OPTIONS",
    option: "replication.read[0].password",
  },
  {
    name: "sequelize 7: a replica's own ssl",
    run: () => wrap({ ...BASE, replication: { read: [{ host: HOST, ssl: false }] } }),
    code: "INVALID_OPTION",
    option: "replication.read[0].ssl",
  },
  {
    name: "sequelize 7: replication not an object",
    run: () => wrap({ ...BASE, replication: "read-write" }),
    code: "INVALID_OPTION",
    option: "replication",
  },
  {
    name: "sequelize 7: a replica's misspelt IAM option",
    run: () => wrap({ ...BASE, replication: { read: [{ host: HOST, iam: { iamHots: HOST } }] } }),
    code: "INVALID_OPTION",
    option: "replication.read[0].iam.iamHots",
  },
  {
    name: "sequelize 7: a replica at an IP without iamHost",
    run: () => wrap({ ...BASE, replication: { write: {}, read: [{ host: "10.0.0.7" }] } }),
    code: "IAM_HOST_REQUIRED",
    option: "replication.read[0].iam.iamHost",
  },
  {
    name: "sequelize 7: pg-native",
    run: () => wrap({ ...BASE, native: true }),
    code: "CONFLICTING_OPTIONS",
    option: "native",
  },
  // Sequelize uses pg-native for any truthy `native`, not only `true`.
  ...[1, "true", "false", {}].map((native) => ({
    name: `sequelize 7: pg-native as native: ${JSON.stringify(native)}`,
    run: () => wrap({ ...BASE, native }),
    code: "CONFLICTING_OPTIONS" as const,
    option: "native",
  })),
  {
    name: "sequelize 7: plaintext to a remote host",
    run: () => wrap({ ...BASE, ssl: false, iam: { ...BASE.iam, iamAllowPlaintext: true } }),
    code: "PLAINTEXT_REFUSED",
    option: "ssl",
  },
  {
    name: "sequelize 7: mysql2 told not to check the certificate's name",
    run: () => wrap({ ...BASE, dialect: MySqlDialect, ssl: { verifyIdentity: false } }),
    code: "CONFLICTING_OPTIONS",
    option: "ssl.verifyIdentity",
  },
  {
    name: "sequelize 7: mysql2 packet debug",
    run: () => wrap({ ...BASE, dialect: MySqlDialect, debug: true }),
    code: "CONFLICTING_OPTIONS",
    option: "debug",
  },
  {
    name: "sequelize 7: mariadb packet debug",
    run: () => wrap({ ...BASE, dialect: MariaDbDialect, debug: true }),
    code: "CONFLICTING_OPTIONS",
    option: "debug",
  },
  {
    name: "sequelize 7: mariadb packet logging",
    run: () => wrap({ ...BASE, dialect: MariaDbDialect, logPackets: true }),
    code: "CONFLICTING_OPTIONS",
    option: "logPackets",
  },
  {
    name: "sequelize 7: a mariadb connector that checks the certificate after the login",
    run: () => wrap({ ...BASE, dialect: MariaDbDialect, mariaDbModule: OLD_CONNECTOR }),
    code: "TLS_VERIFICATION_FAILED",
    option: "mariadb",
  },
  {
    name: "sequelize 7: missing user",
    run: () => wrap({ ...BASE, user: undefined }),
    code: "MISSING_OPTION",
    option: "user",
  },
  {
    name: "sequelize 7: an IAM option at the top level",
    run: () => wrap({ ...BASE, iamRegion: "us-east-1" }),
    code: "INVALID_OPTION",
    option: "iamRegion",
  },
  {
    name: "sequelize 7: a misspelt IAM option",
    run: () => wrap({ ...BASE, iam: { ...BASE.iam, iamRegoin: "us-east-1" } }),
    code: "INVALID_OPTION",
    option: "iam.iamRegoin",
  },
  {
    name: "sequelize 7: an unknown key under iam",
    run: () => wrap({ ...BASE, iam: { ...BASE.iam, user: "app" } }),
    code: "INVALID_OPTION",
    option: "iam.user",
  },
  {
    name: "sequelize 7: iamTokenExpiration over 900",
    run: () =>
      wrap({ ...BASE, dialect: MySqlDialect, iam: { ...BASE.iam, iamTokenExpiration: 901 } }),
    code: "INVALID_OPTION",
    option: "iam.iamTokenExpiration",
  },
  {
    name: "sequelize 7: IP host without iamHost",
    run: () => wrap({ ...BASE, host: "10.0.0.5" }),
    code: "IAM_HOST_REQUIRED",
    option: "iam.iamHost",
  },
  {
    name: "sequelize 7: port out of range",
    run: () => wrap({ ...BASE, port: 0 }),
    code: "INVALID_OPTION",
    option: "port",
  },
  {
    name: "sequelize 7: iamAuthOf foreign options",
    run: () => iamAuthOf({ dialect: PostgresDialect }),
    code: "INVALID_OPTION",
    option: "options",
  },
];

describe("bad input: Sequelize 7 adapter", () => {
  afterAll(() => {
    assertNoLeaks({ secretKeyShape: true });
  });
  it.each(SEQUELIZE7_CASES)("$name -> $code naming $option", async (row) => {
    await withEnv(isolatedAwsEnv(), () => expectBadInput(row));
  });
});
