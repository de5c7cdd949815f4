import { existsSync, readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  canonicalHeaders,
  canonicalPath,
  canonicalQuery,
  canonicalRequest,
  credentialScope,
  EMPTY_PAYLOAD_SHA256,
  parseQuery,
  type QueryParameter,
  SIGV4_ALGORITHM,
  SigV4FormatError,
  sha256Hex,
  signature,
  signingKey,
  stringToSign,
  timingSafeEqualString,
  uriEncode,
} from "../src/sigv4";
import { type PresignedQuery, presignedSignatureMatches } from "../src/token-verifier";

/*
 * The AWS SigV4 test suite (awslabs/aws-c-auth, see vectors/sigv4/SOURCE.md), presigned
 * (`query-*`) form: what RDS IAM tokens are. Every case is driven through the gateway's
 * own primitives; the expected canonical request, string to sign and signature must
 * match byte for byte, and the signed request each case ends with must verify.
 */

const VECTORS = fileURLToPath(new URL("./vectors/sigv4/", import.meta.url));

/**
 * Cases whose shape the primitives cannot express, with the reason. Empty: the
 * primitives are generic (any method, path, headers and body hash), so every case
 * applies, including POST bodies and folded headers. A case listed here must exist.
 */
const EXCLUDED: Readonly<Record<string, string>> = {};

interface VectorContext {
  readonly credentials: {
    readonly access_key_id: string;
    readonly secret_access_key: string;
    readonly token?: string;
  };
  readonly expiration_in_seconds: number;
  readonly normalize: boolean;
  readonly region: string;
  readonly service: string;
  readonly sign_body: boolean;
  readonly timestamp: string;
  /** The session token is added to the URL after signing, so it is not signed. */
  readonly omit_session_token?: boolean;
}

interface HttpMessage {
  readonly method: string;
  /** Decoded path, as the vectors write it. */
  readonly path: string;
  readonly rawQuery: string;
  readonly headers: readonly (readonly [string, string])[];
  readonly body: string;
}

/** Parses the vectors' HTTP/1.1 text, folded (indented) header lines included. */
function parseHttp(text: string): HttpMessage {
  const lines = text.split("\n");
  const requestLine = lines[0] ?? "";
  const space = requestLine.indexOf(" ");
  const target = requestLine.slice(space + 1).replace(/ HTTP\/1\.1$/, "");
  const question = target.indexOf("?");
  const headers: [string, string][] = [];
  let index = 1;
  for (; index < lines.length; index += 1) {
    const line = lines[index] ?? "";
    if (line === "") break;
    const previous = headers[headers.length - 1];
    if (/^\s/.test(line) && previous) {
      previous[1] = `${previous[1]}\n${line}`;
      continue;
    }
    const colon = line.indexOf(":");
    headers.push([line.slice(0, colon), line.slice(colon + 1)]);
  }
  return {
    method: requestLine.slice(0, space),
    path: question === -1 ? target : target.slice(0, question),
    rawQuery: question === -1 ? "" : target.slice(question + 1),
    headers,
    body: lines.slice(index + 1).join("\n"),
  };
}

/** `2015-08-30T12:36:00Z` -> `20150830T123600Z`. */
function amzDateOf(timestamp: string): string {
  return new Date(timestamp)
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
}

interface VectorCase {
  readonly name: string;
  readonly context: VectorContext;
  readonly request: HttpMessage;
  readonly signedRequest: HttpMessage;
  readonly canonicalRequest: string;
  readonly stringToSign: string;
  readonly signature: string;
}

function loadCase(name: string): VectorCase {
  const read = (file: string) => readFileSync(`${VECTORS}${name}/${file}`, "utf8");
  return {
    name,
    context: JSON.parse(read("context.json")) as VectorContext,
    request: parseHttp(read("request.txt")),
    signedRequest: parseHttp(read("query-signed-request.txt")),
    canonicalRequest: read("query-canonical-request.txt"),
    stringToSign: read("query-string-to-sign.txt"),
    signature: read("query-signature.txt").trim(),
  };
}

