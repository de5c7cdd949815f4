import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

// The built packages, loaded the way users load them: `require` and `import`, by
// package name, from a workspace package that depends on them.
const here = fileURLToPath(new URL(".", import.meta.url));
const run = promisify(execFile);

/** Every entry point and names it must export (an adapter: the contract's shared names too). */
const CONTRACT = ["RdsIamError", "isRdsIamError"];
const PACKAGES: Record<string, string[]> = {
  "@rds-iam/core": [
    "createIamAuth",
    "TokenCache",
    "generateAuthToken",
    "iamDatabaseUrl",
    "parseRdsHostname",
    "pgIamConfig",
    "mysql2IamConfig",
    "mariadbIamConfig",
    "rdsCaBundle",
    ...CONTRACT,
  ],
  "@rds-iam/core/driver": [
    "prepareBinding",
    "pgConfigOf",
    "mysql2ConfigOf",
    "mariadbConfigOf",
    "mariadbConnector",
    "withAuthRetry",
    "withCheckoutAuthRetry",
    "retryPgPoolLogins",
    "withPgAuthRetry",
    "withMysql2AuthRetry",
    "pauseIamAuth",
    "splitIamOptions",
    "IAM_ONLY_OPTION_NAMES",
    "resolveTls",
    "parseEngine",
    "systemClock",
  ],
  "@rds-iam/gateway": ["startGateway", "startCredentialServer", "verifyToken"],
  "@rds-iam/knex": ["iamConnection", ...CONTRACT],
  "@rds-iam/pg": ["createIamPool", "iamAuthOf", ...CONTRACT],
  "@rds-iam/mysql2": ["createIamPool", "iamAuthOf", ...CONTRACT],
  "@rds-iam/postgres": ["createIamSql", "iamAuthOf", ...CONTRACT],
  "@rds-iam/sequelize": ["withIamAuth", "iamAuthOf", ...CONTRACT],
  "@rds-iam/sequelize/v7": ["withIamAuth", "iamAuthOf", ...CONTRACT],
  "@rds-iam/typeorm": ["withIamAuth", "iamAuthOf", ...CONTRACT],
  "@rds-iam/mikro-orm": ["withIamAuth", "iamAuthOf", ...CONTRACT],
  "@rds-iam/prisma": ["createIamAdapter", "iamDatasourceUrl", ...CONTRACT],
  "@rds-iam/prisma/migrate": ["deployMysqlMigrations"],
};

/** The public entry of core stays small: what applications call, nothing adapters need. */
const MAX_CORE_RUNTIME_NAMES = 20;

async function node(script: string, type: "commonjs" | "module"): Promise<string> {
  const { stdout } = await run(process.execPath, [`--input-type=${type}`, "-e", script], {
    cwd: here,
  });
  return stdout.trim();
}

describe("built packages", () => {
  for (const [name, names] of Object.entries(PACKAGES)) {
    it(`${name} loads with require() and import(), with types for both`, async () => {
      const [, pkg, entry = "index"] = name.split("/");
      const pkgDir = fileURLToPath(new URL(`../packages/${pkg}/`, import.meta.url));
      for (const file of [
        `dist/${entry}.js`,
        `dist/${entry}.cjs`,
        `dist/${entry}.d.ts`,
        `dist/${entry}.d.cts`,
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

  it(`@rds-iam/core exports at most ${MAX_CORE_RUNTIME_NAMES} runtime names, the same from both builds`, async () => {
    const names = (type: "commonjs" | "module") =>
      node(
        type === "commonjs"
          ? `console.log(JSON.stringify(Object.keys(require("@rds-iam/core")).sort()))`
          : `console.log(JSON.stringify(Object.keys(await import("@rds-iam/core")).filter((n) => n !== "default").sort()))`,
        type,
      );
    const cjs = JSON.parse(await names("commonjs")) as string[];
    const esm = JSON.parse(await names("module")) as string[];
    expect(esm).toEqual(cjs.filter((n) => n !== "__esModule"));
    expect(esm.length).toBeLessThanOrEqual(MAX_CORE_RUNTIME_NAMES);
    // Adapter plumbing lives in @rds-iam/core/driver only.
    for (const internal of ["prepareBinding", "splitIamOptions", "withAuthRetry", "resolveTls"]) {
      expect(esm).not.toContain(internal);
    }
  });

  it("shares one copy of core between @rds-iam/core and @rds-iam/core/driver", async () => {
    const out = await node(
      `const core = await import("@rds-iam/core");
       const driver = await import("@rds-iam/core/driver");
       const binding = driver.prepareBinding({ host: "db.cluster-x.us-east-1.rds.amazonaws.com", user: "u", credentials: { accessKeyId: "AKIDSHARE", secretAccessKey: "s" } }, { what: "t", engine: "postgres" });
       const error = (() => { try { driver.parseEngine("nope"); } catch (e) { return e; } })();
       console.log(String(error instanceof core.RdsIamError), String(typeof binding.auth().getToken));`,
      "module",
    );
    expect(out).toBe("true function");
  });

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
