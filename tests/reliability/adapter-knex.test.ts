import type { IamAuth } from "@rds-iam/core";
import { type IamKnexConnectionOptions, iamConnection } from "@rds-iam/knex";
import knex, { type Knex } from "knex";
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

// Failed acquisitions are expected in the rejection tests; knex would warn about each.
const QUIET: Knex.Logger = { warn: () => {}, error: () => {}, deprecate: () => {} };

async function openKnex(
  client: "pg" | "mysql2" | "mariadb",
  options: Record<string, unknown>,
  size: number,
): Promise<PoolUnderTest> {
  const connection = iamConnection(options as IamKnexConnectionOptions);
  // Connections marked here fail knex's validation on their next acquisition, so the
  // pool destroys them and opens new ones: a recycle without waiting for idle timers.
  const retired = new WeakSet<object>();
  const db = knex({
    client,
    connection,
    pool: { min: 0, max: size, validate: (c: object) => !retired.has(c) },
    log: QUIET,
  });
  const query = async (n: number) => {
    const row = await db.select(db.raw("? as n", [n])).first();
    if (Number(row?.n) !== n) throw new Error(`wrong answer for ${n}`);
  };
  await query(0);
  // The provider exists from the first call on: from now on every token is known.
  const auth = connection.auth as IamAuth;
  trackTokens(auth);
  await auth.getTokenWithExpiry();
  return {
    query,
    async recycle() {
      const raw: object = await db.client.acquireConnection();
      retired.add(raw);
      await db.client.releaseConnection(raw);
    },
    async settle() {
      const pool = db.client.pool as { numPendingCreates(): number } | undefined;
      while ((pool?.numPendingCreates() ?? 0) > 0) await tick(1);
    },
    stats: () => connection.stats(),
    async close() {
      await db.destroy();
      connection.close();
    },
  };
}

describeAdapterReliability({
  name: 'knex "pg"',
  engine: "postgres",
  mintsOnExpiry: true,
  open: (options, size) => openKnex("pg", options, size),
});
describeAdapterReliability({
  name: 'knex "mysql2"',
  engine: "mysql",
  mintsOnExpiry: true,
  open: (options, size) => openKnex("mysql2", options, size),
});
describeAdapterReliability({
  name: 'knex "mariadb"',
  engine: "mysql",
  mintsOnExpiry: true,
  open: (options, size) => openKnex("mariadb", options, size),
});

const HOST = "mydb.cluster-abc123.us-east-1.rds.amazonaws.com";
const BASE = { host: HOST, user: "app", database: "app", credentials: SECRET_CREDENTIALS };
// biome-ignore lint/suspicious/noExplicitAny: bad input on purpose.
type Loose = any;
const connect = (options: Record<string, unknown>) => iamConnection(options as Loose);

const KNEX_CASES: readonly BadInputCase[] = [
  {
    name: "knex: options not an object",
    run: () => connect("postgres://x" as Loose),
    code: "INVALID_OPTION",
    option: "options",
  },
  {
    name: "knex: missing user",
    run: () => connect({ ...BASE, user: undefined }),
    code: "MISSING_OPTION",
    option: "user",
  },
  {
    name: "knex: connectionString plus IAM",
    run: () =>
      connect({
        ...BASE,
        connectionString: `postgres://app:${encodeURIComponent(TOKEN_LIKE)}@${HOST}/app`,
      }),
    code: "CONFLICTING_OPTIONS",
    option: "connectionString",
  },
  {
    name: "knex: mysql2 uri plus IAM",
    run: () => connect({ ...BASE, uri: `mysql://app@${HOST}/app` }),
    code: "CONFLICTING_OPTIONS",
    option: "uri",
  },
  {
    name: "knex: a static password",
    run: () => connect({ ...BASE, password: TOKEN_LIKE }),
    code: "CONFLICTING_OPTIONS",
    option: "password",
  },
  {
    name: "knex: unknown engine",
    run: () => connect({ ...BASE, engine: "oracle" }),
    code: "INVALID_OPTION",
    option: "engine",
  },
  {
    name: "knex: IP host without iamHost",
    run: () => connect({ ...BASE, host: "10.0.0.12" }),
    code: "IAM_HOST_REQUIRED",
    option: "iamHost",
  },
  {
    name: "knex: plaintext to a remote host",
    run: () => connect({ ...BASE, ssl: false, iamAllowPlaintext: true }),
    code: "PLAINTEXT_REFUSED",
    option: "ssl",
  },
  {
    name: "knex: iamTokenExpiration over 900",
    run: () => connect({ ...BASE, iamTokenExpiration: 3600 }),
    code: "INVALID_OPTION",
    option: "iamTokenExpiration",
  },
  {
    name: "knex: port out of range",
    run: () => connect({ ...BASE, port: 99_999 }),
    code: "INVALID_OPTION",
    option: "port",
  },
  {
    name: "knex: pg-native client",
    run: () => connect({ ...BASE }).call({ driverName: "pgnative" }),
    code: "INVALID_OPTION",
    option: "client",
  },
  {
    name: "knex: called outside knex without engine",
    run: () => connect({ ...BASE })(),
    code: "MISSING_OPTION",
    option: "engine",
  },
];

describe("bad input: knex adapter", () => {
  afterAll(() => {
    assertNoLeaks({ secretKeyShape: true });
  });
  it.each(KNEX_CASES)("$name -> $code naming $option", async (row) => {
    await withEnv(isolatedAwsEnv(), () => expectBadInput(row));
  });
});
