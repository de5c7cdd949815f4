import { createRequire } from "node:module";

// Built as CommonJS only (dist/require-driver.cjs, see tsup.config.ts) and loaded by
// both builds of the package, so `require` and `__filename` always exist here (the
// test runner, which runs this source, provides them too). It imports nothing of ours:
// a bundle of the ES module build would otherwise hold @rds-iam/core twice (its ESM
// build, and its CommonJS build for this file).

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
  try {
    // One literal call per driver, not require(name): a bundler only follows literals.
    return name === "pg" ? require("pg") : require("mysql2");
  } catch (error) {
    try {
      return createRequire(require.resolve("typeorm"))(name);
    } catch {
      // TypeORM's neighbourhood has no driver either: report the first, direct attempt.
    }
    throw error;
  }
}
