import type { IamAuth } from "@rds-iam/core";
import {
  mariadbConfigOf,
  mysql2ConfigOf,
  type PreparedBinding,
  pgConfigOf,
} from "@rds-iam/core/driver";
import type { IamKnexDriver } from "./knex-driver";

/** How one driver gets its token: the config knex hands it, and one connection attempt. */
export interface DriverBinding {
  readonly driver: IamKnexDriver;
  readonly auth: IamAuth;
  /** A fresh driver config for knex; `token` is the one the provider just handed out. */
  config(token: string): Record<string, unknown>;
  /** Runs knex's own `acquireRawConnection` (`open`), with a current token where the driver needs one in hand. */
  open(open: () => Promise<unknown>): Promise<unknown>;
}

/** The view of the prepared options for `driver`. */
export function driverBinding(driver: IamKnexDriver, prepared: PreparedBinding): DriverBinding {
  switch (driver) {
    case "pg": {
      // pg calls the password function for each new connection; it reads the
      // provider's cache, which hands out one token at a time (the retry's fresh
      // one after an invalidation).
      const { config, auth } = pgConfigOf(prepared);
      return { driver, auth, config: () => ({ ...config }), open: (open) => open() };
    }
    case "mysql2": {
      // Same for mysql2's mysql_clear_password plugin, which also refuses plaintext.
      const { config, auth } = mysql2ConfigOf(prepared);
      return { driver, auth, config: () => ({ ...config }), open: (open) => open() };
    }
    case "mariadb":
      return mariadbBinding(prepared);
  }
}

/**
 * The mariadb connector takes the password as a string, read when knex creates the
 * connection (synchronously, in `acquireRawConnection`). The config's `password`
 * is therefore a getter for the token of the attempt under way, asked for right before
 * it; it is not enumerable, so `JSON.stringify` and `util.inspect` of the config never
 * show it.
 */
function mariadbBinding(prepared: PreparedBinding): DriverBinding {
  const { config, auth } = mariadbConfigOf(prepared);
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
    async open(open) {
      current = await auth.getToken();
      return open();
    },
  };
}
