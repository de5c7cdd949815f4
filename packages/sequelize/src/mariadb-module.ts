import { createRequire } from "node:module";
import { join } from "node:path";
import { RdsIamError } from "@rds-iam/core";

/**
 * The mariadb module a Sequelize 7 mariadb dialect class would load by itself.
 *
 * `@sequelize/mariadb` keeps the connector it `require`s in a private field (or takes
 * `mariaDbModule`), and `^3.4.5` lets it resolve a connector that sends the token
 * before it checks the certificate. So `withIamAuth` hands the dialect a module it has
 * checked: the one that package's own `require("mariadb")` returns. Its CommonJS files
 * (its ES entry re-exports them) are in Node's module cache once the class is loaded;
 * resolving `mariadb` from the file that exports the class gives that very instance.
 *
 * @throws RdsIamError `MISSING_OPTION` naming `mariaDbModule` when the class was not
 *   loaded from a `@sequelize/mariadb` file Node knows (a bundle): pass the module.
 */
export function mariadbModuleOf(dialect: object): unknown {
  const cache = createRequire(join(process.cwd(), "index.js")).cache;
  const classes = new Set<unknown>();
  for (let c: unknown = dialect; typeof c === "function"; c = Object.getPrototypeOf(c)) {
    classes.add(c);
  }
  for (const entry of Object.values(cache)) {
    if (entry === undefined || !/[\\/]@sequelize[\\/]mariadb[\\/]/.test(entry.filename)) continue;
    const exported = (entry.exports as { MariaDbDialect?: unknown } | null)?.MariaDbDialect;
    if (classes.has(exported)) return createRequire(entry.filename)("mariadb");
  }
  throw new RdsIamError(
    "MISSING_OPTION",
    'withIamAuth could not find the mariadb connector this MariaDbDialect loads (not loaded from @sequelize/mariadb\'s files, e.g. bundled), so it cannot check its version before a token is sent. Pass it: mariaDbModule: the mariadb module (import * as mariadb from "mariadb"; 3.5.1 or later).',
    { option: "mariaDbModule" },
  );
}
