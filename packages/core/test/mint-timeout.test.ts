import type { AwsCredentialIdentity } from "@smithy/types";
import { describe, expect, it, vi } from "vitest";
import { isRdsIamError } from "../src/errors";
import { type CreateIamAuthOptions, createIamAuth, iamAuthFor } from "../src/iam-auth";
import { DEFAULT_IAM_TIMEOUT_MS, type IamAuthOptions, resolveIamOptions } from "../src/options";
import { decodeToken, fakeClock, SESSION_CREDENTIALS, STATIC_CREDENTIALS } from "./support";

// Signing is local and fast; to see a hung signature the signer is made to hang on
// demand. Everything else goes to the real implementation.
const signing = vi.hoisted(() => ({ hang: false }));
vi.mock("../src/generate-auth-token", async (importOriginal) => {
  const actual = await importOriginal<typeof import("../src/generate-auth-token")>();
  return {
    ...actual,
    generateAuthToken: (params: Parameters<typeof actual.generateAuthToken>[0]) =>
      signing.hang ? new Promise<string>(() => {}) : actual.generateAuthToken(params),
  };
});

const HOST = "mydb.cluster-abc123.us-east-1.rds.amazonaws.com";
const MINUTE = 60_000;
/** Small, so tests are quick; deadlines below are loose on purpose (two busy cores). */
const TIMEOUT_MS = 200;
/** As in iam-auth.ts: the shared attempt is abandoned at this many times iamTimeout. */
const ATTEMPT_LIMIT_FACTOR = 10;
const ATTEMPT_LIMIT_MS = TIMEOUT_MS * ATTEMPT_LIMIT_FACTOR;
/** Timers do not fire early, but Date.now() and the timer clock may differ by a tick. */
const TIMER_SLACK_MS = 20;
/** Far above ATTEMPT_LIMIT_MS, far below the 60 s test timeout: "it did not hang". */
const PROMPTLY_MS = 15_000;
/** A promise with its settle functions outside, for an answer that comes late or never. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * A provider whose calls are answered by `answer(call, forceRefresh)`: a value, or a
 * promise the test controls (one that never settles is a hung credential source).
 */
function scriptedProvider(
  answer: (
    call: number,
    forceRefresh: boolean,
  ) => AwsCredentialIdentity | Promise<AwsCredentialIdentity>,
) {
  const calls: boolean[] = [];
  const provider = (props?: { forceRefresh?: boolean }) => {
    const forceRefresh = props?.forceRefresh === true;
    calls.push(forceRefresh);
    return Promise.resolve(answer(calls.length, forceRefresh));
  };
  return Object.assign(provider, { calls });
}

