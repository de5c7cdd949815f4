import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const src = (name: string, entry = "index") =>
  fileURLToPath(new URL(`./packages/${name}/src/${entry}.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run against the sources; `packages/core/test/exports.test.ts` checks the
    // built packages the way users import them.
    // Subpath entries first: an alias also matches what starts with its name and a "/".
    alias: {
      "@rds-iam/core/driver": src("core", "driver"),
      "@rds-iam/prisma/migrate": src("prisma", "migrate"),
      "@rds-iam/sequelize/v7": src("sequelize", "v7"),
      "@rds-iam/core": src("core"),
      "@rds-iam/gateway": src("gateway"),
      "@rds-iam/knex": src("knex"),
      "@rds-iam/pg": src("pg"),
      "@rds-iam/mysql2": src("mysql2"),
      "@rds-iam/postgres": src("postgres"),
      "@rds-iam/typeorm": src("typeorm"),
      "@rds-iam/prisma": src("prisma"),
      "@rds-iam/sequelize": src("sequelize"),
      "@rds-iam/mikro-orm": src("mikro-orm"),
    },
  },
  test: {
    include: ["packages/*/test/**/*.test.ts", "tests/**/*.test.ts"],
    // Records every console line, stdout/stderr write and process warning of each test
    // file, and fails the file if any holds IAM token or secret-key material.
    setupFiles: ["tests/support/secret-scan.ts"],
    // Raises MariaDB's connection limit once for the whole run (see the file).
    globalSetup: ["tests/support/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: files run in parallel, two at a time.
    maxWorkers: 2,
    pool: "forks",
  },
});
