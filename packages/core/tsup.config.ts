import { defineConfig } from "tsup";
import { packageBuild } from "../../tsup.shared";

export default defineConfig({
  ...packageBuild({ index: "src/index.ts", driver: "src/driver.ts", cli: "src/cli.ts" }),
  // The entries share chunks, so `@rds-iam/core` and `@rds-iam/core/driver` are one
  // copy of the code: one registry of shared credentials and tokens per process.
  splitting: true,
});
