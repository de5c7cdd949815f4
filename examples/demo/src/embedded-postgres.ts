import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";

/** PostgreSQL compiled to WebAssembly, in this process, reachable over TCP. */
export interface EmbeddedPostgres {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function startEmbeddedPostgres(): Promise<EmbeddedPostgres> {
  const db = await PGlite.create();
  // PGlite serves one session shared by every socket, so the demo's ORMs take turns.
  const server = new PGLiteSocketServer({ db, host: "127.0.0.1", port: 0, maxConnections: 8 });
  await server.start();
  const [host, port] = server.getServerConn().split(":");
  return {
    host: host ?? "127.0.0.1",
    port: Number(port),
    async close() {
      await server.stop();
      await db.close();
    },
  };
}
