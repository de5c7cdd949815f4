import { withCheckoutAuthRetry } from "./auth-retry";
import type { IamAuth } from "./iam-auth";

/** The part of a `pg.Pool` instance the retry needs. */
export interface PgPoolLike {
  /** `pool.connect()`, which `pool.query()` uses too (with a callback). */
  connect(callback?: (...args: never[]) => void): Promise<unknown> | undefined;
}

const PATCHED = Symbol.for("@rds-iam/core.retryPgPoolLogins");

/**
 * Makes a pg pool retry, once and with a fresh token, a new connection whose token the
 * database rejected: `pool.connect()` (which `pool.query()` uses too) goes through
 * {@link withCheckoutAuthRetry}. Patches the instance, so it works on a pool built
 * elsewhere from another copy of pg (Prisma's adapter builds its own). Idempotent.
 */
export function retryPgPoolLogins<P extends PgPoolLike>(pool: P, auth: IamAuth): P {
  const marked = pool as P & { [PATCHED]?: true };
  if (marked[PATCHED]) return pool;
  const connectOnce = pool.connect.bind(pool) as () => Promise<unknown>;
  const connect = (
    callback?: (error: unknown, client?: unknown, release?: unknown) => void,
  ): Promise<unknown> | undefined => {
    const connected = withCheckoutAuthRetry(auth, () => connectOnce());
    if (typeof callback !== "function") return connected;
    // pg-pool's query() calls connect(callback) and expects (error, client, release).
    connected.then(
      (client) => callback(undefined, client, (client as { release?: unknown }).release),
      (error: unknown) => callback(error, undefined, () => {}),
    );
    return undefined;
  };
  Object.defineProperty(pool, "connect", { value: connect, configurable: true, writable: true });
  Object.defineProperty(pool, PATCHED, { value: true });
  return pool;
}

// biome-ignore lint/suspicious/noExplicitAny: a mixin's base constructor must take any[].
type PoolConstructor = new (...args: any[]) => PgPoolLike;

/**
 * The class form of {@link retryPgPoolLogins}: a `pg.Pool` subclass whose every
 * instance retries a rejected login once, for code that takes a Pool class (TypeORM's
 * driver module).
 */
export function withPgAuthRetry<P extends PoolConstructor>(Pool: P, auth: IamAuth): P {
  return class IamPool extends Pool {
    // biome-ignore lint/suspicious/noExplicitAny: forwards pg.Pool's own arguments.
    constructor(...args: any[]) {
      super(...args);
      retryPgPoolLogins(this, auth);
    }
  };
}

/** The part of a mysql2 (callback) pool the retry needs. */
export interface Mysql2PoolLike {
  /** mysql2's callback-style `pool.getConnection`, which `query()` and `execute()` use. */
  getConnection(callback: (error: unknown, connection?: unknown) => void): void;
}

/**
 * Makes a mysql2 pool retry, once and with a fresh token, a new connection whose
 * token was rejected. `pool.query()` / `execute()` go through `getConnection`.
 */
export function withMysql2AuthRetry<P extends Mysql2PoolLike>(pool: P, auth: IamAuth): P {
  const original = pool.getConnection.bind(pool);
  const getOnce = () =>
    new Promise<unknown>((resolve, reject) => {
      original((error, connection) => (error ? reject(error) : resolve(connection)));
    });
  pool.getConnection = (callback) => {
    withCheckoutAuthRetry(auth, getOnce).then(
      (connection) => callback(null, connection),
      (error: unknown) => callback(error),
    );
  };
  return pool;
}
