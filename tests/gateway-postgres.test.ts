import { connect } from "node:net";
import { generateAuthToken, pgIamConfig, TokenCache } from "@rds-iam/core";
import { withPgAuthRetry } from "@rds-iam/core/driver";
import type { RejectReason } from "@rds-iam/gateway";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type IamFixture, startIamFixture, testCredentials } from "./support/iam-fixture";

const EXPIRED_SESSION = {
  ...testCredentials(),
  sessionToken: "FwoGZXIvYXdzEXPIREDSESSIONTOKEN",
  expiration: new Date(Date.now() - 60_000),
};

describe("gateway in front of PostgreSQL", () => {
  let fixture: IamFixture;
  beforeAll(async () => {
    fixture = await startIamFixture("postgres", { credentials: [EXPIRED_SESSION] });
  });
  afterAll(async () => {
    await fixture?.close();
  });

  // Each test counts its own provider's mints: a token cache of its own (by default,
  // providers for the same user share the process's tokens).
  const config = () =>
    pgIamConfig({
      ...fixture.iamOptions(),
      database: fixture.database,
      tokenCache: new TokenCache(),
    });

  /** A raw login with a password the test chose, over TLS verified against the gateway's CA. */
  async function loginWith(password: string, options: { ssl?: false; user?: string } = {}) {
    const client = new pg.Client({
      host: fixture.host,
      port: fixture.port,
      user: options.user ?? fixture.user,
      database: fixture.database,
      password,
      ssl: options.ssl ?? { ca: fixture.ca },
    });
    try {
      await client.connect();
      await client.query("select 1");
    } finally {
      await client.end().catch(() => undefined);
    }
  }

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

  it("logs a pg Client in with a token over verified TLS, runs queries and a transaction", async () => {
    const { config: clientConfig, auth } = config();
    const client = new pg.Client(clientConfig);
    await client.connect();
    try {
      const { rows } = await client.query(
        "select current_user as who, ssl from pg_stat_ssl where pid = pg_backend_pid()",
      );
      expect(rows[0].who).toBe(fixture.user);
      await client.query("create table notes (id serial primary key, body text not null)");
      await client.query("begin");
      await client.query("insert into notes (body) values ($1), ($2)", ["a", "b"]);
      await client.query("rollback");
      await client.query("begin");
      await client.query("insert into notes (body) values ($1)", ["kept"]);
      await client.query("commit");
      const notes = await client.query("select body from notes order by id");
      expect(notes.rows.map((r) => r.body)).toEqual(["kept"]);
    } finally {
      await client.end();
      auth.close();
    }
  });

  it("serves a pg Pool", async () => {
    const { config: poolConfig, auth } = config();
    const pool = new pg.Pool({ ...poolConfig, max: 4 });
    try {
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) => pool.query("select $1::int as n", [i])),
      );
      expect(results.map((r) => r.rows[0].n)).toEqual(Array.from({ length: 12 }, (_, i) => i));
      expect(pool.totalCount).toBe(4);
      expect(auth.stats().mints).toBe(1);
    } finally {
      await pool.end();
      auth.close();
    }
  });

  it("forwards a protocol CancelRequest to the backend", async () => {
    const { config: clientConfig, auth } = config();
    const client = new pg.Client(clientConfig);
    await client.connect();
    try {
      const before = fixture.gateway.stats().cancelRequests;
      const slow = client.query("select pg_sleep(30)");
      await new Promise((resolve) => setTimeout(resolve, 200));
      // A CancelRequest names the backend's process id and key, which the client
      // learnt from the relayed BackendKeyData.
      const internal = client as unknown as { processID: number; secretKey: number };
      const request = Buffer.alloc(16);
      request.writeInt32BE(16, 0);
      request.writeInt32BE(80877102, 4);
      request.writeInt32BE(internal.processID, 8);
      request.writeInt32BE(internal.secretKey, 12);
      const socket = connect({ host: fixture.host, port: fixture.port }, () => socket.end(request));
      await expect(slow).rejects.toThrow(/cancel/i);
      expect(internal.processID).toBeGreaterThan(0);
      expect(fixture.gateway.stats().cancelRequests).toBe(before + 1);
    } finally {
      await client.end();
      auth.close();
    }
  });

  const refusals: [string, () => Promise<string>, RejectReason][] = [
    ["another user's token", () => sign({ username: "someone_else" }), "user"],
    ["a token for another region", () => sign({ region: "us-west-2" }), "region"],
    [
      "a token for another endpoint",
      () => sign({ hostname: "other.cluster-abc123.us-east-1.rds.amazonaws.com" }),
      "endpoint",
    ],
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
      () => sign({ signingDate: new Date(Date.now() - 20 * 60_000) }),
      "expired",
    ],
    ["unknown credentials", () => sign({ credentials: testCredentials() }), "unknown-credentials"],
    [
      "a token signed with expired session credentials",
      () => sign({ credentials: EXPIRED_SESSION }),
      "credentials-expired",
    ],
    ["a plain password", async () => "not-a-token", "malformed"],
  ];
  it.each(refusals)("refuses %s exactly as RDS does", async (_name, token, reason) => {
    const before = fixture.gateway.stats().rejected[reason] ?? 0;
    const error = await loginWith(await token()).then(
      () => undefined,
      (e: unknown) => e as { code?: string; message: string },
    );
    expect(error?.code).toBe("28000");
    expect(error?.message).toBe(`PAM authentication failed for user "${fixture.user}"`);
    expect(fixture.gateway.stats().rejected[reason]).toBe(before + 1);
  });

  it("setRegion plays a cross-Region failover: the old region's tokens are refused as RDS does", async () => {
    const first = fixture.gateway.region;
    const before = fixture.gateway.stats().rejected.region ?? 0;
    try {
      fixture.gateway.setRegion("eu-west-1");
      expect(fixture.gateway.region).toBe("eu-west-1");
      const error = await loginWith(await sign()).then(
        () => undefined,
        (e: unknown) => e as { code?: string; message: string },
      );
      expect(error?.code).toBe("28000");
      expect(error?.message).toBe(`PAM authentication failed for user "${fixture.user}"`);
      expect(fixture.gateway.stats().rejected.region).toBe(before + 1);
      await loginWith(await sign({ region: "eu-west-1" }));
      expect(() => fixture.gateway.setRegion("global")).toThrow(/region name/);
      expect(fixture.gateway.region).toBe("eu-west-1");
    } finally {
      fixture.gateway.setRegion(first);
    }
    await loginWith(await sign());
  });

  it("refuses a client without TLS before asking for a password, as RDS does", async () => {
    const error = await loginWith(await sign(), { ssl: false }).then(
      () => undefined,
      (e: unknown) => e as { code?: string; message: string },
    );
    expect(error?.code).toBe("28000");
    expect(error?.message).toMatch(
      new RegExp(
        `^no pg_hba.conf entry for host ".+", user "${fixture.user}", database "${fixture.database}", no encryption$`,
      ),
    );
  });

  it("relays the backend's own error when the login is valid but the database is not", async () => {
    const client = new pg.Client({ ...config().config, database: "no_such_database_here" });
    await expect(client.connect()).rejects.toMatchObject({ code: "3D000" });
  });

  it("accepts many concurrent logins", async () => {
    // PostgreSQL allows 100 connections on this machine and other suites share it.
    const { auth } = config();
    const token = await auth.getToken();
    const clients = Array.from(
      { length: 60 },
      () =>
        new pg.Client({
          host: fixture.host,
          port: fixture.port,
          user: fixture.user,
          database: fixture.database,
          password: token,
          ssl: { ca: fixture.ca },
        }),
    );
    const before = fixture.gateway.stats().accepted;
    await Promise.all(clients.map((c) => c.connect()));
    const answers = await Promise.all(clients.map((c) => c.query("select 1 as one")));
    expect(answers.every((a) => a.rows[0].one === 1)).toBe(true);
    await Promise.all(clients.map((c) => c.end()));
    expect(fixture.gateway.stats().accepted).toBe(before + 60);
    auth.close();
  });

  it("keeps a pool working after the clock moves 20 minutes ahead: new connections get new tokens", async () => {
    let offset = 0;
    const clock = () => Date.now() + offset;
    const { config: poolConfig, auth } = pgIamConfig({
      ...fixture.iamOptions(),
      database: fixture.database,
      clock,
    });
    const Pool = withPgAuthRetry(pg.Pool, auth);
    const pool = new Pool({ ...poolConfig, max: 6 });
    try {
      const held = await pool.connect();
      await held.query("select 1");
      expect(auth.stats().mints).toBe(1);
      offset = 20 * 60_000;
      fixture.gateway.faults.skewClock(offset);
      // The old connection keeps working; new ones need tokens the moved clock accepts.
      await held.query("select 1");
      const results = await Promise.all(
        Array.from({ length: 5 }, () => pool.query("select 1 as one")),
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

  it("retries once with a fresh token when a login is rejected", async () => {
    const { config: poolConfig, auth } = config();
    const pool = new (withPgAuthRetry(pg.Pool, auth))({ ...poolConfig, max: 2 });
    try {
      await pool.query("select 1");
      const client = await pool.connect();
      fixture.gateway.faults.rejectNextLogins(1);
      const { rows } = await pool.query("select 2 as two");
      expect(rows[0].two).toBe(2);
      expect(auth.stats().mints).toBe(2);
      expect(auth.stats().invalidations).toBe(1);
      client.release();
    } finally {
      fixture.gateway.faults.reset();
      await pool.end();
      auth.close();
    }
  });
});
