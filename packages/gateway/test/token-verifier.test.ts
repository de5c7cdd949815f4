import { inspect } from "node:util";
import { Signer } from "@aws-sdk/rds-signer";
import { describe, expect, it } from "vitest";
import type { GatewayCredential, RejectReason } from "../src/gateway-options";
import {
  canonicalHeaders,
  canonicalQuery,
  canonicalRequest,
  credentialScope,
  EMPTY_PAYLOAD_SHA256,
  type QueryParameter,
  SIGV4_ALGORITHM,
  signature,
  signingKey,
  stringToSign,
  UNSIGNED_PAYLOAD,
  uriEncode,
} from "../src/sigv4";
import { type TokenExpectations, type TokenVerdict, verifyToken } from "../src/token-verifier";

/*
 * Tokens are made the way users make them: @aws-sdk/rds-signer's Signer, at the real
 * clock. The verifier's `now` is then derived from the token's own X-Amz-Date, so the
 * time checks are exact. Tokens rds-signer cannot make (botocore's shape, other
 * services, long expiry, fixed dates) are built from the SigV4 primitives, which the
 * AWS test suite pins down in sigv4-vectors.test.ts.
 */

const HOSTNAME = "mydb.cluster-abc123.us-east-1.rds.amazonaws.com";
const PORT = 5432;
const REGION = "us-east-1";
const USER = "app_user";

const STATIC: GatewayCredential = {
  accessKeyId: "AKIAGATEWAYSTATIC001",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYgatewaySTATIC",
};
const SESSION: GatewayCredential & { readonly sessionToken: string } = {
  accessKeyId: "ASIAGATEWAYSESSION01",
  secretAccessKey: "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbgatewaySESSION",
  sessionToken: "IQoJb3JpZ2luX2VjEGatewayEXAMPLE//////////wEaCXVz+session/token==",
  expiration: new Date(Date.now() + 3_600_000),
};
const OTHER_SESSION_TOKEN = "IQoJb3JpZ2luX2VjEGatewayOTHER//////////wEaCXVz+other/token==";
const SECRETS = [
  STATIC.secretAccessKey,
  SESSION.secretAccessKey,
  SESSION.sessionToken,
  OTHER_SESSION_TOKEN,
  "someone elses secret key",
];

interface SignOptions {
  readonly hostname?: string;
  readonly port?: number;
  readonly user?: string;
  readonly region?: string;
  readonly credentials?: GatewayCredential;
}

/** A token exactly as a user of @aws-sdk/rds-signer gets it. */
function sign(options: SignOptions = {}): Promise<string> {
  const credentials = options.credentials ?? STATIC;
  return new Signer({
    hostname: options.hostname ?? HOSTNAME,
    port: options.port ?? PORT,
    username: options.user ?? USER,
    region: options.region ?? REGION,
    credentials: {
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
      ...(credentials.sessionToken === undefined ? {} : { sessionToken: credentials.sessionToken }),
    },
  }).getAuthToken();
}

interface CraftOptions {
  /** The token's prefix. Default `hostname:5432`. */
  readonly host?: string;
  /** The Host header value signed. Default: `host`, as written. */
  readonly signedHost?: string;
  readonly user?: string;
  readonly region?: string;
  readonly service?: string;
  readonly action?: string;
  readonly expires?: string;
  readonly amzDate?: string;
  readonly credentials?: GatewayCredential;
  /** Default botocore's `UNSIGNED-PAYLOAD`. */
  readonly payloadHash?: string;
}

/** `YYYYMMDDTHHMMSSZ` for an epoch-ms instant. */
function amzDateAt(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
}

