import { type Clock, RdsIamError } from "@rds-iam/core";
import { systemClock } from "@rds-iam/core/driver";
import type { Connection, QueryOptions } from "mariadb";

/** Pool settings, named as in the mariadb connector's own pool. */
export interface IamMariadbPoolOptions {
  /** Most connections open at once (in use, idle or being opened). Default 10. */
  connectionLimit?: number | undefined;
  /** Milliseconds a caller waits for a free connection before failing. Default 10000. */
  acquireTimeout?: number | undefined;
  /** Seconds an idle connection is kept before it is closed. Default 1800 (0: never). */
  idleTimeout?: number | undefined;
  /**
   * A connection idle for at least this many milliseconds is pinged before it is
   * handed out, so a connection the server dropped is replaced, not returned. Default 500.
   */
  minDelayValidation?: number | undefined;
}

/** Counters for tests and monitoring. */
export interface IamMariadbPoolStats {
  /** Connections open or being opened. */
  readonly total: number;
  /** Open connections waiting in the pool. */
  readonly idle: number;
  /** Connections lent out and not yet released. */
  readonly inUse: number;
  /** Callers waiting for a connection. */
  readonly waiting: number;
  /** Physical connections opened since the pool was created. */
  readonly opened: number;
}

type Waiter = {
  resolve: (connection: IamPooledConnection) => void;
  reject: (error: unknown) => void;
  timer: NodeJS.Timeout | undefined;
};

type IdleEntry = { connection: Connection; since: number; timer: NodeJS.Timeout | undefined };

/**
 * How long the validation ping of an idle connection may take. A connection the
 * network dropped silently (no FIN, no RST) never answers: unbounded, the caller would
 * hang until TCP gives up, minutes later. The connector's own pool waits as long.
 */
const PING_TIMEOUT_MS = 500;

/** `connection.ping()`, failing after `ms` of real time. */
function pingWithin(connection: Connection, ms: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`ping unanswered after ${ms} ms`)), ms);
    connection.ping().then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

const DEFAULTS = {
  connectionLimit: 10,
  acquireTimeout: 10_000,
  idleTimeout: 1_800,
  minDelayValidation: 500,
};

/**
 * A small connection pool for `@prisma/adapter-mariadb` in which every new physical
 * connection is opened by `open` (with a current IAM token), and released connections
 * are reused. The connector's own pool cannot do this: it snapshots the password.
 *
 * It implements what the adapter calls: `getConnection()`, `query()`, `execute()`,
 * `end()`; connections offer `query`, `execute`, `on`/`off` and `release()`. In-use
 * connections are never closed because a token expired: RDS checks the token at login
 * only.
 *
 * Why not tarn (knex's pool): measured side by side (bench `pool`, results in
 * bench/results/mariadb-pool.md) throughput is at parity (0.85x to 1.13x), acquire
 * latency lower here, both recover from connections the server killed; but tarn's
 * `destroy()` waits for every connection in use, so `$disconnect` would hang behind an
 * open transaction, where `end()` here returns at once and closes it on release. tarn
 * also validates synchronously only (no ping of a connection that sat idle) and keeps a
 * reaping interval that is not `unref`ed.
 */
export class IamMariadbPool {
  readonly #open: () => Promise<Connection>;
  readonly #clock: Clock;
  readonly #options: Required<{ [K in keyof IamMariadbPoolOptions]: number }>;
  readonly #members = new Set<Connection>();
  readonly #idle: IdleEntry[] = [];
  readonly #waiters: Waiter[] = [];
  #opening = 0;
  #opened = 0;
  #closed = false;

