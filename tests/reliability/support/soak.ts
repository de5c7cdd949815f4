import type { IamAuth } from "@rds-iam/core";
import type { RotatingWorld } from "./simulation";

/** What a soak needs from a pool, whichever driver or ORM is behind it. */
export interface SoakTarget {
  /** Runs one query that proves the session works (and checks its answer). */
  query(n: number): Promise<void>;
  /** Makes the pool open a new physical connection for a later query (destroys one). */
  recycle(): Promise<void>;
  /**
   * Resolves once the pool has no connection attempt under way. A pool may open
   * connections in the background (knex's tarn does); the simulated clock must not
   * jump a minute while one is mid-handshake, which real time never does.
   */
  settle?(): Promise<void>;
}

export interface SoakResult {
  readonly steps: number;
  readonly queries: number;
  readonly failures: readonly { at: number; error: unknown }[];
  /** Logins the gateway accepted / refused during the soak. */
  readonly logins: number;
  readonly refused: number;
  /** Credential sets issued and requests the credential endpoint received during the soak. */
  readonly credentialSets: number;
  readonly credentialRequests: number;
}

/**
 * Runs a pool for `spanMs` of simulated time: every `stepMs` the clock moves on, one
 * connection is recycled (so a login, and a token, is needed every step), and
 * `concurrency` queries run at once. Failures are collected, not thrown, so the test
 * can report every one.
 */
export async function runSoak(options: {
  world: RotatingWorld;
  target: SoakTarget;
  spanMs: number;
  stepMs: number;
  concurrency: number;
}): Promise<SoakResult> {
  const { world, target, spanMs, stepMs, concurrency } = options;
  const start = world.clock();
  const gatewayBefore = world.fixture.gateway.stats();
  const serverBefore = world.server.stats();
  const failures: { at: number; error: unknown }[] = [];
  let queries = 0;
  let steps = 0;
  const run = async (work: () => Promise<void>) => {
    try {
      await work();
    } catch (error) {
      failures.push({ at: world.clock() - start, error });
    }
  };
  while (world.clock() - start < spanMs) {
    world.clock.advance(stepMs);
    steps++;
    await run(() => target.recycle());
    await Promise.all(
      Array.from({ length: concurrency }, (_, i) => {
        queries++;
        return run(() => target.query(steps * concurrency + i));
      }),
    );
    await target.settle?.();
  }
  const gatewayAfter = world.fixture.gateway.stats();
  const refused = (stats: typeof gatewayAfter) =>
    Object.values(stats.rejected).reduce((sum, n) => sum + (n ?? 0), 0);
  return {
    steps,
    queries,
    failures,
    logins: gatewayAfter.accepted - gatewayBefore.accepted,
    refused: refused(gatewayAfter) - refused(gatewayBefore),
    credentialSets: world.server.stats().issued - serverBefore.issued,
    credentialRequests: world.server.stats().requests - serverBefore.requests,
  };
}

/** A short, secret-free description of soak failures for assertion messages. */
export function describeFailures(result: SoakResult): string {
  return result.failures
    .slice(0, 5)
    .map(({ at, error }) => `at +${Math.round(at / 60_000)} min: ${(error as Error)?.message}`)
    .join("\n");
}

/** Mints and credential resolutions of a provider, for assertions. */
export function mintsOf(auth: IamAuth): number {
  return auth.stats().mints;
}
