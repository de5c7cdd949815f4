import { createHash, createHmac, timingSafeEqual } from "node:crypto";

/*
 * AWS Signature Version 4 primitives for presigned (query-string) requests, written
 * with node:crypto only. The gateway judges tokens independently: nothing here may come
 * from @aws-sdk, @smithy or @rds-iam/core, or a bug shared with the signer would go
 * unnoticed. Proven against the AWS SigV4 test suite (test/vectors/sigv4).
 */

/** The only algorithm SigV4 presigning defines (and the only one RDS accepts). */
export const SIGV4_ALGORITHM = "AWS4-HMAC-SHA256";

/** The last element of every SigV4 credential scope. */
export const SIGV4_TERMINATOR = "aws4_request";

/**
 * SHA-256 of the empty string: the payload hash `@aws-sdk/rds-signer` (smithy's
 * SignatureV4) puts in the canonical request of a bodiless GET.
 */
export const EMPTY_PAYLOAD_SHA256 =
  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/** The payload hash botocore's presigner puts in the canonical request. */
export const UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD";

/** A query parameter, percent-decoded. */
export interface QueryParameter {
  readonly key: string;
  readonly value: string;
}

/** Thrown by the parsers here for input that is not a valid SigV4 shape. */
export class SigV4FormatError extends Error {
  override readonly name = "SigV4FormatError";
}

/** Hex SHA-256 of a UTF-8 string or bytes. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/**
 * RFC 3986 percent-encoding as SigV4 defines it: the unreserved characters
 * `A-Z a-z 0-9 - . _ ~` stay, every other UTF-8 byte becomes `%XX` (upper-case hex).
 * `encodeURIComponent` also keeps `! ' ( ) *`, which SigV4 encodes, hence the fix-up.
 * With `encodeSlash: false` (paths), `/` stays too.
 *
 * @throws SigV4FormatError for a string with a lone surrogate (not encodable as UTF-8).
 */
export function uriEncode(value: string, encodeSlash = true): string {
  let encoded: string;
  try {
    encoded = encodeURIComponent(value);
  } catch {
    throw new SigV4FormatError("value is not valid Unicode");
  }
  encoded = encoded.replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return encodeSlash ? encoded : encoded.replace(/%2F/g, "/");
}

function percentDecode(value: string): string {
  try {
    // `+` stays a literal plus: SigV4 signers encode a space as %20, never as `+`.
    return decodeURIComponent(value);
  } catch {
    throw new SigV4FormatError("query has an invalid percent-encoding");
  }
}

/**
 * Parses a raw query string (without the leading `?`) into decoded parameters, in
 * order. Empty pieces (`a=1&&b=2`, a trailing `&`) are skipped; a piece without `=`
 * is a key with an empty value.
 *
 * @throws SigV4FormatError for an invalid percent-encoding.
 */
export function parseQuery(rawQuery: string): QueryParameter[] {
  const parameters: QueryParameter[] = [];
  for (const piece of rawQuery.split("&")) {
    if (piece === "") continue;
    const equals = piece.indexOf("=");
    const rawKey = equals === -1 ? piece : piece.slice(0, equals);
    const rawValue = equals === -1 ? "" : piece.slice(equals + 1);
    parameters.push({ key: percentDecode(rawKey), value: percentDecode(rawValue) });
  }
  return parameters;
}

/**
 * The canonical query string: every parameter decoded, re-encoded with
 * {@link uriEncode}, sorted by encoded key then encoded value (byte order; encoded
 * strings are ASCII, so code-unit order is byte order), joined with `&`.
 *
 * @param query - a raw query string (decoded first) or parsed parameters.
 * @param exclude - decoded keys left out. Default: `X-Amz-Signature`, which a presigned
 *   URL carries but does not sign.
 * @throws SigV4FormatError for an invalid percent-encoding.
 */
