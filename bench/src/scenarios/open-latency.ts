import { type Contender, type ContenderName, createContender } from "../contenders";
import { describeError } from "../describe-error";
import { ratio, round, since, summarize } from "../measure";
import type { BenchTarget, Engine } from "../setup";

export const OPEN_CONTENDERS: readonly ContenderName[] = ["ours", "static", "naive", "wrapper"];

export interface OpenLatencyResult {
  readonly engine: Engine;
  readonly samplesPerContender: number;
  readonly warmupPerContender: number;
  /** ms from creating the client to `connect()` resolving. */
  readonly openMs: Readonly<Record<ContenderName, ReturnType<typeof summarize>>>;
  readonly failures: Readonly<Record<ContenderName, number>>;
  readonly errorSamples: readonly string[];
  /** Each contender's median and p99 divided by the static password's. */
  readonly vsStatic: Readonly<Record<ContenderName, { median: number; p99: number }>>;
}

/**
 * Scenario 3: connection open latency through the gateway, one connection at a time
 * (so queueing never hides per-connection cost), contenders interleaved round by
 * round in rotating order (so drift in the machine's load hits all alike), after a
 * warm-up that fills caches the way a running application has them filled.
 */
export async function openLatency(
  target: BenchTarget,
  options: { samples: number; warmup: number; staticPassword: string },
): Promise<OpenLatencyResult> {
  const contenders: Contender[] = [];
  for (const name of OPEN_CONTENDERS) {
    contenders.push(
      await createContender(name, target, { staticPassword: options.staticPassword }),
    );
  }
  const samples = Object.fromEntries(OPEN_CONTENDERS.map((name) => [name, [] as number[]]));
  const failures = Object.fromEntries(OPEN_CONTENDERS.map((name) => [name, 0]));
  const errors = new Set<string>();

  const once = async (contender: Contender, record: boolean) => {
    const start = performance.now();
    try {
      const session = await contender.open();
      const elapsed = since(start);
      try {
        await session.query();
        if (record) samples[contender.name]?.push(elapsed);
      } finally {
        await session.end();
      }
    } catch (error) {
      failures[contender.name] = (failures[contender.name] ?? 0) + 1;
      errors.add(`${contender.name}: ${describeError(error)}`);
    }
  };

  try {
    for (let round_ = 0; round_ < options.warmup + options.samples; round_++) {
      for (let i = 0; i < contenders.length; i++) {
        const contender = contenders[(round_ + i) % contenders.length];
        if (contender !== undefined) await once(contender, round_ >= options.warmup);
      }
    }
  } finally {
    for (const contender of contenders) contender.close();
  }

  const openMs = Object.fromEntries(
    OPEN_CONTENDERS.map((name) => [name, summarize(samples[name] ?? [])]),
  ) as Record<ContenderName, ReturnType<typeof summarize>>;
  const floor = openMs.static;
  const vsStatic = Object.fromEntries(
    OPEN_CONTENDERS.map((name) => [
      name,
      {
        median: round(ratio(openMs[name].median, floor.median)),
        p99: round(ratio(openMs[name].p99, floor.p99)),
      },
    ]),
  ) as Record<ContenderName, { median: number; p99: number }>;
  return {
    engine: target.engine,
    samplesPerContender: options.samples,
    warmupPerContender: options.warmup,
    openMs,
    failures: failures as Record<ContenderName, number>,
    errorSamples: [...errors].slice(0, 5),
    vsStatic,
  };
}
