import { describe, expect, it } from "vitest";
import type { WriterLookup } from "../src/describe-global-cluster";
import { isRdsIamError, RdsIamError } from "../src/errors";
import { GlobalWriterRegion } from "../src/global-writer-region";
import { fakeClock, STATIC_CREDENTIALS } from "./support";

// The look-up itself (the SDK against the RDS API) is tested in
// describe-global-cluster.test.ts; here a stand-in answers, so that caching, single
// flight and the rules after a rejection can be driven step by step.
function standIn(initial: string) {
  let region = initial;
  let calls = 0;
  let fail: Error | undefined;
  let gate: Promise<void> | undefined;
  const seen: WriterLookup[] = [];
  return {
    describe: async (lookup: WriterLookup) => {
      calls++;
      seen.push(lookup);
      if (gate) await gate;
      if (fail) throw fail;
      return region;
    },
    moveTo(next: string) {
      region = next;
    },
    failWith(error: Error | undefined) {
      fail = error;
    },
    hold() {
      let release = () => {};
      gate = new Promise<void>((resolve) => {
        release = () => {
          gate = undefined;
          resolve();
        };
      });
      return release;
    },
    get calls() {
      return calls;
    },
    seen,
  };
}

function writerFor(api: ReturnType<typeof standIn>, clock = fakeClock(), timeoutMs = 5_000) {
  return new GlobalWriterRegion(
    { globalClusterIdentifier: "mydb", apiRegion: "us-east-1" },
    {
      iamHost: "mydb.global-abc123.global.rds.amazonaws.com",
      clock,
      timeoutMs,
      describe: api.describe,
    },
  );
}

const credentials = async () => ({ ...STATIC_CREDENTIALS });

describe("GlobalWriterRegion", () => {
  it("looks the writer up once and caches it; concurrent callers share the look-up", async () => {
    const api = standIn("eu-west-1");
    const writer = writerFor(api);
    expect(writer.known).toBeUndefined();
    const release = api.hold();
    const all = Array.from({ length: 20 }, () => writer.region(credentials));
    release();
    const answers = await Promise.all(all);
    expect(new Set(answers.map((a) => a.region))).toEqual(new Set(["eu-west-1"]));
    expect(api.calls).toBe(1);
    for (let i = 0; i < 50; i++) await writer.region(credentials);
    expect(api.calls).toBe(1);
    expect(writer.lookups).toBe(1);
    expect(api.seen[0]).toMatchObject({
      globalClusterIdentifier: "mydb",
      apiRegion: "us-east-1",
      credentials: STATIC_CREDENTIALS,
    });
  });

  it("after a rejection of a token signed under the current look-up, looks again once", async () => {
    const api = standIn("eu-west-1");
    const writer = writerFor(api);
    const first = await writer.region(credentials);
    api.moveTo("us-west-2");
    // A burst of rejections of tokens signed under the first look-up: one look-up.
    for (let i = 0; i < 10; i++) writer.rejected(first.generation);
    const answers = await Promise.all(Array.from({ length: 10 }, () => writer.region(credentials)));
    expect(answers.every((a) => a.region === "us-west-2")).toBe(true);
    expect(api.calls).toBe(2);
    // A late rejection of a token signed before the second look-up asks nothing more.
    writer.rejected(first.generation);
    expect((await writer.region(credentials)).region).toBe("us-west-2");
    expect(api.calls).toBe(2);
  });

  it("a look-up that found no move holds further rejection look-ups for 5 s; a move does not", async () => {
    const clock = fakeClock();
    const api = standIn("eu-west-1");
    const writer = writerFor(api, clock);
    const first = await writer.region(credentials);
    // Rejected for another reason (the writer did not move): one look-up confirms it.
    writer.rejected(first.generation);
    const second = await writer.region(credentials);
    expect(second.region).toBe("eu-west-1");
    expect(api.calls).toBe(2);
    // More rejections within 5 s: no look-up per connection.
    clock.advance(4_000);
    writer.rejected(second.generation);
    await writer.region(credentials);
    expect(api.calls).toBe(2);
    // After 5 s a rejection may look again, and finds a failover.
    clock.advance(1_001);
    api.moveTo("ap-south-1");
    writer.rejected(second.generation);
    const third = await writer.region(credentials);
    expect(third.region).toBe("ap-south-1");
    expect(api.calls).toBe(3);
    // That look-up found a move: a second failover right after is followed at once.
    api.moveTo("eu-west-1");
    writer.rejected(third.generation);
    expect((await writer.region(credentials)).region).toBe("eu-west-1");
    expect(api.calls).toBe(4);
  });

  it("a failed look-up is not cached beyond a second, and its error is shared meanwhile", async () => {
    const clock = fakeClock();
    const api = standIn("eu-west-1");
    const writer = writerFor(api, clock);
    api.failWith(new RdsIamError("GLOBAL_WRITER_ACCESS_DENIED", "denied", { option: "iamRegion" }));
    const errors = await Promise.all(
      Array.from({ length: 5 }, () => writer.region(credentials).catch((e: unknown) => e)),
    );
    expect(errors.every((e) => isRdsIamError(e) && e.code === "GLOBAL_WRITER_ACCESS_DENIED")).toBe(
      true,
    );
    await expect(writer.region(credentials)).rejects.toMatchObject({
      code: "GLOBAL_WRITER_ACCESS_DENIED",
    });
    expect(api.calls).toBe(1);
    api.failWith(undefined);
    clock.advance(1_000);
    expect((await writer.region(credentials)).region).toBe("eu-west-1");
    expect(api.calls).toBe(2);
  });

  it("a look-up that does not answer is aborted at iamTimeout with TIMEOUT", async () => {
    const api = standIn("eu-west-1");
    let aborted = false;
    const writer = new GlobalWriterRegion(
      { globalClusterIdentifier: "mydb", apiRegion: "us-east-1" },
      {
        iamHost: "mydb.global-abc123.global.rds.amazonaws.com",
        clock: fakeClock(),
        timeoutMs: 150,
        describe: (lookup) =>
          new Promise((_, reject) => {
            lookup.signal.addEventListener("abort", () => {
              aborted = true;
              reject(new Error("aborted by the SDK"));
            });
          }),
      },
    );
    const started = Date.now();
    const error = await writer.region(credentials).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(aborted).toBe(true);
    expect(isRdsIamError(error) && error.code).toBe("TIMEOUT");
    expect(String((error as Error).message)).toContain("iamTimeout (150 ms)");
    expect(String((error as Error).message)).toContain("rds:DescribeGlobalClusters");
    expect(api.calls).toBe(0);
  });

  it("credentials that never answer do not leave a look-up in flight for ever", async () => {
    const clock = fakeClock();
    const api = standIn("eu-west-1");
    const writer = writerFor(api, clock, 150);
    const error = await writer.region(() => new Promise(() => {})).catch((e: unknown) => e);
    expect(isRdsIamError(error) && error.code).toBe("TIMEOUT");
    expect(api.calls).toBe(0);
    // The next caller (once the failure's second is over) starts afresh.
    clock.advance(1_000);
    expect((await writer.region(credentials)).region).toBe("eu-west-1");
    expect(api.calls).toBe(1);
  });

  it("an unexpected failure becomes GLOBAL_WRITER_LOOKUP_FAILED", async () => {
    const api = standIn("eu-west-1");
    api.failWith(new Error("boom"));
    const writer = writerFor(api);
    await expect(writer.region(credentials)).rejects.toMatchObject({
      code: "GLOBAL_WRITER_LOOKUP_FAILED",
      option: "iamRegion",
    });
  });
});
