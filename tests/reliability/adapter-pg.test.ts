import { createIamPool, type IamPgPoolOptions, iamAuthOf } from "@rds-iam/pg";
import { sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/node-postgres";
import { Kysely, sql as kyselySql, PostgresDialect } from "kysely";
import { trackTokens } from "../support/secret-scan";
import { describeAdapterReliability, type PoolUnderTest } from "./support/adapter-suite";
import { TOKEN_LIKE } from "./support/bad-input";
import {
  BAD_INPUT_BASE,
  BAD_INPUT_HOST,
  commonBadInput,
  describeBadInput,
} from "./support/driver-package-bad-input";
import { unwrappingDrizzle } from "./support/drizzle-errors";

/** Who sends the queries: the pool itself, or a query builder given the pool. */
type Via = "pg" | "Drizzle" | "Kysely";

async function openPool(
  via: Via,
  options: Record<string, unknown>,
  size: number,
): Promise<PoolUnderTest> {
  const pool = createIamPool({ ...(options as unknown as IamPgPoolOptions), max: size });
  const auth = trackTokens(iamAuthOf(pool));
  const drizzleDb = drizzle({ client: pool });
  const kyselyDb = new Kysely<Record<string, never>>({ dialect: new PostgresDialect({ pool }) });
  const rowsOf = async (n: number): Promise<{ n?: unknown }[]> => {
    if (via === "Drizzle") {
      return (await unwrappingDrizzle(() => drizzleDb.execute(sql`select ${n}::int as n`))).rows;
    }
    if (via === "Kysely")
      return (await kyselySql<{ n: number }>`select ${n}::int as n`.execute(kyselyDb)).rows;
    return (await pool.query("select $1::int as n", [n])).rows;
  };
  const query = async (n: number) => {
    const rows = await rowsOf(n);
    if (Number(rows[0]?.n) !== n) throw new Error(`wrong answer for ${n}`);
  };
  await query(0);
  return {
    query,
    async recycle() {
      // Released with an error, a client is destroyed: the next query logs in anew.
      const client = await pool.connect();
      client.release(true);
    },
    stats: () => auth.stats(),
    async close() {
      await pool.end();
      auth.close();
    },
  };
}

for (const via of ["pg", "Drizzle", "Kysely"] as const) {
  describeAdapterReliability({
    name: `@rds-iam/pg pool, queries through ${via}`,
    engine: "postgres",
    open: (options, size) => openPool(via, options, size),
  });
}

const PACKAGE = {
  label: "pg",
  engine: "postgres",
  create: (options: unknown) => createIamPool(options as IamPgPoolOptions),
  iamAuthOf,
  objectName: "pool",
} as const;

describeBadInput("bad input: @rds-iam/pg", [
  ...commonBadInput(PACKAGE),
  {
    name: "pg: connectionString plus IAM",
    run: () =>
      PACKAGE.create({
        ...BAD_INPUT_BASE,
        connectionString: `postgres://app:${encodeURIComponent(TOKEN_LIKE)}@${BAD_INPUT_HOST}/app`,
      }),
    code: "CONFLICTING_OPTIONS",
    option: "connectionString",
  },
  {
    name: "pg: IP host without iamHost",
    run: () => PACKAGE.create({ ...BAD_INPUT_BASE, host: "10.0.0.12" }),
    code: "IAM_HOST_REQUIRED",
    option: "iamHost",
  },
]);
