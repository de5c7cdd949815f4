import { once } from "node:events";
import { connect, createServer, type Server, type Socket } from "node:net";
import { inspect } from "node:util";
import { Worker } from "node:worker_threads";
import { TokenCache } from "@rds-iam/core";
import { createIamSql, iamAuthOf } from "@rds-iam/postgres";
import { sql as drizzleSql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/postgres-js";
import { Kysely, sql as kyselySql } from "kysely";
import { PostgresJSDialect } from "kysely-postgres-js";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { withEnv } from "./support/aws-env";
import { type IamFixture, startIamFixture } from "./support/iam-fixture";

describe("@rds-iam/postgres: a postgres.js sql for raw queries, Drizzle and Kysely, through the gateway", () => {
  let fixture: IamFixture;
  beforeAll(async () => {
    fixture = await startIamFixture("postgres");
  });
  afterAll(async () => {
    await fixture?.close();
  });

  /** An sql for the fixture; a token cache of its own, so its counts are its own. */
  const sqlFor = (extra: Record<string, unknown> = {}) => {
    const sql = createIamSql({
      ...fixture.iamOptions(),
      database: fixture.database,
      tokenCache: new TokenCache(),
      ...extra,
    });
    onTestFinished(() => sql.end({ timeout: 5 }));
    return sql;
  };

  it("logs every connection in as the IAM user over verified TLS; postgres.js never holds the token", async () => {
    const sql = sqlFor({ max: 3 });
    const results = await Promise.all(
      Array.from({ length: 9 }, () => sql`select current_user as who`),
    );
    for (const rows of results) expect(rows[0]).toEqual({ who: fixture.user });
    expect(iamAuthOf(sql).stats().mints).toBe(1);
    expect(fixture.gateway.stats().accepted).toBeGreaterThanOrEqual(3);
    const shown = inspect(sql, { depth: 8, showHidden: true }) + inspect(sql.options, { depth: 8 });
    expect(shown).not.toContain("X-Amz-Signature");
  });

  it("serves Drizzle (drizzle-orm/postgres-js)", async () => {
    const db = drizzle({ client: sqlFor() });
    const rows = await db.execute<{ who: string; answer: number }>(
      drizzleSql`select current_user as who, 40 + 2 as answer`,
    );
    expect([...rows]).toEqual([{ who: fixture.user, answer: 42 }]);
  });

  it("serves Kysely (kysely-postgres-js's PostgresJSDialect)", async () => {
    const db = new Kysely<Record<string, never>>({
      dialect: new PostgresJSDialect({ postgres: sqlFor() }),
    });
    const { rows } = await kyselySql<{ who: string }>`select current_user as who`.execute(db);
    expect(rows[0]?.who).toBe(fixture.user);
  });

  it("runs a transaction and cancels a running query (the cancel request over verified TLS)", async () => {
    const sql = sqlFor({ max: 2 });
    const inside = await sql.begin(async (tx) => {
      await tx`create temporary table t (n int)`;
      await tx`insert into t values (1), (2)`;
      return tx`select sum(n)::int as total from t`;
    });
    expect(inside[0]?.total).toBe(3);
    const cancels = fixture.gateway.stats().cancelRequests;
    const slow = sql`select pg_sleep(30)`;
    const outcome = slow.then(
      () => "finished",
      (error: { code?: string }) => error.code,
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    await slow.cancel();
    expect(await outcome).toBe("57014");
    expect(fixture.gateway.stats().cancelRequests).toBe(cancels + 1);
  });

  it("a rejected login is retried once with a fresh token, inside the same connection attempt", async () => {
    const sql = sqlFor({ max: 1 });
    fixture.gateway.faults.rejectNextLogins(1);
    onTestFinished(() => fixture.gateway.faults.reset());
    const rows = await sql`select 1 as one`;
    expect(rows[0]?.one).toBe(1);
    expect(iamAuthOf(sql).stats()).toMatchObject({ mints: 2, invalidations: 1 });
  });

  it("through a credential outage, a reserved connection keeps serving; new ones fail clearly, then recover", async () => {
    let down = false;
    const credentials = async () => {
      if (down) throw new Error("credential endpoint unreachable (test)");
      return fixture.credentials;
    };
    // One-second tokens, so that waiting past one needs a new token for a new connection.
    const sql = sqlFor({ max: 2, credentials, iamTokenExpiration: 1 });
    const held = await sql.reserve();
    try {
      await held`select 1`;
      down = true;
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      expect((await held`select 2 as two`)[0]?.two).toBe(2);
      await expect(sql`select 3`).rejects.toMatchObject({
        name: "RdsIamError",
        code: "CREDENTIALS_UNAVAILABLE",
      });
      down = false;
      expect((await sql`select 4 as four`)[0]?.four).toBe(4);
    } finally {
      held.release();
    }
  });

  it("refuses a server whose certificate chains to a CA it was not given: TLS_VERIFICATION_FAILED", async () => {
    const accepted = fixture.gateway.stats().accepted;
    // No `ssl`: the RDS CA bundle, which did not sign the gateway's test certificate.
    const { ssl: _ssl, ...withoutCa } = fixture.iamOptions();
    const sql = createIamSql({
      ...withoutCa,
      database: fixture.database,
      tokenCache: new TokenCache(),
    });
    onTestFinished(() => sql.end({ timeout: 5 }));
    await expect(sql`select 1`).rejects.toMatchObject({ code: "TLS_VERIFICATION_FAILED" });
    expect(fixture.gateway.stats().accepted).toBe(accepted);
  });

  it("the PG* environment postgres.js reads (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGSSL, ...) changes neither where the token goes nor how", async () => {
    // Where PGHOST / PGPORT point: a listener that records whether anyone came.
    let visits = 0;
    const decoy = createServer((client) => {
      visits++;
      client.destroy();
    });
    decoy.listen(0, "127.0.0.1");
    await once(decoy, "listening");
    onTestFinished(() => new Promise<void>((resolve) => decoy.close(() => resolve())));
    const decoyPort = String((decoy.address() as { port: number }).port);
    const accepted = fixture.gateway.stats().accepted;
    const rows = await withEnv(
      {
        PGHOST: "127.0.0.1",
        PGPORT: decoyPort,
        PGUSER: "postgres",
        PGPASSWORD: "from-the-environment",
        PGSSLMODE: "require",
        PGSSL: "require",
        PGSSLNEGOTIATION: "direct",
      },
      async () => {
        const sql = sqlFor();
        return sql`select current_user as who`;
      },
    );
    expect(rows[0]).toEqual({ who: fixture.user });
    // The login went to the gateway, which accepts only a valid token over verified TLS.
    expect(fixture.gateway.stats().accepted).toBe(accepted + 1);
    expect(visits).toBe(0);
  });

  it("refuses a certificate that does not name iamHost: TLS_VERIFICATION_FAILED, no login attempted", async () => {
    const accepted = fixture.gateway.stats().accepted;
    const sql = sqlFor({ iamHost: "other.cluster-abc123.us-east-1.rds.amazonaws.com" });
    const error = await sql`select 1`.then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toMatchObject({ name: "RdsIamError", code: "TLS_VERIFICATION_FAILED" });
    expect(String((error as Error).message)).toContain("other.cluster-abc123");
    expect(fixture.gateway.stats().accepted).toBe(accepted);
  });
});

describe("@rds-iam/postgres against hostile servers: the token is never sent", () => {
  /** A loopback server that answers each connection with `reply` and records what it got. */
  async function hostileServer(reply: (client: Socket, received: Buffer) => void): Promise<{
    port: number;
    received: () => Buffer;
  }> {
    let got = Buffer.alloc(0);
    const server: Server = createServer((client) => {
      client.on("data", (chunk: Buffer) => {
        got = Buffer.concat([got, chunk]);
        reply(client, got);
      });
      client.on("error", () => undefined);
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("no port");
    return { port: address.port, received: () => got };
  }

  /**
   * A loopback port whose connects hang like a dropped SYN: a worker thread listens with
   * the smallest backlog and blocks its event loop (it never accepts), and connections
   * of our own fill the backlog first. `pendingConnects` counts this process's TCP
   * connects still under way, those fillers excepted.
   */
  async function unansweredPort(): Promise<{ port: number; pendingConnects: () => number }> {
    const worker = new Worker(
      `const { createServer } = require("node:net");
      const { parentPort } = require("node:worker_threads");
      const server = createServer().listen({ port: 0, host: "127.0.0.1", backlog: 1 }, () => {
        parentPort.postMessage(server.address().port);
        setTimeout(() => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0), 10);
      });`,
      { eval: true },
    );
    onTestFinished(() => worker.terminate().then(() => undefined));
    const [port] = (await once(worker, "message")) as [number];
    await new Promise((resolve) => setTimeout(resolve, 100));
    const fillers = Array.from({ length: 6 }, () =>
      connect(port, "127.0.0.1").on("error", () => undefined),
    );
    onTestFinished(() => {
      for (const filler of fillers) filler.destroy();
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    // The backlog is full once one of them could not connect.
    expect(fillers.some((filler) => filler.connecting)).toBe(true);
    const connecting = () =>
      process.getActiveResourcesInfo().filter((name) => name === "ConnectWrap").length;
    return {
      port,
      pendingConnects: () => connecting() - fillers.filter((filler) => filler.connecting).length,
    };
  }

  const HOSTILE = {
    host: "127.0.0.1",
    iamHost: "mydb.cluster-abc123.us-east-1.rds.amazonaws.com",
    iamRegion: "us-east-1",
    user: "app",
    database: "app",
    credentials: {
      accessKeyId: "AKIDHOSTILE000000001",
      secretAccessKey: "hostile/secret/key/0000000000000000000000",
    },
    tokenCache: new TokenCache(),
    connect_timeout: 5,
  };

  const failureOf = async (options: Record<string, unknown>) => {
    const sql = createIamSql({ ...HOSTILE, ...options } as Parameters<typeof createIamSql>[0]);
    onTestFinished(() => sql.end({ timeout: 1 }));
    return sql`select 1`.then(
      () => undefined,
      (error: unknown) => error,
    );
  };

  it("bytes slipped in behind the server's TLS answer: refused before the handshake", async () => {
    const server = await hostileServer((client) => client.write(Buffer.from("SRpwned")));
    const error = await failureOf({ port: server.port });
    expect(error).toMatchObject({ name: "RdsIamError", code: "TLS_VERIFICATION_FAILED" });
    expect((error as Error).message).toContain('other than one "S" byte');
    expect(server.received().length).toBe(8);
  });

  it("a server that declines TLS: PLAINTEXT_REFUSED", async () => {
    const server = await hostileServer((client) => client.write(Buffer.from("N")));
    const error = await failureOf({ port: server.port });
    expect(error).toMatchObject({ name: "RdsIamError", code: "PLAINTEXT_REFUSED" });
    expect(server.received().length).toBe(8);
  });

  it("a login message whose length field says 2 GiB: refused at once, nothing buffered for it", async () => {
    const server = await hostileServer((client, received) => {
      if (received.length !== received.readUInt32BE(0)) return;
      // A notice "of 2 GiB", then 8 MiB of its "body": a login that waited for the
      // rest would hold all of it until connect_timeout.
      client.write(Buffer.from([0x4e, 0x7f, 0xff, 0xff, 0xff]));
      for (let sent = 0; sent < 8; sent++) client.write(Buffer.alloc(1 << 20, 0x41));
    });
    const error = await failureOf({ port: server.port, ssl: false, iamAllowPlaintext: true });
    expect(error).toMatchObject({ name: "RdsIamError", code: "AUTH_REJECTED" });
    expect((error as Error).message).toContain("2147483647 bytes");
  });

  it("a TCP connect that never completes: bounded by connect_timeout, and abandoned with it", async () => {
    const { port, pendingConnects } = await unansweredPort();
    const error = await failureOf({ port, connect_timeout: 1 });
    expect(error).toMatchObject({ code: "CONNECT_TIMEOUT" });
    // The connect attempt must not go on for the kernel's SYN retries (about 2 minutes);
    // a destroyed socket's connect ends once the event loop has turned.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(pendingConnects()).toBe(0);
  });

  it("a server asking for the password again after AuthenticationOk: postgres.js answers with an empty one", async () => {
    const cleartext = Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 3]);
    const ok = Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 0]);
    let asked = 0;
    const server = await hostileServer((client, received) => {
      if (asked === 0 && received.length >= received.readUInt32BE(0)) {
        asked = 1;
        client.write(cleartext);
      } else if (asked === 1 && received.includes(0x70)) {
        // The token arrived: accept it, then ask postgres.js itself for a password.
        asked = 2;
        client.write(Buffer.concat([ok, cleartext]));
      }
    });
    const startup = () => server.received().readUInt32BE(0);
    await withEnv({ PGPASSWORD: "from-the-environment" }, async () => {
      const sql = createIamSql({
        ...HOSTILE,
        port: server.port,
        ssl: false,
        iamAllowPlaintext: true,
      } as Parameters<typeof createIamSql>[0]);
      onTestFinished(() => sql.end({ timeout: 1 }));
      void sql`select 1`.catch(() => undefined);
      const arrived = () => server.received().length >= 4 && server.received().length > startup();
      for (let waited = 0; !arrived(); waited += 10) {
        if (waited > 3_000) throw new Error("no password message arrived");
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    });
    // After the startup message: our password message (the token), then postgres.js's.
    const afterStartup = server.received().subarray(startup());
    const ours = afterStartup.readUInt32BE(1) + 1;
    expect(afterStartup.toString("latin1", 0, 1)).toBe("p");
    expect(afterStartup.subarray(ours)).toEqual(Buffer.from([0x70, 0, 0, 0, 5, 0]));
    expect(afterStartup.subarray(ours).toString("latin1")).not.toContain("from-the-environment");
  });

  it("a server (plaintext allowed, loopback) asking for MD5 instead of the cleartext token", async () => {
    const md5Request = Buffer.from([0x52, 0, 0, 0, 12, 0, 0, 0, 5, 1, 2, 3, 4]);
    const server = await hostileServer((client, received) => {
      if (received.length >= received.readUInt32BE(0)) client.write(md5Request);
    });
    const error = await failureOf({ port: server.port, ssl: false, iamAllowPlaintext: true });
    expect(error).toMatchObject({ name: "RdsIamError", code: "AUTH_REJECTED" });
    expect((error as Error).message).toContain("the token was not sent");
    // Only the startup message arrived: no password message ('p') followed it.
    const received = server.received();
    expect(received.length).toBe(received.readUInt32BE(0));
    expect(received.toString("latin1")).not.toContain("X-Amz");
  });
});