function payloadHash(vector: VectorCase, message: HttpMessage): string {
  return vector.context.sign_body ? sha256Hex(message.body) : EMPTY_PAYLOAD_SHA256;
}

/** Presigns the case's request as a SigV4 signer would. */
function presign(vector: VectorCase) {
  const { context, request } = vector;
  const amzDate = amzDateOf(context.timestamp);
  const date = amzDate.slice(0, 8);
  const scope = credentialScope(date, context.region, context.service);
  const headers = canonicalHeaders(request.headers);
  const query: QueryParameter[] = [
    ...parseQuery(request.rawQuery),
    { key: "X-Amz-Algorithm", value: SIGV4_ALGORITHM },
    { key: "X-Amz-Credential", value: `${context.credentials.access_key_id}/${scope}` },
    { key: "X-Amz-Date", value: amzDate },
    { key: "X-Amz-Expires", value: String(context.expiration_in_seconds) },
    { key: "X-Amz-SignedHeaders", value: headers.signedHeaders },
  ];
  if (context.credentials.token !== undefined && context.omit_session_token !== true) {
    query.push({ key: "X-Amz-Security-Token", value: context.credentials.token });
  }
  const canonical = canonicalRequest({
    method: request.method,
    path: canonicalPath(request.path, { normalize: context.normalize }),
    query: canonicalQuery(query),
    headers,
    payloadHash: payloadHash(vector, request),
  });
  const toSign = stringToSign(amzDate, scope, canonical);
  const key = signingKey(
    context.credentials.secret_access_key,
    date,
    context.region,
    context.service,
  );
  return { canonical, toSign, signature: signature(key, toSign) };
}

/**
 * Verifies a presigned request from what it carries: the query's own scope and date,
 * the headers it names as signed, the signature it claims.
 */
function verifySignedRequest(vector: VectorCase, message: HttpMessage): boolean {
  const { context } = vector;
  const parameters = parseQuery(message.rawQuery);
  const value = (key: string) => parameters.find((p) => p.key === key)?.value ?? "";
  const claimed = value("X-Amz-Signature");
  const [accessKeyId, date = "", region = "", service = ""] = value("X-Amz-Credential").split("/");
  expect(accessKeyId).toBe(context.credentials.access_key_id);
  const signed = new Set(value("X-Amz-SignedHeaders").split(";"));
  const headers = canonicalHeaders(
    message.headers.filter(([name]) => signed.has(name.trim().toLowerCase())),
  );
  expect(headers.signedHeaders).toBe(value("X-Amz-SignedHeaders"));
  const exclude = ["X-Amz-Signature"];
  // A token appended after signing (omit_session_token) is carried, not signed.
  if (context.omit_session_token === true) exclude.push("X-Amz-Security-Token");
  const canonical = canonicalRequest({
    method: message.method,
    path: canonicalPath(message.path, { normalize: context.normalize }),
    query: canonicalQuery(message.rawQuery, exclude),
    headers,
    payloadHash: payloadHash(vector, message),
  });
  const toSign = stringToSign(
    value("X-Amz-Date"),
    credentialScope(date, region, service),
    canonical,
  );
  const key = signingKey(context.credentials.secret_access_key, date, region, service);
  return timingSafeEqualString(signature(key, toSign), claimed);
}

function tamper(rawQuery: string): string {
  // Flip the last hex digit of the signature.
  return rawQuery.replace(
    /(X-Amz-Signature=[0-9a-f]{63})([0-9a-f])/,
    (_, head: string, last) => `${head}${last === "0" ? "1" : "0"}`,
  );
}

