import { Signer } from "@aws-sdk/rds-signer";
import { createIamAuth } from "@rds-iam/core";
import { round, summarize } from "../measure";
import { BENCH_CREDENTIALS, type Engine, RDS_ENDPOINTS } from "../setup";

export interface WarmTokenResult {
  readonly engine: Engine;
  /** ns per cached getToken(), per batch of calls. */
  readonly cachedNs: ReturnType<typeof summarize>;
  /** ns per fresh signature (new Signer().getAuthToken(), static credentials). */
  readonly freshSignatureNs: ReturnType<typeof summarize>;
  readonly speedup: number;
}

/**
 * Scenario 1: the token on the connect path once warm. Batches of calls, timed per
 * batch, so the timer's own cost does not dominate sub-microsecond work.
 */
export async function warmToken(engine: Engine): Promise<WarmTokenResult> {
  const endpoint = RDS_ENDPOINTS[engine];
  const auth = createIamAuth({
    engine,
    host: endpoint.hostname,
    port: endpoint.port,
    user: "bench",
    credentials: BENCH_CREDENTIALS,
  });
  await auth.getToken();
  const batch = 1000;
  const cached: number[] = [];
  for (let round_ = 0; round_ < 300; round_++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) await auth.getToken();
    cached.push(Number(process.hrtime.bigint() - start) / batch);
  }
  auth.close();

  const fresh: number[] = [];
  for (let i = 0; i < 3000; i++) {
    const start = process.hrtime.bigint();
    await new Signer({
      hostname: endpoint.hostname,
      port: endpoint.port,
      username: "bench",
      region: "us-east-1",
      credentials: BENCH_CREDENTIALS,
    }).getAuthToken();
    fresh.push(Number(process.hrtime.bigint() - start));
  }
  const cachedNs = summarize(cached.slice(50));
  const freshSignatureNs = summarize(fresh.slice(1000));
  return {
    engine,
    cachedNs,
    freshSignatureNs,
    speedup: round(freshSignatureNs.median / cachedNs.median, 1),
  };
}
