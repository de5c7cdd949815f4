import { createRequire } from "node:module";
import { join } from "node:path";

// Built as CommonJS only (dist/require-driver.cjs, see tsup.config.ts) and loaded by
// both builds of the package, so `require` exists here once built, bundled or not (and
// under the test runner). It imports nothing of ours: a bundle of the ES module build
// would otherwise hold @rds-iam/core twice (its ESM build, and its CommonJS build for
// this file).
const commonJs = typeof require === "function";

/**
 * Only this source run unbuilt as an ES module lacks `require`: tsx with tsconfig paths,
 * as `pnpm demo` runs it. It resolves from the working directory, the app's. Not
 * `import.meta.url`: the CommonJS build has no `import.meta`, and tsup's shim for it
 * reads `__filename`, which an ES module bundle of this file does not define.
 */
function sourceRequire(): NodeJS.Require {
  return createRequire(join(process.cwd(), "package.json"));
}

/**
 * Requires the driver module TypeORM needs for the database type: `pg` or `mysql2`.
 *
 * 1. A literal `require("pg")` / `require("mysql2")` in a `try` block, so that
 *    bundlers include the driver: esbuild follows literal requires, and leaves one that
 *    does not resolve inside a `try` to fail at run time (a MySQL app need not install
 *    pg; tests/bundles proves both). That is why this file stays CommonJS: in an
 *    ES module build, esbuild turns `require` into a `__require` helper no bundler
 *    follows, and `createRequire(...)` is invisible to all of them.
 * 2. Where the package manager did not link the optional peer next to this package,
 *    the copy next to TypeORM, which TypeORM itself would load.
 *
 * @throws the first attempt's error when neither finds it.
 */
export function requireDriver(name: "pg" | "mysql2"): unknown {
  const own = commonJs ? require : sourceRequire();
  try {
    // One literal call per driver, not require(name): a bundler only follows literals.
    if (commonJs) return name === "pg" ? require("pg") : require("mysql2");
    return own(name);
  } catch (error) {
    try {
      return createRequire(own.resolve("typeorm"))(name);
    } catch {
      // TypeORM's neighbourhood has no driver either: report the first, direct attempt.
    }
    throw error;
  }
}
