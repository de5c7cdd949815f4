import { generateAuthToken, mysql2IamConfig, TokenCache } from "@rds-iam/core";
import { createMariadbConnectionFactory, withMysql2AuthRetry } from "@rds-iam/core/driver";
import mariadb from "mariadb";
import mysql from "mysql2";
import mysqlPromise from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MYSQL_BACKEND } from "./support/databases";
import { type IamFixture, startIamFixture, testCredentials } from "./support/iam-fixture";

const EXPIRED_SESSION = {
  ...testCredentials(),
  sessionToken: "FwoGZXIvYXdzEXPIREDSESSIONTOKEN",
  expiration: new Date(Date.now() - 60_000),
};

describe("gateway in front of MariaDB", () => {
  let fixture: IamFixture;
  beforeAll(async () => {
    fixture = await startIamFixture("mysql", { credentials: [EXPIRED_SESSION] });
  });
  afterAll(async () => {
    await fixture?.close();
  });

  // Each test counts its own provider's mints: a token cache of its own (by default,
  // providers for the same user share the process's tokens).
  const config = () =>
    mysql2IamConfig({
      ...fixture.iamOptions(),
      database: fixture.database,
      tokenCache: new TokenCache(),
    });

  function sign(overrides: Partial<Parameters<typeof generateAuthToken>[0]> = {}): Promise<string> {
    return generateAuthToken({
      hostname: fixture.iamHost,
      port: fixture.iamDefaultPort,
      username: fixture.user,
      region: fixture.iamRegion,
      credentials: fixture.credentials,
      ...overrides,
    });
  }

  /** A raw mysql2 login that sends `token` with the clear-password plugin. */
  async function loginWith(token: string, ssl: false | { ca: string } = { ca: fixture.ca }) {
    const connection = await mysqlPromise.createConnection({
      host: fixture.host,
      port: fixture.port,
      user: fixture.user,
      database: fixture.database,
      ...(ssl ? { ssl } : {}),
      authPlugins: { mysql_clear_password: () => () => Buffer.from(`${token}\0`) },
    });
    try {
      await connection.query("select 1");
    } finally {
      await connection.end().catch(() => undefined);
    }
  }

  it("logs a mysql2 connection in over verified TLS, runs queries and a transaction", async () => {
    const { config: connectionConfig, auth } = config();
    const connection = await mysqlPromise.createConnection(connectionConfig);
    try {
      const [rows] = await connection.query<mysqlPromise.RowDataPacket[]>(
        "select current_user() as who, @@session.sql_mode as mode",
      );
      expect(String(rows[0]?.who)).toMatch(new RegExp(`^${fixture.user}@`));
      const [tls] = await connection.query<mysqlPromise.RowDataPacket[]>(
        "show session status like 'Ssl_cipher'",
      );
      // TLS ends at the gateway (as it would at RDS); the relay to the local backend is plain.
      expect(tls).toHaveLength(1);
      await connection.query(
        "create table notes (id int auto_increment primary key, body text not null)",
      );
      await connection.beginTransaction();
      await connection.query("insert into notes (body) values (?), (?)", ["a", "b"]);
      await connection.rollback();
      await connection.beginTransaction();
      await connection.query("insert into notes (body) values (?)", ["kept"]);
      await connection.commit();
      const [notes] =
        await connection.query<mysqlPromise.RowDataPacket[]>("select body from notes");
      expect(notes.map((n) => n.body)).toEqual(["kept"]);
      const [prepared] = await connection.execute<mysqlPromise.RowDataPacket[]>(
        "select ? + ? as sum",
        [2, 3],
      );
      expect(Number(prepared[0]?.sum)).toBe(5);
    } finally {
      await connection.end();
      auth.close();
    }
  });

  it("serves a mysql2 pool with one mint, and retries once when a login is rejected", async () => {
    const { config: poolConfig, auth } = config();
    const pool = withMysql2AuthRetry(mysql.createPool({ ...poolConfig, connectionLimit: 4 }), auth);
    const query = (sql: string) =>
      new Promise<unknown>((resolve, reject) =>
        pool.query(sql, (error, rows) => (error ? reject(error) : resolve(rows))),
      );
    try {
      await Promise.all(Array.from({ length: 12 }, () => query("select 1")));
      expect(auth.stats().mints).toBe(1);
      fixture.gateway.faults.rejectNextLogins(1);
      // All four connections are busy, so this query needs a fifth... the limit is 4:
      // drop one instead so the pool must open a new connection.
      await new Promise<void>((resolve, reject) =>
        pool.getConnection((error, connection) => {
          if (error) return reject(error);
          connection.destroy();
          resolve();
        }),
      );
      await Promise.all(Array.from({ length: 8 }, () => query("select sleep(0.05)")));
      expect(auth.stats().invalidations).toBe(1);
      expect(auth.stats().mints).toBe(2);
    } finally {
      fixture.gateway.faults.reset();
      await new Promise((resolve) => pool.end(resolve));
      auth.close();
    }
  });

  it("logs the mariadb connector in with a fresh token per connection", async () => {
    const { connect, auth } = createMariadbConnectionFactory(mariadb, {
      ...fixture.iamOptions(),
      database: fixture.database,
    });
    const connection = await connect();
    try {
      const rows = await connection.query("select current_user() as who, 1 + 1 as two");
      expect(rows[0].who).toMatch(new RegExp(`^${fixture.user}@`));
      expect(Number(rows[0].two)).toBe(2);
      await connection.beginTransaction();
      await connection.query("create temporary table t (n int)");
      await connection.query("insert into t values (1), (2)");
      await connection.commit();
      const sum = await connection.query("select sum(n) as s from t");
      expect(Number(sum[0].s)).toBe(3);
    } finally {
      await connection.end();
      auth.close();
    }
  });

  it("refuses COM_CHANGE_USER, which would log in as another user without a token", async () => {
    const { config: connectionConfig, auth } = config();
    const connection = await mysqlPromise.createConnection(connectionConfig);
    try {
      await expect(
        connection.changeUser({ user: MYSQL_BACKEND.adminUser, password: "" }),
      ).rejects.toMatchObject({ errno: 1045 });
    } finally {
      connection.destroy();
      auth.close();
    }
  });

  it.each([
    ["another user's token", () => sign({ username: "someone_else" }), "user"],
    ["a token for another region", () => sign({ region: "eu-west-1" }), "region"],
    ["a token for another port", () => sign({ port: 3307 }), "endpoint"],
    [
      "a tampered signature",
      async () =>
        (await sign()).replace(
          /X-Amz-Signature=(.)/,
          (_m, c: string) => `X-Amz-Signature=${c === "0" ? "1" : "0"}`,
        ),
      "signature",
    ],
    [
      "an expired token",
      () => sign({ signingDate: new Date(Date.now() - 16 * 60_000) }),
      "expired",
    ],
    [
      "a token signed with expired session credentials",
      () => sign({ credentials: EXPIRED_SESSION }),
      "credentials-expired",
    ],
  ] as const)("refuses %s exactly as RDS does", async (_name, token, reason) => {
    const before = fixture.gateway.stats().rejected[reason] ?? 0;
    const error = await loginWith(await token()).then(
      () => undefined,
      (e: unknown) => e as { errno?: number; sqlState?: string; message: string },
    );
    expect(error?.errno).toBe(1045);
    expect(error?.sqlState).toBe("28000");
    expect(error?.message).toMatch(
      new RegExp(`^Access denied for user '${fixture.user}'@'[^']+' \\(using password: YES\\)$`),
    );
    expect(fixture.gateway.stats().rejected[reason]).toBe(before + 1);
  });

  it("refuses a login without TLS with RDS's access-denied", async () => {
    const before = fixture.gateway.stats().rejected.plaintext ?? 0;
    await expect(loginWith(await sign(), false)).rejects.toMatchObject({ errno: 1045 });
    expect(fixture.gateway.stats().rejected.plaintext).toBe(before + 1);
  });

  it("accepts 200 concurrent logins", async () => {
    // 200 sessions at once exceed MariaDB's default 151: the suite's global setup
    // raises the limit for the whole run.
    const { config: connectionConfig, auth } = config();
    try {
      const before = fixture.gateway.stats().accepted;
      const connections = await Promise.all(
        Array.from({ length: 200 }, () => mysqlPromise.createConnection(connectionConfig)),
      );
      const answers = await Promise.all(connections.map((c) => c.query("select 1 as one")));
      expect(answers).toHaveLength(200);
      await Promise.all(connections.map((c) => c.end()));
      expect(fixture.gateway.stats().accepted).toBe(before + 200);
      expect(auth.stats().mints).toBe(1);
    } finally {
      auth.close();
    }
  });

  it("keeps a pool working after the clock moves 20 minutes ahead", async () => {
    let offset = 0;
    const clock = () => Date.now() + offset;
    const { config: poolConfig, auth } = mysql2IamConfig({
      ...fixture.iamOptions(),
      database: fixture.database,
      clock,
    });
    const pool = mysqlPromise.createPool({ ...poolConfig, connectionLimit: 6 });
    try {
      const held = await pool.getConnection();
      await held.query("select 1");
      offset = 20 * 60_000;
      fixture.gateway.faults.skewClock(offset);
      await held.query("select 1");
      const results = await Promise.all(
        Array.from({ length: 5 }, () => pool.query("select sleep(0.05)")),
      );
      expect(results).toHaveLength(5);
      expect(auth.stats().mints).toBe(2);
      held.release();
    } finally {
      fixture.gateway.faults.reset();
      await pool.end();
      auth.close();
    }
  });
});
