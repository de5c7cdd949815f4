/**
 * `pnpm bench`: every scenario of issue 8 (and 6, shared credentials), for PostgreSQL and
 * MySQL (MariaDB), through the gateway against the machine's real databases. Writes results/latest.json and
 * results/latest.md, prints the ratios, and exits non-zero only if a run errored
 * (nothing here asserts a target).
 */
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { createIamAuth } from "@rds-iam/core";
import { type CredentialServer, type Gateway, startCredentialServer } from "@rds-iam/gateway";
import { type BenchDatabaseUser, createBenchUser } from "./databases";
import { describeError } from "./describe-error";
import { machineInfo } from "./machine";
import { round, since } from "./measure";
import { guardReport, installNetworkGuard } from "./network-guard";
import { renderMarkdown } from "./report";
import { type BenchResults, printSummary } from "./results";
import { coldBurst } from "./scenarios/cold-burst";
import { memory } from "./scenarios/memory";
import { openLatency } from "./scenarios/open-latency";
import { PACKAGES_BY_ENGINE, packageOpen } from "./scenarios/package-open";
import { rotation } from "./scenarios/rotation";
import { sharedCredentials } from "./scenarios/shared-credentials";
import { warmToken } from "./scenarios/warm-token";
import {
  applyEnv,
  BENCH_CREDENTIALS,
  type BenchTarget,
  ENGINES,
  type Engine,
  isolatedAwsEnv,
  startBenchGateway,
} from "./setup";

const CREDENTIAL_LATENCY_MS = 20;
const SESSION_LIMIT = Number(process.env.BENCH_SESSION_LIMIT ?? 40);
const SETTINGS = {
  credentialLatencyMs: CREDENTIAL_LATENCY_MS,
  burst: { connections: 1000, sessionLimit: SESSION_LIMIT },
  openLatency: { samples: 300, warmup: 20 },
  packageOpen: { samples: 200, warmup: 20 },
  rotation: {
    simulatedMinutes: 60,
    stepSeconds: 1,
    acquisitionsPerStep: 8,
    poolSize: 10,
    discardEvery: 10,
  },
  sharedCredentials: { simulatedMinutes: 180, connectEveryMinutes: 1 },
} as const;

/**
 * For working on one scenario: BENCH_ONLY=2,3 runs scenarios 2 and 3 and writes
 * results/only-2,3.{json,md}, leaving latest.* (a whole run's) alone. Default: all.
 */
const ONLY = new Set((process.env.BENCH_ONLY ?? "1,2,3,4,5,6,7").split(",").map((id) => id.trim()));

const RESULTS_DIR = new URL("../results/", import.meta.url);

function log(message: string): void {
  process.stdout.write(`${message}\n`);
}

