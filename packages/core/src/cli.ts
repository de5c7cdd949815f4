#!/usr/bin/env node
import { main } from "./cli/main";

// The `rds-iam` bin: `token`, `url` and `inspect`. See `rds-iam --help`.
main(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
}).then(
  (status) => {
    process.exitCode = status;
  },
  (error: unknown) => {
    process.stderr.write(`rds-iam: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
