import { type IamAuth, RdsIamError } from "@rds-iam/core";
import { parseEngine, readOptions } from "@rds-iam/core/driver";
import {
  type IamPrismaMariadbAdapterExtras,
  IamPrismaMariadbAdapterFactory,
  type IamPrismaMariadbAdapterOptions,
} from "./mariadb-adapter";
import {
  type IamPrismaPgAdapterExtras,
  IamPrismaPgAdapterFactory,
  type IamPrismaPgAdapterOptions,
} from "./pg-adapter";

/**
 * A Prisma 7 driver adapter that logs every new database connection in with a
 * current RDS IAM token:
 *
 * ```ts
 * const prisma = new PrismaClient({
 *   adapter: createIamAdapter({ engine: "postgres", host, user, database }),
 * });
 * ```
 *
 * - `postgres`: `@prisma/adapter-pg` over a pg pool whose `password` is a function
 *   returning the current token. Takes any `pg.PoolConfig` option besides
 *   `connectionString` and `password` (refused: they would replace the token).
 * - `mysql`: `@prisma/adapter-mariadb` over a small pool of ours in which each new
 *   connection logs in with a current token through `mysql_clear_password` over TLS
 *   (the connector's own pool would snapshot one token). Pool settings:
 *   `connectionLimit` (10), `acquireTimeout` (10000 ms), `idleTimeout` (1800 s),
 *   `minDelayValidation` (500 ms).
 *
 * Both: TLS verified against the RDS CA bundle by default (`ssl` overrides;
 * `ssl: false` needs `iamAllowPlaintext: true` and a loopback host); a login whose
 * token is rejected is retried once with a fresh token; options are validated here,
 * and nothing connects until Prisma's first query. Tokens are cached and refreshed
 * ahead (see `@rds-iam/core`'s `createIamAuth`); `adapter.auth` exposes the provider.
 *
 * @param options IAM options (`host`, `user`, `iamRegion`, `credentials`, ...), TLS,
 *   and the driver's own options.
 * @param extras Options for the Prisma adapter itself (e.g. `{ schema: "app" }` for pg).
 * @throws RdsIamError naming the bad option.
 */
export function createIamAdapter(
  options: IamPrismaPgAdapterOptions,
  extras?: IamPrismaPgAdapterExtras,
): IamPrismaPgAdapterFactory;
/**
 * MySQL / MariaDB / Aurora MySQL (`engine: "mysql"`): `@prisma/adapter-mariadb` over
 * a pool in which each new connection logs in with a current token. See the
 * PostgreSQL overload for what both do.
 */
export function createIamAdapter(
  options: IamPrismaMariadbAdapterOptions,
  extras?: IamPrismaMariadbAdapterExtras,
): IamPrismaMariadbAdapterFactory;
/** The engine chosen at run time (e.g. from configuration): either factory. */
export function createIamAdapter(
  options: IamPrismaPgAdapterOptions | IamPrismaMariadbAdapterOptions,
  extras?: IamPrismaPgAdapterExtras | IamPrismaMariadbAdapterExtras,
): IamPrismaPgAdapterFactory | IamPrismaMariadbAdapterFactory;
export function createIamAdapter(
  options: IamPrismaPgAdapterOptions | IamPrismaMariadbAdapterOptions,
  extras?: IamPrismaPgAdapterExtras | IamPrismaMariadbAdapterExtras,
): IamPrismaPgAdapterFactory | IamPrismaMariadbAdapterFactory {
  if (typeof options !== "object" || options === null) {
    throw new RdsIamError(
      "INVALID_OPTION",
      'createIamAdapter needs an options object: { engine: "postgres" | "mysql", host, user, database, ... }.',
      { option: "options" },
    );
  }
  const input = readOptions(options);
  if (looksLikePool(options)) {
    throw new RdsIamError(
      "INVALID_OPTION",
      "createIamAdapter takes pool options, not a pool (pg.Pool or a mariadb pool): a pool built elsewhere has its password fixed. Pass its options ({ engine, host, user, database, max, ... }) instead.",
      { option: "options" },
    );
  }
  if (extras !== undefined && (typeof extras !== "object" || extras === null)) {
    throw new RdsIamError(
      "INVALID_OPTION",
      "The adapter options (extras, the second argument) must be an object, or be omitted.",
      {
        option: "extras",
      },
    );
  }
  const extrasInput = extras === undefined ? undefined : readOptions(extras, "extras");
  return parseEngine(input.engine) === "postgres"
    ? new IamPrismaPgAdapterFactory(
        input as unknown as IamPrismaPgAdapterOptions,
        extrasInput as IamPrismaPgAdapterExtras,
      )
    : new IamPrismaMariadbAdapterFactory(
        input as unknown as IamPrismaMariadbAdapterOptions,
        extrasInput as IamPrismaMariadbAdapterExtras,
      );
}

/**
 * The token provider behind an adapter made by {@link createIamAdapter} (also its
 * `auth` property): counters, `invalidate()`, `close()`. The same call every adapter
 * offers.
 *
 * @throws RdsIamError `INVALID_OPTION` for anything else.
 */
export function iamAuthOf(adapter: object): IamAuth {
  if (
    adapter instanceof IamPrismaPgAdapterFactory ||
    adapter instanceof IamPrismaMariadbAdapterFactory
  ) {
    return adapter.auth;
  }
  throw new RdsIamError("INVALID_OPTION", "This is not an adapter made by createIamAdapter().", {
    option: "adapter",
  });
}

/** A pg or mariadb pool: its methods live on the prototype, so the snapshot lacks them. */
function looksLikePool(value: object): boolean {
  const candidate = value as { query?: unknown; connect?: unknown; getConnection?: unknown };
  return (
    typeof candidate.query === "function" &&
    (typeof candidate.connect === "function" || typeof candidate.getConnection === "function")
  );
}
