import { inspect } from "node:util";
import mysql from "mysql2";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type IamFixture, startIamFixture } from "../../../tests/support/iam-fixture";
import { observe, registerCredentials, trackTokens } from "../../../tests/support/secret-scan";
import { isRdsIamError, RdsIamError } from "../src/errors";
import type { IamAuth } from "../src/iam-auth";
import { TokenCache } from "../src/index";
import { mysql2IamConfig } from "../src/mysql2-binding";
import { pgIamConfig } from "../src/pg-binding";
import {
  type PgPoolLike,
  retryPgPoolLogins,
  withMysql2AuthRetry,
  withPgAuthRetry,
} from "../src/pool-retry";

// Integration tests against the machine's real PostgreSQL and MariaDB, behind the
// gateway (which verifies every token the way RDS does). startIamFixture fails loudly
// when a database is unreachable: these tests never skip.

/** Every token `auth` hands out from now on, in order (also registered with the secret scan). */
function tokensOf(auth: IamAuth): string[] {
  trackTokens(auth);
  const tokens: string[] = [];
  const getToken = auth.getToken.bind(auth);
  Object.defineProperty(auth, "getToken", {
    configurable: true,
    value: () =>
      getToken().then((token) => {
        tokens.push(token);
        return token;
      }),
  });
  return tokens;
}

/** The rejection of `promise`; fails the test if it resolved. */
async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection, but the promise resolved");
}

/** Everything a user could print about `error`; none of it may hold a token or the secret key. */
function expectNoSecretIn(error: unknown, tokens: readonly string[], secretAccessKey: string) {
  const shown = [
    observe("pool-retry error", error),
    inspect(error, { depth: null, showHidden: true }),
    JSON.stringify(error),
    String(error),
    (error as Error).message,
  ];
  expect(tokens.length).toBeGreaterThan(0);
  for (const text of shown) {
    for (const token of tokens) {
      expect(text).not.toContain(token);
      // The signature alone would make the token usable.
      expect(text).not.toContain(/X-Amz-Signature=([0-9a-f]{64})/.exec(token)?.[1] ?? token);
    }
    expect(text).not.toContain(secretAccessKey);
  }
}