if (!existsSync(VECTORS)) {
  // Fail, never skip: a missing folder would otherwise pass as "no cases".
  throw new Error(`SigV4 vectors missing at ${VECTORS}`);
}
const presignedCases = readdirSync(VECTORS, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .filter((name) => existsSync(`${VECTORS}${name}/query-signed-request.txt`))
  .sort();
const applied = presignedCases.filter((name) => !(name in EXCLUDED));

describe("AWS SigV4 test suite, presigned form", () => {
  it("applies a non-trivial set of cases and excludes only named, existing ones", () => {
    expect(applied.length).toBeGreaterThanOrEqual(25);
    for (const name of Object.keys(EXCLUDED)) expect(presignedCases).toContain(name);
    // The cases shaped exactly like RDS tokens must be among them.
    expect(applied).toContain("get-vanilla-query");
    expect(applied).toContain("get-vanilla-with-session-token");
  });

  it.each(applied)("%s", (name) => {
    const vector = loadCase(name);
    const computed = presign(vector);
    expect(computed.canonical).toBe(vector.canonicalRequest);
    expect(computed.toSign).toBe(vector.stringToSign);
    expect(computed.signature).toBe(vector.signature);

    const signed = vector.signedRequest;
    expect(verifySignedRequest(vector, signed)).toBe(true);
    expect(verifySignedRequest(vector, { ...signed, rawQuery: tamper(signed.rawQuery) })).toBe(
      false,
    );
    // Any signed part changed breaks it too: here the date.
    const redated = signed.rawQuery.replace(
      "X-Amz-Date=20150830T123600Z",
      "X-Amz-Date=20150830T123601Z",
    );
    expect(redated).not.toBe(signed.rawQuery);
    expect(verifySignedRequest(vector, { ...signed, rawQuery: redated })).toBe(false);
  });
});

/*
 * The cases shaped like an RDS token (GET `/`, only `host` signed, no body, the session
 * token signed when there is one) go through the token verifier's own signature check
 * too, not only through the primitives: `host/?query` is what a client sends as its
 * password. (The verifier's other checks, Action, DBUser, service rds-db, 900 s, cannot
 * pass on these cases by design; token-verifier.test.ts covers them.)
 */
const rdsShaped = applied.filter((name) => {
  const vector = loadCase(name);
  const signedHeaders = parseQuery(vector.signedRequest.rawQuery).find(
    (p) => p.key === "X-Amz-SignedHeaders",
  )?.value;
  return (
    vector.request.method === "GET" &&
    vector.request.path === "/" &&
    signedHeaders === "host" &&
    !vector.context.sign_body &&
    vector.context.omit_session_token !== true
  );
});

function presignedQueryOf(vector: VectorCase, host?: string): PresignedQuery {
  const message = vector.signedRequest;
  const parameters = parseQuery(message.rawQuery);
  const value = (key: string) => parameters.find((p) => p.key === key)?.value ?? "";
  const [, scopeDate = "", region = "", service = ""] = value("X-Amz-Credential").split("/");
  const signedHost = message.headers.find(([name]) => name.toLowerCase() === "host")?.[1] ?? "";
  return {
    host: host ?? signedHost.trim(),
    parameters,
    scopeDate,
    region,
    service,
    amzDate: value("X-Amz-Date"),
    signature: value("X-Amz-Signature"),
  };
}

describe("AWS SigV4 test suite, RDS-shaped cases, through the token verifier", () => {
  it("finds them, including the two the suite names as RDS-shaped", () => {
    expect(rdsShaped).toContain("get-vanilla-query");
    expect(rdsShaped).toContain("get-vanilla-with-session-token");
    expect(rdsShaped.length).toBeGreaterThanOrEqual(8);
  });

  it.each(rdsShaped)("%s", (name) => {
    const vector = loadCase(name);
    const secret = vector.context.credentials.secret_access_key;
    const presigned = presignedQueryOf(vector);
    expect(presignedSignatureMatches(presigned, secret)).toBe(true);
    // The host written in another case, as botocore's prefixes may be.
    const upper = presignedQueryOf(vector, presigned.host.toUpperCase());
    expect(presignedSignatureMatches(upper, secret)).toBe(true);
    expect(presignedSignatureMatches(presigned, `${secret}x`)).toBe(false);
    expect(
      presignedSignatureMatches(presignedQueryOf(vector, `other.${presigned.host}`), secret),
    ).toBe(false);
    const flipped = presigned.signature.replace(/.$/, (c) => (c === "0" ? "1" : "0"));
    expect(presignedSignatureMatches({ ...presigned, signature: flipped }, secret)).toBe(false);
    // Every parameter is signed: dropping or changing one breaks it.
    for (const dropped of presigned.parameters) {
      if (dropped.key === "X-Amz-Signature") continue;
      const without = presigned.parameters.filter((p) => p !== dropped);
      expect(presignedSignatureMatches({ ...presigned, parameters: without }, secret)).toBe(false);
    }
  });
});

describe("SigV4 primitives", () => {
  it("uriEncode keeps exactly the RFC 3986 unreserved characters", () => {
    const unreserved = "ABCXYZabcxyz0189-._~";
    expect(uriEncode(unreserved)).toBe(unreserved);
    expect(uriEncode("!'()*")).toBe("%21%27%28%29%2A");
    expect(uriEncode("a b+c/d=e&f%")).toBe("a%20b%2Bc%2Fd%3De%26f%25");
    expect(uriEncode("a/b c", false)).toBe("a/b%20c");
    expect(uriEncode("\u1234")).toBe("%E1%88%B4");
    expect(() => uriEncode("\ud800")).toThrow(SigV4FormatError);
  });

  it("canonicalQuery decodes, re-encodes, sorts by key then value and drops the signature", () => {
    expect(canonicalQuery("b=2&a=2&a=1&X-Amz-Signature=ff&c&%7e=%7E&d=x+y&&")).toBe(
      "a=1&a=2&b=2&c=&d=x%2By&~=~",
    );
    expect(canonicalQuery("a=1&b=2", ["b"])).toBe("a=1");
    expect(() => canonicalQuery("a=%zz")).toThrow(SigV4FormatError);
    expect(() => canonicalQuery("a=%ED%A0%80")).toThrow(SigV4FormatError);
  });

  it("canonicalPath normalizes only when asked", () => {
    expect(canonicalPath("/a/b/../c/./d//", { normalize: true })).toBe("/a/c/d/");
    expect(canonicalPath("/a/b/..", { normalize: true })).toBe("/a/");
    expect(canonicalPath("/../..", { normalize: true })).toBe("/");
    expect(canonicalPath("/a/b/../c", { normalize: false })).toBe("/a/b/../c");
    expect(() => canonicalPath("relative", { normalize: true })).toThrow(SigV4FormatError);
  });

  it("canonicalHeaders lower-cases, trims, collapses whitespace and joins repeats in order", () => {
    const headers = canonicalHeaders([
      ["Host", " Example.com "],
      ["X-B", "two"],
      ["x-b", "  one\n   more  "],
      ["X-A", '"a   b"'],
    ]);
    expect(headers.canonical).toBe('host:Example.com\nx-a:"a b"\nx-b:two,one more\n');
    expect(headers.signedHeaders).toBe("host;x-a;x-b");
  });

  it("signingKey is the documented HMAC chain, and cached keys equal fresh ones", () => {
    // The worked example of the AWS SigV4 documentation (IAM, us-east-1, 20150830).
    const secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    const key = signingKey(secret, "20150830", "us-east-1", "iam");
    expect(key.toString("hex")).toBe(
      "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9",
    );
    // Push it out of the 64-entry cache, then derive it again.
    for (let i = 0; i < 80; i += 1) signingKey(secret, "20150830", `region-${i}`, "iam");
    expect(signingKey(secret, "20150830", "us-east-1", "iam").equals(key)).toBe(true);
    expect(signingKey(`${secret}x`, "20150830", "us-east-1", "iam").equals(key)).toBe(false);
  });

  it("timingSafeEqualString compares content and length", () => {
    expect(timingSafeEqualString("abc", "abc")).toBe(true);
    expect(timingSafeEqualString("abc", "abd")).toBe(false);
    expect(timingSafeEqualString("abc", "abcd")).toBe(false);
    expect(timingSafeEqualString("", "")).toBe(true);
  });
});
