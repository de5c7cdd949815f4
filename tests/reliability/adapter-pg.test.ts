import { createIamPool, type IamPgPoolOptions, iamAuthOf } from "@rds-iam/pg";
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
  const pool = createIamPool({ ...(options as unknown as IamPgPoolOptions), max: size });
  const auth = trackTokens(iamAuthOf(pool));
  const query = async (n: number) => {
    const { rows } = await pool.query("select $1::int as n", [n]);
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

describeAdapterReliability({ name: "@rds-iam/pg pool", engine: "postgres", open: openPool });

const HOST = "mydb.cluster-abc123.us-east-1.rds.amazonaws.com";
const BASE = { host: HOST, user: "app", database: "app", credentials: SECRET_CREDENTIALS };
// biome-ignore lint/suspicious/noExplicitAny: bad input on purpose.
type Loose = any;
const create = (options: Record<string, unknown>) => createIamPool(options as Loose);

const CASES: readonly BadInputCase[] = [
  {
    name: "pg: options not an object",
    run: () => create("postgres://x" as Loose),
    code: "INVALID_OPTION",
    option: "options",
  },
  {
    name: "pg: missing user",
    run: () => create({ ...BASE, user: undefined }),
    code: "MISSING_OPTION",
    option: "user",
  },
  {
    name: "pg: connectionString plus IAM",
    run: () =>
      create({
        ...BASE,
        connectionString: `postgres://app:${encodeURIComponent(TOKEN_LIKE)}@${HOST}/app`,
      }),
    code: "CONFLICTING_OPTIONS",
    option: "connectionString",
  },
  {
    name: "pg: a static password",
    run: () => create({ ...BASE, password: TOKEN_LIKE }),
    code: "CONFLICTING_OPTIONS",
    option: "password",
  },
  {
    name: "pg: a misspelt IAM option",
    run: () => create({ ...BASE, iamRegoin: "us-east-1" }),
    code: "INVALID_OPTION",
    option: "iamRegoin",
  },
  {
    name: "pg: a mysql engine",
    run: () => create({ ...BASE, engine: "mysql" }),
    code: "CONFLICTING_OPTIONS",
    option: "engine",
  },
  {
    name: "pg: IP host without iamHost",
    run: () => create({ ...BASE, host: "10.0.0.12" }),
    code: "IAM_HOST_REQUIRED",
    option: "iamHost",
  },
  {
    name: "pg: plaintext to a remote host",
    run: () => create({ ...BASE, ssl: false, iamAllowPlaintext: true }),
    code: "PLAINTEXT_REFUSED",
    option: "ssl",
  },
  { name: "pg: not our pool", run: () => iamAuthOf({}), code: "INVALID_OPTION", option: "pool" },
];

describe("bad input: @rds-iam/pg", () => {
  afterAll(() => {
    assertNoLeaks({ secretKeyShape: true });
  });
  it.each(CASES)("$name -> $code naming $option", async (row) => {
    await withEnv(isolatedAwsEnv(), () => expectBadInput(row));
  });
});
