import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { IamAuth, IamAuthStats } from "@rds-iam/core";
import { isRdsIamError } from "@rds-iam/core";
import { selfSignedCertificate } from "@rds-iam/gateway";
import { type IamKnexConnectionOptions, iamConnection } from "@rds-iam/knex";
import {
  createIamPool as createMysql2Pool,
  type IamMysql2PoolOptions,
  iamAuthOf as mysql2AuthOf,
} from "@rds-iam/mysql2";
import {
  createIamPool as createPgPool,
  type IamPgPoolOptions,
  iamAuthOf as pgAuthOf,
} from "@rds-iam/pg";
import { createIamAdapter, type IamPrismaPgAdapterFactory } from "@rds-iam/prisma";
import { iamAuthOf as typeormAuthOf, withIamAuth } from "@rds-iam/typeorm";
import knex, { type Knex } from "knex";
import { DataSource } from "typeorm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadPrismaClient } from "../packages/prisma/test/support/prisma-clients";
import { isolatedAwsEnv } from "./support/aws-env";
import { type IamFixture, startIamFixture } from "./support/iam-fixture";
import { type RdsApiStandIn, startRdsApi } from "./support/rds-api";
import { assertNoLeaks, trackTokens } from "./support/secret-scan";

/**
 * Aurora global writer endpoints through every adapter: the gateway plays the writer
 * behind `<id>.global-abc123.global.rds.amazonaws.com` in one region, then (a
 * cross-Region failover) in another; a loopback stand-in of the RDS Query API answers
 * `DescribeGlobalClusters` for the real @aws-sdk/client-rds and counts the look-ups.
 */
const APP_REGION = "us-east-1";
const FIRST = "eu-west-1";
const SECOND = "us-west-2";
const QUIET: Knex.Logger = {
  warn: () => {},
  error: () => {},
  deprecate: () => {},
  debug: () => {},
};

