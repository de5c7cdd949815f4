import type { IamAuth } from "@rds-iam/core";
import { pauseWhenEnded, pgConfigOf, withPgAuthRetry } from "@rds-iam/core/driver";
import { loadDriverModule } from "./load-driver";
import { typeormBinding } from "./typeorm-binding";
import type { IamTypeormDataSourceFields, IamTypeormOptions } from "./typeorm-iam-options";

// biome-ignore lint/suspicious/noExplicitAny: pg's Pool constructor takes a config object.
type PoolClass = new (...args: any[]) => { connect(): Promise<unknown>; end(): Promise<void> };

/**
 * TypeORM `postgres` options with a token `password` function (pg calls it for each
 * new connection) and a driver whose pool retries a rejected login once.
 */
export function postgresIamOptions(
  options: IamTypeormDataSourceFields & Record<string, unknown>,
  iam: IamTypeormOptions,
): { options: Record<string, unknown>; auth: IamAuth } {
  const { config, auth } = pgConfigOf(typeormBinding(options, iam, "postgres"));
  const base = (options.driver ?? loadDriverModule("pg")) as { Pool: PoolClass };
  // A prototype-linked copy of the module: TypeORM reads `types`, `defaults` and the
  // rest from it. `native: null` keeps TypeORM from switching to pg-native, which
  // would ignore the password function. pg defines `native` as a getter without a
  // setter, so plain assignment through the prototype chain throws: define own
  // properties instead.
  const RetryingPool = withPgAuthRetry(base.Pool, auth);
  // DataSource.destroy() ends the pool: the provider's background work stops with it.
  const Pool = class extends RetryingPool {
    // biome-ignore lint/suspicious/noExplicitAny: forwards pg.Pool's own arguments.
    constructor(...args: any[]) {
      super(...args);
      pauseWhenEnded(this, auth);
    }
  };
  const driver = Object.create(base, {
    Pool: { value: Pool, enumerable: true },
    native: { value: null, enumerable: true },
  }) as object;
  return {
    auth,
    options: { ...options, password: config.password, ssl: config.ssl, driver },
  };
}
