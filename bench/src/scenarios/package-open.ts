import { createIamPool as createIamMysql2Pool } from "@rds-iam/mysql2";
import { createIamPool as createIamPgPool } from "@rds-iam/pg";
import { createIamSql, iamAuthOf as iamAuthOfSql } from "@rds-iam/postgres";
import mysql from "mysql2";
import pg from "pg";
import postgres from "postgres";
import { describeError } from "../describe-error";
import { ratio, round, since, summarize } from "../measure";
import type { BenchTarget, Engine } from "../setup";

/** The driver a package wraps; each is measured against the same driver with a static password. */
export type PackageDriver = "pg" | "mysql2" | "postgres.js";

export const PACKAGE_LABELS: Readonly<Record<PackageDriver, string>> = {
  pg: "@rds-iam/pg (pg.Pool)",
  mysql2: "@rds-iam/mysql2 (mysql2 pool)",
  "postgres.js": "@rds-iam/postgres (postgres.js sql)",
};

/** Which packages serve an engine. */
export const PACKAGES_BY_ENGINE: Readonly<Record<Engine, readonly PackageDriver[]>> = {
  postgres: ["pg", "postgres.js"],
  mysql: ["mysql2"],
};

export interface PackageOpenResult {
  readonly engine: Engine;
  readonly driver: PackageDriver;
  readonly samplesPerContender: number;
  readonly warmupPerContender: number;
  /** ms per new physical connection (see {@link packageOpen}). */
  readonly openMs: {
    readonly ours: ReturnType<typeof summarize>;
    readonly static: ReturnType<typeof summarize>;
  };
  readonly failures: { readonly ours: number; readonly static: number };
  readonly errorSamples: readonly string[];
  /** Ours divided by the static password's, median and p99. */
  readonly vsStatic: { readonly median: number; readonly p99: number };
}

/** One side of a pair: opens a new physical connection, and is closed at the end. */
interface Side {
  /** Opens a new connection and runs `SELECT 1`; resolves with the timed part in ms. */
  open(): Promise<number>;
  close(): Promise<void>;
}

/**
 * Scenario 7: what each driver package costs per new connection, against the same
 * driver given the token as a static password, on the same gateway and TLS. pg and
 * mysql2: a pool of one, timed from `connect()` / `getConnection()` to the connection,
 * which is then destroyed (so every sample is a new physical connection). postgres.js
 * opens connections only for queries and cannot drop one, so each sample is a new
 * `sql` (created untimed) whose first `SELECT 1` is timed: the connection, its login,
 * and the query. Sides alternate in rotating order after a warm-up.
 */
export async function packageOpen(
  target: BenchTarget,
  driver: PackageDriver,
  options: { samples: number; warmup: number; staticPassword: string },
): Promise<PackageOpenResult> {
  const sides = {
    ours: oursFor(target, driver),
    static: staticFor(target, driver, options.staticPassword),
  };
  const samples = { ours: [] as number[], static: [] as number[] };
  const failures = { ours: 0, static: 0 };
  const errors = new Set<string>();
  const names = ["ours", "static"] as const;
  try {
    for (let round_ = 0; round_ < options.warmup + options.samples; round_++) {
      for (let i = 0; i < names.length; i++) {
        const name = names[(round_ + i) % names.length] ?? "ours";
        try {
          const elapsed = await sides[name].open();
          if (round_ >= options.warmup) samples[name].push(elapsed);
        } catch (error) {
          failures[name]++;
          errors.add(`${name}: ${describeError(error)}`);
        }
      }
    }
  } finally {
    await Promise.all([sides.ours.close(), sides.static.close()]);
  }
  const openMs = { ours: summarize(samples.ours), static: summarize(samples.static) };
  return {
    engine: target.engine,
    driver,
    samplesPerContender: options.samples,
    warmupPerContender: options.warmup,
    openMs,
    failures,
    errorSamples: [...errors].slice(0, 5),
    vsStatic: {
      median: round(ratio(openMs.ours.median, openMs.static.median), 3),
      p99: round(ratio(openMs.ours.p99, openMs.static.p99), 3),
    },
  };
}

function connection(target: BenchTarget) {
  return { host: target.host, port: target.port, user: target.user, database: target.database };
}

function iam(target: BenchTarget) {
  return {
    ...connection(target),
    iamHost: target.iamHost,
    iamDefaultPort: target.iamDefaultPort,
    iamRegion: target.region,
    ssl: { ca: target.ca },
  };
}

function oursFor(target: BenchTarget, driver: PackageDriver): Side {
  if (driver === "pg") return pgSide(createIamPgPool({ ...iam(target), max: 1 }));
  if (driver === "mysql2")
    return mysql2Side(createIamMysql2Pool({ ...iam(target), connectionLimit: 1 }));
  return postgresJsSide(
    () => createIamSql({ ...iam(target), max: 1 }),
    (sql) => iamAuthOfSql(sql).close(),
  );
}

function staticFor(target: BenchTarget, driver: PackageDriver, password: string): Side {
  // Verified TLS with the gateway's CA, as ours (which also checks the endpoint name).
  const ssl = { ca: target.ca };
  if (driver === "pg") {
    return pgSide(new pg.Pool({ ...connection(target), password, ssl, max: 1 }));
  }
  if (driver === "mysql2") {
    return mysql2Side(
      mysql.createPool({
        ...connection(target),
        password,
        ssl,
        connectionLimit: 1,
        // mysql2 3.22+ refuses mysql_clear_password unless asked; IAM needs it.
        enableCleartextPlugin: true,
      } as mysql.PoolOptions),
    );
  }
  return postgresJsSide(
    () => postgres({ ...connection(target), password, ssl, max: 1 }),
    () => undefined,
  );
}

function pgSide(pool: pg.Pool): Side {
  pool.on("error", () => {});
  return {
    async open() {
      const start = performance.now();
      const client = await pool.connect();
      const elapsed = since(start);
      try {
        await client.query("SELECT 1");
      } finally {
        client.release(true);
      }
      return elapsed;
    },
    close: () => pool.end(),
  };
}

function mysql2Side(pool: mysql.Pool): Side {
  const promised = pool.promise();
  return {
    async open() {
      const start = performance.now();
      const conn = await promised.getConnection();
      const elapsed = since(start);
      try {
        await conn.query("SELECT 1");
      } finally {
        conn.destroy();
      }
      return elapsed;
    },
    close: () => promised.end(),
  };
}

function postgresJsSide(create: () => postgres.Sql, release: (sql: postgres.Sql) => void): Side {
  return {
    async open() {
      const sql = create();
      try {
        const start = performance.now();
        await sql`SELECT 1`;
        return since(start);
      } finally {
        await sql.end({ timeout: 5 });
        release(sql);
      }
    },
    async close() {},
  };
}
