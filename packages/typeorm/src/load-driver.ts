import { createRequire } from "node:module";
import { join } from "node:path";
import { RdsIamError } from "@rds-iam/core";

// In the CommonJS build `__filename` exists; in the ESM build `import.meta.url` does.
const here = typeof __filename === "string" ? __filename : import.meta.url;

/**
 * Loads the driver module TypeORM would load (`require("pg")` / `require("mysql2")`
 * from TypeORM's own location), so the retrying pool wraps the same module TypeORM
 * would have used. Falls back to the module next to this package (a peer dependency).
 */
export function loadDriverModule(name: "pg" | "mysql2"): unknown {
  const fromApp = createRequire(join(process.cwd(), "package.json"));
  try {
    return createRequire(fromApp.resolve("typeorm"))(name);
  } catch {
    // TypeORM is not resolvable from the working directory (a monorepo, a bundle).
  }
  try {
    return createRequire(here)(name);
  } catch (error) {
    throw new RdsIamError(
      "INVALID_OPTION",
      `The ${name} package is not installed. Install it (TypeORM needs it for this database type), or pass the module as the driver option.`,
      { option: "driver", cause: error },
    );
  }
}