describe("retryPgPoolLogins / withPgAuthRetry on a real pg Pool (PostgreSQL through the gateway)", () => {
  let fixture: IamFixture;
  const opened: { pool: pg.Pool; auth: IamAuth }[] = [];
  beforeAll(async () => {
    fixture = await startIamFixture("postgres");
    registerCredentials(fixture.credentials);
  });
  afterAll(async () => {
    fixture?.gateway.faults.reset();
    await Promise.all(
      opened.splice(0).map(async ({ pool, auth }) => {
        await pool.end().catch(() => undefined);
        auth.close();
      }),
    );
    await fixture?.close();
  });

  /** A pg config with a token cache of its own, so the mint counts are this test's. */
  function iam(extra: Record<string, unknown> = {}) {
    const { config, auth } = pgIamConfig({
      ...fixture.iamOptions(),
      database: fixture.database,
      tokenCache: new TokenCache(),
      ...extra,
    });
    return { config, auth, tokens: tokensOf(auth) };
  }

  /** A plain pg.Pool patched with retryPgPoolLogins. */
  function patchedPool(max = 2, extra: Record<string, unknown> = {}) {
    const { config, auth, tokens } = iam(extra);
    const pool = retryPgPoolLogins(new pg.Pool({ ...config, max }), auth);
    opened.push({ pool, auth });
    return { pool, auth, tokens };
  }

  /** `pool.query` in pg-pool's callback form, which calls `connect(callback)` inside. */
  function queryWithCallback(pool: pg.Pool, sql: string): Promise<pg.QueryResult> {
    return new Promise((resolve, reject) => {
      pool.query(sql, (error: Error | undefined, result: pg.QueryResult) =>
        error ? reject(error) : resolve(result),
      );
    });
  }

  /** `pool.connect(callback)`: answers `(error, client, release)`. */
  function connectWithCallback(
    pool: pg.Pool,
  ): Promise<{ error: unknown; client: pg.PoolClient | undefined; release: unknown }> {
    return new Promise((resolve) => {
      pool.connect((error, client, release) => resolve({ error, client, release }));
    });
  }

  it("patches the instance only, returns it, and is idempotent", () => {
    const { config, auth } = iam();
    const pool = new pg.Pool(config);
    const other = new pg.Pool(config);
    opened.push({ pool, auth }, { pool: other, auth });
    const prototypeConnect = pg.Pool.prototype.connect;
    expect(retryPgPoolLogins(pool, auth)).toBe(pool);
    const patched = pool.connect;
    expect(patched).not.toBe(prototypeConnect);
    expect(Object.hasOwn(pool, "connect")).toBe(true);
    // Another pool and the class are untouched.
    expect(other.connect).toBe(prototypeConnect);
    expect(pg.Pool.prototype.connect).toBe(prototypeConnect);
    // A second call (e.g. a pool handed to two adapters) keeps the first patch.
    expect(retryPgPoolLogins(pool, auth)).toBe(pool);
    expect(pool.connect).toBe(patched);
    // The mark is hidden: it does not show up among the pool's keys.
    expect(Object.keys(pool)).not.toContain("connect");
    expect(Object.getOwnPropertySymbols(pool).map(String)).toContain(
      "Symbol(@rds-iam/core.retryPgPoolLogins)",
    );
  });

  it("callback form (pool.query with a callback): one rejected login is retried once with a fresh token", async () => {
    const { pool, auth } = patchedPool();
    const before = fixture.gateway.stats();
    fixture.gateway.faults.rejectNextLogins(1);
    const result = await queryWithCallback(pool, "select 2 as two, current_user as who");
    expect(result.rows[0]).toEqual({ two: 2, who: fixture.user });
    const after = fixture.gateway.stats();
    expect((after.rejected.injected ?? 0) - (before.rejected.injected ?? 0)).toBe(1);
    expect(after.accepted - before.accepted).toBe(1);
    // The first token was dropped and a new one minted for the second login.
    expect(auth.stats()).toMatchObject({ mints: 2, invalidations: 1 });
    expect(pool.totalCount).toBe(1);
  });

  it("callback form (pool.connect(callback)): hands over the client and its release", async () => {
    const { pool, auth } = patchedPool();
    fixture.gateway.faults.rejectNextLogins(1);
    const { error, client, release } = await connectWithCallback(pool);
    expect(error).toBeUndefined();
    expect(client).toBeDefined();
    expect(release).toBe(client?.release);
    const { rows } = await (client as pg.PoolClient).query("select 3 as three");
    expect(rows[0]?.three).toBe(3);
    (release as () => void)();
    expect(pool.idleCount).toBe(1);
    expect(auth.stats()).toMatchObject({ mints: 2, invalidations: 1 });
  });

  it("callback form: a final rejection reaches the callback as AUTH_REJECTED, with a no-op release", async () => {
    const { pool, auth } = patchedPool();
    fixture.gateway.faults.rejectNextLogins(2);
    const { error, client, release } = await connectWithCallback(pool);
    expect(isRdsIamError(error)).toBe(true);
    expect(error).toMatchObject({ code: "AUTH_REJECTED" });
    expect(client).toBeUndefined();
    expect(typeof release).toBe("function");
    expect(() => (release as () => void)()).not.toThrow();
    expect(auth.stats()).toMatchObject({ mints: 2, invalidations: 2 });
    // The pool is not left holding a half-open client.
    expect(pool.totalCount).toBe(0);
  });

  it("promise form: pool.connect() and pool.query() retry a rejected login once", async () => {
    const { pool, auth } = patchedPool();
    fixture.gateway.faults.rejectNextLogins(1);
    const client = await pool.connect();
    try {
      expect((await client.query("select current_user as who")).rows[0]?.who).toBe(fixture.user);
      expect(auth.stats()).toMatchObject({ mints: 2, invalidations: 1 });
      // The pool's one client is busy: pool.query needs a second login, rejected once too.
      fixture.gateway.faults.rejectNextLogins(1);
      const { rows } = await pool.query("select 4 as four");
      expect(rows[0]?.four).toBe(4);
      expect(auth.stats()).toMatchObject({ mints: 3, invalidations: 2 });
      expect(pool.totalCount).toBe(2);
    } finally {
      client.release();
    }
  });

  it("two rejections: AUTH_REJECTED with the database's error as cause, naming no token or secret", async () => {
    const { pool, auth, tokens } = patchedPool();
    const before = fixture.gateway.stats();
    fixture.gateway.faults.rejectNextLogins(2);
    const error = await rejectionOf(pool.query("select 1"));
    expect(error).toBeInstanceOf(RdsIamError);
    expect(error).toMatchObject({ name: "RdsIamError", code: "AUTH_REJECTED" });
    const message = (error as Error).message;
    expect(message).toContain(`user ${JSON.stringify(fixture.user)} twice`);
    expect(message).toContain(`${fixture.iamHost}:${fixture.iamDefaultPort}`);
    const cause = (error as Error).cause as { code?: string; message?: string } | undefined;
    expect(cause).toBeInstanceOf(Error);
    expect(isRdsIamError(cause)).toBe(false);
    expect(cause).toMatchObject({
      code: "28000",
      message: `PAM authentication failed for user "${fixture.user}"`,
    });
    // Exactly one retry: two logins, two mints, both tokens dropped; no loop.
    const after = fixture.gateway.stats();
    expect((after.rejected.injected ?? 0) - (before.rejected.injected ?? 0)).toBe(2);
    expect(auth.stats()).toMatchObject({ mints: 2, invalidations: 2 });
    expect(tokens).toHaveLength(2);
    expectNoSecretIn(error, tokens, fixture.credentials.secretAccessKey);
    // Nothing is wedged: the next query logs in normally.
    expect((await pool.query("select 5 as five")).rows[0]?.five).toBe(5);
  });

  it("reuses an idle pooled connection without asking for a token", async () => {
    const { pool, auth } = patchedPool(1);
    await pool.query("select 1");
    const stats = auth.stats();
    expect(stats).toMatchObject({ mints: 1, invalidations: 0 });
    const accepted = fixture.gateway.stats().accepted;
    for (let i = 0; i < 5; i++) await pool.query("select 1");
    await queryWithCallback(pool, "select 1");
    const held = await pool.connect();
    held.release();
    const { client, release } = await connectWithCallback(pool);
    expect(client).toBeDefined();
    (release as () => void)();
    // No token asked for (not even a cache hit), no new login.
    expect(auth.stats()).toEqual(stats);
    expect(fixture.gateway.stats().accepted).toBe(accepted);
    expect(pool.totalCount).toBe(1);
    // Even a closed provider (every getToken() fails with CLOSED) cannot fail a
    // checkout that logs in to nothing.
    auth.close();
    await expect(auth.getToken()).rejects.toMatchObject({ code: "CLOSED" });
    expect((await pool.query("select 6 as six")).rows[0]?.six).toBe(6);
    expect((await queryWithCallback(pool, "select 7 as seven")).rows[0]?.seven).toBe(7);
  });

  it("passes a non-auth login error through untouched: no retry, no invalidation", async () => {
    const { pool, auth } = patchedPool(2, { database: "no_such_database_here" });
    const before = fixture.gateway.stats();
    const error = await rejectionOf(pool.query("select 1"));
    expect(isRdsIamError(error)).toBe(false);
    expect(error).toMatchObject({
      code: "3D000",
      message: 'database "no_such_database_here" does not exist',
    });
    expect((error as Error).cause).toBeUndefined();
    const viaCallback = await connectWithCallback(pool);
    expect(isRdsIamError(viaCallback.error)).toBe(false);
    expect(viaCallback.error).toMatchObject({ code: "3D000" });
    // One login per checkout (the gateway accepted each token): nothing was retried.
    expect(fixture.gateway.stats().accepted - before.accepted).toBe(2);
    expect(auth.stats()).toMatchObject({ mints: 1, invalidations: 0 });
  });

  it("passes a dropped connection through untouched", async () => {
    const { pool, auth } = patchedPool();
    const before = fixture.gateway.stats().accepted;
    fixture.gateway.faults.dropAfterAuth(1);
    const error = await rejectionOf(pool.query("select 1"));
    expect(isRdsIamError(error)).toBe(false);
    expect(String((error as Error).message)).toMatch(/terminated|closed|ECONNRESET/i);
    expect(fixture.gateway.stats().accepted - before).toBe(1);
    expect(auth.stats()).toMatchObject({ invalidations: 0 });
    expect((await pool.query("select 8 as eight")).rows[0]?.eight).toBe(8);
  });

  describe("withPgAuthRetry (the class form)", () => {
    it("is a pg.Pool subclass whose every instance is patched; pg.Pool itself is untouched", async () => {
      const { config, auth } = iam();
      const prototypeConnect = pg.Pool.prototype.connect;
      const Pool = withPgAuthRetry(pg.Pool, auth);
      expect(Pool).not.toBe(pg.Pool);
      const a = new Pool({ ...config, max: 1 });
      const b = new Pool({ ...config, max: 1 });
      opened.push({ pool: a, auth }, { pool: b, auth });
      expect(a).toBeInstanceOf(pg.Pool);
      expect(Object.hasOwn(a, "connect")).toBe(true);
      expect(Object.hasOwn(b, "connect")).toBe(true);
      expect(a.connect).not.toBe(prototypeConnect);
      expect(pg.Pool.prototype.connect).toBe(prototypeConnect);
      expect(new pg.Pool(config).connect).toBe(prototypeConnect);
      // Already patched: retryPgPoolLogins keeps the constructor's patch.
      const patched = a.connect;
      expect(retryPgPoolLogins(a, auth)).toBe(a);
      expect(a.connect).toBe(patched);
      // Constructor arguments reach pg.Pool.
      expect(a.options.max).toBe(1);
      // Each instance retries a rejected login once.
      fixture.gateway.faults.rejectNextLogins(1);
      expect((await a.query("select 1 as one")).rows[0]?.one).toBe(1);
      fixture.gateway.faults.rejectNextLogins(1);
      expect((await b.query("select 1 as one")).rows[0]?.one).toBe(1);
      expect(auth.stats()).toMatchObject({ mints: 3, invalidations: 2 });
    });

    it("fails with AUTH_REJECTED after a second rejection", async () => {
      const { config, auth, tokens } = iam();
      const pool = new (withPgAuthRetry(pg.Pool, auth))({ ...config, max: 1 });
      opened.push({ pool, auth });
      fixture.gateway.faults.rejectNextLogins(2);
      const error = await rejectionOf(pool.query("select 1"));
      expect(error).toMatchObject({ code: "AUTH_REJECTED", cause: { code: "28000" } });
      expectNoSecretIn(error, tokens, fixture.credentials.secretAccessKey);
    });
  });
});

