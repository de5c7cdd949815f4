import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { createIamAuth, TokenCache } from "@rds-iam/core";
import { round } from "../measure";
import { BENCH_CREDENTIALS, type Engine, RDS_ENDPOINTS, REGION } from "../setup";

export interface MemoryResult {
  readonly engine: Engine;
  readonly requests: number;
  readonly users: number;
  readonly mints: number;
  readonly simulatedSeconds: number;
  readonly cacheEntries: number;
  readonly cacheMaxEntries: number;
  /** Heap used after warm-up, after the first half and after all requests (MiB, after GC). */
  readonly heapMiB: { readonly warm: number; readonly half: number; readonly end: number };
  /** Heap change over the second half (MiB): near 0 means flat. */
  readonly growthSecondHalfMiB: number;
  /** Heap change per 1,000 requests over the measured part (KiB). */
  readonly growthPerThousandKiB: number;
}

/** A real full GC without starting node with --expose-gc. */
function exposeGc(): () => void {
  if (typeof globalThis.gc === "function") return globalThis.gc;
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
}

/**
 * Scenario 5: 100k token requests across 1,000 users sharing one bounded cache
 * (default bound: 1,000 entries), 100 at a time. A fake clock moves 1 s per 100
 * requests, so every user's token is re-minted once during the run and replaced
 * entries would show up as growth if anything kept them.
 */
export async function memory(engine: Engine): Promise<MemoryResult> {
  const gc = exposeGc();
  const heapMiB = () => {
    gc();
    gc();
    return round(process.memoryUsage().heapUsed / 1024 / 1024, 2);
  };
  const endpoint = RDS_ENDPOINTS[engine];
  const users = 1000;
  const warmup = 10_000;
  const requests = 100_000;
  let now = Date.now();
  const start = now;
  const clock = () => now;
  const tokenCache = new TokenCache();
  const providers = Array.from({ length: users }, (_, i) =>
    createIamAuth({
      engine,
      host: endpoint.hostname,
      port: endpoint.port,
      iamRegion: REGION,
      user: `user${i}`,
      credentials: BENCH_CREDENTIALS,
      tokenCache,
      clock,
    }),
  );
  const run = async (from: number, to: number) => {
    for (let i = from; i < to; i += 100) {
      now += 1000;
      await Promise.all(
        Array.from({ length: 100 }, (_, j) => providers[(i + j) % users]?.getToken()),
      );
    }
  };
  await run(0, warmup);
  const warm = heapMiB();
  await run(warmup, warmup + requests / 2);
  const half = heapMiB();
  await run(warmup + requests / 2, warmup + requests);
  // Background re-mints started by the last batches land before the final reading.
  await new Promise((resolve) => setTimeout(resolve, 50));
  const end = heapMiB();
  const mints = providers.reduce((sum, provider) => sum + provider.stats().mints, 0);
  for (const provider of providers) provider.close();
  return {
    engine,
    requests,
    users,
    mints,
    simulatedSeconds: (now - start) / 1000,
    cacheEntries: tokenCache.size,
    cacheMaxEntries: tokenCache.maxEntries,
    heapMiB: { warm, half, end },
    growthSecondHalfMiB: round(end - half, 2),
    growthPerThousandKiB: round(((end - warm) * 1024) / (requests / 1000), 2),
  };
}
