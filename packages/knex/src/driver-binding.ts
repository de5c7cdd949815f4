import {
  createMariadbConnectionFactory,
  type IamAuth,
  type MariadbModuleLike,
  mysql2IamConfig,
  type OptionNames,
  pgIamConfig,
} from "@rds-iam/core";
import type { IamKnexConnectionOptions } from "./iam-connection-options";
import type { KnexIamDriver } from "./knex-driver";

/** How one driver gets its token: the config knex hands it, and one connection attempt. */
export interface DriverBinding {
  readonly driver: KnexIamDriver;
  readonly auth: IamAuth;
  /** A fresh driver config for knex; `token` is the one the provider just handed out. */
  config(token: string): Record<string, unknown>;
  /** Runs knex's own `acquireRawConnection` (`open`) so that it logs in with `token`. */
  attempt(token: string, open: () => Promise<unknown>): Promise<unknown>;
}

// Errors name the options as users spell them in iamConnection().
const NAMES: OptionNames & { connectionString?: string } = {};

// Knex loads and calls the mariadb driver itself; core's factory only lends its config.
const KNEX_OPENS_CONNECTIONS: MariadbModuleLike<never> = {
  createConnection: () => Promise.reject(new Error("knex opens mariadb connections itself")),
};

/** Builds the binding for `driver` (options were validated by the caller). */
export function driverBinding(
  driver: KnexIamDriver,
  options: IamKnexConnectionOptions,
): DriverBinding {
  switch (driver) {
    case "pg": {
      // pg calls the password function for each new connection; it reads the
      // provider's cache, which hands out one token at a time (the retry's fresh
      // one after an invalidation).
      const { config, auth } = pgIamConfig(options, NAMES);
      return { driver, auth, config: () => ({ ...config }), attempt: (_token, open) => open() };
    }
    case "mysql2": {
      // Same for mysql2's mysql_clear_password plugin, which also refuses plaintext.
      const { config, auth } = mysql2IamConfig(options, NAMES);
      return { driver, auth, config: () => ({ ...config }), attempt: (_token, open) => open() };
    }
    case "mariadb":
      return mariadbBinding(options);
  }
}

/**
 * The mariadb connector takes the password as a string, read when knex creates the
 * connection (synchronously, in `acquireRawConnection`). The config's `password`
 * is therefore a getter for the token of the attempt under way; it is not
 * enumerable, so `JSON.stringify` and `util.inspect` of the config never show it.
 */
function mariadbBinding(options: IamKnexConnectionOptions): DriverBinding {
  const { config, auth } = createMariadbConnectionFactory(KNEX_OPENS_CONNECTIONS, options, NAMES);
  let current = "";
  return {
    driver: "mariadb",
    auth,
    config(token) {
      current = token;
      const fresh: Record<string, unknown> = { ...config };
      Object.defineProperty(fresh, "password", { get: () => current, enumerable: false });
      return fresh;
    },
    attempt(token, open) {
      current = token;
      return open();
    },
  };
}
