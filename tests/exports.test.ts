import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

// The built packages, loaded the way users load them: `require` and `import`, by
// package name, from a workspace package that depends on them.
const here = fileURLToPath(new URL(".", import.meta.url));
const run = promisify(execFile);

const PACKAGES: Record<string, string[]> = {
  "@rds-iam/core": [
    "createIamAuth",
    "generateAuthToken",
    "parseRdsHostname",
    "RdsIamError",
    "isRdsIamError",
    "isAuthFailure",
    "resolveIamOptions",
    "defaultPort",
    "isIpAddress",
  ],
  "@rds-iam/gateway": ["startGateway", "startCredentialServer", "verifyToken"],
  "@rds-iam/knex": ["iamConnection"],
  "@rds-iam/typeorm": ["withIamAuth", "iamAuthOf"],
  "@rds-iam/prisma": ["createIamAdapter", "iamDatasourceUrl", "deployMysqlMigrations"],
};

async function node(script: string, type: "commonjs" | "module"): Promise<string> {
  const { stdout } = await run(process.execPath, [`--input-type=${type}`, "-e", script], {
    cwd: here,
  });
  return stdout.trim();
}

describe("built packages", () => {
  for (const [name, names] of Object.entries(PACKAGES)) {
    it(`${name} loads with require() and import(), with types for both`, async () => {
      const pkgDir = fileURLToPath(new URL(`../packages/${name.split("/")[1]}/`, import.meta.url));
      for (const file of [
        "dist/index.js",
        "dist/index.cjs",
        "dist/index.d.ts",
        "dist/index.d.cts",
      ]) {
        expect(existsSync(`${pkgDir}${file}`), `${name}/${file} (run pnpm build)`).toBe(true);
      }
      const list = JSON.stringify(names);
      const cjs = await node(
        `const m = require(${JSON.stringify(name)}); console.log(JSON.stringify(${list}.filter((n) => typeof m[n] === "undefined")))`,
        "commonjs",
      );
      const esm = await node(
        `const m = await import(${JSON.stringify(name)}); console.log(JSON.stringify(${list}.filter((n) => typeof m[n] === "undefined")))`,
        "module",
      );
      expect(JSON.parse(cjs)).toEqual([]);
      expect(JSON.parse(esm)).toEqual([]);
    });
  }

  it("recognises an RdsIamError across the CJS and ESM copies of core", async () => {
    const out = await node(
      `import { createRequire } from "node:module";
       const cjs = createRequire(process.cwd() + "/")("@rds-iam/core");
       const esm = await import("@rds-iam/core");
       const error = new esm.RdsIamError("INVALID_OPTION", "x");
       console.log(String(cjs.isRdsIamError(error)), String(error instanceof cjs.RdsIamError), String(cjs.RdsIamError === esm.RdsIamError));`,
      "module",
    );
    expect(out).toBe("true false false");
  });
});