/** A token signed with the primitives; by default the shape botocore's presigner makes. */
function craft(options: CraftOptions = {}): string {
  const credentials = options.credentials ?? STATIC;
  const host = options.host ?? `${HOSTNAME}:${PORT}`;
  const amzDate = options.amzDate ?? amzDateAt(Date.now());
  const date = amzDate.slice(0, 8);
  const region = options.region ?? REGION;
  const service = options.service ?? "rds-db";
  const scope = credentialScope(date, region, service);
  const query: QueryParameter[] = [
    { key: "Action", value: options.action ?? "connect" },
    { key: "DBUser", value: options.user ?? USER },
    { key: "X-Amz-Algorithm", value: SIGV4_ALGORITHM },
    { key: "X-Amz-Credential", value: `${credentials.accessKeyId}/${scope}` },
    { key: "X-Amz-Date", value: amzDate },
    { key: "X-Amz-Expires", value: options.expires ?? "900" },
    ...(credentials.sessionToken === undefined
      ? []
      : [{ key: "X-Amz-Security-Token", value: credentials.sessionToken }]),
    { key: "X-Amz-SignedHeaders", value: "host" },
  ];
  const request = canonicalRequest({
    method: "GET",
    path: "/",
    query: canonicalQuery(query),
    headers: canonicalHeaders([["host", options.signedHost ?? host]]),
    payloadHash: options.payloadHash ?? UNSIGNED_PAYLOAD,
  });
  const key = signingKey(credentials.secretAccessKey, date, region, service);
  const sig = signature(key, stringToSign(amzDate, scope, request));
  const raw = query.map(({ key: k, value }) => `${uriEncode(k)}=${uriEncode(value)}`).join("&");
  return `${host}/?${raw}&X-Amz-Signature=${sig}`;
}

/**
 * What botocore's `generate_db_auth_token` makes: the prefix is `DBHostname:Port` as the
 * caller wrote them, but the signed Host header is parsed back out of
 * `https://DBHostname:Port`: lower-cased, and without the port when it is 443.
 */
function craftBotocore(hostname: string, port: number, options: CraftOptions = {}): string {
  const lower = hostname.toLowerCase();
  return craft({
    ...options,
    host: `${hostname}:${port}`,
    signedHost: port === 443 ? lower : `${lower}:${port}`,
  });
}

function param(token: string, name: string): string {
  const match = new RegExp(`[?&]${name}=([^&]*)`).exec(token);
  if (!match?.[1]) throw new Error(`no ${name} in the token`);
  return decodeURIComponent(match[1]);
}

/** The token's X-Amz-Date as epoch ms. */
function signedAt(token: string): number {
  const d = param(token, "X-Amz-Date");
  return Date.parse(
    `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}T${d.slice(9, 11)}:${d.slice(11, 13)}:${d.slice(13, 15)}Z`,
  );
}

function expectations(
  token: string,
  overrides: Partial<TokenExpectations> = {},
): TokenExpectations {
  return {
    user: USER,
    endpoint: { hostname: HOSTNAME, port: PORT },
    region: REGION,
    credentials: [STATIC, SESSION],
    now: signedAt(token) + 1_000,
    clockSkewSeconds: 300,
    ...overrides,
  };
}

/** Asserts nothing secret made it into a verdict, however it is printed. */
function expectNoSecrets(verdict: TokenVerdict, token: string): void {
  const printed = [JSON.stringify(verdict), inspect(verdict, { depth: 5 }), String(verdict)];
  const tokenText = typeof token === "string" ? token : "";
  const sig = /X-Amz-Signature=([0-9a-fA-F]+)/.exec(tokenText)?.[1];
  for (const text of printed) {
    if (tokenText.length >= 8) expect(text).not.toContain(tokenText);
    if (sig) expect(text).not.toContain(sig);
    for (const secret of SECRETS) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(encodeURIComponent(secret));
    }
  }
}

function expectAccepted(
  token: string,
  expect_: TokenExpectations,
  accessKeyId = STATIC.accessKeyId,
) {
  const verdict = verifyToken(token, expect_);
  expectNoSecrets(verdict, token);
  expect(verdict).toEqual({ ok: true, accessKeyId });
}

function expectRejected(token: string, expect_: TokenExpectations, reason: RejectReason): string {
  const verdict = verifyToken(token, expect_);
  expectNoSecrets(verdict, token);
  expect(verdict.ok).toBe(false);
  if (verdict.ok) throw new Error("unreachable");
  expect({ reason: verdict.reason, detail: verdict.detail }).toEqual({
    reason,
    detail: expect.any(String),
  });
  expect(verdict.detail.length).toBeGreaterThan(0);
  return verdict.detail;
}

/** Replaces one query parameter's raw value, keeping the signature. */
function withParam(token: string, name: string, rawValue: string): string {
  const replaced = token.replace(new RegExp(`([?&]${name}=)[^&]*`), `$1${rawValue}`);
  expect(replaced).not.toBe(token);
  return replaced;
}

