import { type AddressInfo, connect, createServer, type Socket } from "node:net";
import * as mariadb from "mariadb";
import { describe, expect, it } from "vitest";
import { IamMariadbPool } from "../src/iam-mariadb-pool";

// The machine's MariaDB, directly: this file tests the pool, not the login (the
// adapter's tests log in through the gateway). A refused connection fails loudly.
const open = () =>
  mariadb.createConnection({ host: "127.0.0.1", port: 3306, user: "root", database: "test" });

const failure = async (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (e: unknown) => e,
  );

describe("IamMariadbPool", () => {
  it("reuses released connections and never opens more than connectionLimit", async () => {
    const pool = new IamMariadbPool(open, { connectionLimit: 2 });
    try {
      await Promise.all(Array.from({ length: 20 }, () => pool.query("SELECT 1")));
      expect(pool.stats()).toMatchObject({ opened: 2, total: 2, idle: 2, inUse: 0 });
    } finally {
      await pool.end();
    }
  });

  it("fails a waiter with TIMEOUT naming acquireTimeout when every connection stays in use", async () => {
    const pool = new IamMariadbPool(open, { connectionLimit: 1, acquireTimeout: 200 });
    const held = await pool.getConnection();
    try {
      const error = await failure(pool.getConnection());
      expect(error).toMatchObject({
        name: "RdsIamError",
        code: "TIMEOUT",
        option: "acquireTimeout",
      });
      expect(String((error as Error).message)).toContain("connectionLimit");
    } finally {
      await held.release();
      await pool.end();
    }
  });

  it("end() fails waiting callers and later calls with CLOSED, and returns while one is in use", async () => {
    const pool = new IamMariadbPool(open, { connectionLimit: 1, acquireTimeout: 0 });
    const held = await pool.getConnection();
    const waiting = failure(pool.getConnection());
    await pool.end();
    expect(await waiting).toMatchObject({ code: "CLOSED" });
    expect(await failure(pool.getConnection())).toMatchObject({ code: "CLOSED" });
    // The held connection is closed when it comes back, not reused.
    await held.release();
    expect(pool.stats().total).toBe(0);
  });

  it("refuses a connection used after release", async () => {
    const pool = new IamMariadbPool(open, { connectionLimit: 1 });
    try {
      const connection = await pool.getConnection();
      await connection.release();
      expect(() => connection.query("SELECT 1")).toThrow(
        expect.objectContaining({ code: "CLOSED" }),
      );
    } finally {
      await pool.end();
    }
  });

  it("pings a connection idle past minDelayValidation by its clock, and replaces one the server killed", async () => {
    let now = Date.UTC(2026, 11, 2);
    const clock = () => now;
    const pool = new IamMariadbPool(
      open,
      { connectionLimit: 1, minDelayValidation: 60_000 },
      clock,
    );
    const admin = await open();
    try {
      const first = await pool.getConnection();
      const id = first.threadId;
      await first.release();
      await admin.query(`KILL ${id}`);
      // A minute of simulated idleness: the pool checks before handing the connection out.
      now += 60_000;
      const rows = await pool.query<{ id: unknown }[]>("SELECT CONNECTION_ID() AS id");
      expect(Number(rows[0]?.id)).not.toBe(id);
      expect(pool.stats().opened).toBe(2);
    } finally {
      await admin.end();
      await pool.end();
    }
  });
});

describe("IamMariadbPool on a network that drops a connection silently", () => {
  it("gives up a validation ping after 500 ms and opens a new connection", async () => {
    // A relay to MariaDB whose existing connections can be frozen: no data, no FIN.
    const frozen: Socket[] = [];
    const relays = new Set<[Socket, Socket]>();
    const server = createServer((client) => {
      const upstream = connect(3306, "127.0.0.1");
      client.pipe(upstream).pipe(client);
      client.on("error", () => {});
      upstream.on("error", () => {});
      relays.add([client, upstream]);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    const viaRelay = () =>
      mariadb.createConnection({ host: "127.0.0.1", port, user: "root", database: "test" });
    const pool = new IamMariadbPool(viaRelay, { connectionLimit: 1, minDelayValidation: 0 });
    try {
      const first = await pool.getConnection();
      const id = first.threadId;
      await first.release();
      for (const [client, upstream] of relays) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        frozen.push(client, upstream);
      }
      const started = Date.now();
      const rows = await pool.query<{ id: unknown }[]>("SELECT CONNECTION_ID() AS id");
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(Number(rows[0]?.id)).not.toBe(id);
      expect(pool.stats().opened).toBe(2);
    } finally {
      await pool.end();
      for (const socket of frozen) socket.destroy();
      for (const [client, upstream] of relays) {
        client.destroy();
        upstream.destroy();
      }
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