describe("withMysql2AuthRetry on a real mysql2 pool (MariaDB through the gateway)", () => {
  let fixture: IamFixture;
  const opened: { pool: mysql.Pool; auth: IamAuth }[] = [];
  beforeAll(async () => {
    fixture = await startIamFixture("mysql");
    registerCredentials(fixture.credentials);
  });
  afterAll(async () => {
    fixture?.gateway.faults.reset();
    await Promise.all(
      opened.splice(0).map(async ({ pool, auth }) => {
        await new Promise((resolve) => pool.end(resolve));
        auth.close();
      }),
    );
    await fixture?.close();
  });

  function patchedPool(connectionLimit = 2, extra: Record<string, unknown> = {}) {
    const { config, auth } = mysql2IamConfig({
      ...fixture.iamOptions(),
      database: fixture.database,
      tokenCache: new TokenCache(),
      ...extra,
    });
    const tokens = tokensOf(auth);
    const raw = mysql.createPool({ ...config, connectionLimit });
    const pool = withMysql2AuthRetry(raw, auth);
    opened.push({ pool, auth });
    return { pool, raw, auth, tokens };
  }

  function query(pool: mysql.Pool, sql: string): Promise<mysql.RowDataPacket[]> {
    return new Promise((resolve, reject) =>
      pool.query<mysql.RowDataPacket[]>(sql, (error, rows) =>
        error ? reject(error) : resolve(rows),
      ),
    );
  }

  it("returns the same pool, patched", () => {
    const { pool, raw } = patchedPool();
    expect(pool).toBe(raw);
    expect(Object.hasOwn(pool, "getConnection")).toBe(true);
  });

  it("retries one rejected login once with a fresh token (pool.query, pool.execute, promise())", async () => {
    const { pool, auth } = patchedPool(1);
    const before = fixture.gateway.stats();
    fixture.gateway.faults.rejectNextLogins(1);
    const rows = await query(
      pool,
      "select 2 as two, substring_index(current_user(), '@', 1) as who",
    );
    expect(rows[0]).toMatchObject({ two: 2, who: fixture.user });
    const after = fixture.gateway.stats();
    expect((after.rejected.injected ?? 0) - (before.rejected.injected ?? 0)).toBe(1);
    expect(after.accepted - before.accepted).toBe(1);
    expect(auth.stats()).toMatchObject({ mints: 2, invalidations: 1 });

    // The promise wrapper goes through the same (callback) pool.
    const held = await new Promise<mysql.PoolConnection>((resolve, reject) =>
      pool.getConnection((error, connection) => (error ? reject(error) : resolve(connection))),
    );
    held.destroy();
    fixture.gateway.faults.rejectNextLogins(1);
    const [executed] = await pool
      .promise()
      .execute<mysql.RowDataPacket[]>("select ? + ? as sum", [2, 3]);
    expect(Number(executed[0]?.sum)).toBe(5);
    expect(auth.stats()).toMatchObject({ mints: 3, invalidations: 2 });
  });

  it("two rejections: AUTH_REJECTED with the database's error as cause, naming no token or secret", async () => {
    const { pool, auth, tokens } = patchedPool(1);
    const before = fixture.gateway.stats();
    fixture.gateway.faults.rejectNextLogins(2);
    const error = await rejectionOf(query(pool, "select 1"));
    expect(error).toBeInstanceOf(RdsIamError);
    expect(error).toMatchObject({ code: "AUTH_REJECTED" });
    const cause = (error as Error).cause;
    expect(isRdsIamError(cause)).toBe(false);
    expect(cause).toMatchObject({ errno: 1045, sqlState: "28000" });
    expect(String((cause as Error).message)).toMatch(
      new RegExp(`^Access denied for user '${fixture.user}'@`),
    );
    const after = fixture.gateway.stats();
    expect((after.rejected.injected ?? 0) - (before.rejected.injected ?? 0)).toBe(2);
    expect(auth.stats()).toMatchObject({ mints: 2, invalidations: 2 });
    expectNoSecretIn(error, tokens, fixture.credentials.secretAccessKey);
    // Same through the promise wrapper.
    fixture.gateway.faults.rejectNextLogins(2);
    const viaPromise = await rejectionOf(pool.promise().query("select 1"));
    expect(viaPromise).toMatchObject({ code: "AUTH_REJECTED", cause: { errno: 1045 } });
    // No loop, nothing wedged.
    expect((await query(pool, "select 9 as nine"))[0]?.nine).toBe(9);
  });

  it("reuses an idle pooled connection without asking for a token", async () => {
    const { pool, auth } = patchedPool(1);
    await query(pool, "select 1");
    const stats = auth.stats();
    expect(stats).toMatchObject({ mints: 1 });
    const accepted = fixture.gateway.stats().accepted;
    for (let i = 0; i < 5; i++) await query(pool, "select 1");
    await pool.promise().query("select 1");
    expect(auth.stats()).toEqual(stats);
    expect(fixture.gateway.stats().accepted).toBe(accepted);
    auth.close();
    await expect(auth.getToken()).rejects.toMatchObject({ code: "CLOSED" });
    expect((await query(pool, "select 10 as ten"))[0]?.ten).toBe(10);
  });

  it("passes a non-auth login error through untouched: no retry, no invalidation", async () => {
    const { pool, auth } = patchedPool(1, { database: "no_such_database_here" });
    const before = fixture.gateway.stats().accepted;
    const error = await rejectionOf(query(pool, "select 1"));
    expect(isRdsIamError(error)).toBe(false);
    // MariaDB answers a database the user may not use with 1044 (SQLSTATE 42000): its
    // message says "Access denied" too, but a fresh token would not help.
    expect(error).toMatchObject({ errno: 1044, code: "ER_DBACCESS_DENIED_ERROR" });
    expect(String((error as Error).message)).toContain("no_such_database_here");
    expect((error as Error).cause).toBeUndefined();
    expect(fixture.gateway.stats().accepted - before).toBe(1);
    expect(auth.stats()).toMatchObject({ mints: 1, invalidations: 0 });
  });
});

