import { describe, expect, it } from "vitest";
import { createIamAuth } from "../src/iam-auth";
import { pauseIamAuth } from "../src/pause";
import { fakeClock, STATIC_CREDENTIALS } from "./support";

const HOST = "mydb.cluster-abc123.us-east-1.rds.amazonaws.com";
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A provider function of its own (so its source is too), counting calls. */
function counting() {
  let calls = 0;
  const provider = async () => {
    calls++;
    return STATIC_CREDENTIALS;
  };
  return Object.assign(provider, { calls: () => calls });
}

// A 1 s token lifetime puts the refresh timer 750 ms after the mint, in real time.
const shortLived = (user: string, credentials: ReturnType<typeof counting>) =>
  createIamAuth({ engine: "postgres", host: HOST, user, credentials, iamTokenExpiration: 1 });

describe("TokenSource", () => {
  it("re-mints a used token in the background while a provider is attached", async () => {
    const credentials = counting();
    const auth = shortLived("timer_app", credentials);
    await auth.getToken();
    await auth.getToken();
    await sleep(900);
    expect(auth.stats()).toMatchObject({ mints: 2, refreshesAhead: 1 });
    expect(credentials.calls()).toBe(2);
    auth.close();
  });

  it("does no background work once every provider using it is paused or closed", async () => {
    const credentials = counting();
    const a = shortLived("paused_app", credentials);
    const b = shortLived("paused_app", credentials);
    await a.getToken();
    await b.getToken();
    pauseIamAuth(a);
    b.close();
    await sleep(1_100);
    expect(a.stats().mints + b.stats().mints).toBe(1);
    expect(credentials.calls()).toBe(1);
    // A paused provider resumes with its next call (the token lapsed meanwhile).
    await a.getToken();
    expect(a.stats().mints).toBe(2);
    a.close();
  });

  it("a paused provider used again gets its background refresh back", async () => {
    const credentials = counting();
    const auth = shortLived("resumed_app", credentials);
    const token = await auth.getToken();
    pauseIamAuth(auth);
    await sleep(100);
    // Resumed with the token still cached: the refresh timer is set again.
    expect(await auth.getToken()).toBe(token);
    await sleep(800);
    expect(auth.stats()).toMatchObject({ mints: 2, refreshesAhead: 1 });
    auth.close();
  });

  it("keeps refreshing for the providers still attached when one is paused", async () => {
    const credentials = counting();
    const a = shortLived("half_app", credentials);
    const b = shortLived("half_app", credentials);
    await a.getToken();
    await b.getToken();
    pauseIamAuth(a);
    await sleep(900);
    expect(a.stats().mints + b.stats().mints).toBe(2);
    a.close();
    b.close();
  });

  it("counts work on the provider that caused it", async () => {
    const clock = fakeClock();
    const credentials = counting();
    const options = {
      engine: "mysql",
      host: HOST,
      user: "counted_app",
      credentials,
      clock,
    } as const;
    const a = createIamAuth(options);
    const b = createIamAuth(options);
    await Promise.all([a.getToken(), b.getToken()]);
    // One mint, started by the first caller; the second waited on it.
    expect(a.stats()).toMatchObject({ mints: 1, credentialResolutions: 1, cacheHits: 0 });
    expect(b.stats()).toMatchObject({ mints: 0, credentialResolutions: 0, cacheHits: 0 });
    clock.advance(14 * 60_000 + 10_000);
    await b.getToken();
    // b's use fell in the refresh window: b started the refresh ahead.
    expect(b.stats()).toMatchObject({ cacheHits: 1, refreshesAhead: 1 });
    a.close();
    b.close();
  });
});
