#!/usr/bin/env node
// The `rds-iam` bin. A fixed file rather than `dist/cli.js` itself, so that package
// managers can link it when the package is installed, before a workspace's first
// build has written `dist` (pnpm skips bins whose target does not exist yet).
import("../dist/cli.js").catch((error) => {
  if (error?.code === "ERR_MODULE_NOT_FOUND" && String(error.message).includes("dist/cli.js")) {
    process.stderr.write("rds-iam: not built yet; run `pnpm build` in the workspace first.\n");
    process.exit(1);
  }
  throw error;
});
