import type { PrismaMariaDb, PrismaMariadbOptions } from "@prisma/adapter-mariadb";
import { type Clock, type IamAuth, type IamConnectionOptions, RdsIamError } from "@rds-iam/core";
import {
  LAZY_MARIADB,
  type MariadbModuleLike,
  mariadbConfigOf,
  mariadbConnector,
  pauseIamAuth,
  prepareBinding,
  readOptions,
  refuseUnverifyingMariadb,
} from "@rds-iam/core/driver";
import type { Connection, ConnectionConfig } from "mariadb";
import { IamMariadbPool, type IamMariadbPoolOptions } from "./iam-mariadb-pool";
import { importAdapterMariadb, importMariadb } from "./load-peer";

/**
 * Options for a MySQL / MariaDB / Aurora MySQL adapter: the IAM and TLS options, the
 * pool settings, and any mariadb connection option (`database`, `connectTimeout`, ...).
 * Refused: `password` (the token is the password).
 */
export type IamPrismaMariadbAdapterOptions = IamConnectionOptions &
  IamMariadbPoolOptions &
  Omit<ConnectionConfig, "host" | "port" | "user" | "password" | "ssl"> & {
    /** `mysql` (aliases `mariadb`, `mysql2`, `aurora-mysql`). */
    engine: "mysql" | "mariadb" | "mysql2" | "aurora-mysql";
    /** Refused: the token is the password. */
    password?: never;
  };

/** What `@prisma/adapter-mariadb` takes besides the pool. `disposeExternalPool` is ours. */
export type IamPrismaMariadbAdapterExtras = Omit<PrismaMariadbOptions, "disposeExternalPool">;

const POOL_KEYS = ["connectionLimit", "acquireTimeout", "idleTimeout", "minDelayValidation"];

/** setTimeout's limit (ms, and in seconds for idleTimeout); no pool needs more connections. */
const MAX_TIMER_MS = 2_147_483_647;
const POOL_LIMITS: Readonly<Record<string, number>> = {
  connectionLimit: 10_000,
  acquireTimeout: MAX_TIMER_MS,
  idleTimeout: Math.floor(MAX_TIMER_MS / 1000),
  minDelayValidation: MAX_TIMER_MS,
};

/**
 * A Prisma driver adapter factory for MySQL / MariaDB whose connections each log in
 * with a current IAM token. `new PrismaClient({ adapter })` takes it as is.
 */
export class IamPrismaMariadbAdapterFactory {
  /** The Prisma provider this adapter serves (read by Prisma). */
  readonly provider = "mysql" as const;
  /** The Prisma adapter underneath (read by Prisma). */
  readonly adapterName = "@prisma/adapter-mariadb" as const;
  /** The token provider: `auth.stats()` for counters, `auth.close()` when done for good. */
  readonly auth: IamAuth;
  readonly #connect: () => Promise<Connection>;
  readonly #poolOptions: IamMariadbPoolOptions;
  readonly #extras: IamPrismaMariadbAdapterExtras;
  readonly #clock: Clock;
  #pools = new Set<IamMariadbPool>();

  constructor(
    options: IamPrismaMariadbAdapterOptions,
    extras: IamPrismaMariadbAdapterExtras = {},
    mariadb: Promise<MariadbModuleLike<Connection>> = loadMariadb(),
  ) {
    const input: Record<string, unknown> = {};
    const poolOptions: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(readOptions(options))) {
      if (POOL_KEYS.includes(key)) poolOptions[key] = value;
      else input[key] = value;
    }
    for (const [key, value] of Object.entries(poolOptions)) {
      // Timers beyond setTimeout's 2^31-1 ms fire after 1 ms: bound each to what fits.
      const max = POOL_LIMITS[key] ?? Number.MAX_SAFE_INTEGER;
      if (
        value !== undefined &&
        (typeof value !== "number" || !Number.isFinite(value) || !(value >= 0) || value > max)
      ) {
        const unit =
          key === "idleTimeout"
            ? "seconds"
            : key === "connectionLimit"
              ? "connections"
              : "milliseconds";
        throw new RdsIamError(
          "INVALID_OPTION",
          `${key} must be a number of ${unit} from 0 to ${max} (got ${typeof value === "number" ? value : typeof value}).`,
          { option: key },
        );
      }
    }
    if (
      poolOptions.connectionLimit !== undefined &&
      !((poolOptions.connectionLimit as number) >= 1)
    ) {
      throw new RdsIamError("INVALID_OPTION", "connectionLimit must be at least 1.", {
        option: "connectionLimit",
      });
    }
    // Prisma's adapter turns the prepared-statement cache off for pools it builds; do
    // the same (Prisma's generated statements are many and rarely repeated).
    if (input.prepareCacheLength === undefined) input.prepareCacheLength = 0;
    const lazyModule: MariadbModuleLike<Connection> = {
      version: LAZY_MARIADB,
      createConnection: async (config) => {
        const loaded = await mariadb;
        // @prisma/adapter-mariadb 7 pins mariadb 3.4.5, which sends the token before
        // it checks the certificate: refused before this connection opens.
        refuseUnverifyingMariadb(loaded);
        return loaded.createConnection(config);
      },
    };
    // Validates every option now (errors surface at construction), opens nothing yet.
    const binding = prepareBinding(input, { what: "createIamAdapter", engine: "mysql" });
    const view = mariadbConfigOf(binding);
    this.#clock = binding.clock;
    // Keep the rejection for connect(): a missing peer must not crash the process now.
    mariadb.catch(() => {});
    this.auth = view.auth;
    this.#connect = mariadbConnector(lazyModule, view);
    this.#poolOptions = poolOptions as IamMariadbPoolOptions;
    this.#extras = extras;
  }

  /** Called by Prisma: a new pool and adapter; the adapter ends the pool on `$disconnect`. */
  async connect(): Promise<Awaited<ReturnType<PrismaMariaDb["connect"]>>> {
    const { PrismaMariaDb } = await importAdapterMariadb();
    const pool = new IamMariadbPool(this.#connect, this.#poolOptions, this.#clock);
    this.#pools.add(pool);
    const end = pool.end.bind(pool);
    pool.end = async () => {
      this.#pools.delete(pool);
      // $disconnect: the provider's background work stops until the next query.
      if (this.#pools.size === 0) pauseIamAuth(this.auth);
      await end();
    };
    // The adapter accepts "anything with getConnection"; its typing names the connector's Pool.
    const inner = new PrismaMariaDb(
      pool as unknown as ConstructorParameters<typeof PrismaMariaDb>[0],
      {
        ...this.#extras,
        disposeExternalPool: true,
      },
    );
    try {
      // Log in once before the adapter's capability probe: the probe swallows its
      // error, so a rejected token would cost its two logins and then the query's
      // two more. Opened here, the connection goes back to the pool and serves the
      // probe; a failure is the error of the query that made Prisma connect.
      await (await pool.getConnection()).release();
      return await inner.connect();
    } catch (error) {
      await pool.end();
      throw error;
    }
  }

  /** The pools of adapters not yet disposed (for tests and monitoring). */
  pools(): readonly IamMariadbPool[] {
    return [...this.#pools];
  }
}

async function loadMariadb(): Promise<MariadbModuleLike<Connection>> {
  const module = await importMariadb();
  // ESM builds export createConnection by name; CJS copies only under `default`.
  const candidate = (
    typeof module.createConnection === "function" ? module : module.default
  ) as MariadbModuleLike<Connection>;
  return candidate;
}
