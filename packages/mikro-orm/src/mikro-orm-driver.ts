import type { Engine } from "@rds-iam/core";
import { RdsIamError } from "@rds-iam/core";

/** What each supported MikroORM 6 driver runs underneath (all through MikroORM's knex). */
export type IamMikroOrmDriverKind = "pg" | "mysql2" | "mariadb";

/**
 * MikroORM 6.6's SQL drivers and the connector each loads: `PostgreSqlDriver` (knex's
 * postgres dialect on pg), `MySqlDriver` (knex's mysql2 dialect on mysql2) and
 * `MariaDbDriver` (MikroORM's own knex dialect on the mariadb connector's callback API).
 */
const DRIVERS: Readonly<Record<string, IamMikroOrmDriverKind>> = {
  PostgreSqlDriver: "pg",
  MySqlDriver: "mysql2",
  MariaDbDriver: "mariadb",
};

export const KIND_ENGINE: Readonly<Record<IamMikroOrmDriverKind, Engine>> = {
  pg: "postgres",
  mysql2: "mysql",
  mariadb: "mysql",
};

const SUPPORTED =
  "PostgreSqlDriver (@mikro-orm/postgresql), MySqlDriver (@mikro-orm/mysql) or MariaDbDriver (@mikro-orm/mariadb)";

/**
 * The connector behind a MikroORM driver class, found by walking its class chain (so
 * a user's subclass of `PostgreSqlDriver` counts as one).
 *
 * @throws RdsIamError `MISSING_OPTION` without a driver, `INVALID_OPTION` for a driver
 * that cannot log in with a token.
 */
export function driverKind(driver: unknown): IamMikroOrmDriverKind {
  if (driver === undefined || driver === null) {
    throw new RdsIamError(
      "MISSING_OPTION",
      `driver is required: ${SUPPORTED}, e.g. import { PostgreSqlDriver } from "@mikro-orm/postgresql".`,
      { option: "driver" },
    );
  }
  if (typeof driver !== "function") {
    throw new RdsIamError(
      "INVALID_OPTION",
      `driver must be the driver class (${SUPPORTED}), not ${typeof driver === "string" ? JSON.stringify(driver) : `a ${typeof driver}`}.`,
      { option: "driver" },
    );
  }
  for (let at: unknown = driver; typeof at === "function"; at = Object.getPrototypeOf(at)) {
    const kind = DRIVERS[(at as { name: string }).name];
    if (kind !== undefined) return kind;
  }
  throw new RdsIamError(
    "INVALID_OPTION",
    `driver ${(driver as { name: string }).name || "(anonymous)"} cannot log in with an RDS IAM token: use ${SUPPORTED}.`,
    { option: "driver" },
  );
}
