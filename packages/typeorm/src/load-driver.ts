import { RdsIamError } from "@rds-iam/core";
import { requireDriver } from "./require-driver";

/**
 * The driver module TypeORM needs for the database type (`pg` or `mysql2`), found so
 * that bundlers include it (see require-driver.ts). The `driver` option overrides it.
 *
 * @throws RdsIamError `INVALID_OPTION` (option `driver`) when it is not installed.
 */
export function loadDriverModule(name: "pg" | "mysql2"): unknown {
  try {
    return requireDriver(name);
  } catch (error) {
    throw new RdsIamError(
      "INVALID_OPTION",
      `The ${name} package is not installed. Install it (TypeORM needs it for this database type), or pass the module as the driver option.`,
      { option: "driver", cause: error },
    );
  }
}
