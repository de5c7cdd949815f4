import { type IamAuth, type IamConnectionOptions, RdsIamError } from "@rds-iam/core";
import {
  PG_CONNECTION_STRING,
  pauseWhenEnded,
  pgConfigOf,
  prepareBinding,
  retryPgPoolLogins,
} from "@rds-iam/core/driver";
import pg from "pg";

/**
 * Options for {@link createIamPool}: the IAM and TLS options of `@rds-iam/core` plus any
 * `pg.PoolConfig` option (`database`, `max`, `idleTimeoutMillis`, ...). Refused:
 * `connectionString` (node-postgres lets it override the password function) and
 * `password` (the token is the password).
 */
export type IamPgPoolOptions = IamConnectionOptions &
  Omit<pg.PoolConfig, "host" | "port" | "user" | "password" | "ssl" | "connectionString"> & {
    /** Refused: it would override the token. Pass host, port, user, database. */
    connectionString?: never;
    /** Refused: the token is the password. */
    password?: never;
  };

const pools = new WeakMap<object, IamAuth>();

/**
 * A real `pg.Pool` whose every new physical connection logs in with a current RDS IAM
 * token (pg calls the password function per connection), over TLS verified against the
 * RDS CA bundle, retrying a rejected login once with a fresh token. Use it as is, or
 * hand it to Drizzle (`drizzle({ client: pool })`) or Kysely
 * (`new PostgresDialect({ pool })`). `pool.end()` also stops the token provider's
 * background refreshes.
 *
 * @throws RdsIamError naming the option at fault; nothing connects yet.
 */
export function createIamPool(options: IamPgPoolOptions): pg.Pool {
  const { config, auth } = pgConfigOf(
    prepareBinding(options, {
      what: "createIamPool",
      engine: "postgres",
      refuse: [PG_CONNECTION_STRING],
    }),
  );
  const pool = new pg.Pool(config as pg.PoolConfig);
  retryPgPoolLogins(pool, auth);
  pauseWhenEnded(pool, auth);
  pools.set(pool, auth);
  return pool;
}

/**
 * The token provider behind a pool made by {@link createIamPool}: counters,
 * `invalidate()`, `close()`. The same call every adapter offers.
 *
 * @throws RdsIamError `INVALID_OPTION` for anything else.
 */
export function iamAuthOf(pool: object): IamAuth {
  const auth = pools.get(pool);
  if (auth === undefined) {
    throw new RdsIamError("INVALID_OPTION", "This pool was not made by createIamPool().", {
      option: "pool",
    });
  }
  return auth;
}
