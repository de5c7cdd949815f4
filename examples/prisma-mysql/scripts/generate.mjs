// `prisma generate`, once per schema change. Generating needs no schema engine, but
// Prisma's CLI checks for one at start and downloads it when missing; offline (as in
// CI sandboxes), any existing file satisfies the check.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const schema = join(root, "prisma", "schema.prisma");
const stamp = join(root, "src", "generated", "prisma", ".stamp");
const digest = createHash("sha256").update(readFileSync(schema)).digest("hex");
if (existsSync(stamp) && readFileSync(stamp, "utf8") === digest) process.exit(0);

const require = createRequire(join(root, "package.json"));
const manifest = require.resolve("prisma/package.json");
const cli = join(dirname(manifest), require(manifest).bin.prisma);
execFileSync(process.execPath, [cli, "generate", "--schema", schema], {
  cwd: root,
  stdio: "inherit",
  env: {
    ...process.env,
    PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? process.execPath,
    CHECKPOINT_DISABLE: "1",
    PRISMA_HIDE_UPDATE_MESSAGE: "1",
  },
});
writeFileSync(stamp, digest);