function flipLastSignatureDigit(token: string): string {
  return token.replace(
    /(X-Amz-Signature=[0-9a-f]{63})([0-9a-f])/,
    (_, head: string, last) => `${head}${last === "a" ? "b" : "a"}`,
  );
}

describe("verifyToken accepts what real signers make", () => {
  it("an @aws-sdk/rds-signer token for static credentials", async () => {
    const token = await sign();
    expect(token.startsWith(`${HOSTNAME}:${PORT}/?`)).toBe(true);
    expectAccepted(token, expectations(token));
  });

  it("an @aws-sdk/rds-signer token for session credentials (X-Amz-Security-Token)", async () => {
    const token = await sign({ credentials: SESSION });
    expect(param(token, "X-Amz-Security-Token")).toBe(SESSION.sessionToken);
    expectAccepted(token, expectations(token), SESSION.accessKeyId);
  });

  it("a user name that needs percent-encoding", async () => {
    const user = "app user+1@example.com/ü";
    const token = await sign({ user });
    expectAccepted(token, expectations(token, { user }));
  });

  it("a botocore-style token (UNSIGNED-PAYLOAD), and the same with the empty-body hash", async () => {
    const botocore = craft();
    expectAccepted(botocore, expectations(botocore));
    const sdkStyle = craft({ payloadHash: EMPTY_PAYLOAD_SHA256 });
    expectAccepted(sdkStyle, expectations(sdkStyle));
  });

  it("the primitives reproduce rds-signer's signature exactly", async () => {
    const token = await sign({ credentials: SESSION });
    const rebuilt = craft({
      credentials: SESSION,
      amzDate: param(token, "X-Amz-Date"),
      payloadHash: EMPTY_PAYLOAD_SHA256,
    });
    expect(param(rebuilt, "X-Amz-Signature")).toBe(param(token, "X-Amz-Signature"));
  });

  it("port 443: host:443 as rds-signer signs it, and the bare host as botocore signs it", async () => {
    const endpoint = { hostname: HOSTNAME, port: 443 };
    const sdk = await sign({ port: 443 });
    expect(sdk.startsWith(`${HOSTNAME}:443/?`)).toBe(true);
    expectAccepted(sdk, expectations(sdk, { endpoint }));
    const bare = craft({ host: HOSTNAME });
    expectAccepted(bare, expectations(bare, { endpoint }));
    // Only 443 may be left out.
    expectRejected(bare, expectations(bare), "endpoint");
  });

  it("compares the host case-insensitively while signing it as written", async () => {
    const upper = await sign({ hostname: HOSTNAME.toUpperCase() });
    expect(upper.startsWith(HOSTNAME.toUpperCase())).toBe(true);
    expectAccepted(upper, expectations(upper));
    const lower = await sign();
    const upperEndpoint = { hostname: HOSTNAME.toUpperCase(), port: PORT };
    expectAccepted(lower, expectations(lower, { endpoint: upperEndpoint }));
    // An upper-cased prefix on a lower-case signature is botocore's shape: accepted.
    expectAccepted(HOSTNAME.toUpperCase() + lower.slice(HOSTNAME.length), expectations(lower));
    // But an upper-case signature is not reachable from a lower-case prefix.
    const upperSigned = craft({ host: `${HOSTNAME.toUpperCase()}:${PORT}` });
    expectRejected(
      HOSTNAME + upperSigned.slice(HOSTNAME.length),
      expectations(upperSigned),
      "signature",
    );
  });

  it("botocore's tokens: prefix as written, Host signed lower-cased and without :443", () => {
    const mixed = "MyDB.Cluster-ABC123.US-EAST-1.rds.amazonaws.com";
    const onPort = craftBotocore(mixed, PORT);
    expect(onPort.startsWith(`${mixed}:${PORT}/?`)).toBe(true);
    expectAccepted(onPort, expectations(onPort));
    const on443 = craftBotocore(mixed, 443);
    expect(on443.startsWith(`${mixed}:443/?`)).toBe(true);
    expectAccepted(on443, expectations(on443, { endpoint: { hostname: HOSTNAME, port: 443 } }));
    const lower443 = craftBotocore(HOSTNAME, 443, { credentials: SESSION });
    expectAccepted(
      lower443,
      expectations(lower443, { endpoint: { hostname: HOSTNAME, port: 443 } }),
      SESSION.accessKeyId,
    );
    // Only 443 may be left out of the signed host.
    const dropped = craft({ host: `${HOSTNAME}:${PORT}`, signedHost: HOSTNAME });
    expectRejected(dropped, expectations(dropped), "signature");
    // And the signed host is still bound: another host signed, this one written.
    const other = craft({
      host: `${HOSTNAME}:${PORT}`,
      signedHost: `other.cluster-abc123.us-east-1.rds.amazonaws.com:${PORT}`,
    });
    expectRejected(other, expectations(other), "signature");
  });

  it("any of several credentials (rotation), answering with the one that signed", async () => {
    const next: GatewayCredential = {
      accessKeyId: "AKIAGATEWAYNEXT00001",
      secretAccessKey: "next",
    };
    const token = await sign({ credentials: next });
    expectAccepted(token, expectations(token, { credentials: [STATIC, next] }), next.accessKeyId);
    // Two entries with one key id: the one whose secret matches wins.
    const impostor = { ...next, secretAccessKey: "someone elses secret key" };
    expectAccepted(token, expectations(token, { credentials: [impostor, next] }), next.accessKeyId);
  });

  it("users on the allow-list", async () => {
    const token = await sign();
    expectAccepted(token, expectations(token, { allowedUsers: ["other", USER] }));
  });
});

