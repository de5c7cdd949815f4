import type { IamAuth } from "@rds-iam/core";
import { iamAuthOf, withIamAuth } from "@rds-iam/typeorm";
import { DataSource } from "typeorm";
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

/** The pools TypeORM builds: pg's `Pool` (postgres) and mysql2's callback pool (mysql). */
interface PgPoolLike {
  connect(): Promise<{ release(destroy?: boolean): void }>;
}
interface Mysql2PoolLike {
  getConnection(callback: (error: unknown, connection?: { destroy(): void }) => void): void;
}

/** The fixture's IAM options in TypeORM's spelling: the target at the top, the rest under `iam`. */
function typeormOptions(
  type: "postgres" | "mysql",
  options: Record<string, unknown>,
  size: number,
) {
  const { host, port, user, ssl, database, ...iam } = options;
  return withIamAuth({
    type,
    host: host as string,
    port: port as number,
    username: user as string,
    database: database as string,
    ssl,
    poolSize: size,
    iam,
  });
}

async function openTypeorm(
  type: "postgres" | "mysql",
  options: Record<string, unknown>,
  size: number,
): Promise<PoolUnderTest> {
  const dataSourceOptions = typeormOptions(type, options, size);
  const auth: IamAuth = iamAuthOf(dataSourceOptions);
  trackTokens(auth);
  const dataSource = new DataSource(
    dataSourceOptions as ConstructorParameters<typeof DataSource>[0],
  );
  await dataSource.initialize();
  const sql = type === "postgres" ? "select $1::int as n" : "select ? as n";
  const driver = dataSource.driver as unknown as { master?: PgPoolLike; pool?: Mysql2PoolLike };
  return {
    async query(n) {
      const rows = (await dataSource.query(sql, [n])) as { n: unknown }[];
      if (Number(rows[0]?.n) !== n) throw new Error(`wrong answer for ${n}`);
    },
    async recycle() {
      if (type === "postgres") {
        if (driver.master === undefined) throw new Error("no pg pool");
        (await driver.master.connect()).release(true);
        return;
      }
      const pool = driver.pool;
      if (pool === undefined) throw new Error("no mysql2 pool");
      await new Promise<void>((resolve, reject) =>
        pool.getConnection((error, connection) => {
          if (error) return reject(error);
          connection?.destroy();
          resolve();
        }),
      );
    },
    stats: () => auth.stats(),
    async close() {
      await dataSource.destroy();
      auth.close();
    },
  };
}

describeAdapterReliability({
  name: 'TypeORM type "postgres"',
  engine: "postgres",
  open: (options, size) => openTypeorm("postgres", options, size),
});
describeAdapterReliability({
  name: 'TypeORM type "mysql" (mysql2)',
  engine: "mysql",
  open: (options, size) => openTypeorm("mysql", options, size),
});

const HOST = "mydb.cluster-abc123.us-east-1.rds.amazonaws.com";
const BASE = {
  type: "postgres",
  host: HOST,
  username: "app",
  database: "app",
  iam: { credentials: SECRET_CREDENTIALS },
};
// biome-ignore lint/suspicious/noExplicitAny: bad input on purpose.
type Loose = any;
const wrap = (options: Record<string, unknown>) => withIamAuth(options as Loose);

const TYPEORM_CASES: readonly BadInputCase[] = [
  {
    name: "typeorm: options not an object",
    run: () => wrap(null as Loose),
    code: "INVALID_OPTION",
    option: "options",
  },
  {
    name: "typeorm: unsupported type",
    run: () => wrap({ ...BASE, type: "sqlite" }),
    code: "INVALID_OPTION",
    option: "type",
  },
  {
    name: "typeorm: url plus IAM",
    run: () =>
      wrap({ ...BASE, url: `postgres://app:${encodeURIComponent(TOKEN_LIKE)}@${HOST}/app` }),
    code: "CONFLICTING_OPTIONS",
    option: "url",
  },
  {
    name: "typeorm: a static password",
    run: () => wrap({ ...BASE, password: TOKEN_LIKE }),
    code: "CONFLICTING_OPTIONS",
    option: "password",
  },
  {
    name: "typeorm: missing username",
    run: () => wrap({ ...BASE, username: undefined }),
    code: "MISSING_OPTION",
    option: "username",
  },
  {
    name: "typeorm: replication",
    run: () => wrap({ ...BASE, replication: { master: {}, slaves: [] } }),
    code: "INVALID_OPTION",
    option: "replication",
  },
  {
    name: "typeorm: the mysql connector package",
    run: () => wrap({ ...BASE, type: "mysql", connectorPackage: "mysql" }),
    code: "CONFLICTING_OPTIONS",
    option: "connectorPackage",
  },
  {
    name: "typeorm: iam not an object",
    run: () => wrap({ ...BASE, iam: "us-east-1" }),
    code: "INVALID_OPTION",
    option: "iam",
  },
  {
    name: "typeorm: unknown region shape",
    run: () => wrap({ ...BASE, iam: { ...BASE.iam, iamRegion: "virginia" } }),
    code: "INVALID_OPTION",
    option: "iam.iamRegion",
  },
  {
    name: "typeorm: iamTokenExpiration over 900",
    run: () => wrap({ ...BASE, type: "mysql", iam: { ...BASE.iam, iamTokenExpiration: 901 } }),
    code: "INVALID_OPTION",
    option: "iam.iamTokenExpiration",
  },
  {
    name: "typeorm: IP host without iamHost",
    run: () => wrap({ ...BASE, host: "10.0.0.5" }),
    code: "IAM_HOST_REQUIRED",
    option: "iam.iamHost",
  },
  {
    name: "typeorm: plaintext to a remote host",
    run: () =>
      wrap({ ...BASE, type: "mariadb", ssl: false, iam: { ...BASE.iam, iamAllowPlaintext: true } }),
    code: "PLAINTEXT_REFUSED",
    option: "ssl",
  },
  {
    name: "typeorm: port out of range",
    run: () => wrap({ ...BASE, port: 0 }),
    code: "INVALID_OPTION",
    option: "port",
  },
  {
    name: "typeorm: iamAuthOf foreign options",
    run: () => iamAuthOf({ type: "postgres" }),
    code: "INVALID_OPTION",
    option: "options",
  },
];

describe("bad input: TypeORM adapter", () => {
  afterAll(() => {
    assertNoLeaks({ secretKeyShape: true });
  });
  it.each(TYPEORM_CASES)("$name -> $code naming $option", async (row) => {
    await withEnv(isolatedAwsEnv(), () => expectBadInput(row));
  });
});
