import { createIamPool, type IamMysql2PoolOptions, iamAuthOf } from "@rds-iam/mysql2";
import { sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/mysql2";
import { Kysely, sql as kyselySql, MysqlDialect } from "kysely";
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
type Via = "mysql2" | "Drizzle" | "Kysely";

async function openPool(
  via: Via,
  options: Record<string, unknown>,
  size: number,
): Promise<PoolUnderTest> {
  const callbacks = createIamPool({
    ...(options as unknown as IamMysql2PoolOptions),
    connectionLimit: size,
  });
  const pool = callbacks.promise();
  const auth = trackTokens(iamAuthOf(pool));
  const drizzleDb = drizzle({ client: callbacks });
  const kyselyDb = new Kysely<Record<string, never>>({
    dialect: new MysqlDialect({ pool: callbacks }),
  });
  const rowsOf = async (n: number): Promise<unknown> => {
    if (via === "Drizzle") {
      return (await unwrappingDrizzle(() => drizzleDb.execute(sql`SELECT ${n} AS n`)))[0];
    }
    if (via === "Kysely")
      return (await kyselySql<{ n: number }>`SELECT ${n} AS n`.execute(kyselyDb)).rows;
    return (await pool.query("SELECT ? AS n", [n]))[0];
  };
  const query = async (n: number) => {
    const rows = (await rowsOf(n)) as { n?: unknown }[];
    if (Number(rows[0]?.n) !== n) throw new Error(`wrong answer for ${n}`);
  };
  await query(0);
  return {
    query,
    async recycle() {
      // A destroyed connection leaves the pool: the next query logs in anew.
      (await pool.getConnection()).destroy();
    },
    stats: () => auth.stats(),
    async close() {
      await pool.end();
      auth.close();
    },
  };
}

for (const via of ["mysql2", "Drizzle", "Kysely"] as const) {
  describeAdapterReliability({
    name: `@rds-iam/mysql2 pool, queries through ${via}`,
    engine: "mysql",
    open: (options, size) => openPool(via, options, size),
  });
}

const PACKAGE = {
  label: "mysql2",
  engine: "mysql",
  create: (options: unknown) => createIamPool(options as IamMysql2PoolOptions),
  iamAuthOf,
  objectName: "pool",
} as const;
const create = (options: Record<string, unknown>) =>
  PACKAGE.create({ ...BAD_INPUT_BASE, ...options });

describeBadInput("bad input: @rds-iam/mysql2", [
  ...commonBadInput(PACKAGE),
  {
    name: "mysql2: uri plus IAM",
    run: () =>
      create({ uri: `mysql://app:${encodeURIComponent(TOKEN_LIKE)}@${BAD_INPUT_HOST}/app` }),
    code: "CONFLICTING_OPTIONS",
    option: "uri",
  },
  {
    name: "mysql2: packet debug output",
    run: () => create({ debug: true }),
    code: "CONFLICTING_OPTIONS",
    option: "debug",
  },
  {
    name: "mysql2: verifyIdentity off",
    run: () => create({ ssl: { verifyIdentity: false } }),
    code: "CONFLICTING_OPTIONS",
    option: "ssl.verifyIdentity",
  },
  {
    name: "mysql2: a misspelt iamHost",
    run: () => create({ iamHots: BAD_INPUT_HOST }),
    code: "INVALID_OPTION",
    option: "iamHots",
  },
]);
