import {
  type IamAuth,
  type IamConnectionOptions,
  mysql2IamConfig,
  pgIamConfig,
} from "@rds-iam/core";
import {
  createMariadbConnectionFactory,
  withMysql2AuthRetry,
  withPgAuthRetry,
} from "@rds-iam/core/driver";
import mariadb from "mariadb";
import mysql from "mysql2";
import pg from "pg";
import { trackTokens } from "../../support/secret-scan";

/** Options every binding under test receives: the fixture's IAM options and its database. */
export type BindingOptions = IamConnectionOptions & { database: string; [option: string]: unknown };

/** A pool (or connection factory) under test, reduced to what fault tests need. */
export interface OpenBinding {
  readonly auth: IamAuth;
  /** Opens a new physical connection through the pool, runs a query on it, discards it. */
  login(): Promise<void>;
  close(): Promise<void>;
}

export interface BindingUnderTest {
  readonly name: string;
  readonly engine: "postgres" | "mysql";
  /** `connectTimeoutMs` sets the driver's own connect timeout (default: the driver's). */
  open(options: BindingOptions, connectTimeoutMs?: number): OpenBinding;
}

/** Core's driver bindings, each as its users would wire it into a pool. */
export const CORE_BINDINGS: readonly BindingUnderTest[] = [
  {
    name: "pg Pool + withPgAuthRetry",
    engine: "postgres",
    open(options, connectTimeoutMs) {
      const { config, auth } = pgIamConfig(options);
      trackTokens(auth);
      const Pool = withPgAuthRetry(pg.Pool, auth);
      const pool = new Pool({
        ...config,
        max: 4,
        ...(connectTimeoutMs === undefined ? {} : { connectionTimeoutMillis: connectTimeoutMs }),
      });
      return {
        auth,
        async login() {
          const client = await pool.connect();
          try {
            await client.query("select 1");
          } finally {
            client.release(true);
          }
        },
        async close() {
          await pool.end();
          auth.close();
        },
      };
    },
  },
  {
    name: "mysql2 pool + withMysql2AuthRetry",
    engine: "mysql",
    open(options, connectTimeoutMs) {
      const { config, auth } = mysql2IamConfig(options);
      trackTokens(auth);
      const pool = withMysql2AuthRetry(
        mysql.createPool({
          ...config,
          connectionLimit: 4,
          ...(connectTimeoutMs === undefined ? {} : { connectTimeout: connectTimeoutMs }),
        }),
        auth,
      ).promise();
      return {
        auth,
        async login() {
          const connection = await pool.getConnection();
          try {
            await connection.query("select 1");
          } finally {
            connection.connection.destroy();
          }
        },
        async close() {
          await pool.end();
          auth.close();
        },
      };
    },
  },
  {
    name: "mariadb connector + createMariadbConnectionFactory",
    engine: "mysql",
    open(options, connectTimeoutMs) {
      const { connect, auth } = createMariadbConnectionFactory(mariadb, {
        ...options,
        ...(connectTimeoutMs === undefined ? {} : { connectTimeout: connectTimeoutMs }),
      });
      trackTokens(auth);
      return {
        auth,
        async login() {
          const connection = await connect();
          try {
            await connection.query("select 1");
          } finally {
            await connection.end().catch(() => connection.destroy());
          }
        },
        async close() {
          auth.close();
        },
      };
    },
  },
];