async function main(): Promise<number> {
  installNetworkGuard();
  const began = performance.now();
  const restoreEnv = applyEnv(isolatedAwsEnv());
  const errors: string[] = [];
  const results: BenchResults = {
    machine: await machineInfo(),
    settings: SETTINGS,
    warmToken: [],
    coldBurst: [],
    openLatency: [],
    packageOpen: [],
    rotation: [],
    memory: [],
    sharedCredentials: [],
    errors,
    networkGuard: { blocked: [] },
    totalSeconds: 0,
  };

  const attempt = async <T>(label: string, run: () => Promise<T>, into: T[]) => {
    if (!ONLY.has(label.charAt(0))) return;
    log(`▸ ${label}`);
    const start = performance.now();
    try {
      into.push(await run());
      log(`  done in ${round(since(start) / 1000, 1)} s`);
    } catch (error) {
      const message = `${label}: ${describeError(error)}`;
      errors.push(message);
      log(`  ERROR ${message}`);
    }
  };

  // CPU-only scenarios first, on a quiet process.
  for (const engine of ENGINES) {
    await attempt(`1 warm token (${engine})`, () => warmToken(engine), results.warmToken);
  }
  for (const engine of ENGINES) {
    await attempt(`5 memory (${engine})`, () => memory(engine), results.memory);
  }
  // No database either: 50 ORM objects' token requests over 3 simulated hours, counted
  // at loopback credential endpoints of its own.
  await attempt(
    "6 shared credentials (50 ORM objects, 3 simulated hours)",
    () =>
      sharedCredentials({
        ...SETTINGS.sharedCredentials,
        credentialLatencyMs: CREDENTIAL_LATENCY_MS,
      }),
    results.sharedCredentials,
  );

  // The database scenarios share a credential endpoint (20 ms per answer, like a real
  // container endpoint), one database user per engine and one gateway per engine.
  let credentials: CredentialServer | undefined;
  const users: BenchDatabaseUser[] = [];
  const gateways: Gateway[] = [];
  try {
    credentials = await startCredentialServer({ latencyMs: CREDENTIAL_LATENCY_MS });
    applyEnv(credentials.env());
    const server = credentials;
    const accepted = () => [
      ...server.issued().map((issued) => ({
        accessKeyId: issued.accessKeyId,
        secretAccessKey: issued.secretAccessKey,
        sessionToken: issued.sessionToken,
        expiration: new Date(issued.expiration),
      })),
      BENCH_CREDENTIALS,
    ];
    const targets = new Map<Engine, BenchTarget>();
    for (const engine of ENGINES) {
      const user = await createBenchUser(engine);
      users.push(user);
      const { gateway, target } = await startBenchGateway(user, accepted);
      gateways.push(gateway);
      targets.set(engine, target);
    }

    for (const [engine, target] of targets) {
      // The static contender's password: one token, minted once, with static keys.
      const auth = createIamAuth({
        engine,
        host: target.host,
        port: target.port,
        user: target.user,
        iamHost: target.iamHost,
        iamDefaultPort: target.iamDefaultPort,
        iamRegion: target.region,
        credentials: BENCH_CREDENTIALS,
      });
      const staticPassword = await auth.getToken();
      auth.close();
      await attempt(
        `3 connection open latency (${engine})`,
        () => openLatency(target, { ...SETTINGS.openLatency, staticPassword }),
        results.openLatency,
      );
      for (const driver of PACKAGES_BY_ENGINE[engine]) {
        await attempt(
          `7 package connection open (${driver}, ${engine})`,
          () => packageOpen(target, driver, { ...SETTINGS.packageOpen, staticPassword }),
          results.packageOpen,
        );
      }
    }
    for (const [engine, target] of targets) {
      await attempt(
        `2 cold burst (${engine})`,
        async () => {
          const burst = await coldBurst(target, server, {
            ...SETTINGS.burst,
            credentialLatencyMs: CREDENTIAL_LATENCY_MS,
          });
          // A contender's process that crashed is a run that errored; failed
          // connections inside a run are data.
          for (const [name, outcome] of Object.entries(burst.contenders)) {
            if ("error" in outcome)
              errors.push(`2 cold burst (${engine}) ${name}: ${outcome.error}`);
            else if (outcome.networkBlocked.length > 0)
              errors.push(
                `2 cold burst (${engine}) ${name}: network guard blocked ${outcome.networkBlocked.join(", ")}`,
              );
          }
          return burst;
        },
        results.coldBurst,
      );
    }
    for (const user of users) {
      await attempt(
        `4 pool under token rotation (${user.engine})`,
        () =>
          rotation(user, {
            ...SETTINGS.rotation,
            credentialLatencyMs: CREDENTIAL_LATENCY_MS,
          }),
        results.rotation,
      );
    }
  } catch (error) {
    errors.push(`setup: ${describeError(error)}`);
    log(`ERROR setup: ${describeError(error)}`);
  } finally {
    for (const gateway of gateways) await gateway.close().catch(() => {});
    for (const user of users) {
      await user.drop().catch((error: unknown) => {
        errors.push(`cleanup ${user.engine}: ${describeError(error)}`);
      });
    }
    await credentials?.close();
    restoreEnv();
  }

  const guard = guardReport();
  if (guard.blocked.length > 0) {
    errors.push(`network guard blocked connections to: ${[...new Set(guard.blocked)].join(", ")}`);
  }
  const finished: BenchResults = {
    ...results,
    networkGuard: guard,
    totalSeconds: round(since(began) / 1000, 1),
  };
  writeResults(finished);
  printSummary(finished, log);
  return errors.length === 0 ? 0 : 1;
}

function writeResults(results: BenchResults): void {
  mkdirSync(RESULTS_DIR, { recursive: true });
  // Write next to the target, then rename: a failed run never leaves half a file.
  const write = (name: string, text: string) => {
    const target = new URL(name, RESULTS_DIR);
    const temporary = new URL(`${name}.tmp`, RESULTS_DIR);
    writeFileSync(temporary, text);
    renameSync(temporary, target);
  };
  const name = process.env.BENCH_ONLY === undefined ? "latest" : `only-${[...ONLY].join(",")}`;
  write(`${name}.json`, `${JSON.stringify(results, null, 2)}\n`);
  write(`${name}.md`, renderMarkdown(results));
  log(`\nwrote bench/results/${name}.json and bench/results/${name}.md`);
}

main().then(
  // Drivers, the wrapper and SDK agents may leave handles open; results are written.
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${describeError(error)}\n`);
    process.exit(1);
  },
);