  /**
   * @param clock Decides how long a connection sat idle (the token provider's clock, so
   *   simulated time moves both); the acquire and idle timers are real time.
   */
  constructor(
    open: () => Promise<Connection>,
    options: IamMariadbPoolOptions = {},
    clock: Clock = systemClock,
  ) {
    this.#open = open;
    this.#clock = clock;
    this.#options = {
      connectionLimit: options.connectionLimit ?? DEFAULTS.connectionLimit,
      acquireTimeout: options.acquireTimeout ?? DEFAULTS.acquireTimeout,
      idleTimeout: options.idleTimeout ?? DEFAULTS.idleTimeout,
      minDelayValidation: options.minDelayValidation ?? DEFAULTS.minDelayValidation,
    };
  }

  /** A connection for exclusive use; call `release()` when done. */
  async getConnection(): Promise<IamPooledConnection> {
    this.#assertOpen();
    for (let entry = this.#idle.pop(); entry !== undefined; entry = this.#idle.pop()) {
      if (entry.timer !== undefined) clearTimeout(entry.timer);
      const { connection } = entry;
      if (!connection.isValid()) {
        this.#discard(connection);
        continue;
      }
      const idleFor = this.#clock() - entry.since;
      // `idleFor < 0`: the clock stepped back; check rather than trust.
      if (idleFor >= this.#options.minDelayValidation || idleFor < 0) {
        try {
          await pingWithin(connection, PING_TIMEOUT_MS);
        } catch {
          this.#discard(connection);
          continue;
        }
      }
      if (this.#closed) {
        this.#discard(connection);
        this.#assertOpen();
      }
      return this.#lend(connection);
    }
    if (this.#size() < this.#options.connectionLimit) return this.#lend(await this.#openOne());
    return this.#wait();
  }

  /** Runs one statement on a pooled connection (text protocol). */
  async query<T = unknown>(sql: string | QueryOptions, values?: unknown): Promise<T> {
    const connection = await this.getConnection();
    try {
      return await connection.query<T>(sql, values);
    } finally {
      await connection.release();
    }
  }

  /** Runs one statement on a pooled connection (binary protocol). */
  async execute<T = unknown>(sql: string | QueryOptions, values?: unknown): Promise<T> {
    const connection = await this.getConnection();
    try {
      return await connection.execute<T>(sql, values);
    } finally {
      await connection.release();
    }
  }

  /**
   * Closes idle connections now and in-use ones when they are released; fails
   * waiting callers. Later calls fail.
   */
  async end(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const waiter of this.#waiters.splice(0)) {
      if (waiter.timer !== undefined) clearTimeout(waiter.timer);
      waiter.reject(closedError());
    }
    const idle = this.#idle.splice(0);
    await Promise.all(
      idle.map((entry) => {
        if (entry.timer !== undefined) clearTimeout(entry.timer);
        return this.#close(entry.connection);
      }),
    );
  }

  /** A snapshot of the pool's counters. */
  stats(): IamMariadbPoolStats {
    return {
      total: this.#size(),
      idle: this.#idle.length,
      inUse: this.#members.size - this.#idle.length,
      waiting: this.#waiters.length,
      opened: this.#opened,
    };
  }

  #size(): number {
    return this.#members.size + this.#opening;
  }

  #assertOpen(): void {
    if (this.#closed) throw closedError();
  }

  async #openOne(): Promise<Connection> {
    this.#opening++;
    let connection: Connection;
    try {
      connection = await this.#open();
    } catch (error) {
      this.#opening--;
      // The slot is free again: let the next waiter try with a connection of its own.
      this.#serveWaiters();
      throw error;
    }
    this.#opening--;
    this.#opened++;
    this.#members.add(connection);
    // Without an `error` listener, a connection lost while idle would crash the process.
    connection.on("error", () => this.#discard(connection));
    connection.on("end", () => this.#discard(connection));
    if (this.#closed) {
      await this.#close(connection);
      throw closedError();
    }
    return connection;
  }

  #lend(connection: Connection): IamPooledConnection {
    return new IamPooledConnection(connection, () => this.#release(connection));
  }

  #wait(): Promise<IamPooledConnection> {
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, timer: undefined };
      if (this.#options.acquireTimeout > 0) {
        waiter.timer = setTimeout(() => {
          const index = this.#waiters.indexOf(waiter);
          if (index >= 0) this.#waiters.splice(index, 1);
          reject(
            new RdsIamError(
              "TIMEOUT",
              `No connection available within acquireTimeout (${this.#options.acquireTimeout} ms): all ${this.#options.connectionLimit} (connectionLimit) are in use. Raise connectionLimit or acquireTimeout, or hold connections for less time.`,
              { option: "acquireTimeout" },
            ),
          );
        }, this.#options.acquireTimeout);
        waiter.timer.unref();
      }
      this.#waiters.push(waiter);
    });
  }

  #release(connection: Connection): void {
    if (!this.#members.has(connection)) return;
    if (this.#closed || !connection.isValid()) {
      void this.#close(connection);
      this.#serveWaiters();
      return;
    }
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) {
      if (waiter.timer !== undefined) clearTimeout(waiter.timer);
      waiter.resolve(this.#lend(connection));
      return;
    }
    const entry: IdleEntry = { connection, since: this.#clock(), timer: undefined };
    if (this.#options.idleTimeout > 0) {
      entry.timer = setTimeout(() => {
        const index = this.#idle.indexOf(entry);
        if (index >= 0) this.#idle.splice(index, 1);
        void this.#close(connection);
      }, this.#options.idleTimeout * 1000);
      entry.timer.unref();
    }
    this.#idle.push(entry);
  }

  /** Opens connections for waiters while there is room. */
  #serveWaiters(): void {
    while (
      !this.#closed &&
      this.#waiters.length > this.#opening &&
      this.#size() < this.#options.connectionLimit
    ) {
      this.#openOne().then(
        (connection) => {
          const waiter = this.#waiters.shift();
          if (waiter === undefined) {
            this.#release(connection);
            return;
          }
          if (waiter.timer !== undefined) clearTimeout(waiter.timer);
          waiter.resolve(this.#lend(connection));
        },
        (error: unknown) => {
          const waiter = this.#waiters.shift();
          if (waiter === undefined) return;
          if (waiter.timer !== undefined) clearTimeout(waiter.timer);
          waiter.reject(error);
        },
      );
    }
  }

  /** Forgets a connection that is gone or unusable. Idempotent. */
  #discard(connection: Connection): void {
    if (!this.#members.delete(connection)) return;
    const index = this.#idle.findIndex((entry) => entry.connection === connection);
    if (index >= 0) {
      const [entry] = this.#idle.splice(index, 1);
      if (entry?.timer !== undefined) clearTimeout(entry.timer);
    }
    connection.destroy();
    this.#serveWaiters();
  }

  /** Closes a connection politely (COM_QUIT), or destroys it. */
  async #close(connection: Connection): Promise<void> {
    if (!this.#members.delete(connection)) return;
    try {
      await connection.end();
    } catch {
      connection.destroy();
    }
  }
}

