/**
 * `pnpm --filter @rds-iam/bench pool`: the connection pool `@rds-iam/prisma` hands
 * `@prisma/adapter-mariadb`, measured side by side with the same pool built on `tarn`
 * (knex's pool), against the machine's real MariaDB. Both open connections with the
 * same `open()` (where the adapter logs in with a token), so what differs is the pool:
 * throughput and acquire latency, what a query meets after the server killed idle
 * connections, and how long `end()` ($disconnect) takes while a connection is in use.
 * Prints the numbers and their ratios; asserts nothing.
 */
import { writeFileSync } from "node:fs";
import * as mariadb from "mariadb";
import { Pool as TarnPool } from "tarn";
import { IamMariadbPool } from "../../packages/prisma/src/iam-mariadb-pool";
import { round, since } from "./measure";

const TARGET = { host: "127.0.0.1", port: 3306, user: "root", database: "test" } as const;
const LIMIT = 10;
const OPS_PER_WORKER = 1_000;

type Connection = mariadb.Connection;

/** What both pools offer the adapter: a connection to use, then give back. */
interface PoolUnderTest {
  getConnection(): Promise<{ query(sql: string): Promise<unknown>; release(): unknown }>;
  end(): Promise<void>;
}

const open = () => mariadb.createConnection(TARGET);

/** The hand-written pool, exactly as the adapter builds it (defaults but the limit). */
function ours(): PoolUnderTest {
  return new IamMariadbPool(open, { connectionLimit: LIMIT });
}

/**
 * The same contract on tarn 3: `validate` can only be synchronous there, so it asks
 * the connection whether its socket is still open (`isValid()`) instead of pinging.
 */
function onTarn(): PoolUnderTest {
  const pool = new TarnPool<Connection>({
    // An 'error' listener, as ours has: a connection lost while idle must not crash.
    create: async () => {
      const connection = await open();
      connection.on("error", () => {});
      return connection;
    },
    destroy: (connection) => connection.end().catch(() => connection.destroy()),
    validate: (connection) => connection.isValid(),
    min: 0,
    max: LIMIT,
    acquireTimeoutMillis: 10_000,
    idleTimeoutMillis: 1_800_000,
    propagateCreateError: true,
  });
  return {
    async getConnection() {
      const connection = await pool.acquire().promise;
      return {
        query: (sql: string) => connection.query(sql),
        release: () => pool.release(connection),
      };
    },
    end: async () => {
      await pool.destroy();
    },
  };
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN;
}

/** `workers` callers, each acquire -> SELECT 1 -> release, `OPS_PER_WORKER` times. */
async function throughput(make: () => PoolUnderTest, workers: number) {
  const pool = make();
  const acquire: number[] = [];
  // Warm: every connection opened before the clock starts.
  await Promise.all(
    Array.from({ length: LIMIT }, async () => (await pool.getConnection()).release()),
  );
  const start = performance.now();
  await Promise.all(
    Array.from({ length: workers }, async () => {
      for (let i = 0; i < OPS_PER_WORKER; i++) {
        const asked = performance.now();
        const connection = await pool.getConnection();
        acquire.push(since(asked));
        await connection.query("SELECT 1");
        await connection.release();
      }
    }),
  );
  const seconds = since(start) / 1000;
  await pool.end();
  acquire.sort((a, b) => a - b);
  return {
    opsPerSecond: round((workers * OPS_PER_WORKER) / seconds, 0),
    acquireP50Ms: round(percentile(acquire, 0.5), 3),
    acquireP99Ms: round(percentile(acquire, 0.99), 3),
  };
}

/** The server kills every idle connection (a failover, wait_timeout): do queries notice? */
async function killedIdle(make: () => PoolUnderTest) {
  const pool = make();
  const admin = await open();
  const held = await Promise.all(Array.from({ length: LIMIT }, () => pool.getConnection()));
  const ids = await Promise.all(
    held.map(async (connection) => {
      const rows = (await connection.query("SELECT CONNECTION_ID() AS id")) as { id: unknown }[];
      return Number(rows[0]?.id);
    }),
  );
  for (const connection of held) await connection.release();
  for (const id of ids) await admin.query(`KILL ${id}`);
  await admin.end();
  // Long enough for the pool's minDelayValidation (500 ms) to apply, as after any lull.
  await new Promise((resolve) => setTimeout(resolve, 600));
  let failed = 0;
  for (let i = 0; i < LIMIT; i++) {
    try {
      const connection = await pool.getConnection();
      try {
        await connection.query("SELECT 1");
      } finally {
        await connection.release();
      }
    } catch {
      failed++;
    }
  }
  await pool.end();
  return { failedQueries: failed, of: LIMIT };
}

/** `$disconnect` while a transaction still holds a connection: how long does end() take? */
async function endWhileInUse(make: () => PoolUnderTest) {
  const pool = make();
  const held = await pool.getConnection();
  const start = performance.now();
  const ended = pool.end().then(() => since(start));
  const capped = await Promise.race([
    ended,
    new Promise<number>((resolve) => setTimeout(() => resolve(Number.POSITIVE_INFINITY), 2_000)),
  ]);
  await held.release();
  await ended;
  return { endMs: Number.isFinite(capped) ? round(capped, 1) : "> 2000 (waits for release)" };
}

async function main(): Promise<void> {
  const contenders = { "hand-written (ours)": ours, "tarn 3": onTarn } as const;
  const lines: string[] = [];
  const out = (line: string) => {
    lines.push(line);
    process.stdout.write(`${line}\n`);
  };
  out(`# Prisma's mariadb pool: hand-written vs tarn (connectionLimit ${LIMIT}, real MariaDB)`);
  out("");
  out("| contender | workers | ops/s | acquire p50 (ms) | acquire p99 (ms) |");
  out("| --- | --- | --- | --- | --- |");
  // A discarded round of each first: the first measurement would also pay for the JIT
  // warming up the driver.
  for (const make of Object.values(contenders)) await throughput(make, 10);
  const rate: Record<string, number[]> = {};
  for (const workers of [1, 10, 50]) {
    for (const [name, make] of Object.entries(contenders)) {
      const result = await throughput(make, workers);
      rate[name] = [...(rate[name] ?? []), result.opsPerSecond];
      out(
        `| ${name} | ${workers} | ${result.opsPerSecond} | ${result.acquireP50Ms} | ${result.acquireP99Ms} |`,
      );
    }
  }
  out("");
  const [a = [], b = []] = Object.values(rate);
  out(
    `ops/s ratio ours / tarn at 1, 10, 50 workers: ${a.map((v, i) => round(v / (b[i] ?? Number.NaN), 2)).join(", ")}`,
  );
  out("");
  out(
    "| contender | queries failing after the server killed idle connections | end() while one connection is in use |",
  );
  out("| --- | --- | --- |");
  for (const [name, make] of Object.entries(contenders)) {
    const killed = await killedIdle(make);
    const ended = await endWhileInUse(make);
    out(`| ${name} | ${killed.failedQueries} of ${killed.of} | ${ended.endMs} ms |`);
  }
  writeFileSync(new URL("../results/mariadb-pool.md", import.meta.url), `${lines.join("\n")}\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
