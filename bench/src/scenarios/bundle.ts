import { execFile } from "node:child_process";
import { copyFile, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import type { CredentialServer } from "@rds-iam/gateway";
import { build } from "esbuild";
import { TARGET_VARIABLE } from "../bundle-apps/target";
import { ratio, type Summary, summarize } from "../measure";
import { isolatedAwsEnv } from "../setup";

/** The Lambda-shaped apps, each bundled as a function's build would. */
export const BUNDLE_APPS = ["knex-ours", "knex-signer", "typeorm-ours", "typeorm-signer"] as const;
export type BundleAppName = (typeof BUNDLE_APPS)[number];
export const BUNDLE_APP_LABELS: Readonly<Record<BundleAppName, string>> = {
  "knex-ours": "knex + @rds-iam/knex",
  "knex-signer": "knex + @aws-sdk/rds-signer by hand",
  "typeorm-ours": "TypeORM + @rds-iam/typeorm",
  "typeorm-signer": "TypeORM + @aws-sdk/rds-signer by hand",
};

const APPS_DIR = fileURLToPath(new URL("../bundle-apps/", import.meta.url));

// What a PostgreSQL-only app has not installed, so marks external (docs/serverless.md).
// knex reaches every dialect's driver with a plain require, so those must be; for
// TypeORM, mysql2 is only left out (@rds-iam/typeorm requires it in a try block, and
// this workspace has it installed). Nothing else is external: pg and the SDK are bundled.
const TYPEORM_EXTERNALS = ["mysql2"];
const KNEX_EXTERNALS = [
  "better-sqlite3",
  "mysql",
  "oracledb",
  "sqlite3",
  "tedious",
  "mysql2",
  "mariadb",
];

export interface BundleSettings {
  /** Cold starts per app (one process each), interleaved across apps. */
  readonly samples: number;
  readonly credentialLatencyMs: number;
}

/** Where the apps sign for: plain data for the child processes. */
export interface BundleBenchTarget {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly database: string;
  readonly iamHost: string;
  readonly iamDefaultPort: number;
  readonly region: string;
  readonly ca: string;
}

export interface BundleAppResult {
  /** The minified CommonJS bundle. */
  readonly bytes: number;
  readonly gzipBytes: number;
  /** Evaluating the bundle (`require`), its init included. */
  readonly loadMs: Summary;
  /** From before `require` to the first token in hand: load + credentials + signature. */
  readonly firstTokenMs: Summary;
}

export interface BundleResult {
  readonly samples: number;
  readonly apps: Readonly<Record<BundleAppName, BundleAppResult>>;
  /** The TypeORM app's bundle with mysql2 installed and not marked external. */
  readonly typeormOursWithMysql2Bytes: number;
  /** Ours / by hand, per ORM: below 1 means ours is smaller or faster. */
  readonly ratios: Readonly<
    Record<"knex" | "typeorm", { bytes: number; loadMedian: number; firstTokenMedian: number }>
  >;
  /** Connections the network guard refused in any child (must be empty). */
  readonly networkBlocked: readonly string[];
}

/**
 * Scenario 9: bundle size, module load and first-token time of Lambda-shaped knex and
 * TypeORM apps with our adapters, against the same apps with `@aws-sdk/rds-signer` by
 * hand. Each app is bundled once (esbuild, Node, CommonJS, minified) and started
 * `samples` times, each in a fresh process from a folder without node_modules, the
 * apps interleaved in rotating order; credentials come from the loopback container
 * endpoint through the SDK's default chain in each bundle.
 */
export async function bundleScenario(
  target: BundleBenchTarget,
  server: CredentialServer,
  settings: BundleSettings,
): Promise<BundleResult> {
  const dir = await mkdtemp(join(tmpdir(), "rds-iam-bench-bundle-"));
  try {
    const sizes = new Map<BundleAppName, { bytes: number; gzipBytes: number }>();
    for (const app of BUNDLE_APPS) {
      const outfile = join(dir, `${app}.cjs`);
      await bundle(
        join(APPS_DIR, `${app}.ts`),
        outfile,
        app.startsWith("knex") ? KNEX_EXTERNALS : TYPEORM_EXTERNALS,
      );
      const code = await readFile(outfile);
      sizes.set(app, { bytes: code.length, gzipBytes: gzipSync(code).length });
    }
    // Size only: the TypeORM app of a project that has mysql2 installed too and does not
    // mark it external (the driver for the other engine is bundled, unused).
    const both = join(dir, "typeorm-ours-with-mysql2.cjs");
    await bundle(join(APPS_DIR, "typeorm-ours.ts"), both, []);
    const typeormOursWithMysql2Bytes = (await readFile(both)).length;
    await bundle(join(APPS_DIR, "harness.ts"), join(dir, "harness.cjs"), []);
    // Run from a folder holding the bundles only, as a deployment package would.
    const runDir = await mkdtemp(join(tmpdir(), "rds-iam-bench-bundle-run-"));
    try {
      for (const app of [...BUNDLE_APPS, "harness" as const]) {
        await copyFile(join(dir, `${app}.cjs`), join(runDir, `${app}.cjs`));
      }
      const env = childEnv(target, server);
      const load = new Map<BundleAppName, number[]>(BUNDLE_APPS.map((app) => [app, []]));
      const first = new Map<BundleAppName, number[]>(BUNDLE_APPS.map((app) => [app, []]));
      const blocked: string[] = [];
      for (let round = 0; round < settings.samples; round += 1) {
        for (let k = 0; k < BUNDLE_APPS.length; k += 1) {
          const app = BUNDLE_APPS[(round + k) % BUNDLE_APPS.length] as BundleAppName;
          const before = server.stats().requests;
          const sample = await coldStart(runDir, app, env);
          if (!sample.signed)
            throw new Error(
              `${app}: the first token is not a presigned token with a session token`,
            );
          if (server.stats().requests <= before) {
            throw new Error(`${app}: no credentials were fetched from the container endpoint`);
          }
          load.get(app)?.push(sample.loadMs);
          first.get(app)?.push(sample.firstTokenMs);
          blocked.push(...sample.blocked);
        }
      }
      const apps = Object.fromEntries(
        BUNDLE_APPS.map((app) => {
          const size = sizes.get(app) ?? { bytes: Number.NaN, gzipBytes: Number.NaN };
          return [
            app,
            {
              ...size,
              loadMs: summarize(load.get(app) ?? []),
              firstTokenMs: summarize(first.get(app) ?? []),
            },
          ];
        }),
      ) as Record<BundleAppName, BundleAppResult>;
      const pair = (ours: BundleAppResult, signer: BundleAppResult) => ({
        bytes: ratio(ours.bytes, signer.bytes),
        loadMedian: ratio(ours.loadMs.median, signer.loadMs.median),
        firstTokenMedian: ratio(ours.firstTokenMs.median, signer.firstTokenMs.median),
      });
      return {
        samples: settings.samples,
        apps,
        typeormOursWithMysql2Bytes,
        ratios: {
          knex: pair(apps["knex-ours"], apps["knex-signer"]),
          typeorm: pair(apps["typeorm-ours"], apps["typeorm-signer"]),
        },
        networkBlocked: blocked,
      };
    } finally {
      await rm(runDir, { recursive: true, force: true });
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function bundle(entry: string, outfile: string, external: readonly string[]): Promise<void> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    minify: true,
    outfile,
    external: [...external],
    logLevel: "silent",
  });
  if (result.errors.length > 0 || result.warnings.length > 0) {
    throw new Error(
      `esbuild: ${[...result.errors, ...result.warnings].map((m) => m.text).join("; ")}`,
    );
  }
}

/** Only what the app needs: nothing of this process (no NODE_OPTIONS, NODE_PATH, tsx). */
function childEnv(target: BundleBenchTarget, server: CredentialServer): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? "" };
  const isolated = isolatedAwsEnv({ ...server.env(), [TARGET_VARIABLE]: JSON.stringify(target) });
  for (const [key, value] of Object.entries(isolated)) if (value !== undefined) env[key] = value;
  return env;
}

interface ColdStart {
  readonly loadMs: number;
  readonly firstTokenMs: number;
  readonly signed: boolean;
  readonly blocked: readonly string[];
}

function coldStart(
  runDir: string,
  app: BundleAppName,
  env: Record<string, string>,
): Promise<ColdStart> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ["harness.cjs", join(runDir, `${app}.cjs`)],
      { cwd: runDir, env, timeout: 30_000 },
      (error, stdout, stderr) => {
        if (error !== null) {
          reject(new Error(`${app} failed: ${(stderr.trim() || error.message).slice(-600)}`));
          return;
        }
        resolve(JSON.parse(stdout) as ColdStart);
      },
    );
  });
}