function auth(
  provider: CreateIamAuthOptions["credentials"],
  extra: Partial<CreateIamAuthOptions> = {},
) {
  const clock = fakeClock();
  const iam = createIamAuth({
    engine: "postgres",
    host: HOST,
    user: "app",
    credentials: provider,
    clock,
    iamTimeout: TIMEOUT_MS,
    ...extra,
  });
  return { iam, clock };
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

const flush = () => new Promise((resolve) => setTimeout(resolve, 20));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until the attempt(s) in flight were abandoned: `failures` counts attempts, not callers. */
async function abandoned(iam: { stats(): { failures: number } }, failures = 1) {
  await vi.waitFor(() => expect(iam.stats().failures).toBe(failures), {
    timeout: PROMPTLY_MS,
    interval: 20,
  });
}

/** What a caller that gave up waiting is told: the attempt goes on without it. */
const GOES_ON = `It goes on in the background for up to ${ATTEMPT_LIMIT_MS} ms`;
/** What the callers still waiting when the attempt is abandoned are told. */
const ABANDONED = `It was abandoned after ${ATTEMPT_LIMIT_MS} ms; the next attempt starts afresh.`;

describe("iamTimeout bounds each caller's wait, 10 x iamTimeout bounds the attempt", () => {
  it("fails every waiting caller with TIMEOUT while the hung attempt goes on, then recovers once it is abandoned", async () => {
    const never = new Promise<AwsCredentialIdentity>(() => {});
    const provider = scriptedProvider((call) => (call === 1 ? never : STATIC_CREDENTIALS));
    const { iam } = auth(provider);

    const started = Date.now();
    const errors = await Promise.all(Array.from({ length: 5 }, () => rejectionOf(iam.getToken())));
    expect(Date.now() - started).toBeLessThan(PROMPTLY_MS);
    for (const error of errors) {
      expect(isRdsIamError(error)).toBe(true);
      expect(error).toMatchObject({ code: "TIMEOUT", option: "iamTimeout" });
      const message = (error as Error).message;
      expect(message).toContain("credentials");
      expect(message).toContain(`iamTimeout (${TIMEOUT_MS} ms)`);
      expect(message).toContain(GOES_ON);
      expect(message).toContain("called again");
    }
    // One shared attempt, still running: a caller's timeout is not a failed attempt.
    expect(provider.calls).toHaveLength(1);
    expect(iam.stats()).toMatchObject({ mints: 0, failures: 0, credentialResolutions: 1 });

    // Later callers join the same attempt (no new provider call) and time out too.
    const joined = await Promise.all(Array.from({ length: 3 }, () => rejectionOf(iam.getToken())));
    for (const error of joined) expect(error).toMatchObject({ code: "TIMEOUT" });
    expect(provider.calls).toHaveLength(1);
    expect(iam.stats().failures).toBe(0);

    // At 10 x iamTimeout the attempt is abandoned: one failure, still one provider call.
    await abandoned(iam);
    expect(Date.now() - started).toBeGreaterThanOrEqual(ATTEMPT_LIMIT_MS - TIMER_SLACK_MS);
    expect(provider.calls).toHaveLength(1);
    expect(iam.stats()).toMatchObject({ mints: 0, failures: 1 });

    // Not wedged: the next call starts afresh, asks the provider exactly once more, succeeds.
    const token = await iam.getToken();
    expect(decodeToken(token).accessKeyId).toBe(STATIC_CREDENTIALS.accessKeyId);
    expect(provider.calls).toHaveLength(2);
    expect(iam.stats()).toMatchObject({ mints: 1, failures: 1 });
    iam.close();
  });

  it("tells the callers still waiting when the attempt is abandoned that it was", async () => {
    const provider = scriptedProvider(() => new Promise<AwsCredentialIdentity>(() => {}));
    const { iam } = auth(provider);
    const started = Date.now();
    // Callers back to back: whenever one gives up, the next joins, so one of them is
    // waiting at the attempt's deadline and gets the attempt's own error.
    const seen: Error[] = [];
    while (Date.now() - started < PROMPTLY_MS) {
      const error = (await rejectionOf(iam.getToken())) as Error;
      expect(error).toMatchObject({ code: "TIMEOUT", option: "iamTimeout" });
      seen.push(error);
      if (!error.message.includes(GOES_ON)) break;
      expect(error.message).toContain(`iamTimeout (${TIMEOUT_MS} ms)`);
    }
    const last = seen.at(-1) as Error;
    expect(last.message).toContain(`iamTimeout (${ATTEMPT_LIMIT_MS} ms)`);
    expect(last.message).toContain(ABANDONED);
    expect(Date.now() - started).toBeGreaterThanOrEqual(ATTEMPT_LIMIT_MS - TIMER_SLACK_MS);
    // Several callers timed out, one attempt failed, the provider was asked once.
    expect(seen.length).toBeGreaterThan(1);
    expect(provider.calls).toHaveLength(1);
    expect(iam.stats()).toMatchObject({ mints: 0, failures: 1 });
    iam.close();
  });

  it("a slow but valid source: the first caller times out, the attempt goes on and fills the cache", async () => {
    const slowMs = 3 * TIMEOUT_MS;
    const provider = scriptedProvider(
      () =>
        new Promise<AwsCredentialIdentity>((resolve) =>
          setTimeout(() => resolve(STATIC_CREDENTIALS), slowMs),
        ),
    );
    const { iam } = auth(provider);

    const first = await rejectionOf(iam.getToken());
    expect(first).toMatchObject({ code: "TIMEOUT", option: "iamTimeout" });
    expect((first as Error).message).toContain(GOES_ON);
    expect(iam.stats()).toMatchObject({ mints: 0, failures: 0 });

    // A second caller joins the attempt still running and waits its own iamTimeout from
    // now: it gets the token when it arrives, or (on a slow machine) times out too, and
    // then a later call finds the token the attempt cached.
    await sleep(TIMEOUT_MS);
    let token: string;
    try {
      token = await iam.getToken();
    } catch (error) {
      expect(error).toMatchObject({ code: "TIMEOUT" });
      await vi.waitFor(() => expect(iam.stats().mints).toBe(1), { timeout: PROMPTLY_MS });
      const hits = iam.stats().cacheHits;
      token = await iam.getToken();
      expect(iam.stats().cacheHits).toBe(hits + 1);
    }
    expect(decodeToken(token).accessKeyId).toBe(STATIC_CREDENTIALS.accessKeyId);
    expect(await iam.getToken()).toBe(token);
    // The slow source was asked once and its answer used: not starved by re-asking.
    expect(provider.calls).toHaveLength(1);
    expect(iam.stats()).toMatchObject({ mints: 1, failures: 0, credentialResolutions: 1 });
    iam.close();
  });

  it("a caller that joins the running attempt gets the token when it arrives", async () => {
    const late = deferred<AwsCredentialIdentity>();
    const provider = scriptedProvider(() => late.promise);
    const { iam } = auth(provider);
    await expect(iam.getToken()).rejects.toMatchObject({ code: "TIMEOUT" });

    const joined = iam.getTokenWithExpiry();
    late.resolve(STATIC_CREDENTIALS);
    const { token, expiresAt } = await joined;
    expect(decodeToken(token).accessKeyId).toBe(STATIC_CREDENTIALS.accessKeyId);
    expect(expiresAt).toEqual(expect.any(Number));
    expect(await iam.getToken()).toBe(token);
    expect(provider.calls).toHaveLength(1);
    expect(iam.stats()).toMatchObject({ mints: 1, failures: 0 });
    iam.close();
  });

  it("getTokenWithExpiry is bounded the same way", async () => {
    const provider = scriptedProvider((call) =>
      call === 1 ? new Promise<AwsCredentialIdentity>(() => {}) : STATIC_CREDENTIALS,
    );
    const { iam } = auth(provider);
    await expect(iam.getTokenWithExpiry()).rejects.toMatchObject({ code: "TIMEOUT" });
    await expect(iam.getTokenWithExpiry()).rejects.toMatchObject({ code: "TIMEOUT" });
    expect(provider.calls).toHaveLength(1);
    await abandoned(iam);
    await expect(iam.getTokenWithExpiry()).resolves.toMatchObject({
      expiresAt: expect.any(Number),
    });
    expect(provider.calls).toHaveLength(2);
    iam.close();
  });

  it("ignores the late answer of an abandoned attempt, value or error", async () => {
    const late = [deferred<AwsCredentialIdentity>(), deferred<AwsCredentialIdentity>()];
    const provider = scriptedProvider((call) => {
      const pending = late[call - 1];
      return pending === undefined ? STATIC_CREDENTIALS : pending.promise;
    });
    const { iam } = auth(provider);
    // Two attempts hang in turn; each is abandoned before the next one starts.
    await expect(iam.getToken()).rejects.toMatchObject({ code: "TIMEOUT" });
    await abandoned(iam, 1);
    await expect(iam.getToken()).rejects.toMatchObject({ code: "TIMEOUT" });
    await abandoned(iam, 2);
    const token = await iam.getToken();
    expect(provider.calls).toHaveLength(3);

    // The hung calls answer at last: one with other credentials, one with an error.
    // Neither may reach the cache, the counters, or surface as an unhandled rejection.
    late[0]?.resolve({ ...SESSION_CREDENTIALS, accessKeyId: "ASIALATEANSWER01" });
    late[1]?.reject(new Error("late failure of the hung credential source"));
    await flush();
    expect(await iam.getToken()).toBe(token);
    expect(provider.calls).toHaveLength(3);
    expect(iam.stats()).toMatchObject({ mints: 1, failures: 2, credentialResolutions: 3 });
    iam.close();
  });

  it("counts a hung forced refresh of expiring credentials against the same deadline", async () => {
    const clock = fakeClock();
    const expiring = {
      ...SESSION_CREDENTIALS,
      accessKeyId: "ASIAEXPIRINGSOON01",
      expiration: new Date(clock() + 5 * MINUTE),
    };
    const fresh = {
      ...SESSION_CREDENTIALS,
      accessKeyId: "ASIAFRESHSET00001",
      expiration: new Date(clock() + 60 * MINUTE),
    };
    let refreshes = 0;
    const provider = scriptedProvider((_call, forceRefresh) => {
      if (!forceRefresh) return expiring;
      refreshes++;
      return refreshes === 1 ? new Promise<AwsCredentialIdentity>(() => {}) : fresh;
    });
    const { iam } = auth(provider, { clock });
    const error = await rejectionOf(iam.getToken());
    expect(error).toMatchObject({ code: "TIMEOUT", option: "iamTimeout" });
    expect((error as Error).message).toContain("credentials");
    expect(provider.calls).toEqual([false, true]);
    await abandoned(iam);
    expect(decodeToken(await iam.getToken()).accessKeyId).toBe(fresh.accessKeyId);
    expect(provider.calls).toEqual([false, true, false, true]);
    iam.close();
  });

  it("names signing when the signature is what hangs", async () => {
    const provider = scriptedProvider(() => STATIC_CREDENTIALS);
    const { iam } = auth(provider);
    signing.hang = true;
    let error: unknown;
    try {
      error = await rejectionOf(iam.getToken());
    } finally {
      signing.hang = false;
    }
    expect(error).toMatchObject({ code: "TIMEOUT", option: "iamTimeout" });
    expect((error as Error).message).toMatch(/^Signing the IAM token/);
    expect((error as Error).message).toContain(GOES_ON);
    // A caller joining the same hung signature is told the same.
    const joined = await rejectionOf(iam.getToken());
    expect((joined as Error).message).toMatch(/^Signing the IAM token/);
    await abandoned(iam);
    expect(await iam.getToken()).toEqual(expect.any(String));
    expect(provider.calls).toHaveLength(2);
    iam.close();
  });

  it("a hung background refresh keeps the cached token and its backoff, bounded by 10 x iamTimeout only", async () => {
    let hang = false;
    const provider = scriptedProvider(() =>
      hang ? new Promise<AwsCredentialIdentity>(() => {}) : STATIC_CREDENTIALS,
    );
    const { iam, clock } = auth(provider);
    const first = await iam.getToken();
    clock.advance(845_000); // inside the refresh window
    hang = true;
    const started = Date.now();
    expect(await iam.getToken()).toBe(first);
    // No caller waits on a background refresh: past iamTimeout it still runs.
    await sleep(2 * TIMEOUT_MS);
    expect(iam.stats()).toMatchObject({ refreshesAhead: 1, mints: 1, failures: 0 });
    expect(await iam.getToken()).toBe(first);
    await abandoned(iam);
    expect(Date.now() - started).toBeGreaterThanOrEqual(ATTEMPT_LIMIT_MS - TIMER_SLACK_MS);
    expect(iam.stats()).toMatchObject({ refreshesAhead: 1, mints: 1 });
    // Backing off (clock time has not moved): served from the cache, no new attempt.
    for (let i = 0; i < 5; i++) expect(await iam.getToken()).toBe(first);
    await flush();
    expect(provider.calls).toHaveLength(2);

    hang = false;
    clock.advance(2_000);
    expect(await iam.getToken()).toBe(first);
    await vi.waitFor(() => expect(iam.stats().mints).toBe(2), { timeout: PROMPTLY_MS });
    expect(iam.stats()).toMatchObject({ refreshesAhead: 2, failures: 1 });
    iam.close();
  });
});

describe("iamTimeout option", () => {
  const base: IamAuthOptions = { engine: "postgres", host: HOST, user: "app" };

  it("defaults to 5000 ms and accepts 100 to 120000", () => {
    expect(DEFAULT_IAM_TIMEOUT_MS).toBe(5000);
    expect(resolveIamOptions(base).iamTimeout).toBe(5000);
    expect(resolveIamOptions({ ...base, iamTimeout: 100 }).iamTimeout).toBe(100);
    expect(resolveIamOptions({ ...base, iamTimeout: 120_000 }).iamTimeout).toBe(120_000);
  });

  it.each([
    ["0", 0],
    ["-1", -1],
    ['"5000"', "5000"],
    ["NaN", Number.NaN],
    ["Infinity", Number.POSITIVE_INFINITY],
    ["1e9", 1e9],
    ["99", 99],
    ["1.5", 1500.5],
  ])("rejects %s with INVALID_OPTION naming iamTimeout", (_label, value) => {
    let caught: unknown;
    try {
      resolveIamOptions({ ...base, iamTimeout: value } as IamAuthOptions);
    } catch (error) {
      caught = error;
    }
    expect(isRdsIamError(caught)).toBe(true);
    expect(caught).toMatchObject({ code: "INVALID_OPTION", option: "iamTimeout" });
    const message = (caught as Error).message;
    expect(message).toContain("iamTimeout");
    expect(message).toContain("100 to 120000");
    expect(message).toContain("default of 5000");
  });

  it("names the adapter's own spelling, at construction and on timeout", async () => {
    expect(() =>
      resolveIamOptions({ ...base, iamTimeout: 0 }, { iamTimeout: "iam.timeout" }),
    ).toThrow(/iam\.timeout must be/);
    const names = { iamTimeout: "iam.timeout" };
    const iam = iamAuthFor(
      resolveIamOptions(
        {
          ...base,
          iamTimeout: TIMEOUT_MS,
          credentials: () => new Promise<AwsCredentialIdentity>(() => {}),
        },
        names,
      ),
      undefined,
      names,
    );
    const error = await rejectionOf(iam.getToken());
    expect(error).toMatchObject({ code: "TIMEOUT", option: "iam.timeout" });
    expect((error as Error).message).toContain(`iam.timeout (${TIMEOUT_MS} ms)`);
    expect((error as Error).message).toContain("Raise iam.timeout");
    iam.close();
  });
});
