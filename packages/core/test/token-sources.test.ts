import { describe, expect, it } from "vitest";
import { createIamAuth } from "../src/iam-auth";
import { TokenCache } from "../src/token-cache";
import { sourceCount } from "../src/token-sources";
import { decodeToken, fakeClock, STATIC_CREDENTIALS } from "./support";

const HOST = "mydb.cluster-abc123.us-east-1.rds.amazonaws.com";

/** A provider function that counts its calls. */
function counting() {
  let calls = 0;
  const provider = async () => {
    calls++;
    return STATIC_CREDENTIALS;
  };
  return Object.assign(provider, { calls: () => calls });
}

describe("token sources shared per process", () => {
  it("a second provider for the same target and credentials starts with the first one's token", async () => {
    const clock = fakeClock();
    const credentials = counting();
    const options = { engine: "postgres", host: HOST, user: "shared_app", credentials, clock };
    const first = createIamAuth(options);
    const token = await first.getToken();
    const second = createIamAuth(options);
    expect(await second.getToken()).toBe(token);
    expect(first.stats()).toMatchObject({ mints: 1, credentialResolutions: 1 });
    expect(second.stats()).toMatchObject({ mints: 0, cacheHits: 1, credentialResolutions: 0 });
    expect(credentials.calls()).toBe(1);
    // A tunnel to the same endpoint shares it too: the token is signed for iamHost.
    const tunnel = createIamAuth({
      ...options,
      host: "127.0.0.1",
      iamHost: HOST,
      port: 6543,
      iamDefaultPort: 5432,
    });
    expect(await tunnel.getToken()).toBe(token);
    expect(tunnel.target.port).toBe(6543);
    for (const auth of [first, second, tunnel]) auth.close();
  });

  it("50 providers in a cold burst cost one credential call and one signature", async () => {
    const clock = fakeClock();
    const credentials = counting();
    const providers = Array.from({ length: 50 }, () =>
      createIamAuth({ engine: "mysql", host: HOST, user: "burst_app", credentials, clock }),
    );
    const tokens = await Promise.all(providers.map((auth) => auth.getToken()));
    expect(new Set(tokens).size).toBe(1);
    expect(credentials.calls()).toBe(1);
    const mints = providers.reduce((sum, auth) => sum + auth.stats().mints, 0);
    expect(mints).toBe(1);
    for (const auth of providers) auth.close();
  });

  it("keeps apart what signs differently: user, port, keys, clock, lifetime, an own cache", async () => {
    const clock = fakeClock();
    const base = {
      engine: "postgres",
      host: HOST,
      user: "apart_app",
      credentials: STATIC_CREDENTIALS,
      clock,
    } as const;
    const reference = createIamAuth(base);
    const token = await reference.getToken();
    const variants = [
      createIamAuth({ ...base, user: "apart_other" }),
      createIamAuth({ ...base, port: 5433 }),
      createIamAuth({
        ...base,
        credentials: { ...STATIC_CREDENTIALS, accessKeyId: "AKIDAPARTOTHER" },
      }),
      createIamAuth({ ...base, clock: fakeClock() }),
      createIamAuth({ ...base, iamTokenExpiration: 600 }),
      createIamAuth({ ...base, tokenCache: new TokenCache() }),
    ];
    for (const auth of variants) {
      await auth.getToken();
      expect(auth.stats().mints).toBe(1);
    }
    expect(decodeToken(await variants[0]!.getToken()).params.get("DBUser")).toBe("apart_other");
    expect(await createIamAuth(base).getToken()).toBe(token);
    for (const auth of [reference, ...variants]) auth.close();
  });

  it("a closed provider fails alone; the others and newcomers keep the cached token", async () => {
    const clock = fakeClock();
    const options = {
      engine: "postgres",
      host: HOST,
      user: "close_app",
      credentials: STATIC_CREDENTIALS,
      clock,
    } as const;
    const a = createIamAuth(options);
    const b = createIamAuth(options);
    const token = await a.getToken();
    a.close();
    await expect(a.getToken()).rejects.toMatchObject({ code: "CLOSED" });
    expect(await b.getToken()).toBe(token);
    b.close();
    const later = createIamAuth(options);
    expect(await later.getToken()).toBe(token);
    expect(later.stats().mints).toBe(0);
    later.close();
  });

  it("a rejection seen by one provider replaces the token for all", async () => {
    const clock = fakeClock();
    const options = {
      engine: "postgres",
      host: HOST,
      user: "reject_app",
      credentials: STATIC_CREDENTIALS,
      clock,
    } as const;
    const a = createIamAuth(options);
    const b = createIamAuth(options);
    const rejected = await a.getToken();
    clock.advance(1_000);
    b.invalidate(rejected);
    expect(b.stats().invalidations).toBe(1);
    const fresh = await a.getToken();
    expect(fresh).not.toBe(rejected);
    expect(await b.getToken()).toBe(fresh);
    // A late rejection of the old token cannot evict the new one.
    a.invalidate(rejected);
    expect(a.stats().invalidations).toBe(0);
    for (const auth of [a, b]) auth.close();
  });

  it("never lets a separator in a user name or profile join two targets", async () => {
    const clock = fakeClock();
    const common = { engine: "postgres", host: HOST, clock, iamRegion: "us-east-1" } as const;
    const a = createIamAuth({
      ...common,
      user: "u\u0000900\u00005000\u0000chain:profile:P",
      awsProfile: "Q",
      credentials: STATIC_CREDENTIALS,
    });
    const b = createIamAuth({
      ...common,
      user: "u",
      awsProfile: "P\u0000900\u00005000\u0000chain:profile:Q",
      credentials: STATIC_CREDENTIALS,
    });
    const [ta, tb] = [await a.getToken(), await b.getToken()];
    expect(decodeToken(tb).params.get("DBUser")).toBe("u");
    expect(tb).not.toBe(ta);
    expect(b.stats().mints).toBe(1);
    a.close();
    b.close();
  });

  it("stays bounded when providers are dropped without close()", async () => {
    const clock = fakeClock();
    for (let i = 0; i < 300; i++) {
      // Attached (asked for a token) and never closed: what a leaky app leaves behind.
      await createIamAuth({
        engine: "mysql",
        host: HOST,
        user: `dropped_${i}`,
        credentials: STATIC_CREDENTIALS,
        clock,
      }).getToken();
    }
    expect(sourceCount()).toBeLessThanOrEqual(256);
  });

  it("a closed provider's late rejection does not evict the token others use", async () => {
    const clock = fakeClock();
    const options = {
      engine: "postgres",
      host: HOST,
      user: "late_reject_app",
      credentials: STATIC_CREDENTIALS,
      clock,
    } as const;
    const a = createIamAuth(options);
    const b = createIamAuth(options);
    const token = await a.getToken();
    a.close();
    a.invalidate(token);
    expect(await b.getToken()).toBe(token);
    expect(b.stats().mints).toBe(0);
    b.close();
  });
});
