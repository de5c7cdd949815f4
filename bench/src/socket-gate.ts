import net from "node:net";

/**
 * A counting semaphore for database sessions. The burst starts 1,000 connection
 * attempts at once, but the real PostgreSQL behind the gateway allows 100 sessions
 * (MariaDB 151, and other programs may hold some), so at most `limit` sockets are
 * open at a time; the rest wait, in order, for one to close.
 */
export class SessionGate {
  readonly limit: number;
  #open = 0;
  #peak = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(limit: number) {
    this.limit = limit;
  }

  get peak(): number {
    return this.#peak;
  }

  /** Resolves with a release function once a slot is free. */
  acquire(): Promise<() => void> {
    return new Promise((resolve) => {
      const grant = () => {
        this.#open++;
        this.#peak = Math.max(this.#peak, this.#open);
        let released = false;
        resolve(() => {
          if (released) return;
          released = true;
          this.#open--;
          this.#waiting.shift()?.();
        });
      };
      if (this.#open < this.limit) grant();
      else this.#waiting.push(grant);
    });
  }

  /**
   * A socket whose TCP connect waits for a slot; the slot is freed when the socket
   * closes. Handed to the drivers through their `stream` option, so every contender
   * is gated at the same place: the socket, after whatever the contender does first.
   */
  socket(host: string, port: number): net.Socket {
    const socket = new net.Socket();
    socket.setNoDelay(true);
    const connect = socket.connect.bind(socket) as (port: number, host: string) => net.Socket;
    const open = () => {
      this.acquire().then((release) => {
        socket.once("close", release);
        if (socket.destroyed) release();
        else connect(port, host);
      });
    };
    // node-postgres calls connect(port, host) itself; mysql2 expects a connecting socket.
    socket.connect = ((..._args: unknown[]) => {
      open();
      return socket;
    }) as net.Socket["connect"];
    return socket;
  }

  /** For node-postgres's `stream` option (pg calls `connect` on it). */
  pgStream(host: string, port: number): () => net.Socket {
    return () => this.socket(host, port);
  }

  /** For mysql2's `stream` option (mysql2 expects a socket that is already connecting). */
  mysqlStream(host: string, port: number): () => net.Socket {
    return () => {
      const socket = this.socket(host, port);
      socket.connect(port, host);
      return socket;
    };
  }
}
