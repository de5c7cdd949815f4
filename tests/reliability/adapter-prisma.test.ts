import type { IamAuth } from "@rds-iam/core";
import {
  createIamAdapter,
  type IamPrismaMariadbAdapterFactory,
  type IamPrismaPgAdapterFactory,
  iamDatasourceUrl,
} from "@rds-iam/prisma";
import { afterAll, describe, it } from "vitest";
import {
  loadPrismaClient,
  type TestPrismaClient,
} from "../../packages/prisma/test/support/prisma-clients";
import { isolatedAwsEnv, withEnv } from "../support/aws-env";
import { assertNoLeaks, trackTokens } from "../support/secret-scan";
import { describeAdapterReliability, type PoolUnderTest } from "./support/adapter-suite";
import {
  type BadInputCase,
  expectBadInput,
  SECRET_CREDENTIALS,
  TOKEN_LIKE,
} from "./support/bad-input";

/** The part of a pg pool a recycle needs. */
interface PgPoolLike {
  connect(): Promise<{ release(destroy?: boolean): void }>;
}

function checked(engine: "postgres" | "mysql", prisma: TestPrismaClient) {
  const sql = engine === "postgres" ? "select $1::int as n" : "select ? as n";
  return async (n: number) => {
    const rows = await prisma.$queryRawUnsafe<{ n: unknown }[]>(sql, n);
    if (Number(rows[0]?.n) !== n) throw new Error(`wrong answer for ${n}`);
  };
}

async function openPrismaPg(
  options: Record<string, unknown>,
  size: number,
): Promise<PoolUnderTest> {
  const PrismaClient = await loadPrismaClient("postgres");
  const adapter = createIamAdapter({ engine: "postgres", ...options, max: size } as Parameters<
    typeof createIamAdapter
  >[0]) as IamPrismaPgAdapterFactory;
  trackTokens(adapter.auth);
  // Prisma builds the pg pool inside the adapter; keep a handle on it to recycle connections.
  let pool: PgPoolLike | undefined;
  const connect = adapter.connect.bind(adapter);
  adapter.connect = async () => {
    const inner = await connect();
    pool = inner.underlyingDriver() as unknown as PgPoolLike;
    return inner;
  };
  const prisma = new PrismaClient({ adapter });
  const query = checked("postgres", prisma);
  await query(0);
  return {
    query,
    async recycle() {
      if (pool === undefined) throw new Error("Prisma has not connected");
      const client = await pool.connect();
      client.release(true);
    },
    stats: () => adapter.auth.stats(),
    async close() {
      await prisma.$disconnect();
      adapter.auth.close();
    },
  };
}

async function openPrismaMariadb(
  options: Record<string, unknown>,
  size: number,
): Promise<PoolUnderTest> {
  const PrismaClient = await loadPrismaClient("mysql");
  const adapter = createIamAdapter({
    engine: "mysql",
    ...options,
    connectionLimit: size,
  } as Parameters<typeof createIamAdapter>[0]) as IamPrismaMariadbAdapterFactory;
  const auth: IamAuth = adapter.auth;
  trackTokens(auth);
  const prisma = new PrismaClient({ adapter });
  const query = checked("mysql", prisma);
  await query(0);
  return {
    query,
    async recycle() {
      const pool = adapter.pools()[0];
      if (pool === undefined) throw new Error("Prisma has not connected");
      (await pool.getConnection()).destroy();
    },
    stats: () => auth.stats(),
    async close() {
      await prisma.$disconnect();
      auth.close();
    },
  };
}

describeAdapterReliability({
  name: "Prisma @prisma/adapter-pg",
  engine: "postgres",
  wrapsErrors: true,
  open: openPrismaPg,
});
describeAdapterReliability({
  name: "Prisma @prisma/adapter-mariadb",
  engine: "mysql",
  wrapsErrors: true,
  open: openPrismaMariadb,
});

