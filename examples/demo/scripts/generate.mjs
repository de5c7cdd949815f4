// Generates the demo's two Prisma clients when their schema changed. Offline, Prisma's
// CLI only needs its schema-engine check satisfied by an existing file to generate.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const require = createRequire(join(root, "package.json"));
const manifest = require.resolve("prisma/package.json");
const prisma = join(dirname(manifest), require(manifest).bin.prisma);

for (const engine of ["postgres", "mysql"]) {
  const schema = join(root, "prisma", `${engine}.prisma`);
  const stamp = join(root, "src", "generated", engine, ".stamp");
  const digest = createHash("sha256").update(readFileSync(schema)).digest("hex");
  if (existsSync(stamp) && readFileSync(stamp, "utf8") === digest) continue;
  try {
    // Quiet unless it fails: Prisma's "schema loaded from ..." lines tell a first-time
    // reader nothing about IAM (the MySQL client serves the optional DEMO_MYSQL_URL).
    execFileSync(process.execPath, [prisma, "generate", "--schema", schema], {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? process.execPath,
        CHECKPOINT_DISABLE: "1",
        PRISMA_HIDE_UPDATE_MESSAGE: "1",
      },
    });
  } catch (error) {
    process.stderr.write(
      `prisma generate failed for ${schema}:\n${error.stdout ?? ""}${error.stderr ?? ""}\n`,
    );
    process.exit(1);
  }
  writeFileSync(stamp, digest);
}