export function canonicalQuery(
  query: string | readonly QueryParameter[],
  exclude: readonly string[] = ["X-Amz-Signature"],
): string {
  const parameters = typeof query === "string" ? parseQuery(query) : query;
  const pairs: [string, string][] = [];
  for (const { key, value } of parameters) {
    if (exclude.includes(key)) continue;
    pairs.push([uriEncode(key), uriEncode(value)]);
  }
  pairs.sort(([ka, va], [kb, vb]) => (ka < kb ? -1 : ka > kb ? 1 : va < vb ? -1 : va > vb ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join("&");
}

/**
 * Removes `.` and `..` segments (RFC 3986 section 5.2.4) and empty segments (duplicate
 * slashes), keeping a trailing slash. What SigV4 signers do for every service but S3.
 */
function normalizePath(path: string): string {
  const segments: string[] = [];
  const parts = path.split("/");
  for (const part of parts) {
    if (part === "" || part === ".") continue;
    if (part === "..") segments.pop();
    else segments.push(part);
  }
  if (segments.length === 0) return "/";
  const last = parts[parts.length - 1];
  const trailingSlash = last === "" || last === "." || last === "..";
  return `/${segments.join("/")}${trailingSlash ? "/" : ""}`;
}

/**
 * The canonical URI of a request path: optionally normalized (`normalize: true`, the
 * default of every SigV4 signer except S3's), then each segment percent-encoded once.
 *
 * @param path - the decoded path (what the request means, e.g. `/example space/`).
 * @throws SigV4FormatError for a path that does not start with `/` or is not valid Unicode.
 */
export function canonicalPath(path: string, options: { readonly normalize: boolean }): string {
  if (!path.startsWith("/")) throw new SigV4FormatError("path must start with /");
  return uriEncode(options.normalize ? normalizePath(path) : path, false);
}

/** Canonical headers and the signed-headers list that goes with them. */
export interface CanonicalHeaders {
  /** `name:value\n` per header, names lower-cased and sorted. */
  readonly canonical: string;
  /** The lower-cased names joined with `;` (`X-Amz-SignedHeaders`). */
  readonly signedHeaders: string;
}

/**
 * Canonical headers: names lower-cased, values trimmed with inner whitespace runs
 * (including folded continuation lines) collapsed to one space, repeated headers joined
 * with `,` in the order given, sorted by name.
 */
export function canonicalHeaders(
  headers: readonly (readonly [name: string, value: string])[],
): CanonicalHeaders {
  const byName = new Map<string, string[]>();
  for (const [name, value] of headers) {
    const key = name.trim().toLowerCase();
    const cleaned = value.trim().replace(/\s+/g, " ");
    const values = byName.get(key);
    if (values) values.push(cleaned);
    else byName.set(key, [cleaned]);
  }
  const names = [...byName.keys()].sort();
  return {
    canonical: names.map((name) => `${name}:${(byName.get(name) ?? []).join(",")}\n`).join(""),
    signedHeaders: names.join(";"),
  };
}

/** The parts of a canonical request, each already canonical. */
export interface CanonicalRequestParts {
  readonly method: string;
  /** From {@link canonicalPath}. */
  readonly path: string;
  /** From {@link canonicalQuery}. */
  readonly query: string;
  /** From {@link canonicalHeaders}. */
  readonly headers: CanonicalHeaders;
  /** Hex SHA-256 of the body, or {@link UNSIGNED_PAYLOAD}. */
  readonly payloadHash: string;
}

/** The canonical request, exactly as SigV4 hashes it. */
export function canonicalRequest(parts: CanonicalRequestParts): string {
  return [
    parts.method,
    parts.path,
    parts.query,
    parts.headers.canonical,
    parts.headers.signedHeaders,
    parts.payloadHash,
  ].join("\n");
}

/** `YYYYMMDD/region/service/aws4_request`. */
export function credentialScope(date: string, region: string, service: string): string {
  return `${date}/${region}/${service}/${SIGV4_TERMINATOR}`;
}

/**
 * The string to sign.
 *
 * @param amzDate - `YYYYMMDDTHHMMSSZ` (`X-Amz-Date`).
 * @param scope - from {@link credentialScope}.
 */
export function stringToSign(amzDate: string, scope: string, request: string): string {
  return `${SIGV4_ALGORITHM}\n${amzDate}\n${scope}\n${sha256Hex(request)}`;
}

function hmac(key: string | Uint8Array, data: string): Buffer {
  return createHmac("sha256", key).update(data, "utf8").digest();
}

// Deriving a key costs four HMACs; a gateway sees many tokens for the same few
// (secret, day, region, service) combinations. Keyed by a hash so no secret sits in a
// map key; the module never hands the cache out.
const SIGNING_KEY_CACHE_SIZE = 64;
const signingKeys = new Map<string, Buffer>();

/**
 * The SigV4 signing key for a secret, a day (`YYYYMMDD`), a region and a service.
 * Cached (least recently used, 64 entries).
 */
export function signingKey(
  secretAccessKey: string,
  date: string,
  region: string,
  service: string,
): Buffer {
  const cacheKey = createHash("sha256")
    .update(JSON.stringify([secretAccessKey, date, region, service]))
    .digest("base64");
  const cached = signingKeys.get(cacheKey);
  if (cached) {
    signingKeys.delete(cacheKey);
    signingKeys.set(cacheKey, cached);
    return cached;
  }
  const dateKey = hmac(`AWS4${secretAccessKey}`, date);
  const key = hmac(hmac(hmac(dateKey, region), service), SIGV4_TERMINATOR);
  signingKeys.set(cacheKey, key);
  if (signingKeys.size > SIGNING_KEY_CACHE_SIZE) {
    const oldest = signingKeys.keys().next().value;
    if (oldest !== undefined) signingKeys.delete(oldest);
  }
  return key;
}

/** The hex signature of a string to sign. */
export function signature(key: Uint8Array, toSign: string): string {
  return createHmac("sha256", key).update(toSign, "utf8").digest("hex");
}

/**
 * Compares two strings in time that does not depend on where they differ (signatures,
 * session tokens). Only the length may leak, which is public for signatures.
 */
export function timingSafeEqualString(a: string, b: string): boolean {
  const left = Buffer.from(a, "utf8");
  const right = Buffer.from(b, "utf8");
  if (left.length !== right.length) {
    // Still do the work once, so a length mismatch is not much faster than a mismatch.
    timingSafeEqual(left, left);
    return false;
  }
  return timingSafeEqual(left, right);
}
