import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startRdsApi } from "../../../tests/support/rds-api";
import { withAuthRetry, withCheckoutAuthRetry } from "../src/auth-retry";
import { isRdsIamError } from "../src/errors";
import { createIamAuth, type IamAuth } from "../src/iam-auth";
import { resolveIamOptions } from "../src/options";
import { parseRdsHostname } from "../src/rds-hostname";
import { decodeToken, STATIC_CREDENTIALS } from "./support";

// Providers for an Aurora global writer endpoint, with the real @aws-sdk/client-rds
// asking a loopback stand-in of the RDS API (AWS_ENDPOINT_URL_RDS) for the writer.
const api = await startRdsApi({
  credentials: [STATIC_CREDENTIALS],
  writers: { orders: "eu-west-1", billing: "ap-south-1" },
});
const HOST = "orders.global-abc123.global.rds.amazonaws.com";
const ENV = {
  AWS_ENDPOINT_URL_RDS: api.url,
  AWS_REGION: "us-east-1",
  AWS_DEFAULT_REGION: undefined,
};
const saved: Record<string, string | undefined> = {};
beforeAll(() => {
  for (const [key, value] of Object.entries(ENV)) {
    saved[key] = process.env[key];
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
});
afterAll(async () => {
  for (const [key, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  await api.close();
});

const open: IamAuth[] = [];
afterEach(() => {
  for (const auth of open.splice(0)) auth.close();
  api.setMode("ok");
  api.setWriter("orders", "eu-west-1");
});

let users = 0;
/** A provider of its own (a fresh user: sources are shared per target). */
function provider(overrides: Record<string, unknown> = {}): IamAuth {
  const auth = createIamAuth({
    engine: "postgres",
    host: HOST,
    user: `app${++users}`,
    credentials: STATIC_CREDENTIALS,
    ...overrides,
  });
  open.push(auth);
  return auth;
}

describe("parsing a global writer endpoint", () => {
  it("takes the global cluster identifier from the first label, as the AWS wrappers do", () => {
    for (const host of [
      "orders.global-abc123.global.rds.amazonaws.com",
      "ORDERS.GLOBAL-ABC123.GLOBAL.RDS.AMAZONAWS.COM.",
      // The wrappers' pattern makes the `global-` prefix optional.
      "orders.abc123.global.rds.amazonaws.com",
    ]) {
      expect(parseRdsHostname(host)).toMatchObject({
        kind: "global",
        name: "orders",
        region: undefined,
      });
    }
  });

  it("resolves to a look-up in the application's region, not a signing region", () => {
    const resolved = resolveIamOptions({ engine: "postgres", host: HOST, user: "app" });
    expect(resolved.region).toBeUndefined();
    expect(resolved.regionSource).toBe("DescribeGlobalClusters");
    expect(resolved.globalWriter).toEqual({
      globalClusterIdentifier: "orders",
      apiRegion: "us-east-1",
    });
  });

  it("without any region to ask the API in: REGION_UNRESOLVED naming AWS_REGION and iamRegion", () => {
    delete process.env.AWS_REGION;
    try {
      const error = (() => {
        try {
          resolveIamOptions({ engine: "postgres", host: HOST, user: "app", awsProfile: "none" });
        } catch (e) {
          return e;
        }
      })();
      expect(isRdsIamError(error) && error.code).toBe("REGION_UNRESOLVED");
      expect(String((error as Error).message)).toContain("DescribeGlobalClusters");
      expect(String((error as Error).message)).toContain("AWS_REGION");
      expect(String((error as Error).message)).toContain("iamRegion");
    } finally {
      process.env.AWS_REGION = "us-east-1";
    }
  });
});

describe("signing for the writer's region", () => {
  it("signs for the writer's region, looked up once for many tokens", async () => {
    const before = api.calls("orders");
    const auth = provider();
    expect(auth.target.region).toBeUndefined();
    expect(auth.target.regionSource).toBe("DescribeGlobalClusters");
    const tokens = await Promise.all(Array.from({ length: 25 }, () => auth.getToken()));
    for (let i = 0; i < 25; i++) tokens.push(await auth.getToken());
    expect(new Set(tokens).size).toBe(1);
    const decoded = decodeToken(tokens[0] ?? "");
    expect(decoded.region).toBe("eu-west-1");
    expect(decoded.host).toBe(`${HOST}:5432`);
    expect(auth.target.region).toBe("eu-west-1");
    expect(api.calls("orders") - before).toBe(1);
    expect(auth.stats()).toMatchObject({ mints: 1, writerLookups: 1 });
    // Asked with the token's own credentials, in the application's region.
    expect(api.requests.at(-1)).toMatchObject({
      accessKeyId: STATIC_CREDENTIALS.accessKeyId,
      region: "us-east-1",
    });
  });

  it("an explicit iamRegion wins and makes no call", async () => {
    const before = api.requests.length;
    const auth = provider({ iamRegion: "sa-east-1" });
    expect(auth.target.regionSource).toBe("iamRegion");
    expect(decodeToken(await auth.getToken()).region).toBe("sa-east-1");
    expect(api.requests.length).toBe(before);
    expect(auth.stats().writerLookups).toBe(0);
  });

  it("other endpoints make no call", async () => {
    const before = api.requests.length;
    const auth = provider({ host: "mydb.cluster-abc123.eu-central-1.rds.amazonaws.com" });
    expect(decodeToken(await auth.getToken()).region).toBe("eu-central-1");
    expect(api.requests.length).toBe(before);
  });

  it("follows a failover: after a rejected token, the retry signs for the new writer", async () => {
    const auth = provider();
    const first = await auth.getToken();
    expect(decodeToken(first).region).toBe("eu-west-1");
    const before = api.calls("orders");
    api.setWriter("orders", "us-west-2");
    // Until a rejection, the cached token (and region) is used: no look-up per connection.
    expect(await auth.getToken()).toBe(first);
    expect(api.calls("orders")).toBe(before);
    const signedFor: string[] = [];
    const result = await withAuthRetry(auth, async (token) => {
      const region = decodeToken(token).region;
      signedFor.push(region);
      // The database behind the global endpoint now lives in us-west-2.
      if (region !== "us-west-2") {
        throw Object.assign(new Error('PAM authentication failed for user "app"'), {
          code: "28000",
        });
      }
      return "logged in";
    });
    expect(result).toBe("logged in");
    expect(signedFor).toEqual(["eu-west-1", "us-west-2"]);
    expect(api.calls("orders") - before).toBe(1);
    expect(auth.target.region).toBe("us-west-2");
    // The old region's token is never handed out again.
    expect(decodeToken(await auth.getToken()).region).toBe("us-west-2");
    expect(api.calls("orders") - before).toBe(1);
  });

  it("a burst of rejected checkouts after a failover costs a bounded number of look-ups", async () => {
    const auth = provider();
    await auth.getToken();
    const before = api.calls("orders");
    api.setWriter("orders", "us-west-2");
    // Ten new connections at once, each logging in with whatever token is current: the
    // database (now in us-west-2) refuses the others. Pool checkouts invalidate without
    // naming the token, the noisiest path.
    const checkout = async () => {
      const token = await auth.getToken();
      if (decodeToken(token).region !== "us-west-2") {
        throw Object.assign(new Error('PAM authentication failed for user "app"'), {
          code: "28000",
        });
      }
      return token;
    };
    const results = await Promise.all(
      Array.from({ length: 10 }, () => withCheckoutAuthRetry(auth, checkout)),
    );
    expect(results.every((t) => decodeToken(t).region === "us-west-2")).toBe(true);
    const lookups = api.calls("orders") - before;
    expect(lookups).toBeGreaterThanOrEqual(1);
    expect(lookups).toBeLessThanOrEqual(2);
    // Later connections: no more look-ups.
    await Promise.all(Array.from({ length: 10 }, () => withCheckoutAuthRetry(auth, checkout)));
    expect(api.calls("orders") - before).toBe(lookups);
  });

  it("providers of one target share one look-up; other global clusters have their own", async () => {
    const before = api.requests.length;
    const user = `shared${++users}`;
    const a = provider({ user });
    const b = provider({ user });
    const c = provider({ host: "billing.global-xyz789.global.rds.amazonaws.com" });
    const [ta, tb, tc] = await Promise.all([a.getToken(), b.getToken(), c.getToken()]);
    expect(ta).toBe(tb);
    expect(decodeToken(tc ?? "").region).toBe("ap-south-1");
    expect(api.requests.length - before).toBe(2);
  });
});

describe("look-up failures", () => {
  async function failure(auth: IamAuth) {
    const error = await auth.getToken().then(
      () => undefined,
      (e: unknown) => e,
    );
    if (!isRdsIamError(error)) throw new Error(`expected an RdsIamError, got ${String(error)}`);
    return error;
  }

  it("a missing rds:DescribeGlobalClusters permission: GLOBAL_WRITER_ACCESS_DENIED", async () => {
    api.setMode("access-denied");
    const error = await failure(provider());
    expect(error.code).toBe("GLOBAL_WRITER_ACCESS_DENIED");
    expect(error.message).toContain("rds:DescribeGlobalClusters");
    expect(error.message).toContain("iamRegion");
  });

  it("an unknown global cluster: GLOBAL_CLUSTER_NOT_FOUND", async () => {
    const error = await failure(
      provider({ host: "nosuch.global-abc123.global.rds.amazonaws.com" }),
    );
    expect(error.code).toBe("GLOBAL_CLUSTER_NOT_FOUND");
    expect(error.message).toContain('"nosuch"');
  });

  it("a silent API: TIMEOUT within iamTimeout, naming the look-up", async () => {
    api.setMode("hang");
    const started = Date.now();
    const error = await failure(provider({ iamTimeout: 300 }));
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(error.code).toBe("TIMEOUT");
    expect(error.option).toBe("iamTimeout");
    expect(error.message).toContain("DescribeGlobalClusters");
    expect(error.message).toContain("iamRegion");
  });
});
