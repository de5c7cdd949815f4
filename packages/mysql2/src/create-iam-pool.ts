import { type IamAuth, type IamConnectionOptions, RdsIamError } from "@rds-iam/core";
import {
  MYSQL2_URI,
  mysql2ConfigOf,
  pauseWhenEnded,
  prepareBinding,
  withMysql2AuthRetry,
} from "@rds-iam/core/driver";
import mysql, { type Pool, type PoolOptions } from "mysql2";

/**
 * Options for {@link createIamPool}: the IAM and TLS options of `@rds-iam/core` plus any
 * mysql2 pool option (`database`, `connectionLimit`, `charset`, ...). Refused: `uri`
 * (mysql2 copies its credentials and parameters over the options), `password` (the
 * token is the password), packet `debug` output (it prints the token) and TLS settings
 * mysql2 would not honour (`ssl.checkServerIdentity`, `ssl.verifyIdentity: false`).
 */
export type IamMysql2PoolOptions = IamConnectionOptions &
  Omit<PoolOptions, "host" | "port" | "user" | "password" | "ssl" | "uri" | "authPlugins"> & {
    /** Refused: it would override the token. Pass host, port, user, database. */
    uri?: never;
    /** Refused: the token is the password. */
    password?: never;
  };

const pools = new WeakMap<object, IamAuth>();

/**
 * A mysql2 pool (callback API; `.promise()` gives the promise one) whose every new
 * connection logs in with a current RDS IAM token through `mysql_clear_password`, only
 * after the server's certificate chain and its name (`iamHost`) were verified; a login
 * whose token is rejected is retried once with a fresh token. Use it as is, or hand it
 * to Kysely (`new MysqlDialect({ pool })`) or Drizzle (`drizzle({ client: pool })`).
 * `pool.end()` also stops the token provider's background refreshes.
 *
 * @throws RdsIamError naming the option at fault; nothing connects yet.
 */
export function createIamPool(options: IamMysql2PoolOptions): Pool {
  const { config, auth } = mysql2ConfigOf(
    prepareBinding(options, { what: "createIamPool", engine: "mysql", refuse: [MYSQL2_URI] }),
  );
  const pool = mysql.createPool(config as PoolOptions);
  withMysql2AuthRetry(pool, auth);
  pauseWhenEnded(pool, auth);
  pools.set(pool, auth);
  return pool;
}

/**
 * The token provider behind a pool made by {@link createIamPool} (or its `.promise()`
 * wrapper): counters, `invalidate()`, `close()`. The same call every adapter offers.
 *
 * @throws RdsIamError `INVALID_OPTION` for anything else.
 */
export function iamAuthOf(pool: object): IamAuth {
  // mysql2's promise wrapper keeps the callback pool as `pool`.
  const inner = (pool as { pool?: unknown }).pool;
  const auth =
    pools.get(pool) ?? (typeof inner === "object" && inner !== null ? pools.get(inner) : undefined);
  if (auth === undefined) {
    throw new RdsIamError("INVALID_OPTION", "This pool was not made by createIamPool().", {
      option: "pool",
    });
  }
  return auth;
}
