import { CONTENDER_LABELS } from "./contenders";
import type { MachineInfo } from "./machine";
import { ratio, round } from "./measure";
import type { GuardReport } from "./network-guard";
import type { ColdBurstResult } from "./scenarios/cold-burst";
import type { MemoryResult } from "./scenarios/memory";
import type { OpenLatencyResult } from "./scenarios/open-latency";
import { PACKAGE_LABELS, type PackageOpenResult } from "./scenarios/package-open";
import type { RotationResult } from "./scenarios/rotation";
import { type SharedCredentialsResult, VARIANT_LABELS } from "./scenarios/shared-credentials";
import type { WarmTokenResult } from "./scenarios/warm-token";
import { ENGINE_LABELS } from "./setup";

/** Everything one run measured: the shape of results/latest.json. */
export interface BenchResults {
  readonly machine: MachineInfo;
  readonly settings: unknown;
  readonly warmToken: WarmTokenResult[];
  readonly coldBurst: ColdBurstResult[];
  readonly openLatency: OpenLatencyResult[];
  readonly packageOpen: PackageOpenResult[];
  readonly rotation: RotationResult[];
  readonly memory: MemoryResult[];
  readonly sharedCredentials: SharedCredentialsResult[];
  /** Runs that errored (a non-empty list makes the process exit non-zero). */
  readonly errors: string[];
  readonly networkGuard: GuardReport;
  readonly totalSeconds: number;
}

function fmt(value: number, digits = 2): string {
  return Number.isFinite(value) ? String(round(value, digits)) : "n/a";
}

/** One line per finding, as ratios: printed at the end of a run and atop latest.md. */
export function headlines(results: BenchResults): string[] {
  const lines: string[] = [];
  for (const warm of results.warmToken) {
    lines.push(
      `${ENGINE_LABELS[warm.engine]}: cached getToken() median ${fmt(warm.cachedNs.median, 0)} ns vs fresh signature ${fmt(warm.freshSignatureNs.median / 1000, 1)} µs: ${fmt(warm.speedup, 0)}x faster`,
    );
  }
  for (const burst of results.coldBurst) {
    const parts = Object.entries(burst.contenders).map(([name, outcome]) => {
      const label = CONTENDER_LABELS[name as keyof typeof CONTENDER_LABELS];
      if ("error" in outcome) return `${label} errored`;
      return `${label} ${outcome.credentialResolutions} credential resolutions / ${outcome.signatures} signatures${outcome.failed > 0 ? ` (${outcome.failed} failed connections)` : ""}`;
    });
    lines.push(
      `${ENGINE_LABELS[burst.engine]} cold burst of ${burst.connections}: ${parts.join("; ")}`,
    );
  }
  for (const open of results.openLatency) {
    const ms = open.openMs;
    lines.push(
      `${ENGINE_LABELS[open.engine]} connection open: ours/static median ${fmt(open.vsStatic.ours.median, 3)}, p99 ${fmt(open.vsStatic.ours.p99, 3)}; naive/ours median ${fmt(ratio(ms.naive.median, ms.ours.median))}x; wrapper/ours median ${fmt(ratio(ms.wrapper.median, ms.ours.median))}x`,
    );
  }
  for (const open of results.packageOpen) {
    lines.push(
      `${PACKAGE_LABELS[open.driver]} connection open: ours/static median ${fmt(open.vsStatic.median, 3)}, p99 ${fmt(open.vsStatic.p99, 3)} (${fmt(open.openMs.ours.median)} ms vs ${fmt(open.openMs.static.median)} ms)`,
    );
  }
  for (const pool of results.rotation) {
    lines.push(
      `${ENGINE_LABELS[pool.engine]} pool over a simulated hour: p99 acquisition at rotations / steady ${fmt(pool.p99RotationVsSteady)} (${fmt(pool.rotationMs.p99)} ms vs ${fmt(pool.steadyMs.p99)} ms), ${pool.errors} errors, ${pool.tokenRotationsAt.length} token re-mints, ${pool.credentialRotationsAt.length} credential rotations`,
    );
  }
  for (const heap of results.memory) {
    lines.push(
      `${ENGINE_LABELS[heap.engine]} memory: ${heap.requests} getToken() over ${heap.users} users: heap ${fmt(heap.heapMiB.warm)} -> ${fmt(heap.heapMiB.half)} -> ${fmt(heap.heapMiB.end)} MiB (second half ${heap.growthSecondHalfMiB >= 0 ? "+" : ""}${fmt(heap.growthSecondHalfMiB)} MiB), cache ${heap.cacheEntries}/${heap.cacheMaxEntries}`,
    );
  }
  for (const shared of results.sharedCredentials) {
    for (const run of shared.variants) {
      lines.push(
        `${shared.objects} ORM objects over ${fmt(shared.simulatedMinutes / 60, 1)} simulated hours (${run.ours.tokenRequests} token requests), ${VARIANT_LABELS[run.variant]}: ours ${run.ours.credentialRequests} credential requests / ${run.ours.signatures} signatures; naive ${run.naive.credentialRequests} / ${run.naive.signatures}; naive/ours ${fmt(run.ratios.credentialRequests, 1)}x credential requests, ${fmt(run.ratios.signatures, 1)}x signatures (first minute, 50 objects at once: ${run.ours.firstMinute.credentialRequests} vs ${run.naive.firstMinute.credentialRequests} credential requests)`,
      );
    }
  }
  return lines;
}

export function printSummary(results: BenchResults, log: (line: string) => void): void {
  log("\n=== ratios ===");
  for (const line of headlines(results)) log(`  ${line}`);
  if (results.errors.length > 0) {
    log("\n=== errors ===");
    for (const error of results.errors) log(`  ${error}`);
  }
  log(`\ntotal ${results.totalSeconds} s`);
}
