import { Signer } from "@aws-sdk/rds-signer";
import { afterEach, describe, expect, it, vi } from "vitest";
import { generateAuthToken } from "../src/generate-auth-token";
import { decodeToken, SESSION_CREDENTIALS, STATIC_CREDENTIALS } from "./support";

const HOST = "mydb.cluster-abc123.us-east-1.rds.amazonaws.com";

describe("generateAuthToken", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("signs host:port, user, region and a 900 s expiry", async () => {
    const token = await generateAuthToken({
      hostname: HOST,
      port: 5432,
      username: "app_user",
      region: "us-east-1",
      credentials: STATIC_CREDENTIALS,
    });
    const decoded = decodeToken(token);
    expect(token.startsWith(`${HOST}:5432/?`)).toBe(true);
    expect(decoded.host).toBe(`${HOST}:5432`);
    expect(decoded.params.get("Action")).toBe("connect");
    expect(decoded.params.get("DBUser")).toBe("app_user");
    expect(decoded.params.get("X-Amz-Expires")).toBe("900");
    expect(decoded.params.get("X-Amz-Algorithm")).toBe("AWS4-HMAC-SHA256");
    expect(decoded.params.get("X-Amz-SignedHeaders")).toBe("host");
    expect(decoded.region).toBe("us-east-1");
    expect(decoded.service).toBe("rds-db");
    expect(decoded.accessKeyId).toBe(STATIC_CREDENTIALS.accessKeyId);
    expect(decoded.params.has("X-Amz-Security-Token")).toBe(false);
    expect(decoded.params.get("X-Amz-Signature")).toMatch(/^[0-9a-f]{64}$/);
  });

  it("carries X-Amz-Security-Token with session credentials", async () => {
    const token = await generateAuthToken({
      hostname: HOST,
      port: 3306,
      username: "app",
      region: "us-east-1",
      credentials: SESSION_CREDENTIALS,
    });
    const decoded = decodeToken(token);
    expect(decoded.params.get("X-Amz-Security-Token")).toBe(SESSION_CREDENTIALS.sessionToken);
    expect(decoded.host).toBe(`${HOST}:3306`);
  });

  it("accepts a credential provider", async () => {
    const provider = vi.fn(async () => STATIC_CREDENTIALS);
    const token = await generateAuthToken({
      hostname: HOST,
      port: 5432,
      username: "u",
      region: "eu-west-1",
      credentials: provider,
    });
    expect(provider).toHaveBeenCalled();
    expect(decodeToken(token).region).toBe("eu-west-1");
  });

  it("signs at a given date exactly as @aws-sdk/rds-signer signs at that moment", async () => {
    const at = new Date(Date.UTC(2026, 10, 24, 8, 30, 15));
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(at);
    const params = { hostname: HOST, port: 5432, username: "app", region: "us-east-1" };
    const fromSigner = await new Signer({
      ...params,
      credentials: SESSION_CREDENTIALS,
    }).getAuthToken();
    vi.useRealTimers();
    const ours = await generateAuthToken({
      ...params,
      credentials: SESSION_CREDENTIALS,
      signingDate: at,
    });
    expect(ours).toBe(fromSigner);
    expect(decodeToken(ours).params.get("X-Amz-Date")).toBe("20261124T083015Z");
  });

  it("encodes a user name that needs escaping", async () => {
    const token = await generateAuthToken({
      hostname: HOST,
      port: 5432,
      username: "app user&x=y",
      region: "us-east-1",
      credentials: STATIC_CREDENTIALS,
    });
    expect(decodeToken(token).params.get("DBUser")).toBe("app user&x=y");
  });
});
