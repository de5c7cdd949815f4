import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { inspect, promisify } from "node:util";
import type { AwsCredentialIdentity } from "@smithy/types";
import { describe, expect, it } from "vitest";
import { isRdsIamError } from "../src/errors";
import { type CreateIamAuthOptions, createIamAuth } from "../src/iam-auth";
import { TokenCache } from "../src/token-cache";
import { decodeToken, fakeClock, SESSION_CREDENTIALS, STATIC_CREDENTIALS } from "./support";

const HOST = "mydb.cluster-abc123.us-east-1.rds.amazonaws.com";
const MINUTE = 60_000;

/** A provider that counts calls and can be told what to return or to fail. */
function countingProvider(make: (call: number, forceRefresh: boolean) => AwsCredentialIdentity) {
  let calls = 0;
  const forced: boolean[] = [];
  let failNext = 0;
  const provider = async (props?: { forceRefresh?: boolean }) => {
    calls++;
    forced.push(props?.forceRefresh === true);
    // Let concurrent callers pile up, as a network credential source would.
    await new Promise((resolve) => setTimeout(resolve, 5));
    if (failNext > 0) {
      failNext--;
      throw new Error("credential endpoint unavailable");
    }
    return make(calls, props?.forceRefresh === true);
  };
  // defineProperty, not Object.assign: assign would copy the getter's value once.
  Object.defineProperty(provider, "calls", { get: () => calls });
  return Object.assign(provider as typeof provider & { readonly calls: number }, {
    forced,
    failNextCalls(n: number) {
      failNext = n;
    },
  });
}

function auth(extra: Partial<CreateIamAuthOptions> = {}) {
  const clock = fakeClock();
  const provider = countingProvider(() => STATIC_CREDENTIALS);
  const iam = createIamAuth({
    engine: "postgres",
    host: HOST,
    user: "app",
    credentials: provider,
    clock,
    ...extra,
  });
  return { iam, clock, provider };
}

const flush = () => new Promise((resolve) => setTimeout(resolve, 20));

