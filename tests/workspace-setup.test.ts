import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/** What a newcomer gets from a fresh clone: `pnpm install`, `pnpm build`, then the CLIs. */
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const PACKAGES = [
  "core",
  "gateway",
  "knex",
  "mikro-orm",
  "mysql2",
  "pg",
  "postgres",
  "prisma",
  "sequelize",
  "typeorm",
];

function run(
  command: string,
  args: string[],
  cwd = ROOT,
): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, timeout: 60_000 }, (error, stdout, stderr) => {
      const status = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
      resolve({ status, stdout, stderr });
    });
  });
}

describe("a fresh clone after pnpm install and pnpm build", () => {
  it("runs both CLIs with pnpm exec, with no second install", async () => {
    const [core, gateway] = await Promise.all([
      run("pnpm", ["exec", "rds-iam", "--help"]),
      run("pnpm", ["exec", "rds-iam-gateway", "--help"]),
    ]);
    expect(core.stderr).toBe("");
    expect(core).toMatchObject({ status: 0 });
    expect(core.stdout).toContain("rds-iam");
    expect(gateway.stderr).toBe("");
    expect(gateway).toMatchObject({ status: 0 });
    expect(gateway.stdout).toContain("rds-iam-gateway");
  });

  it("bins are launchers that exist before the first build", () => {
    for (const name of ["core", "gateway"]) {
      const manifest = JSON.parse(
        readFileSync(join(ROOT, "packages", name, "package.json"), "utf8"),
      );
      for (const target of Object.values(manifest.bin as Record<string, string>)) {
        expect(target.startsWith("./bin/"), `${name}: ${target}`).toBe(true);
        expect(readFileSync(join(ROOT, "packages", name, target), "utf8")).toContain(
          "../dist/cli.js",
        );
      }
    }
  });

  it.each(PACKAGES)("@rds-iam/%s ships the licence text", async (name) => {
    const dir = join(ROOT, "packages", name);
    const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    expect(manifest.license).toBe("Apache-2.0");
    expect(readFileSync(join(dir, "LICENSE"), "utf8")).toBe(
      readFileSync(join(ROOT, "LICENSE"), "utf8"),
    );
    // What npm would publish (pnpm publish packs the same list).
    const packed = await run("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], dir);
    expect(packed.status).toBe(0);
    const files = (JSON.parse(packed.stdout) as { files: { path: string }[] }[])[0]?.files.map(
      (file) => file.path,
    );
    expect(files).toContain("LICENSE");
    for (const target of Object.values((manifest.bin ?? {}) as Record<string, string>)) {
      expect(files).toContain(target.replace(/^\.\//, ""));
    }
  });

  it("the README's install line names the pnpm that CI installs, and any pnpm 10 runs the workspace", () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
    const pinned = String(manifest.packageManager);
    expect(pinned).toMatch(/^pnpm@10\.\d+\.\d+$/);
    expect(readFileSync(join(ROOT, "README.md"), "utf8")).toContain(`npm i -g ${pinned}`);
    expect(readFileSync(join(ROOT, ".ci", "run"), "utf8")).toContain("packageManager");
    // A newer pnpm 10 must not try to download the pinned one: registries that serve no
    // signatures make that fail ("Refusing to run pnpm@...").
    expect(readFileSync(join(ROOT, "pnpm-workspace.yaml"), "utf8")).toMatch(
      /^managePackageManagerVersions: false$/m,
    );
  });

  it("the root licence is the Apache License 2.0", () => {
    const text = readFileSync(join(ROOT, "LICENSE"), "utf8");
    expect(text).toContain("Apache License");
    expect(text).toContain("Version 2.0, January 2004");
    expect(text).toContain("END OF TERMS AND CONDITIONS");
  });
});