describe("the patched checkouts hand back the driver's own error object", () => {
  // A stand-in pool whose checkout fails with a given error: the error that comes out
  // is the very same object (not a copy, not wrapped).
  const { auth } = pgIamConfig({
    host: "mydb.cluster-abc123.us-east-1.rds.amazonaws.com",
    user: "app",
    credentials: {
      accessKeyId: "AKIDEXAMPLEPOOL01",
      secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEPOOL",
    },
    tokenCache: new TokenCache(),
  });
  registerCredentials({ secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEPOOL" });
  afterAll(() => auth.close());

  it("pg: promise and callback forms, one attempt each", async () => {
    const failure = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), {
      code: "ECONNREFUSED",
    });
    let attempts = 0;
    const fake: PgPoolLike = {
      connect: () => {
        attempts++;
        return Promise.reject(failure);
      },
    };
    const pool = retryPgPoolLogins(fake, auth);
    expect(await rejectionOf(pool.connect() as Promise<unknown>)).toBe(failure);
    const viaCallback = await new Promise((resolve) => {
      const callback = (error: unknown) => resolve(error);
      expect(pool.connect(callback as (...args: never[]) => void)).toBeUndefined();
    });
    expect(viaCallback).toBe(failure);
    expect(attempts).toBe(2);
    expect(auth.stats()).toMatchObject({ mints: 0, cacheHits: 0, invalidations: 0 });
  });

  it("mysql2: one attempt, the same error", async () => {
    const failure = Object.assign(new Error("Too many connections"), { errno: 1040 });
    let attempts = 0;
    const pool = withMysql2AuthRetry(
      {
        getConnection: (callback: (error: unknown, connection?: unknown) => void) => {
          attempts++;
          callback(failure);
        },
      },
      auth,
    );
    const error = await new Promise((resolve) => pool.getConnection((e) => resolve(e)));
    expect(error).toBe(failure);
    expect(attempts).toBe(1);
  });
});
