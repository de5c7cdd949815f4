/*
 * Abuse resistance of the gateway before a client has logged in: what idle, stalled,
 * flooding or lying clients can hold. Everything is loopback, every loop is bounded in
 * count and time, and sizes stay modest (the machine is shared with other tests).
 */
import { once } from "node:events";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { type TLSSocket, connect as tlsConnect } from "node:tls";
import { mysql2IamConfig, pgIamConfig } from "@rds-iam/core";
import mysqlPromise from "mysql2/promise";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MYSQL_BACKEND } from "./support/databases";
import { type IamFixture, startIamFixture } from "./support/iam-fixture";

const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);
const MiB = 1024 * 1024;

/** Polls `check` every 20 ms until it holds; fails after `ms`. */
async function waitUntil(
  what: string,
  check: () => boolean | Promise<boolean>,
  ms = 5_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A raw TCP client to the gateway; errors (resets by the gateway) are expected. */
async function dial(port: number): Promise<Socket> {
  const socket = connect({ host: "127.0.0.1", port });
  socket.on("error", () => undefined);
  await once(socket, "connect");
  return socket;
}

/** Resolves once `socket` has received at least `bytes` bytes (bounded by `ms`). */
function received(socket: Socket, bytes: number, ms = 5_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const timer = setTimeout(() => reject(new Error(`no ${bytes} bytes within ${ms} ms`)), ms);
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      total += chunk.length;
      if (total >= bytes) {
        clearTimeout(timer);
        socket.off("data", onData);
        resolve(Buffer.concat(chunks));
      }
    };
    socket.on("data", onData);
  });
}

/** Resolves with how long `socket` stayed open after `since`, or rejects after `ms`. */
function closedAfter(socket: Socket, since: number, ms: number): Promise<number> {
  if (socket.destroyed) return Promise.resolve(Date.now() - since);
  // Discard what the gateway sent: a socket sees the gateway's FIN only after reading.
  socket.resume();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`still open after ${ms} ms`)), ms);
    socket.once("close", () => {
      clearTimeout(timer);
      resolve(Date.now() - since);
    });
  });
}

/**
 * Writes up to `total` bytes of zeros in 64 KiB writes of one reused buffer, honouring
 * backpressure, until the gateway closes the socket or `ms` pass. Returns how many
 * bytes the socket took. The client itself holds next to nothing.
 */
async function flood(socket: Socket, total: number, ms: number): Promise<number> {
  const chunk = Buffer.alloc(64 * 1024);
  const deadline = Date.now() + ms;
  let written = 0;
  while (written < total && !socket.destroyed && Date.now() < deadline) {
    written += chunk.length;
    if (!socket.write(chunk)) {
      await Promise.race([
        // events.once rejects on 'error' (EPIPE, ECONNRESET: the gateway hung up).
        once(socket, "drain").catch(() => undefined),
        once(socket, "close").catch(() => undefined),
        new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline - Date.now()))),
      ]);
    }
  }
  return written;
}

/** External memory (where Buffers live) and heap: what a gateway buffering bytes grows. */
function memory(): number {
  const usage = process.memoryUsage();
  return usage.arrayBuffers + usage.heapUsed;
}

/** Samples {@link memory} every 20 ms while `work` runs; resolves with the peak growth. */
async function peakGrowth(work: () => Promise<unknown>): Promise<number> {
  const baseline = memory();
  let peak = baseline;
  const sampler = setInterval(() => {
    peak = Math.max(peak, memory());
  }, 20);
  try {
    await work();
  } finally {
    clearInterval(sampler);
  }
  return Math.max(peak, memory()) - baseline;
}

/**
 * The local ports of this process's TCP connections to `remotePort` (Linux: the
 * process's socket inodes from /proc/self/fd, matched in /proc/self/net/tcp{,6}).
 */
