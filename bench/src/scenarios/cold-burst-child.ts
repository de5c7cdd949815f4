/**
 * One contender's cold burst, in a process of its own (nothing cached: no token, no
 * credentials, no wrapper state). Started by cold-burst.ts; prints one result line.
 */
import { createContender } from "../contenders";
import { describeError } from "../describe-error";
import { since, summarize } from "../measure";
import { guardReport, installNetworkGuard } from "../network-guard";
import { countSignatures } from "../signature-counter";
import { SessionGate } from "../socket-gate";
import { type BurstChildResult, type BurstInput, RESULT_PREFIX } from "./cold-burst";

async function main(): Promise<void> {
  installNetworkGuard();
  const input = JSON.parse(process.env.BENCH_BURST_INPUT ?? "") as BurstInput;
  const signatures = countSignatures();
  const gate = new SessionGate(input.sessionLimit);
  const contender = await createContender(input.contender, input.target, { gate });
  const attempts: number[] = [];
  const errors: string[] = [];
  const start = performance.now();
  await Promise.all(
    Array.from({ length: input.connections }, async () => {
      const began = performance.now();
      try {
        const session = await contender.open();
        try {
          await session.query();
          attempts.push(since(began));
        } finally {
          await session.end();
        }
      } catch (error) {
        errors.push(describeError(error));
      }
    }),
  );
  const wallMs = since(start);
  const stats = contender.stats();
  contender.close();
  const result: BurstChildResult = {
    connected: attempts.length,
    failed: errors.length,
    errorSamples: [...new Set(errors)].slice(0, 3),
    wallMs,
    attemptMs: summarize(attempts),
    signatures: signatures(),
    ...(stats === undefined
      ? {}
      : { ours: { mints: stats.mints, credentialResolutions: stats.credentialResolutions } }),
    peakSessions: gate.peak,
    networkBlocked: guardReport().blocked,
  };
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`);
}

main().then(
  // Drivers and the wrapper may leave timers behind; the result is out, so leave.
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`burst child failed: ${describeError(error)}\n`);
    process.exit(1);
  },
);