const HOST = "mydb.cluster-abc123.us-east-1.rds.amazonaws.com";
const BASE = { host: HOST, user: "app", database: "app", credentials: SECRET_CREDENTIALS };
// biome-ignore lint/suspicious/noExplicitAny: bad input on purpose.
type Loose = any;
const adapterOf = (options: Record<string, unknown>, extras?: unknown) =>
  createIamAdapter(options as Loose, extras as Loose);
const datasourceUrl = (options: Record<string, unknown>) => iamDatasourceUrl(options as Loose);

const PRISMA_CASES: readonly BadInputCase[] = [
  {
    name: "prisma: options not an object",
    run: () => adapterOf(undefined as Loose),
    code: "INVALID_OPTION",
    option: "options",
  },
  {
    name: "prisma: a pool instead of options",
    run: () => adapterOf({ query: () => {}, connect: () => {} }),
    code: "INVALID_OPTION",
    option: "options",
  },
  {
    name: "prisma: missing engine",
    run: () => adapterOf({ ...BASE }),
    code: "MISSING_OPTION",
    option: "engine",
  },
  {
    name: "prisma: extras not an object",
    run: () => adapterOf({ ...BASE, engine: "postgres" }, "public"),
    code: "INVALID_OPTION",
    option: "extras",
  },
  {
    name: "prisma pg: connectionString plus IAM",
    run: () =>
      adapterOf({
        ...BASE,
        engine: "postgres",
        connectionString: `postgresql://app:${encodeURIComponent(TOKEN_LIKE)}@${HOST}/app`,
      }),
    code: "CONFLICTING_OPTIONS",
    option: "connectionString",
  },
  {
    name: "prisma pg: a static password",
    run: () => adapterOf({ ...BASE, engine: "postgres", password: TOKEN_LIKE }),
    code: "CONFLICTING_OPTIONS",
    option: "password",
  },
  {
    name: "prisma pg: IP host without iamHost",
    run: () => adapterOf({ ...BASE, engine: "postgres", host: "192.168.0.10" }),
    code: "IAM_HOST_REQUIRED",
    option: "iamHost",
  },
  {
    name: "prisma mysql: a static password",
    run: () => adapterOf({ ...BASE, engine: "mysql", password: TOKEN_LIKE }),
    code: "CONFLICTING_OPTIONS",
    option: "password",
  },
  {
    name: "prisma mysql: connectionLimit 0",
    run: () => adapterOf({ ...BASE, engine: "mysql", connectionLimit: 0 }),
    code: "INVALID_OPTION",
    option: "connectionLimit",
  },
  {
    name: "prisma mysql: acquireTimeout as text",
    run: () => adapterOf({ ...BASE, engine: "mysql", acquireTimeout: "10s" }),
    code: "INVALID_OPTION",
    option: "acquireTimeout",
  },
  {
    name: "prisma mysql: plaintext to a remote host",
    run: () => adapterOf({ ...BASE, engine: "mysql", ssl: false, iamAllowPlaintext: true }),
    code: "PLAINTEXT_REFUSED",
    option: "ssl",
  },
  {
    name: "prisma url: MySQL for Prisma's engine",
    run: () => datasourceUrl({ ...BASE, engine: "mysql" }),
    code: "CONFLICTING_OPTIONS",
    option: "flavor",
  },
  {
    name: "prisma url: iamTokenExpiration over 900",
    run: () => datasourceUrl({ ...BASE, engine: "postgres", iamTokenExpiration: 1200 }),
    code: "INVALID_OPTION",
    option: "iamTokenExpiration",
  },
];

describe("bad input: Prisma adapter", () => {
  afterAll(() => {
    assertNoLeaks({ secretKeyShape: true });
  });
  it.each(PRISMA_CASES)("$name -> $code naming $option", async (row) => {
    await withEnv(isolatedAwsEnv(), () => expectBadInput(row));
  });
});
