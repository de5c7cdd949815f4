import { createIamPool, type IamMysql2PoolOptions, iamAuthOf } from "@rds-iam/mysql2";
import { trackTokens } from "../support/secret-scan";
import { describeAdapterReliability, type PoolUnderTest } from "./support/adapter-suite";
import { TOKEN_LIKE } from "./support/bad-input";
import {
  BAD_INPUT_BASE,
  BAD_INPUT_HOST,
  commonBadInput,
  describeBadInput,
} from "./support/driver-package-bad-input";

async function openPool(options: Record<string, unknown>, size: number): Promise<PoolUnderTest> {
  const pool = createIamPool({
    ...(options as unknown as IamMysql2PoolOptions),
    connectionLimit: size,
  }).promise();
  const auth = trackTokens(iamAuthOf(pool));
  const query = async (n: number) => {
    const [rows] = await pool.query("SELECT ? AS n", [n]);
    if (Number((rows as { n: unknown }[])[0]?.n) !== n) throw new Error(`wrong answer for ${n}`);
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

describeAdapterReliability({ name: "@rds-iam/mysql2 pool", engine: "mysql", open: openPool });

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
