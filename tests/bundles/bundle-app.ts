import { execFile } from "node:child_process";
import { copyFile, mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

/** The apps in ./apps, one per adapter: each logs in once and prints a report. */
export type BundleApp = "knex" | "typeorm" | "prisma" | "pg" | "mysql2";
export type BundleFormat = "cjs" | "esm";

const APPS = fileURLToPath(new URL("./apps/", import.meta.url));

/**
 * The banner an ES module bundle needs: esbuild turns each `require()` it leaves in
 * the bundle (Node built-ins that bundled CommonJS code requires, such as knex's pool
 * tarn, pg, mysql2 and the AWS SDK's CommonJS builds; externals) into a helper that
 * throws `Dynamic require of "events" is not supported` unless a real `require`
 * exists. This gives the bundle one, importing `createRequire` under another name since
 * the bundle may import it too (the TypeORM bundle does). docs/serverless.md documents
 * the same line.
 */
export const ESM_REQUIRE_BANNER =
  'import { createRequire as topLevelCreateRequire } from "node:module"; const require = topLevelCreateRequire(import.meta.url);';

/**
 * What must stay out of each adapter's bundle, and why (docs/serverless.md has the same
 * lists). Everything else, the drivers and the AWS SDK included, is bundled.
 */
export const EXTERNALS: Readonly<Record<BundleApp, readonly string[]>> = {
  // knex's dialect table reaches every dialect's driver with a plain require (not in a
  // try block): the drivers an app does not use, and has not installed, must be
  // external. These five; of pg, mysql2 and mariadb, the ones not installed (see
  // KNEX_UNUSED_DRIVERS).
  knex: ["better-sqlite3", "mysql", "oracledb", "sqlite3", "tedious"],
  typeorm: [],
  prisma: [],
  pg: [],
  mysql2: [],
};

/** A knex app for one engine marks the other engine's drivers external too. */
export const KNEX_UNUSED_DRIVERS = {
  postgres: ["mysql2", "mariadb"],
  mysql: ["pg"],
} as const;

/**
 * esbuild `alias` entries that make packages resolve as if they were not installed:
 * each name points at a package that exists nowhere, so esbuild takes the same path as
 * for a missing optional peer (and the bundle fails to load it at run time).
 */
export function notInstalled(...names: readonly string[]): Record<string, string> {
  return Object.fromEntries(
    names.map((name) => [name, `rds-iam-not-installed-${name.replace(/\W/g, "-")}`]),
  );
}

export interface BuiltBundle {
  /** The file to run. */
  readonly entry: string;
  /** The bundle's files, in the folder it was built in. */
  readonly files: readonly string[];
  /** Bytes of JavaScript (the bundle file itself). */
  readonly bytes: number;
  /** The packages the bundle holds, as `node_modules/<name>` paths esbuild read. */
  readonly inputs: readonly string[];
}

export interface BundleOptions {
  readonly app: BundleApp;
  readonly format: BundleFormat;
  readonly outdir: string;
  readonly external?: readonly string[];
  /** esbuild `alias` (the Prisma app's generated client). */
  readonly alias?: Record<string, string>;
}

/**
 * Bundles an app with esbuild's JS API for Node, as a Lambda function's build would, of
 * the built packages (run `pnpm build` first).
 */
export async function bundleApp(options: BundleOptions): Promise<BuiltBundle> {
  const outfile = join(
    options.outdir,
    `${options.app}.${options.format === "esm" ? "mjs" : "cjs"}`,
  );
  const result = await build({
    entryPoints: [join(APPS, `${options.app}.ts`)],
    bundle: true,
    platform: "node",
    target: "node20",
    format: options.format,
    outfile,
    external: [...EXTERNALS[options.app], ...(options.external ?? [])],
    ...(options.alias === undefined ? {} : { alias: options.alias }),
    ...(options.format === "esm" ? { banner: { js: ESM_REQUIRE_BANNER } } : {}),
    // The packages as users get them, built (dist/) through node_modules: without this,
    // esbuild would follow the workspace tsconfig's paths to our sources.
    tsconfigRaw: {},
    metafile: true,
    logLevel: "silent",
  });
  if (result.warnings.length > 0) {
    throw new Error(`esbuild warned: ${result.warnings.map((w) => w.text).join("; ")}`);
  }
  const files = (await readdir(options.outdir)).map((name) => join(options.outdir, name));
  return {
    entry: outfile,
    files,
    bytes: (await stat(outfile)).size,
    inputs: Object.keys(result.metafile.inputs),
  };
}

/** Whether esbuild read `name` (a package) into the bundle. */
export function holdsPackage(bundle: BuiltBundle, name: string): boolean {
  return bundle.inputs.some((input) => input.includes(`/node_modules/${name}/`));
}

export interface BundleRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Copies a bundle's files to a fresh temporary folder and runs the entry file there
 * with `node`, in an environment of `env` only (no NODE_PATH, NODE_OPTIONS or anything
 * else of the test process), so it can load nothing that is not in the bundle. The
 * folder is removed afterwards.
 */
export async function runBundle(
  bundle: BuiltBundle,
  env: Record<string, string | undefined>,
): Promise<BundleRun> {
  return inTempDir("rds-iam-bundle-run-", async (dir) => {
    await assertNoNodeModulesAbove(dir);
    for (const file of bundle.files) await copyFile(file, join(dir, basename(file)));
    const clean: Record<string, string> = { PATH: process.env.PATH ?? "" };
    for (const [key, value] of Object.entries(env)) if (value !== undefined) clean[key] = value;
    return new Promise<BundleRun>((resolve) => {
      execFile(
        process.execPath,
        [basename(bundle.entry)],
        { cwd: dir, env: clean, timeout: 60_000 },
        (error, stdout, stderr) => {
          const code = error === null ? 0 : typeof error.code === "number" ? error.code : null;
          resolve({ code, stdout, stderr });
        },
      );
    });
  });
}

/** A `node_modules` in the run folder or above it would let the bundle load what it lacks. */
async function assertNoNodeModulesAbove(dir: string): Promise<void> {
  for (let at = dir; ; at = dirname(at)) {
    const found = await stat(join(at, "node_modules")).then(
      () => true,
      () => false,
    );
    if (found) {
      throw new Error(
        `${join(at, "node_modules")} exists: a bundle run under ${relative(at, dir)} could load packages from it. Remove it or set TMPDIR elsewhere.`,
      );
    }
    if (dirname(at) === at) return;
  }
}

/** A temporary folder for `fn`, removed afterwards. */
export async function inTempDir<T>(prefix: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
