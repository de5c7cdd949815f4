import type { PrismaPg } from "@prisma/adapter-pg";
import type { IamAuth, IamConnectionOptions, PgIamConfig } from "@rds-iam/core";
import {
  PG_CONNECTION_STRING,
  pauseWhenEnded,
  pgConfigOf,
  prepareBinding,
  retryPgPoolLogins,
} from "@rds-iam/core/driver";
import type { PoolConfig } from "pg";
import { importAdapterPg } from "./load-peer";

/**
 * Options for a PostgreSQL / Aurora PostgreSQL adapter: the IAM and TLS options plus
 * any `pg.PoolConfig` option (`database`, `max`, `idleTimeoutMillis`, ...).
 * Refused: `connectionString` (node-postgres lets it override the password function
 * and would send an empty password) and `password` (the token is the password).
 */
export type IamPrismaPgAdapterOptions = IamConnectionOptions &
  Omit<PoolConfig, "host" | "port" | "user" | "password" | "ssl" | "connectionString"> & {
    /** `postgres` (aliases `postgresql`, `pg`, `aurora-postgresql`). */
    engine: "postgres" | "postgresql" | "pg" | "aurora-postgresql";
    /** Refused: it would override the token. Pass host, port, user, database. */
    connectionString?: never;
    /** Refused: the token is the password. */
    password?: never;
  };

/** What `@prisma/adapter-pg` takes besides the pool config (`schema`, `onPoolError`, ...). */
export type IamPrismaPgAdapterExtras = Omit<
  NonNullable<ConstructorParameters<typeof PrismaPg>[1]>,
  "disposeExternalPool"
>;

type PgAdapter = Awaited<ReturnType<PrismaPg["connect"]>>;

/**
 * A Prisma driver adapter factory for PostgreSQL whose pool gets a current IAM token
 * for every new physical connection (through pg's `password` function) and retries a
 * rejected token once. `new PrismaClient({ adapter })` takes it as is.
 */
export class IamPrismaPgAdapterFactory {
  /** The Prisma provider this adapter serves (read by Prisma). */
  readonly provider = "postgres" as const;
  /** The Prisma adapter underneath (read by Prisma). */
  readonly adapterName = "@prisma/adapter-pg" as const;
  /** The token provider: `auth.stats()` for counters, `auth.close()` when done for good. */
  readonly auth: IamAuth;
  readonly #config: PgIamConfig;
  readonly #extras: IamPrismaPgAdapterExtras;
  #inner: Promise<PrismaPg> | undefined;

  constructor(options: IamPrismaPgAdapterOptions, extras: IamPrismaPgAdapterExtras = {}) {
    const { config, auth } = pgConfigOf(
      prepareBinding(options, {
        what: "createIamAdapter",
        engine: "postgres",
        refuse: [PG_CONNECTION_STRING],
      }),
    );
    this.auth = auth;
    this.#config = config;
    this.#extras = extras;
  }

  /** Called by Prisma: opens a pool (lazily; no connection yet) and an adapter over it. */
  async connect(): Promise<PgAdapter> {
    const adapter = await (await this.#prismaPg()).connect();
    this.#patch(adapter.underlyingDriver());
    return adapter;
  }

  /** Called by `prisma migrate dev` tooling that uses adapters for a shadow database. */
  async connectToShadowDb(): Promise<PgAdapter> {
    const adapter = await (await this.#prismaPg()).connectToShadowDb();
    this.#patch(adapter.underlyingDriver());
    return adapter;
  }

  /**
   * The adapter built the pool from its own copy of pg: its instance retries a rejected
   * login once, and `$disconnect` (which ends it) pauses the provider's background work.
   */
  #patch(pool: ReturnType<PgAdapter["underlyingDriver"]>): void {
    retryPgPoolLogins(pool, this.auth);
    pauseWhenEnded(pool, this.auth);
  }

  #prismaPg(): Promise<PrismaPg> {
    if (this.#inner === undefined) {
      this.#inner = importAdapterPg().then(
        ({ PrismaPg }) =>
          // A config, not a pool of ours: the adapter builds (and on $disconnect ends) a
          // pool from its own copy of pg, so no instanceof check can fail.
          new PrismaPg(this.#config as PoolConfig, this.#extras),
      );
      this.#inner.catch(() => {
        this.#inner = undefined;
      });
    }
    return this.#inner;
  }
}
