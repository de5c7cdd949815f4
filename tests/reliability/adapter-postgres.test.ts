import { createIamSql, type IamPostgresSqlOptions, iamAuthOf } from "@rds-iam/postgres";
import { sql as drizzleSql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/postgres-js";
import pg from "pg";
import { afterAll } from "vitest";
import { POSTGRES_BACKEND } from "../support/databases";
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

/**
 * Who sends the queries: postgres.js itself, or Drizzle given the sql. Not Kysely:
 * kysely-postgres-js 3 runs every query on a `sql.reserve()`d connection, and when the
 * server ends an idle connection (the recycle below, a failover, an idle timeout),
 * postgres.js 3.4.9's reserved-connection path fails: without IAM, straight to the
 * real database, the process dies of an unhandled `CONNECTION_CLOSED`; here, later
 * answers came back for the wrong query. tests/postgres-sql.test.ts checks that
 * Kysely works over the package; @rds-iam/pg's README recommends Kysely's own
 * `PostgresDialect` on node-postgres.
 */
type Via = "postgres.js" | "Drizzle";

async function openSql(
  via: Via,
  options: Record<string, unknown>,
  size: number,
): Promise<PoolUnderTest> {
  let closed = 0;
  const sql = createIamSql({
    ...(options as unknown as IamPostgresSqlOptions),
    max: size,
    onclose: () => {
      closed++;
    },
  });
  const auth = trackTokens(iamAuthOf(sql));
  const drizzleDb = drizzle({ client: sql });
  const rowsOf = async (n: number): Promise<readonly { n?: unknown }[]> => {
    if (via === "Drizzle") {
      return [
        ...(await unwrappingDrizzle(() => drizzleDb.execute(drizzleSql`select ${n}::int as n`))),
      ];
    }
    return sql`select ${n}::int as n`;
  };
  const query = async (n: number) => {
    const rows = await rowsOf(n);
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

for (const via of ["postgres.js", "Drizzle"] as const) {
  describeAdapterReliability({
    name: `@rds-iam/postgres sql, queries through ${via}`,
    engine: "postgres",
    open: (options, size) => openSql(via, options, size),
  });
}

const PACKAGE = {
  label: "postgres.js",
  engine: "postgres",
  create: (options: unknown) => createIamSql(options as IamPostgresSqlOptions),
  iamAuthOf,
  objectName: "sql",
} as const;
const create = (options: Record<string, unknown>) =>
  PACKAGE.create({ ...BAD_INPUT_BASE, ...options });

describeBadInput("bad input: @rds-iam/postgres", [
  ...commonBadInput(PACKAGE),
  {
    name: "postgres.js: a static pass",
    run: () => create({ pass: async () => TOKEN_LIKE }),
    code: "CONFLICTING_OPTIONS",
    option: "pass",
  },
  {
    name: "postgres.js: a socket of its own",
    run: () => create({ socket: () => undefined }),
    code: "CONFLICTING_OPTIONS",
    option: "socket",
  },
  {
    name: "postgres.js: a Unix socket path",
    run: () => create({ path: "/var/run/postgresql/.s.PGSQL.5432" }),
    code: "CONFLICTING_OPTIONS",
    option: "path",
  },
  {
    name: "postgres.js: direct TLS negotiation",
    run: () => create({ sslnegotiation: "direct" }),
    code: "CONFLICTING_OPTIONS",
    option: "sslnegotiation",
  },
  {
    name: "postgres.js: the hostname alias",
    run: () => create({ host: undefined, hostname: BAD_INPUT_HOST }),
    code: "CONFLICTING_OPTIONS",
    option: "hostname",
  },
  {
    name: "postgres.js: the username alias",
    run: () => create({ user: undefined, username: "app" }),
    code: "CONFLICTING_OPTIONS",
    option: "username",
  },
  {
    // postgres.js's startup message lets connection.user replace the user, so the token
    // signed for `user` would be sent in a login as someone else.
    name: "postgres.js: a user in the startup parameters",
    run: () => create({ connection: { user: "postgres" } }),
    code: "CONFLICTING_OPTIONS",
    option: "connection.user",
  },
  {
    name: "postgres.js: several hosts",
    run: () => create({ host: `${BAD_INPUT_HOST},other.example.com` }),
    code: "INVALID_OPTION",
    option: "host",
  },
  {
    name: "postgres.js: TLS switched off",
    run: () => create({ ssl: false }),
    code: "PLAINTEXT_REFUSED",
    option: "ssl",
  },
]);