describe("verifyToken rejects", () => {
  it("a tampered signature", async () => {
    const token = await sign();
    const detail = expectRejected(flipLastSignatureDigit(token), expectations(token), "signature");
    expect(detail).toContain(STATIC.accessKeyId);
  });

  it("any signed field changed after signing, with the signature as the reason", async () => {
    const token = await sign();
    const expect_ = expectations(token);
    expectRejected(
      withParam(token, "DBUser", "mallory"),
      { ...expect_, user: "mallory" },
      "signature",
    );
    expectRejected(withParam(token, "X-Amz-Expires", "899"), expect_, "signature");
    const date = param(token, "X-Amz-Date");
    const later = `${date.slice(0, 13)}${date.slice(13, 15) === "59" ? "58" : "59"}Z`;
    expectRejected(withParam(token, "X-Amz-Date", later), expect_, "signature");
    expectRejected(`${token}&Extra=1`, expect_, "signature");
    // A port the signer did not sign.
    expectRejected(
      token.replace(`:${PORT}/`, ":5433/"),
      expectations(token, { endpoint: { hostname: HOSTNAME, port: 5433 } }),
      "signature",
    );
  });

  it("a secret that does not match the key id", async () => {
    const token = await sign();
    const wrong = { ...STATIC, secretAccessKey: "someone elses secret key" };
    expectRejected(token, expectations(token, { credentials: [wrong] }), "signature");
  });

  it("a bad signature even when everything else is wrong too (never accepted, never misreported)", async () => {
    const token = await sign({ region: "eu-west-1", user: "other" });
    expectRejected(flipLastSignatureDigit(token), expectations(token), "signature");
  });

  it("another user", async () => {
    const token = await sign({ user: "other_user" });
    const detail = expectRejected(token, expectations(token), "user");
    expect(detail).toContain("other_user");
    // Exact match: no case folding, no trimming.
    const upper = await sign({ user: USER.toUpperCase() });
    expectRejected(upper, expectations(upper), "user");
  });

  it("a user not on the allow-list", async () => {
    const token = await sign();
    expectRejected(token, expectations(token, { allowedUsers: ["someone_else"] }), "not-allowed");
    expectRejected(token, expectations(token, { allowedUsers: [] }), "not-allowed");
  });

  it("another region", async () => {
    const token = await sign({ region: "eu-west-1" });
    const detail = expectRejected(token, expectations(token), "region");
    expect(detail).toContain("eu-west-1");
    expect(detail).toContain(REGION);
  });

  it("another host or port", async () => {
    const otherHost = await sign({ hostname: "other.cluster-abc123.us-east-1.rds.amazonaws.com" });
    expectRejected(otherHost, expectations(otherHost), "endpoint");
    const otherPort = await sign({ port: 3306 });
    const detail = expectRejected(otherPort, expectations(otherPort), "endpoint");
    expect(detail).toContain(`${HOSTNAME}:${PORT}`);
    const noPort = craft({ host: HOSTNAME });
    expectRejected(noPort, expectations(noPort), "endpoint");
  });

  it("another service or action", () => {
    const rds = craft({ service: "rds" });
    expectRejected(rds, expectations(rds), "service");
    const login = craft({ action: "login" });
    expectRejected(login, expectations(login), "action");
  });

  it("an unknown access key", async () => {
    const token = await sign();
    const detail = expectRejected(
      token,
      expectations(token, { credentials: [SESSION] }),
      "unknown-credentials",
    );
    expect(detail).toContain(STATIC.accessKeyId);
    expectRejected(token, expectations(token, { credentials: [] }), "unknown-credentials");
  });

  it("a missing or wrong session token", async () => {
    // Signed with the temporary key but without its session token.
    const missing = await sign({
      credentials: { accessKeyId: SESSION.accessKeyId, secretAccessKey: SESSION.secretAccessKey },
    });
    expect(missing).not.toContain("X-Amz-Security-Token");
    expectRejected(missing, expectations(missing), "session-token");
    // Signed with another session's token (the signature itself is valid).
    const wrong = await sign({ credentials: { ...SESSION, sessionToken: OTHER_SESSION_TOKEN } });
    expectRejected(wrong, expectations(wrong), "session-token");
  });

  it("a session token on a long-term key is irrelevant", () => {
    const token = craft({ credentials: { ...STATIC, sessionToken: OTHER_SESSION_TOKEN } });
    expectAccepted(token, expectations(token));
  });

  it("a token signed with session credentials that have expired since", async () => {
    const token = await sign({ credentials: SESSION });
    const now = signedAt(token) + 60_000;
    const expired = { ...SESSION, expiration: new Date(now - 1) };
    const detail = expectRejected(
      token,
      expectations(token, { now, credentials: [expired] }),
      "credentials-expired",
    );
    expect(detail).toContain(new Date(now - 1).toISOString());
    const atNow = { ...SESSION, expiration: new Date(now) };
    expectRejected(
      token,
      expectations(token, { now, credentials: [atNow] }),
      "credentials-expired",
    );
    const later = { ...SESSION, expiration: new Date(now + 1) };
    expectAccepted(token, expectations(token, { now, credentials: [later] }), SESSION.accessKeyId);
  });

  it("an expired token: valid until just before X-Amz-Date + X-Amz-Expires", async () => {
    const token = await sign();
    const end = signedAt(token) + 900_000;
    expectAccepted(token, expectations(token, { now: end - 1 }));
    expectRejected(token, expectations(token, { now: end }), "expired");
    const detail = expectRejected(
      token,
      expectations(token, { now: end + 20 * 60_000 }),
      "expired",
    );
    expect(detail).toContain(new Date(end).toISOString());
    // Short-lived tokens expire sooner.
    const short = craft({ expires: "60" });
    expectRejected(short, expectations(short, { now: signedAt(short) + 60_000 }), "expired");
  });

  it("a date further in the future than the clock skew allows", async () => {
    const token = await sign();
    const at = signedAt(token);
    expectAccepted(token, expectations(token, { now: at - 300_000 }));
    expectRejected(token, expectations(token, { now: at - 300_001 }), "not-yet-valid");
    expectRejected(
      token,
      expectations(token, { now: at - 1, clockSkewSeconds: 0 }),
      "not-yet-valid",
    );
    const future = craft({ amzDate: amzDateAt(Date.now() + 3_600_000) });
    expectRejected(future, expectations(future, { now: Date.now() }), "not-yet-valid");
  });

  it("X-Amz-Expires above 900, and non-positive or non-integer values", () => {
    const long = craft({ expires: "901" });
    expectRejected(long, expectations(long), "expires-too-long");
    const week = craft({ expires: "604800" });
    expectRejected(week, expectations(week), "expires-too-long");
    for (const expires of ["0", "-5", "1.5", "abc", "", "1e3", "99999999999"]) {
      const token = craft({ expires });
      expectRejected(token, expectations(token), "malformed");
    }
  });

  it("garbage and malformed tokens, without quoting them", async () => {
    const token = await sign({ credentials: SESSION });
    const expect_ = expectations(token);
    const garbage = [
      "",
      "hunter2",
      "correct horse battery staple",
      `https://${token}`,
      token.replace("/?", "?"),
      token.replace("/?", "/x?"),
      `${token}#fragment`,
      token.replace("Action=connect", "Action=con nect"),
      `${token}&DBUser=${USER}`,
      `${token}&X-Amz-Signature=${"0".repeat(64)}`,
      token.replace(/&X-Amz-Date=[^&]*/, ""),
      token.replace(/&X-Amz-Signature=[^&]*/, ""),
      token.replace(/DBUser=[^&]*/, "DBUser=%zz"),
      withParam(token, "X-Amz-Algorithm", "AWS4-HMAC-SHA512"),
      withParam(token, "X-Amz-SignedHeaders", "host%3Bx-amz-date"),
      withParam(token, "X-Amz-Credential", `${SESSION.accessKeyId}%2F20260101%2Fus-east-1`),
      withParam(
        token,
        "X-Amz-Credential",
        `${SESSION.accessKeyId}%2F20200101%2Fus-east-1%2Frds-db%2Faws4_request`,
      ),
      withParam(token, "X-Amz-Date", "20260231T120000Z"),
      withParam(token, "X-Amz-Date", "2026-11-24T12:00:00Z"),
      token.replace(
        /X-Amz-Signature=([0-9a-f]+)/,
        (_, sig: string) => `X-Amz-Signature=${sig.toUpperCase()}`,
      ),
      token.replace(
        /X-Amz-Signature=([0-9a-f]+)/,
        (_, sig: string) => `X-Amz-Signature=${sig.slice(1)}`,
      ),
      `${token}&pad=${"x".repeat(20_000)}`,
      "\u0000\u0001\u0002",
      "/?Action=connect",
    ];
    for (const bad of garbage) expectRejected(bad, expect_, "malformed");
    for (const notAString of [undefined, null, 42, {}]) {
      expectRejected(notAString as unknown as string, expect_, "malformed");
    }
    // A password someone typed by mistake is never echoed.
    const detail = expectRejected("my real password!", expect_, "malformed");
    expect(detail).not.toContain("my real password");
  });

  it("details never contain the token, its signature, a secret key or a session token", async () => {
    // expectRejected checks every verdict above; this one drives each reason at once
    // with session credentials, whose token appears in the query.
    const token = await sign({ credentials: SESSION });
    const cases: [string, Partial<TokenExpectations>, RejectReason][] = [
      [flipLastSignatureDigit(token), {}, "signature"],
      [token, { user: "x" }, "user"],
      [token, { region: "eu-west-1" }, "region"],
      [token, { endpoint: { hostname: "x.example.com", port: PORT } }, "endpoint"],
      [token, { credentials: [STATIC] }, "unknown-credentials"],
      [
        token,
        { credentials: [{ ...SESSION, sessionToken: OTHER_SESSION_TOKEN }] },
        "session-token",
      ],
      [token, { credentials: [{ ...SESSION, expiration: new Date(0) }] }, "credentials-expired"],
      [token, { now: signedAt(token) + 901_000 }, "expired"],
      [token, { now: signedAt(token) - 301_000 }, "not-yet-valid"],
      [token, { allowedUsers: [] }, "not-allowed"],
    ];
    for (const [t, overrides, reason] of cases)
      expectRejected(t, expectations(token, overrides), reason);
  });
});

describe("verifyToken names whose token it refused", () => {
  it("a refused well-formed token carries its (public) access key id; a malformed one none", async () => {
    const token = await sign({ credentials: SESSION });
    const refused = verifyToken(flipLastSignatureDigit(token), expectations(token));
    expect(refused).toMatchObject({
      ok: false,
      reason: "signature",
      accessKeyId: SESSION.accessKeyId,
    });
    const unknown = verifyToken(token, expectations(token, { credentials: [STATIC] }));
    expect(unknown).toMatchObject({
      reason: "unknown-credentials",
      accessKeyId: SESSION.accessKeyId,
    });
    const malformed = verifyToken("my real password!", expectations(token));
    expect(malformed).toMatchObject({ ok: false, reason: "malformed" });
    expect("accessKeyId" in malformed).toBe(false);
  });
});
