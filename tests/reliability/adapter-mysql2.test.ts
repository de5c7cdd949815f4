import { createIamPool, type IamMysql2PoolOptions, iamAuthOf } from "@rds-iam/mysql2";
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

const HOST = "mydb.cluster-abc123.us-east-1.rds.amazonaws.com";
const BASE = { host: HOST, user: "app", database: "app", credentials: SECRET_CREDENTIALS };
// biome-ignore lint/suspicious/noExplicitAny: bad input on purpose.
type Loose = any;
const create = (options: Record<string, unknown>) => createIamPool(options as Loose);

const CASES: readonly BadInputCase[] = [
  {
    name: "mysql2: options not an object",
    run: () => create("mysql://x" as Loose),
    code: "INVALID_OPTION",
    option: "options",
  },
  {
    name: "mysql2: missing user",
    run: () => create({ ...BASE, user: undefined }),
    code: "MISSING_OPTION",
    option: "user",
  },
  {
    name: "mysql2: uri plus IAM",
    run: () =>
      create({ ...BASE, uri: `mysql://app:${encodeURIComponent(TOKEN_LIKE)}@${HOST}/app` }),
    code: "CONFLICTING_OPTIONS",
    option: "uri",
  },
  {
    name: "mysql2: a static password",
    run: () => create({ ...BASE, password: TOKEN_LIKE }),
    code: "CONFLICTING_OPTIONS",
    option: "password",
  },
  {
    name: "mysql2: packet debug output",
    run: () => create({ ...BASE, debug: true }),
    code: "CONFLICTING_OPTIONS",
    option: "debug",
  },
  {
    name: "mysql2: verifyIdentity off",
    run: () => create({ ...BASE, ssl: { verifyIdentity: false } }),
    code: "CONFLICTING_OPTIONS",
    option: "ssl.verifyIdentity",
  },
  {
    name: "mysql2: a misspelt IAM option",
    run: () => create({ ...BASE, iamHots: HOST }),
    code: "INVALID_OPTION",
    option: "iamHots",
  },
  {
    name: "mysql2: a postgres engine",
    run: () => create({ ...BASE, engine: "postgres" }),
    code: "CONFLICTING_OPTIONS",
    option: "engine",
  },
  {
    name: "mysql2: plaintext to a remote host",
    run: () => create({ ...BASE, ssl: false, iamAllowPlaintext: true }),
    code: "PLAINTEXT_REFUSED",
    option: "ssl",
  },
  {
    name: "mysql2: not our pool",
    run: () => iamAuthOf({}),
    code: "INVALID_OPTION",
    option: "pool",
  },
];

describe("bad input: @rds-iam/mysql2", () => {
  afterAll(() => {
    assertNoLeaks({ secretKeyShape: true });
  });
  it.each(CASES)("$name -> $code naming $option", async (row) => {
    await withEnv(isolatedAwsEnv(), () => expectBadInput(row));
  });
});