describe("createIamAuth", () => {
  it("answers 1000 concurrent callers on a cold cache with one mint and one credential resolution", async () => {
    const { iam, provider } = auth();
    const tokens = await Promise.all(Array.from({ length: 1000 }, () => iam.getToken()));
    expect(new Set(tokens).size).toBe(1);
    expect(provider.calls).toBe(1);
    expect(iam.stats()).toMatchObject({ mints: 1, credentialResolutions: 1, failures: 0 });
    await iam.getToken();
    expect(iam.stats()).toMatchObject({ mints: 1, cacheHits: 1 });
    iam.close();
  });

  it("signs at the injected clock's time for the resolved endpoint", async () => {
    const { iam, clock } = auth({
      host: "127.0.0.1",
      port: 15432,
      iamHost: HOST,
      iamDefaultPort: 5432,
    });
    const decoded = decodeToken(await iam.getToken());
    expect(decoded.host).toBe(`${HOST}:5432`);
    expect(decoded.params.get("X-Amz-Date")).toBe(
      new Date(clock())
        .toISOString()
        .replace(/[-:]/g, "")
        .replace(/\.\d{3}/, ""),
    );
    expect(iam.target).toMatchObject({
      host: "127.0.0.1",
      port: 15432,
      iamHost: HOST,
      iamDefaultPort: 5432,
    });
    iam.close();
  });

  it("serves a token until its lifetime ends, refreshing ahead in the background", async () => {
    const { iam, clock } = auth();
    const first = await iam.getToken();
    clock.advance(800_000); // 800 s: fresh, no refresh yet
    expect(await iam.getToken()).toBe(first);
    expect(iam.stats().mints).toBe(1);

    clock.advance(45_000); // 845 s: inside the refresh window, still served at once
    expect(await iam.getToken()).toBe(first);
    await flush();
    expect(iam.stats()).toMatchObject({ mints: 2, refreshesAhead: 1 });
    const second = await iam.getToken();
    expect(second).not.toBe(first);

    clock.advance(871_000); // past the second token's life with no use in between
    const third = await iam.getToken();
    expect(third).not.toBe(second);
    expect(iam.stats().mints).toBe(3);
    iam.close();
  });

  it("honours iamTokenExpiration", async () => {
    const { iam, clock } = auth({ iamTokenExpiration: 60 });
    const first = await iam.getToken();
    clock.advance(61_000);
    expect(await iam.getToken()).not.toBe(first);
    expect(iam.stats().mints).toBe(2);
    iam.close();
  });

  it("never hands out a token past the expiry of the credentials that signed it", async () => {
    const clock = fakeClock();
    let generation = 0;
    const provider = countingProvider((_call, forceRefresh) => {
      if (forceRefresh || generation === 0) generation++;
      return {
        ...SESSION_CREDENTIALS,
        accessKeyId: `ASIAGEN${generation}`,
        // Each generation lives 5 minutes from when it was issued.
        expiration: new Date(clock() + 5 * MINUTE),
      };
    });
    const iam = createIamAuth({
      engine: "mysql",
      host: HOST,
      user: "app",
      credentials: provider,
      clock,
    });
    const first = await iam.getToken();
    // Short-lived credentials triggered a forced refresh, as @aws-sdk/rds-signer does.
    expect(provider.forced).toContain(true);
    const firstKey = decodeToken(first).accessKeyId;

    clock.advance(3.9 * MINUTE); // credentials have 66 s left: still inside the 60 s margin
    expect(await iam.getToken()).toBe(first);
    clock.advance(0.2 * MINUTE); // 48 s left: the token must not be used any more
    const second = await iam.getToken();
    expect(second).not.toBe(first);
    expect(decodeToken(second).accessKeyId).not.toBe(firstKey);
    iam.close();
  });

  it("rejects credentials that already expired and cannot be refreshed", async () => {
    const clock = fakeClock();
    const expired = { ...SESSION_CREDENTIALS, expiration: new Date(clock() - 1000) };
    const iam = createIamAuth({
      engine: "postgres",
      host: HOST,
      user: "app",
      credentials: expired,
      clock,
    });
    await expect(iam.getToken()).rejects.toMatchObject({ code: "CREDENTIALS_EXPIRED" });
    iam.close();
  });

  it("does not cache a failed mint: the next caller tries again", async () => {
    const { iam, provider } = auth();
    provider.failNextCalls(1);
    const failed = await Promise.allSettled(Array.from({ length: 10 }, () => iam.getToken()));
    expect(failed.every((r) => r.status === "rejected")).toBe(true);
    expect(provider.calls).toBe(1); // the ten shared one attempt
    const reason = (failed[0] as PromiseRejectedResult).reason;
    expect(isRdsIamError(reason)).toBe(true);
    expect(reason.code).toBe("CREDENTIALS_UNAVAILABLE");
    expect(reason.cause).toBeInstanceOf(Error);
    await expect(iam.getToken()).resolves.toMatch(HOST);
    expect(iam.stats()).toMatchObject({ mints: 1, failures: 1 });
    iam.close();
  });

  it("keeps serving the cached token while background refreshes fail, with backoff", async () => {
    const { iam, clock, provider } = auth();
    const first = await iam.getToken();
    clock.advance(845_000);
    provider.failNextCalls(1000);
    for (let i = 0; i < 50; i++) {
      expect(await iam.getToken()).toBe(first);
      await flush();
    }
    // One attempt, then backoff (clock time has not moved): no retry storm.
    expect(provider.calls).toBe(2);
    clock.advance(2_000);
    await iam.getToken();
    await flush();
    expect(provider.calls).toBe(3);
    // Past the token's life the caller gets the error, with its cause.
    clock.advance(30_000);
    await expect(iam.getToken()).rejects.toMatchObject({ code: "CREDENTIALS_UNAVAILABLE" });
    provider.failNextCalls(0);
    expect(await iam.getToken()).not.toBe(first);
    iam.close();
  });

  it("invalidate() forces a new mint, but a stale token cannot evict a fresh one", async () => {
    const { iam, clock } = auth();
    const first = await iam.getToken();
    iam.invalidate(first);
    clock.advance(1000); // the same request signed in the same second is the same token
    const second = await iam.getToken();
    expect(second).not.toBe(first);
    iam.invalidate(first); // late rejection of the old token: ignored
    expect(await iam.getToken()).toBe(second);
    iam.invalidate();
    clock.advance(1000);
    expect(await iam.getToken()).not.toBe(second);
    expect(iam.stats()).toMatchObject({ mints: 3, invalidations: 2 });
    iam.close();
  });

  it("concurrent rejections of one token cause exactly one extra mint", async () => {
    const { iam } = auth();
    const first = await iam.getToken();
    const retried = await Promise.all(
      Array.from({ length: 20 }, async () => {
        iam.invalidate(first);
        return iam.getToken();
      }),
    );
    expect(new Set(retried).size).toBe(1);
    expect(iam.stats().mints).toBe(2);
    iam.close();
  });

  it("keys tokens by credential identity, and bounds a shared cache", async () => {
    const tokenCache = new TokenCache({ maxEntries: 3 });
    const clock = fakeClock();
    const make = (user: string, accessKeyId: string) =>
      createIamAuth({
        engine: "postgres",
        host: HOST,
        user,
        clock,
        tokenCache,
        credentials: { ...STATIC_CREDENTIALS, accessKeyId },
      });
    const a1 = make("app", "AKIDONE");
    const a2 = make("app", "AKIDONE");
    const b = make("app", "AKIDTWO");
    const tokenA1 = await a1.getToken();
    // Same target and identity: a2 mints its own (it has no current key yet) and shares the slot.
    await a2.getToken();
    const tokenB = await b.getToken();
    expect(decodeToken(tokenB).accessKeyId).toBe("AKIDTWO");
    expect(decodeToken(tokenA1).accessKeyId).toBe("AKIDONE");
    for (let i = 0; i < 10; i++) await make(`user${i}`, "AKIDONE").getToken();
    expect(tokenCache.size).toBe(3);
    for (const p of [a1, a2, b]) p.close();
  });

  it("fails with CLOSED after close()", async () => {
    const { iam } = auth();
    iam.close();
    await expect(iam.getToken()).rejects.toMatchObject({ code: "CLOSED" });
  });

  it("throws option errors at construction", () => {
    expect(() => createIamAuth({ engine: "postgres", host: "10.0.0.1", user: "app" })).toThrow(
      expect.objectContaining({ code: "IAM_HOST_REQUIRED", option: "iamHost" }),
    );
  });

  it("never shows a token or secret through inspect, JSON or its errors", async () => {
    const { iam, provider } = auth({ credentials: undefined });
    void provider;
    const withSecrets = createIamAuth({
      engine: "postgres",
      host: HOST,
      user: "app",
      credentials: SESSION_CREDENTIALS,
    });
    const token = await withSecrets.getToken();
    const signature = decodeToken(token).params.get("X-Amz-Signature") ?? "";
    for (const shown of [
      inspect(withSecrets, { depth: 10, showHidden: true }),
      JSON.stringify(withSecrets),
      String(withSecrets),
    ]) {
      expect(shown).not.toContain(signature);
      expect(shown).not.toContain(SESSION_CREDENTIALS.secretAccessKey);
      expect(shown).not.toContain(SESSION_CREDENTIALS.sessionToken);
    }
    const cache = new TokenCache();
    expect(inspect(cache)).not.toContain("X-Amz");
    withSecrets.close();
    iam.close();
  });

  it("does not keep the process alive (timers are unref'd)", async () => {
    const root = fileURLToPath(new URL("../../..", import.meta.url));
    const script = `
      import { createIamAuth } from "./packages/core/src/index.ts";
      const iam = createIamAuth({ engine: "postgres", host: "${HOST}", user: "app",
        credentials: { accessKeyId: "AKIDX", secretAccessKey: "secretx" } });
      await iam.getToken();
      console.log("minted");
    `;
    const started = Date.now();
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["--import", "tsx", "--input-type=module", "-e", script],
      { cwd: root, timeout: 20_000 },
    );
    expect(stdout.trim()).toBe("minted");
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});
