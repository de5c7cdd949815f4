import { connect, createServer, type Server, type Socket } from "node:net";

/** A loopback relay that changes the server version a MySQL/MariaDB greeting announces. */
export interface MysqlVersionProxy {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Relays every connection to `target`, rewriting only the server version in the first
 * packet (the greeting): an attacker's server announces whatever version makes a client
 * relax. The rest of the session (TLS included) passes through untouched.
 */
export async function startMysqlVersionProxy(
  target: { host: string; port: number },
  serverVersion: string,
): Promise<MysqlVersionProxy> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
    }
    let pending = Buffer.alloc(0);
    const onGreeting = (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      if (pending.length < 4) return;
      const length = pending.readUIntLE(0, 3);
      if (pending.length < 4 + length) return;
      upstream.off("data", onGreeting);
      const payload = pending.subarray(4, 4 + length);
      const versionEnd = payload.indexOf(0, 1);
      const rewritten = Buffer.concat([
        payload.subarray(0, 1),
        Buffer.from(serverVersion),
        payload.subarray(versionEnd),
      ]);
      const header = Buffer.alloc(4);
      header.writeUIntLE(rewritten.length, 0, 3);
      header[3] = pending[3] ?? 0;
      client.write(Buffer.concat([header, rewritten, pending.subarray(4 + length)]));
      upstream.pipe(client);
    };
    upstream.on("data", onGreeting);
    client.pipe(upstream);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no TCP address");
  return {
    host: "127.0.0.1",
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
