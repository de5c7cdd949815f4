import type { PrismaPg } from "@prisma/adapter-pg";
import {
  type IamAuth,
  type IamConnectionOptions,
  type PgIamConfig,
  pgIamConfig,
  withCheckoutAuthRetry,
} from "@rds-iam/core";
import type { PoolConfig } from "pg";
import { loadPeer } from "./load-peer";

/**
 * Options for a PostgreSQL / Aurora PostgreSQL adapter: the IAM and TLS options plus
 * any `pg.PoolConfig` option (`database`, `max`, `idleTimeoutMillis`, ...).
 * Refused: `connectionString` (node-postgres lets it override the password function
 * and would send an empty password) and `password` (the token is the password).
 */
export type IamPgAdapterOptions = IamConnectionOptions &
  Omit<PoolConfig, "host" | "port" | "user" | "password" | "ssl" | "connectionString"> & {
    /** `postgres` (aliases `postgresql`, `pg`, `aurora-postgresql`). */
    engine: "postgres" | "postgresql" | "pg" | "aurora-postgresql";
    /** Refused: it would override the token. Pass host, port, user, database. */
    connectionString?: never;
    /** Refused: the token is the password. */
    password?: never;
  };

/** What `@prisma/adapter-pg` takes besides the pool config (`schema`, `onPoolError`, ...). */
export type IamPgAdapterExtras = Omit<
  NonNullable<ConstructorParameters<typeof PrismaPg>[1]>,
  "disposeExternalPool"
>;

type PgAdapter = Awaited<ReturnType<PrismaPg["connect"]>>;

/**
 * A Prisma driver adapter factory for PostgreSQL whose pool gets a current IAM token
 * for every new physical connection (through pg's `password` function) and retries a
 * rejected token once. `new PrismaClient({ adapter })` takes it as is.
 */
export class IamPgAdapterFactory {
  /** The Prisma provider this adapter serves (read by Prisma). */
  readonly provider = "postgres" as const;
  /** The Prisma adapter underneath (read by Prisma). */
  readonly adapterName = "@prisma/adapter-pg" as const;
  /** The token provider: `auth.stats()` for counters, `auth.close()` when done for good. */
  readonly auth: IamAuth;
  readonly #config: PgIamConfig;
  readonly #extras: IamPgAdapterExtras;
  #inner: Promise<PrismaPg> | undefined;

  constructor(options: IamPgAdapterOptions, extras: IamPgAdapterExtras = {}) {
    const { engine: _engine, ...input } = options as IamPgAdapterOptions & Record<string, unknown>;
    const { config, auth } = pgIamConfig(input as Parameters<typeof pgIamConfig>[0]);
    this.auth = auth;
    this.#config = config;
    this.#extras = extras;
  }

  /** Called by Prisma: opens a pool (lazily; no connection yet) and an adapter over it. */
  async connect(): Promise<PgAdapter> {
    const adapter = await (await this.#prismaPg()).connect();
    retryRejectedLogins(adapter.underlyingDriver(), this.auth);
    return adapter;
  }

  /** Called by `prisma migrate dev` tooling that uses adapters for a shadow database. */
  async connectToShadowDb(): Promise<PgAdapter> {
    const adapter = await (await this.#prismaPg()).connectToShadowDb();
    retryRejectedLogins(adapter.underlyingDriver(), this.auth);
    return adapter;
  }

  #prismaPg(): Promise<PrismaPg> {
    if (this.#inner === undefined) {
      this.#inner = loadPeer<typeof import("@prisma/adapter-pg")>(
        "@prisma/adapter-pg",
        () => import("@prisma/adapter-pg"),
        "postgres",
      ).then(
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

/** The part of a pg `Pool` the retry needs. */
interface PgPoolInstance {
  connect(callback?: (...args: never[]) => void): Promise<unknown> | undefined;
}

const PATCHED = Symbol.for("@rds-iam/prisma.retryRejectedLogins");

/**
 * Makes `pool.connect()` (which `pool.query()` uses too) retry once, with a fresh
 * token, a new connection whose token the database rejected. Patches the instance,
 * because the pool was built by the adapter from its own copy of pg.
 */
export function retryRejectedLogins(pool: PgPoolInstance, auth: IamAuth): void {
  const marked = pool as PgPoolInstance & { [PATCHED]?: true };
  if (marked[PATCHED]) return;
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
}