/** The process environment for the file: nothing ambient, the RDS API on loopback. */
let api: RdsApiStandIn;
const acceptedKeys: { accessKeyId: string; secretAccessKey: string }[] = [];
const savedEnv: Record<string, string | undefined> = {};
beforeAll(async () => {
  api = await startRdsApi({ credentials: acceptedKeys });
  const env = isolatedAwsEnv({ AWS_ENDPOINT_URL_RDS: api.url, AWS_REGION: APP_REGION });
  for (const [key, value] of Object.entries(env)) {
    savedEnv[key] = process.env[key];
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
});
afterAll(async () => {
  for (const [key, value] of Object.entries(savedEnv)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  await api?.close();
  assertNoLeaks();
});

function globalHost(id: string): string {
  return `${id}.global-abc123.global.rds.amazonaws.com`;
}

/** A gateway standing for the global writer endpoint of `id`, its writer in FIRST. */
async function startGlobalFixture(engine: "postgres" | "mysql", id: string): Promise<IamFixture> {
  const fixture = await startIamFixture(engine, {
    gateway: { endpoint: { hostname: globalHost(id) }, region: FIRST },
  });
  acceptedKeys.push(fixture.credentials);
  api.setWriter(id, FIRST);
  return fixture;
}

/** The fixture's options without `iamRegion`: the region is the writer's, looked up. */
function globalOptions(fixture: IamFixture) {
  const { iamRegion: _signedFor, ...options } = fixture.iamOptions();
  return { ...options, database: fixture.database };
}

/** An adapter's pool of one connection: every query after `recycle()` logs in anew. */
interface Opened {
  query(n: number): Promise<void>;
  recycle(): Promise<void>;
  stats(): IamAuthStats;
  close(): Promise<void>;
}

interface PgPoolLike {
  connect(): Promise<{ release(destroy?: boolean): void }>;
}
interface Mysql2CallbackPoolLike {
  getConnection(callback: (error: unknown, connection?: { destroy(): void }) => void): void;
}

const ADAPTERS: readonly {
  name: string;
  engine: "postgres" | "mysql";
  open(options: ReturnType<typeof globalOptions>): Promise<Opened>;
}[] = [
  {
    name: "knex (pg)",
    engine: "postgres",
    async open(options) {
      const connection = iamConnection(options as IamKnexConnectionOptions);
      const retired = new WeakSet<object>();
      const db = knex({
        client: "pg",
        connection,
        pool: { min: 0, max: 1, validate: (c: object) => !retired.has(c) },
        log: QUIET,
      });
      const query = async (n: number) => {
        const row = await db.select(db.raw("?::int as n", [n])).first();
        if (Number(row?.n) !== n) throw new Error(`wrong answer for ${n}`);
      };
      await query(0);
      const auth = connection.auth as IamAuth;
      trackTokens(auth);
      return {
        query,
        async recycle() {
          const raw: object = await db.client.acquireConnection();
          retired.add(raw);
          await db.client.releaseConnection(raw);
        },
        stats: () => auth.stats(),
        close: () => db.destroy(),
      };
    },
  },
  {
    name: "TypeORM (mysql)",
    engine: "mysql",
    async open(options) {
      const { host, port, user, ssl, database, ...iam } = options;
      const dataSourceOptions = withIamAuth({
        type: "mysql",
        host,
        port,
        username: user,
        database,
        ssl,
        poolSize: 1,
        iam,
      });
      const auth = trackTokens(typeormAuthOf(dataSourceOptions));
      const dataSource = new DataSource(
        dataSourceOptions as ConstructorParameters<typeof DataSource>[0],
      );
      await dataSource.initialize();
      const query = async (n: number) => {
        const rows = (await dataSource.query("select ? as n", [n])) as { n: unknown }[];
        if (Number(rows[0]?.n) !== n) throw new Error(`wrong answer for ${n}`);
      };
      await query(0);
      return {
        query,
        async recycle() {
          const pool = (dataSource.driver as unknown as { pool?: Mysql2CallbackPoolLike }).pool;
          if (pool === undefined) throw new Error("no mysql2 pool");
          await new Promise<void>((resolve, reject) =>
            pool.getConnection((error, connection) => {
              if (error) return reject(error);
              connection?.destroy();
              resolve();
            }),
          );
        },
        stats: () => auth.stats(),
        async close() {
          await dataSource.destroy();
          auth.close();
        },
      };
    },
  },
  {
    name: "Prisma (postgres)",
    engine: "postgres",
    async open(options) {
      const PrismaClient = await loadPrismaClient("postgres");
      const adapter = createIamAdapter({
        engine: "postgres",
        ...options,
        max: 1,
      } as Parameters<typeof createIamAdapter>[0]) as IamPrismaPgAdapterFactory;
      trackTokens(adapter.auth);
      let pool: PgPoolLike | undefined;
      const connect = adapter.connect.bind(adapter);
      adapter.connect = async () => {
        const inner = await connect();
        pool = inner.underlyingDriver() as unknown as PgPoolLike;
        return inner;
      };
      const prisma = new PrismaClient({ adapter });
      const query = async (n: number) => {
        const rows = await prisma.$queryRawUnsafe<{ n: unknown }[]>("select $1::int as n", n);
        if (Number(rows[0]?.n) !== n) throw new Error(`wrong answer for ${n}`);
      };
      await query(0);
      return {
        query,
        async recycle() {
          if (pool === undefined) throw new Error("Prisma has not connected");
          (await pool.connect()).release(true);
        },
        stats: () => adapter.auth.stats(),
        async close() {
          await prisma.$disconnect();
          adapter.auth.close();
        },
      };
    },
  },
  {
    name: "@rds-iam/pg",
    engine: "postgres",
    async open(options) {
      const pool = createPgPool({ ...(options as unknown as IamPgPoolOptions), max: 1 });
      const auth = trackTokens(pgAuthOf(pool));
      const query = async (n: number) => {
        const { rows } = await pool.query("select $1::int as n", [n]);
        if (Number(rows[0]?.n) !== n) throw new Error(`wrong answer for ${n}`);
      };
      await query(0);
      return {
        query,
        async recycle() {
          (await pool.connect()).release(true);
        },
        stats: () => auth.stats(),
        close: () => pool.end(),
      };
    },
  },
  {
    name: "@rds-iam/mysql2",
    engine: "mysql",
    async open(options) {
      const pool = createMysql2Pool({
        ...(options as unknown as IamMysql2PoolOptions),
        connectionLimit: 1,
      }).promise();
      const auth = trackTokens(mysql2AuthOf(pool));
      const query = async (n: number) => {
        const [rows] = await pool.query("SELECT ? AS n", [n]);
        if (Number((rows as { n: unknown }[])[0]?.n) !== n)
          throw new Error(`wrong answer for ${n}`);
      };
      await query(0);
      return {
        query,
        async recycle() {
          (await pool.getConnection()).destroy();
        },
        stats: () => auth.stats(),
        close: () => pool.end(),
      };
    },
  },
];

describe.each(ADAPTERS)("$name behind a global writer endpoint", ({ name, engine, open }) => {
  const id = `gdb-${name.replace(/[^a-z0-9]+/gi, "").toLowerCase()}`;
  let fixture: IamFixture;
  beforeAll(async () => {
    fixture = await startGlobalFixture(engine, id);
  });
  afterAll(async () => {
    await fixture?.close();
  });

  it("logs in, follows a failover on the first login's retry, and looks the writer up twice", async () => {
    const opened = await open(globalOptions(fixture));
    try {
      // Logged in with a token for the writer's region, found with one look-up.
      expect(api.calls(id)).toBe(1);
      expect(fixture.gateway.stats().accepted).toBeGreaterThanOrEqual(1);
      // New connections reuse the region (and the token): no look-up per connection.
      for (let n = 1; n <= 5; n++) {
        await opened.recycle();
        await opened.query(n);
      }
      expect(api.calls(id)).toBe(1);
      expect(fixture.gateway.stats().rejected).toEqual({});

      // A cross-Region failover: the writer (and what tokens must be signed for) moves.
      fixture.gateway.setRegion(SECOND);
      api.setWriter(id, SECOND);
      await opened.recycle();
      // The first login after it is rejected (signed for FIRST), looked up again, retried.
      await opened.query(100);
      expect(fixture.gateway.stats().rejected).toEqual({ region: 1 });
      expect(api.calls(id)).toBe(2);

      // Then on, the new region: more new connections, no more look-ups, no rejection.
      for (let n = 101; n <= 105; n++) {
        await opened.recycle();
        await opened.query(n);
      }
      expect(api.calls(id)).toBe(2);
      expect(fixture.gateway.stats().rejected).toEqual({ region: 1 });
      expect(opened.stats().writerLookups).toBe(2);
      // Every look-up was signed with the credentials the tokens are signed with.
      for (const request of api.requests.filter((r) => r.globalClusterIdentifier === id)) {
        expect(request).toMatchObject({
          accessKeyId: fixture.credentials.accessKeyId,
          region: APP_REGION,
        });
      }
    } finally {
      await opened.close();
      fixture.gateway.setRegion(FIRST);
      api.setWriter(id, FIRST);
    }
  });
});

describe("look-up failures reach the adapters as typed errors", () => {
  let fixture: IamFixture;
  beforeAll(async () => {
    fixture = await startGlobalFixture("postgres", "gdb-denied");
  });
  afterAll(async () => {
    api.setMode("ok");
    await fixture?.close();
  });

  it("a missing rds:DescribeGlobalClusters permission: GLOBAL_WRITER_ACCESS_DENIED, no login tried", async () => {
    api.setMode("access-denied");
    const pool = createPgPool({
      ...(globalOptions(fixture) as unknown as IamPgPoolOptions),
      max: 1,
    });
    try {
      const error = await pool.query("select 1").catch((e: unknown) => e);
      expect(isRdsIamError(error) && error.code).toBe("GLOBAL_WRITER_ACCESS_DENIED");
      expect(String((error as Error).message)).toContain("rds:DescribeGlobalClusters");
      expect(String((error as Error).message)).toContain("iamRegion");
      expect(fixture.gateway.stats().accepted).toBe(0);
    } finally {
      await pool.end();
      api.setMode("ok");
    }
  });

  it("an unknown global cluster: GLOBAL_CLUSTER_NOT_FOUND", async () => {
    // A global endpoint whose identifier the RDS API does not know.
    const unknown = await startIamFixture("mysql", {
      gateway: { endpoint: { hostname: globalHost("gdb-unknown") }, region: FIRST },
    });
    acceptedKeys.push(unknown.credentials);
    const pool = createMysql2Pool({
      ...(globalOptions(unknown) as unknown as IamMysql2PoolOptions),
      connectionLimit: 1,
    }).promise();
    try {
      const error = await pool.query("select 1").catch((e: unknown) => e);
      expect(isRdsIamError(error) && error.code, String(error)).toBe("GLOBAL_CLUSTER_NOT_FOUND");
      expect(String((error as Error).message)).toContain('"gdb-unknown"');
      expect(unknown.gateway.stats().accepted).toBe(0);
    } finally {
      await pool.end();
      await unknown.close();
    }
  });
});

describe.each(["postgres", "mysql"] as const)(
  "TLS behind a global writer endpoint (%s)",
  (engine) => {
    // AWS's documentation (as far as it could be searched here) does not say which names
    // the writer's certificate carries behind the global writer endpoint: the safe choice
    // is the name the token is signed for, the global endpoint itself, never another.
    const id = `gdb-tls-${engine}`;
    let fixture: IamFixture;
    let ca: string;
    beforeAll(async () => {
      // A certificate for the writer cluster's regional endpoint only.
      const regional = await selfSignedCertificate([
        `${id}.cluster-abc123.${FIRST}.rds.amazonaws.com`,
        "localhost",
        "127.0.0.1",
      ]);
      ca = regional.cert;
      fixture = await startIamFixture(engine, {
        gateway: { endpoint: { hostname: globalHost(id) }, region: FIRST, tls: regional },
      });
      acceptedKeys.push(fixture.credentials);
      api.setWriter(id, FIRST);
    });
    afterAll(async () => {
      await fixture?.close();
    });

    it("the certificate must name the global endpoint: one naming only the regional cluster is refused before the token leaves", async () => {
      const options = { ...globalOptions(fixture), ssl: { ca } };
      let error: unknown;
      if (engine === "postgres") {
        const pool = createPgPool({ ...(options as unknown as IamPgPoolOptions), max: 1 });
        error = await pool.query("select 1").catch((e: unknown) => e);
        await pool.end();
      } else {
        const pool = createMysql2Pool({
          ...(options as unknown as IamMysql2PoolOptions),
          connectionLimit: 1,
        }).promise();
        error = await pool.query("select 1").catch((e: unknown) => e);
        await pool.end();
      }
      const text = `${String(error)} ${String((error as { cause?: unknown })?.cause)}`;
      expect(text).toMatch(/does not match certificate's altnames|TLS_VERIFICATION_FAILED|names/);
      expect(text).toContain(globalHost(id));
      expect(fixture.gateway.stats().accepted).toBe(0);
      expect(fixture.gateway.stats().rejected).toEqual({});
    });
  },
);

describe("@aws-sdk/client-rds is loaded only for global writer endpoints", () => {
  const CORE_CJS = fileURLToPath(new URL("../packages/core/dist/index.cjs", import.meta.url));
  const run = promisify(execFile);

  // Every module the child resolves, ESM (the dynamic import) or CommonJS, is reported
  // by a loader hook; the CJS build of core is what a `require` user loads.
  const HOOKS = `data:text/javascript,${encodeURIComponent(`
    let port;
    export async function initialize(data) { port = data.port; }
    export async function resolve(specifier, context, next) {
      if (specifier.includes("client-rds")) port.postMessage(specifier);
      return next(specifier, context);
    }`)}`;

  async function loadsClientRds(host: string): Promise<boolean> {
    const script = `
      const { register } = require("node:module");
      const { MessageChannel } = require("node:worker_threads");
      const { port1, port2 } = new MessageChannel();
      let loaded = false;
      port1.on("message", () => { loaded = true; });
      port1.unref();
      register(${JSON.stringify(HOOKS)}, { data: { port: port2 }, transferList: [port2] });
      const core = require(${JSON.stringify(CORE_CJS)});
      const auth = core.createIamAuth({ engine: "postgres", host: ${JSON.stringify(host)}, user: "app",
        credentials: { accessKeyId: "AKIDLAZYLOAD", secretAccessKey: "x".repeat(40) } });
      auth.getToken().then(
        () => auth.close(),
        (e) => { auth.close(); if (!String(e.code).startsWith("GLOBAL_")) throw e; },
      ).then(() => setTimeout(() => {
        const required = Object.keys(require.cache).some((p) => p.includes("client-rds"));
        process.stdout.write(String(loaded || required));
      }, 100));`;
    const { stdout } = await run(process.execPath, ["-e", script], {
      env: { ...process.env, AWS_ENDPOINT_URL_RDS: api.url, AWS_REGION: APP_REGION },
    });
    return stdout.trim() === "true";
  }

  it("not for a regional endpoint; on the first token for a global one", async () => {
    expect(await loadsClientRds("mydb.cluster-abc123.eu-west-1.rds.amazonaws.com")).toBe(false);
    expect(await loadsClientRds(globalHost("gdb-lazy"))).toBe(true);
  });
});