/**
 * A connection lent by {@link IamMariadbPool}. `release()` (or `end()`) gives it back;
 * using it afterwards fails rather than touching a connection someone else holds.
 */
export class IamPooledConnection {
  readonly #connection: Connection;
  readonly #giveBack: () => void;
  #released = false;

  constructor(connection: Connection, giveBack: () => void) {
    this.#connection = connection;
    this.#giveBack = giveBack;
  }

  /** The server's connection id. */
  get threadId(): number | null {
    return this.#connection.threadId;
  }

  /** Runs one statement (text protocol). Fails after `release()`. */
  query<T = unknown>(sql: string | QueryOptions, values?: unknown): Promise<T> {
    return this.#live().query<T>(sql, values);
  }

  /** Runs one statement (binary protocol). Fails after `release()`. */
  execute<T = unknown>(sql: string | QueryOptions, values?: unknown): Promise<T> {
    return this.#live().execute<T>(sql, values);
  }

  /** Runs one statement for many sets of values. Fails after `release()`. */
  batch<T = unknown>(sql: string | QueryOptions, values?: unknown): Promise<T> {
    return this.#live().batch<T>(sql, values);
  }

  /** Starts a transaction. */
  beginTransaction(): Promise<void> {
    return this.#live().beginTransaction();
  }

  /** Commits the current transaction. */
  commit(): Promise<void> {
    return this.#live().commit();
  }

  /** Rolls the current transaction back. */
  rollback(): Promise<void> {
    return this.#live().rollback();
  }

  /** Checks that the server still answers. */
  ping(): Promise<void> {
    return this.#live().ping();
  }

  /** False once released, or when the connection is closed. */
  isValid(): boolean {
    return !this.#released && this.#connection.isValid();
  }

  /** Listens to the underlying connection's events (`error`, `end`, ...). */
  on(event: string, listener: (...args: never[]) => void): this {
    this.#connection.on(event, listener as (...args: unknown[]) => void);
    return this;
  }

  /** Removes a listener added with `on`. */
  off(event: string, listener: (...args: never[]) => void): this {
    this.#connection.off(event, listener as (...args: unknown[]) => void);
    return this;
  }

  /** Gives the connection back to the pool. Idempotent. */
  release(): Promise<void> {
    if (!this.#released) {
      this.#released = true;
      this.#giveBack();
    }
    return Promise.resolve();
  }

  /** Same as `release()`, as for the connector's pool connections. */
  end(): Promise<void> {
    return this.release();
  }

  /** Closes the physical connection instead of returning it to the pool. */
  destroy(): void {
    if (this.#released) return;
    this.#released = true;
    this.#connection.destroy();
    this.#giveBack();
  }

  #live(): Connection {
    if (this.#released) {
      throw new RdsIamError("CLOSED", "This connection was released to the pool; get another one.");
    }
    return this.#connection;
  }
}

function closedError(): RdsIamError {
  return new RdsIamError(
    "CLOSED",
    "This adapter's connection pool was closed ($disconnect); the adapter opens a new one on the next query.",
  );
}