function ownPortsTo(remotePort: number): Set<number> {
  const inodes = new Set<string>();
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`))?.[1];
      if (inode) inodes.add(inode);
    } catch {
      // Closed since it was listed.
    }
  }
  const ports = new Set<number>();
  for (const table of ["/proc/self/net/tcp", "/proc/self/net/tcp6"]) {
    for (const line of readFileSync(table, "utf8").split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      const [local, remote, inode] = [fields[1], fields[2], fields[9]];
      if (!local || !remote || !inode || !inodes.has(inode)) continue;
      if (Number.parseInt(remote.split(":")[1] ?? "", 16) !== remotePort) continue;
      ports.add(Number.parseInt(local.split(":")[1] ?? "", 16));
    }
  }
  return ports;
}

/** A PostgreSQL startup message for `user`. */
function pgStartup(user: string): Buffer {
  const body = Buffer.from(`user\0${user}\0database\0${user}\0\0`);
  const head = Buffer.alloc(8);
  head.writeInt32BE(body.length + 8, 0);
  head.writeInt32BE(196608, 4);
  return Buffer.concat([head, body]);
}

/** Over TLS to a PostgreSQL gateway, up to the point where it asks for the password. */
async function pgUpToPassword(fixture: IamFixture): Promise<TLSSocket> {
  const raw = await dial(fixture.port);
  raw.write(SSL_REQUEST);
  expect((await received(raw, 1)).toString()).toBe("S");
  const secure = tlsConnect({ socket: raw, ca: fixture.ca, servername: "localhost" });
  secure.on("error", () => undefined);
  await once(secure, "secureConnect");
  secure.write(pgStartup(fixture.user));
  // AuthenticationCleartextPassword: R, length 8, code 3.
  const asked = await received(secure, 9);
  expect(asked[0]).toBe(0x52);
  expect(asked.readInt32BE(5)).toBe(3);
  return secure;
}

describe("handshake timeout: idle and stalled clients are disconnected", () => {
  const TIMEOUT_MS = 400;
  let postgres: IamFixture;
  let mysql: IamFixture;
  beforeAll(async () => {
    postgres = await startIamFixture("postgres", { gateway: { handshakeTimeoutMs: TIMEOUT_MS } });
    mysql = await startIamFixture("mysql", { gateway: { handshakeTimeoutMs: TIMEOUT_MS } });
  });
  afterAll(async () => {
    await postgres?.close();
    await mysql?.close();
  });

  it("PostgreSQL: 50 idle or stalled sockets are closed after the timeout; active returns to 0", async () => {
    const before = postgres.gateway.stats();
    const started = Date.now();
    const sockets: Socket[] = [];
    // 20 that send nothing, 10 half a startup message, 10 an SSLRequest and no TLS hello.
    for (let i = 0; i < 20; i++) sockets.push(await dial(postgres.port));
    for (let i = 0; i < 10; i++) {
      const socket = await dial(postgres.port);
      socket.write(pgStartup(postgres.user).subarray(0, 6));
      sockets.push(socket);
    }
    for (let i = 0; i < 10; i++) {
      const socket = await dial(postgres.port);
      socket.write(SSL_REQUEST);
      sockets.push(socket);
    }
    // 10 over TLS that never answer the password request.
    const stalled = await Promise.all(Array.from({ length: 10 }, () => pgUpToPassword(postgres)));
    expect(postgres.gateway.stats().active - before.active).toBe(50);

    const lifetimes = await Promise.all([
      ...sockets.map((socket) => closedAfter(socket, started, 5_000)),
      ...stalled.map((socket) => closedAfter(socket, started, 5_000)),
    ]);
    // Not before the timeout (the timer starts at accept, after the client's dial)...
    expect(Math.min(...lifetimes)).toBeGreaterThanOrEqual(TIMEOUT_MS - 20);
    // ...and not much after it, however far the client got.
    expect(Math.max(...lifetimes)).toBeLessThan(TIMEOUT_MS + 3_000);
    await waitUntil("active to return to 0", () => postgres.gateway.stats().active === 0);
    const after = postgres.gateway.stats();
    expect((after.rejected.timeout ?? 0) - (before.rejected.timeout ?? 0)).toBe(50);
    expect(after.accepted).toBe(before.accepted);
  });

  it("PostgreSQL: a session that logged in outlives the handshake timeout", async () => {
    const { config, auth } = pgIamConfig({
      ...postgres.iamOptions(),
      database: postgres.database,
    });
    const client = new pg.Client(config);
    try {
      await client.connect();
      await new Promise((resolve) => setTimeout(resolve, TIMEOUT_MS * 2.5));
      const { rows } = await client.query("select current_user as who");
      expect(rows[0].who).toBe(postgres.user);
    } finally {
      await client.end();
      auth.close();
    }
  });

  it("MySQL: idle sockets, an SSLRequest without TLS, and an unanswered password request are closed", async () => {
    const before = mysql.gateway.stats();
    const started = Date.now();
    const sockets: Socket[] = [];
    for (let i = 0; i < 20; i++) {
      const socket = await dial(mysql.port);
      await received(socket, 4);
      sockets.push(socket);
    }
    for (let i = 0; i < 10; i++) {
      const socket = await dial(mysql.port);
      await received(socket, 4);
      // An SSLRequest (32 bytes: CLIENT_SSL | CLIENT_PROTOCOL_41 ...), then no TLS hello.
      const request = Buffer.alloc(36);
      request.writeUIntLE(32, 0, 3);
      request[3] = 1;
      request.writeUInt32LE(0x0800 | 0x0200 | 0x8000 | 0x80000, 4);
      socket.write(request);
      sockets.push(socket);
    }
    // Real mysql2 clients over TLS whose password never comes: stalled at the token.
    const hung = Array.from({ length: 10 }, () =>
      mysqlPromise
        .createConnection({
          host: mysql.host,
          port: mysql.port,
          user: mysql.user,
          ssl: { ca: mysql.ca },
          connectTimeout: 20_000,
          authPlugins: { mysql_clear_password: () => () => new Promise<Buffer>(() => undefined) },
        })
        .then(
          (connection) => {
            connection.destroy();
            return "logged in";
          },
          (error: { code?: string }) => error.code ?? "error",
        ),
    );
    const lifetimes = await Promise.all(
      sockets.map((socket) => closedAfter(socket, started, 5_000)),
    );
    const outcomes = await Promise.all(hung);
    expect(outcomes.every((outcome) => outcome !== "logged in")).toBe(true);
    expect(Date.now() - started).toBeLessThan(TIMEOUT_MS + 5_000);
    expect(Math.min(...lifetimes)).toBeGreaterThanOrEqual(TIMEOUT_MS - 20);
    await waitUntil("active to return to 0", () => mysql.gateway.stats().active === 0);
    const after = mysql.gateway.stats();
    expect((after.rejected.timeout ?? 0) - (before.rejected.timeout ?? 0)).toBe(40);
  });
});

describe("MySQL: the backend hears of a client only after its token is verified", () => {
  let fixture: IamFixture;
  let admin: mysqlPromise.Connection;
  beforeAll(async () => {
    fixture = await startIamFixture("mysql", { gateway: { handshakeTimeoutMs: 8_000 } });
    admin = await mysqlPromise.createConnection({
      host: MYSQL_BACKEND.host,
      port: MYSQL_BACKEND.port,
      user: MYSQL_BACKEND.adminUser,
      password: MYSQL_BACKEND.adminPassword,
    });
  });
  afterAll(async () => {
    await admin?.end();
    await fixture?.close();
  });

  /**
   * MariaDB connections that come from this test process (the in-process gateway),
   * other than the admin's own: the process list's `HOST` is `127.0.0.1:<port>`, and
   * /proc says which local ports are this process's. Other test files, running beside
   * this one with connections of their own, do not count.
   */
  async function backendConnectionsFromHere(): Promise<number> {
    const ports = ownPortsTo(MYSQL_BACKEND.port);
    const [rows] = await admin.query<mysqlPromise.RowDataPacket[]>(
      "select HOST as host from information_schema.PROCESSLIST where ID <> connection_id()",
    );
    return rows.filter((row) => ports.has(Number(/:(\d+)$/.exec(String(row.host))?.[1]))).length;
  }

  it("30 greeted, idle clients open no MariaDB connection; a real login still works", async () => {
    const baseline = await backendConnectionsFromHere();
    const sockets: Socket[] = [];
    try {
      for (let i = 0; i < 30; i++) {
        const socket = await dial(fixture.port);
        // The greeting: sent (from the cached backend greeting) before any backend connection.
        const greeting = await received(socket, 4);
        expect(greeting[4]).toBe(10);
        sockets.push(socket);
      }
      // The old gateway had opened (and held, unauthenticated) one per client by now.
      expect((await backendConnectionsFromHere()) - baseline).toBe(0);
    } finally {
      for (const socket of sockets) socket.destroy();
    }

    const { config, auth } = mysql2IamConfig({
      ...fixture.iamOptions(),
      database: fixture.database,
    });
    const connection = await mysqlPromise.createConnection(config);
    try {
      const [rows] = await connection.query<mysqlPromise.RowDataPacket[]>(
        "select current_user() as who, database() as db",
      );
      expect(String(rows[0]?.who)).toBe(`${fixture.user}@%`);
      expect(rows[0]?.db).toBe(fixture.database);
      // The count sees the gateway's backend connection once there is one to see.
      expect((await backendConnectionsFromHere()) - baseline).toBe(1);
    } finally {
      await connection.end();
      auth.close();
    }
  });

  it("KILL QUERY with the connection id of the greeting reaches the right backend thread", async () => {
    // The greeting goes out before the backend connection exists, so its id is the
    // gateway's own; drivers kill with it (mysql2's threadId, the mariadb connector's
    // destroy(), knex's query cancel), and the gateway sends the backend's thread id on.
    const { config, auth } = mysql2IamConfig({
      ...fixture.iamOptions(),
      database: fixture.database,
    });
    const sleeper = await mysqlPromise.createConnection(config);
    const killer = await mysqlPromise.createConnection(config);
    try {
      const [own] = await sleeper.query<mysqlPromise.RowDataPacket[]>(
        "select connection_id() as id",
      );
      expect(sleeper.threadId).not.toBe(Number(own[0]?.id));
      const started = Date.now();
      const sleeping = sleeper
        .query<mysqlPromise.RowDataPacket[]>("select sleep(20) as slept")
        .then(
          ([rows]) => Number(rows[0]?.slept),
          (error: { errno?: number }) => error.errno,
        );
      await waitUntil("the sleep to start", async () => {
        const [rows] = await admin.query<mysqlPromise.RowDataPacket[]>(
          "select count(*) as n from information_schema.PROCESSLIST where ID = ? and INFO like 'select sleep%'",
          [Number(own[0]?.id)],
        );
        return Number(rows[0]?.n) === 1;
      });
      await killer.query(`KILL QUERY ${sleeper.threadId}`);
      // An interrupted SLEEP returns 1 (or fails with ER_QUERY_INTERRUPTED, 1317).
      expect([1, 1317]).toContain(await sleeping);
      expect(Date.now() - started).toBeLessThan(10_000);
      // The killed query's session lives on.
      const [after] = await sleeper.query<mysqlPromise.RowDataPacket[]>("select 1 as one");
      expect(Number(after[0]?.one)).toBe(1);
    } finally {
      await sleeper.end();
      await killer.end();
      auth.close();
    }
  });
});

describe("oversized messages before login are refused unread", () => {
  let postgres: IamFixture;
  let mysql: IamFixture;
  let plaintext: IamFixture;
  beforeAll(async () => {
    postgres = await startIamFixture("postgres", { gateway: { handshakeTimeoutMs: 4_000 } });
    mysql = await startIamFixture("mysql", { gateway: { handshakeTimeoutMs: 4_000 } });
    plaintext = await startIamFixture("postgres", {
      gateway: { handshakeTimeoutMs: 4_000, allowPlaintext: true },
    });
  });
  afterAll(async () => {
    await postgres?.close();
    await mysql?.close();
    await plaintext?.close();
  });

  it("MySQL: a 16 MiB packet header gets ERR 1153 and the connection closes", async () => {
    const before = mysql.gateway.stats().rejected.oversized ?? 0;
    const socket = await dial(mysql.port);
    await received(socket, 4);
    const answer = received(socket, 7, 3_000);
    socket.write(Buffer.from([0xff, 0xff, 0xff, 0x01]));
    const err = await answer;
    expect(err[3]).toBe(2);
    expect(err[4]).toBe(0xff);
    expect(err.readUInt16LE(5)).toBe(1153);
    await closedAfter(socket, Date.now(), 3_000);
    expect(mysql.gateway.stats().rejected.oversized).toBe(before + 1);
  });

  it("MySQL: a client that resets right after an oversized header does not bring the gateway down", async () => {
    // The refusal (ERR 1153) is written after the session's listeners are gone; the
    // reset makes that write fail. Unhandled, that 'error' ended the process.
    const before = mysql.gateway.stats().rejected.oversized ?? 0;
    for (let attempt = 0; attempt < 5; attempt++) {
      const socket = await dial(mysql.port);
      await received(socket, 4);
      socket.write(Buffer.concat([Buffer.from([0xff, 0xff, 0xff, 0x01]), Buffer.alloc(1024)]));
      socket.resetAndDestroy();
    }
    await waitUntil(
      "five oversized refusals",
      () => (mysql.gateway.stats().rejected.oversized ?? 0) >= before + 5,
      3_000,
    );
    // Still serving: a new client is greeted.
    const next = await dial(mysql.port);
    expect((await received(next, 4)).length).toBeGreaterThanOrEqual(4);
    next.destroy();
  });

  it("MySQL: 4 clients that claim 16 MiB packets and stream 8 MiB each are cut off; memory stays flat", async () => {
    const before = mysql.gateway.stats().rejected.oversized ?? 0;
    const sockets: Socket[] = [];
    for (let i = 0; i < 4; i++) {
      const socket = await dial(mysql.port);
      await received(socket, 4);
      sockets.push(socket);
    }
    const started = Date.now();
    let sent = 0;
    const growth = await peakGrowth(async () => {
      const results = await Promise.all(
        sockets.map(async (socket) => {
          socket.write(Buffer.from([0xff, 0xff, 0xff, 0x01]));
          return flood(socket, 8 * MiB, 3_000);
        }),
      );
      sent = results.reduce((sum, n) => sum + n, 0);
      await Promise.all(sockets.map((socket) => closedAfter(socket, started, 3_000)));
    });
    // The old gateway buffered every byte of these (32 MiB) and kept waiting for more.
    expect(growth).toBeLessThan(8 * MiB);
    expect(sent).toBeLessThan(32 * MiB);
    expect(mysql.gateway.stats().rejected.oversized).toBe(before + 4);
    await waitUntil("active to return to 0", () => mysql.gateway.stats().active === 0);
  });

  it("PostgreSQL: a 1 GiB startup message or password message is refused; memory stays flat", async () => {
    const before = postgres.gateway.stats().rejected.oversized ?? 0;
    const huge = Buffer.alloc(4);
    huge.writeInt32BE(1024 * MiB);
    const started = Date.now();
    const growth = await peakGrowth(async () => {
      const clients = await Promise.all([
        // Two claim a 1 GiB startup message in the clear...
        ...[0, 1].map(async () => {
          const socket = await dial(postgres.port);
          socket.write(Buffer.concat([huge, Buffer.from([0, 3, 0, 0])]));
          return socket;
        }),
        // ...two a 1 GiB password message over TLS.
        ...[0, 1].map(async () => {
          const secure = await pgUpToPassword(postgres);
          secure.write(Buffer.concat([Buffer.from("p"), huge]));
          return secure;
        }),
      ]);
      await Promise.all(clients.map((socket) => flood(socket, 4 * MiB, 3_000)));
      await Promise.all(clients.map((socket) => closedAfter(socket, started, 3_000)));
    });
    expect(growth).toBeLessThan(8 * MiB);
    expect(postgres.gateway.stats().rejected.oversized).toBe(before + 4);
    await waitUntil("active to return to 0", () => postgres.gateway.stats().active === 0);
  });

  it("a client flooding bytes while the gateway is busy is not buffered whole", async () => {
    // The gateway waits (an injected delay before the password request) while 4 clients
    // send 8 MiB each behind their startup message; it reads no further than it needs.
    plaintext.gateway.faults.setHandshakeLatency(1_500);
    try {
      const sockets = await Promise.all([0, 1, 2, 3].map(() => dial(plaintext.port)));
      const started = Date.now();
      const growth = await peakGrowth(async () => {
        await Promise.all(
          sockets.map((socket) => {
            socket.write(pgStartup(plaintext.user));
            return flood(socket, 8 * MiB, 1_200);
          }),
        );
      });
      // The old gateway held all 32 MiB by now.
      expect(growth).toBeLessThan(8 * MiB);
      // After the delay the flood is not a password message: the gateway hangs up.
      await Promise.all(sockets.map((socket) => closedAfter(socket, started, 5_000)));
    } finally {
      plaintext.gateway.faults.reset();
    }
    await waitUntil("active to return to 0", () => plaintext.gateway.stats().active === 0);
  });
});
