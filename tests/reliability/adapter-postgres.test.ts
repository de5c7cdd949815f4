import { createIamSql, type IamPostgresSqlOptions, iamAuthOf } from "@rds-iam/postgres";
import pg from "pg";
import { afterAll, describe, it } from "vitest";
import { isolatedAwsEnv, withEnv } from "../support/aws-env";
import { POSTGRES_BACKEND } from "../support/databases";
import { assertNoLeaks, trackTokens } from "../support/secret-scan";
import { describeAdapterReliability, type PoolUnderTest } from "./support/adapter-suite";
import {
  type BadInputCase,
  expectBadInput,
  SECRET_CREDENTIALS,
  TOKEN_LIKE,
} from "./support/bad-input";

async function openSql(options: Record<string, unknown>, size: number): Promise<PoolUnderTest> {
  let closed = 0;
  const sql = createIamSql({
    ...(options as unknown as IamPostgresSqlOptions),
    max: size,
    onclose: () => {
      closed++;
    },
  });
  const auth = trackTokens(iamAuthOf(sql));
  const query = async (n: number) => {
    const rows = await sql`select ${n}::int as n`;
    if (Number(rows[0]?.n) !== n) throw new Error(`wrong answer for ${n}`);
  };
  await query(0);
  return {
    query,
    async recycle() {
      // postgres.js cannot drop one connection, so the server ends one of this user's
      // idle ones, and a query after that logs in anew. Not from inside a
      // query: postgres.js 3.4.9 then carries the dying query's error and row count
      // over to the next connection (seen here with plain postgres.js too).
      const before = closed;
      const ended = await terminateSessionsOf(String(options.user));
      await waitFor(() => closed - before >= ended);
    },
    stats: () => auth.stats(),
    async close() {
      await sql.end({ timeout: 5 });
      auth.close();
    },
  };
}

let admin: pg.Client | undefined;

/** Ends one session of `user` on the real PostgreSQL; returns how many it ended (0 or 1). */
async function terminateSessionsOf(user: string): Promise<number> {
  if (admin === undefined) {
    admin = new pg.Client({
      host: POSTGRES_BACKEND.host,
      port: POSTGRES_BACKEND.port,
      user: POSTGRES_BACKEND.adminUser,
      database: POSTGRES_BACKEND.adminDatabase,
    });
    await admin.connect();
  }
  const { rows } = await admin.query(
    "select pg_terminate_backend(pid) as ended from pg_stat_activity where usename = $1 limit 1",
    [user],
  );
  return rows.filter((row) => row.ended === true).length;
}

afterAll(async () => {
  await admin?.end();
});

async function waitFor(condition: () => boolean): Promise<void> {
  for (let waited = 0; !condition(); waited += 5) {
    if (waited > 5_000) throw new Error("postgres.js did not notice its ended connections");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describeAdapterReliability({ name: "@rds-iam/postgres sql", engine: "postgres", open: openSql });

const HOST = "mydb.cluster-abc123.us-east-1.rds.amazonaws.com";
const BASE = { host: HOST, user: "app", database: "app", credentials: SECRET_CREDENTIALS };
// biome-ignore lint/suspicious/noExplicitAny: bad input on purpose.
type Loose = any;
const create = (options: Record<string, unknown>) => createIamSql(options as Loose);

const CASES: readonly BadInputCase[] = [
  {
    name: "postgres.js: options not an object",
    run: () => create("postgres://x" as Loose),
    code: "INVALID_OPTION",
    option: "options",
  },
  {
    name: "postgres.js: missing user",
    run: () => create({ ...BASE, user: undefined }),
    code: "MISSING_OPTION",
    option: "user",
  },
  {
    name: "postgres.js: a static password",
    run: () => create({ ...BASE, password: TOKEN_LIKE }),
    code: "CONFLICTING_OPTIONS",
    option: "password",
  },
  {
    name: "postgres.js: a static pass",
    run: () => create({ ...BASE, pass: async () => TOKEN_LIKE }),
    code: "CONFLICTING_OPTIONS",
    option: "pass",
  },
  {
    name: "postgres.js: a socket of its own",
    run: () => create({ ...BASE, socket: () => undefined }),
    code: "CONFLICTING_OPTIONS",
    option: "socket",
  },
  {
    name: "postgres.js: a Unix socket path",
    run: () => create({ ...BASE, path: "/var/run/postgresql/.s.PGSQL.5432" }),
    code: "CONFLICTING_OPTIONS",
    option: "path",
  },
  {
    name: "postgres.js: direct TLS negotiation",
    run: () => create({ ...BASE, sslnegotiation: "direct" }),
    code: "CONFLICTING_OPTIONS",
    option: "sslnegotiation",
  },
  {
    name: "postgres.js: the hostname alias",
    run: () => create({ ...BASE, host: undefined, hostname: HOST }),
    code: "CONFLICTING_OPTIONS",
    option: "hostname",
  },
  {
    name: "postgres.js: the username alias",
    run: () => create({ ...BASE, user: undefined, username: "app" }),
    code: "CONFLICTING_OPTIONS",
    option: "username",
  },
  {
    name: "postgres.js: a misspelt IAM option",
    run: () => create({ ...BASE, iamRegoin: "us-east-1" }),
    code: "INVALID_OPTION",
    option: "iamRegoin",
  },
  {
    name: "postgres.js: a mysql engine",
    run: () => create({ ...BASE, engine: "mysql" }),
    code: "CONFLICTING_OPTIONS",
    option: "engine",
  },
  {
    name: "postgres.js: several hosts",
    run: () => create({ ...BASE, host: `${HOST},other.example.com` }),
    code: "INVALID_OPTION",
    option: "host",
  },
  {
    name: "postgres.js: TLS switched off",
    run: () => create({ ...BASE, ssl: false }),
    code: "PLAINTEXT_REFUSED",
    option: "ssl",
  },
  {
    name: "postgres.js: plaintext to a remote host",
    run: () => create({ ...BASE, ssl: false, iamAllowPlaintext: true }),
    code: "PLAINTEXT_REFUSED",
    option: "ssl",
  },
  {
    name: "postgres.js: not our sql",
    run: () => iamAuthOf({}),
    code: "INVALID_OPTION",
    option: "sql",
  },
];

describe("bad input: @rds-iam/postgres", () => {
  afterAll(() => {
    assertNoLeaks({ secretKeyShape: true });
  });
  it.each(CASES)("$name -> $code naming $option", async (row) => {
    await withEnv(isolatedAwsEnv(), () => expectBadInput(row));
  });
});
