import type { GatewayCredential, RejectReason } from "./gateway-options";
import {
  canonicalHeaders,
  canonicalQuery,
  canonicalRequest,
  credentialScope,
  EMPTY_PAYLOAD_SHA256,
  parseQuery,
  type QueryParameter,
  SIGV4_ALGORITHM,
  SIGV4_TERMINATOR,
  SigV4FormatError,
  signature,
  signingKey,
  stringToSign,
  timingSafeEqualString,
  UNSIGNED_PAYLOAD,
} from "./sigv4";

/** What a token must match for the gateway to accept a login. */
export interface TokenExpectations {
  /** The user the client logs in as; the token's `DBUser` must equal it exactly. */
  readonly user: string;
  /**
   * The endpoint the gateway stands for. The token's signed host must be
   * `hostname:port` (case-insensitive), or just `hostname` when `port` is 443
   * (botocore drops the default HTTPS port).
   */
  readonly endpoint: { readonly hostname: string; readonly port: number };
  /** The region the token must be signed for. */
  readonly region: string;
  /** The credentials whose tokens are accepted, looked up by `accessKeyId`. */
  readonly credentials: readonly GatewayCredential[];
  /** The gateway's clock, ms since the epoch. */
  readonly now: number;
  /** How far in the future `X-Amz-Date` may lie (clock drift between signer and gateway). */
  readonly clockSkewSeconds: number;
  /** Users allowed to log in. Default: any user. */
  readonly allowedUsers?: readonly string[] | undefined;
}

/**
 * The verifier's answer. `detail` is for gateway logs and tests: it names the field
 * that did not match and what was expected, never the token, its signature or a secret.
 */
export type TokenVerdict =
  | { readonly ok: true; readonly accessKeyId: string }
  | {
      readonly ok: false;
      readonly reason: RejectReason;
      readonly detail: string;
      /** The access key id the token names (public), once its shape is valid. */
      readonly accessKeyId?: string | undefined;
    };

/** The service RDS IAM tokens are signed for. */
const RDS_SERVICE = "rds-db";
/** RDS refuses tokens that claim a longer life. */
const MAX_EXPIRES_SECONDS = 900;
/**
 * Longer than any real token (a session token is at most a few KB); refusing early
 * keeps a hostile client from making the gateway hash megabytes.
 */
const MAX_TOKEN_LENGTH = 16_384;

const REQUIRED = [
  "Action",
  "DBUser",
  "X-Amz-Algorithm",
  "X-Amz-Credential",
  "X-Amz-Date",
  "X-Amz-Expires",
  "X-Amz-SignedHeaders",
  "X-Amz-Signature",
] as const;
/** Parameters that must not appear twice (which copy would the database believe?). */
const SINGLE = new Set<string>([...REQUIRED, "X-Amz-Security-Token"]);

// A hostname or IPv4 address, or a bracketed IPv6 address, then an optional port.
const HOST_PATTERN = /^(?:[A-Za-z0-9._~-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/;
const AMZ_DATE_PATTERN = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
const SIGNATURE_PATTERN = /^[0-9a-f]{64}$/;

/**
 * What the signature of a presigned `host/?query` token covers, as the token carries
 * it: the parts {@link presignedSignatureMatches} needs.
 */
export interface PresignedQuery {
  /** The token's prefix before `/?`: `host:port` or `host`, as the signer wrote it. */
  readonly host: string;
  /** Every query parameter, decoded, in order (`X-Amz-Signature` included). */
  readonly parameters: readonly QueryParameter[];
  /** `YYYYMMDD`, from `X-Amz-Credential`. */
  readonly scopeDate: string;
  readonly region: string;
  readonly service: string;
  /** `X-Amz-Date`. */
  readonly amzDate: string;
  /** `X-Amz-Signature`. */
  readonly signature: string;
}

interface ParsedToken extends PresignedQuery {
  readonly action: string;
  readonly dbUser: string;
  readonly accessKeyId: string;
  readonly dateMs: number;
  readonly expiresSeconds: number;
  readonly securityToken: string | undefined;
}

type Rejection = { readonly ok: false; readonly reason: RejectReason; readonly detail: string };

function reject(reason: RejectReason, detail: string): Rejection {
  return { ok: false, reason, detail };
}

function malformed(detail: string): Rejection {
  return reject("malformed", detail);
}

function parseAmzDate(value: string): number | undefined {
  const match = AMZ_DATE_PATTERN.exec(value);
  if (!match) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  const back = new Date(ms);
  // Date.UTC rolls 20260231 over into March; a real signer never writes such a date.
  if (
    back.getUTCFullYear() !== year ||
    back.getUTCMonth() !== month - 1 ||
    back.getUTCDate() !== day ||
    back.getUTCHours() !== hour ||
    back.getUTCMinutes() !== minute ||
    back.getUTCSeconds() !== second
  ) {
    return undefined;
  }
  return ms;
}

/**
 * Checks the token's shape. Details never quote token content here: a client that
 * sends something that is not a token may well have sent a real password.
 */
function parseToken(token: string): ParsedToken | Rejection {
  if (token.length === 0) return malformed("the password is empty");
  if (token.length > MAX_TOKEN_LENGTH) {
    return malformed(`the password is longer than ${MAX_TOKEN_LENGTH} characters`);
  }
  const slash = token.indexOf("/");
  const host = slash === -1 ? "" : token.slice(0, slash);
  if (!HOST_PATTERN.test(host)) {
    return malformed("expected host:port, then /? and the signed query, without a scheme");
  }
  if (token[slash + 1] !== "?") return malformed("the path must be / followed by the query");
  const rawQuery = token.slice(slash + 2);
  if (/[\s#]/.test(rawQuery)) return malformed("the query contains whitespace or a fragment");

  let parameters: QueryParameter[];
  try {
    parameters = parseQuery(rawQuery);
  } catch (error) {
    if (error instanceof SigV4FormatError) return malformed(error.message);
    throw error;
  }
  const values = new Map<string, string>();
  for (const { key, value } of parameters) {
    if (SINGLE.has(key) && values.has(key)) return malformed(`${key} appears more than once`);
    values.set(key, value);
  }
  for (const name of REQUIRED) {
    if (!values.has(name)) return malformed(`${name} is missing`);
  }
  const get = (name: (typeof REQUIRED)[number]) => values.get(name) ?? "";

  if (get("X-Amz-Algorithm") !== SIGV4_ALGORITHM) {
    return malformed(`X-Amz-Algorithm must be ${SIGV4_ALGORITHM}`);
  }
  // RDS tokens sign the host header only; anything else would be a header the
  // database never sees, so it cannot be checked.
  if (get("X-Amz-SignedHeaders") !== "host") {
    return malformed('X-Amz-SignedHeaders must be exactly "host"');
  }
  const scope = get("X-Amz-Credential").split("/");
  const [accessKeyId, scopeDate, region, service, terminator] = scope;
  if (
    scope.length !== 5 ||
    !accessKeyId ||
    !scopeDate ||
    !region ||
    !service ||
    terminator !== SIGV4_TERMINATOR
  ) {
    return malformed("X-Amz-Credential must be accessKeyId/YYYYMMDD/region/service/aws4_request");
  }
  const amzDate = get("X-Amz-Date");
  const dateMs = parseAmzDate(amzDate);
  if (dateMs === undefined) return malformed("X-Amz-Date must be YYYYMMDDTHHMMSSZ");
  if (scopeDate !== amzDate.slice(0, 8)) {
    return malformed("the X-Amz-Credential date differs from the X-Amz-Date day");
  }
  const expires = get("X-Amz-Expires");
  if (!/^[0-9]{1,10}$/.test(expires) || Number(expires) < 1) {
    return malformed("X-Amz-Expires must be a whole number of seconds from 1 to 900");
  }
  const sig = get("X-Amz-Signature");
  if (!SIGNATURE_PATTERN.test(sig)) {
    return malformed("X-Amz-Signature must be 64 lower-case hex digits");
  }
  return {
    host,
    parameters,
    action: get("Action"),
    dbUser: get("DBUser"),
    accessKeyId,
    scopeDate,
    region,
    service,
    amzDate,
    dateMs,
    expiresSeconds: Number(expires),
    securityToken: values.get("X-Amz-Security-Token"),
    signature: sig,
  };
}

/**
 * The Host header values a signer may have signed for a token whose prefix is `host`.
 * `@aws-sdk/rds-signer` signs the prefix exactly as it writes it (case kept, port
 * always there). botocore writes the prefix as given (`MyDB...:443`) but signs the
 * host it parses back out of `https://host:port`: lower-cased, and without the port
 * when that is 443, the default for https. Each variant is still bound by the
 * signature to one host, and the endpoint check compares case-insensitively anyway.
 */
export function signedHostCandidates(host: string): string[] {
  const candidates = [host];
  const lower = host.toLowerCase();
  if (!candidates.includes(lower)) candidates.push(lower);
  if (lower.endsWith(":443")) {
    const bare = lower.slice(0, -":443".length);
    if (!candidates.includes(bare)) candidates.push(bare);
  }
  return candidates;
}

/**
 * Whether a presigned token was signed with `secretAccessKey`. The canonical request is
 * the one every RDS signer builds: GET `/`, the token's own query minus the signature,
 * only the host header signed (each of {@link signedHostCandidates}), and either payload
 * hash: the empty string's SHA-256 (@aws-sdk/rds-signer) or `UNSIGNED-PAYLOAD`
 * (botocore). Pinned to the AWS SigV4 test suite's RDS-shaped cases in
 * test/sigv4-vectors.test.ts.
 *
 * @throws SigV4FormatError for a parameter that is not valid Unicode.
 */
export function presignedSignatureMatches(
  presigned: PresignedQuery,
  secretAccessKey: string,
): boolean {
  const query = canonicalQuery(presigned.parameters);
  const scope = credentialScope(presigned.scopeDate, presigned.region, presigned.service);
  const key = signingKey(secretAccessKey, presigned.scopeDate, presigned.region, presigned.service);
  let matches = false;
  // Every variant is always computed, so timing does not tell which one matched.
  for (const host of signedHostCandidates(presigned.host)) {
    const headers = canonicalHeaders([["host", host]]);
    for (const payloadHash of [EMPTY_PAYLOAD_SHA256, UNSIGNED_PAYLOAD]) {
      const request = canonicalRequest({ method: "GET", path: "/", query, headers, payloadHash });
      const expected = signature(key, stringToSign(presigned.amzDate, scope, request));
      if (timingSafeEqualString(expected, presigned.signature)) matches = true;
    }
  }
  return matches;
}

function hostMatches(signedHost: string, endpoint: TokenExpectations["endpoint"]): boolean {
  const host = signedHost.toLowerCase();
  const hostname = endpoint.hostname.toLowerCase();
  if (host === `${hostname}:${endpoint.port}`) return true;
  // botocore leaves the default HTTPS port out of the Host header it signs.
  return endpoint.port === 443 && host === hostname;
}

// A clock the caller broke must not turn a rejection into a RangeError.
const iso = (ms: number) => (Number.isFinite(ms) ? new Date(ms).toISOString() : String(ms));

/**
 * Verifies an RDS IAM authentication token the way RDS does: a SigV4 presigned
 * `host:port/?Action=connect&DBUser=...` query signed for service `rds-db`.
 *
 * Order of checks, so that the reason is the useful one: the token's shape
 * (`malformed`), the access key (`unknown-credentials`), the signature (`signature`);
 * only then, for a token known to be authentic, what it was signed for: `service`,
 * `action`, `region`, `endpoint`, `user`, `not-allowed`, `session-token`,
 * `credentials-expired`, `expires-too-long`, `not-yet-valid`, `expired`. A token whose
 * signature fails is never accepted, whatever else is right.
 *
 * A token is valid from `X-Amz-Date - clockSkewSeconds` until just before
 * `X-Amz-Date + X-Amz-Expires`, and while its credentials have not expired.
 */
export function verifyToken(token: string, expect: TokenExpectations): TokenVerdict {
  if (typeof token !== "string") return malformed("the password is not a string");
  const parsed = parseToken(token);
  if ("ok" in parsed) return parsed;
  const verdict = judge(parsed, expect);
  // The key a token names is public, and tells a log reader whose token it was.
  return verdict.ok ? verdict : { ...verdict, accessKeyId: parsed.accessKeyId };
}

/** {@link verifyToken}'s checks of a well-formed token, in its order. */
function judge(parsed: ParsedToken, expect: TokenExpectations): TokenVerdict {
  const candidates = expect.credentials.filter((c) => c.accessKeyId === parsed.accessKeyId);
  if (candidates.length === 0) {
    return reject(
      "unknown-credentials",
      `access key ${parsed.accessKeyId} is not among the gateway's credentials`,
    );
  }
  const credential = candidates.find((c) => presignedSignatureMatches(parsed, c.secretAccessKey));
  if (!credential) {
    return reject(
      "signature",
      `the signature does not match the canonical request for access key ${parsed.accessKeyId}`,
    );
  }

  if (parsed.service !== RDS_SERVICE) {
    return reject("service", `signed for service "${parsed.service}", expected "${RDS_SERVICE}"`);
  }
  if (parsed.action !== "connect") {
    return reject("action", `Action is "${parsed.action}", expected "connect"`);
  }
  if (parsed.region !== expect.region) {
    return reject("region", `signed for region "${parsed.region}", expected "${expect.region}"`);
  }
  if (!hostMatches(parsed.host, expect.endpoint)) {
    return reject(
      "endpoint",
      `signed for host "${parsed.host}", expected "${expect.endpoint.hostname}:${expect.endpoint.port}"`,
    );
  }
  if (parsed.dbUser !== expect.user) {
    return reject("user", `DBUser "${parsed.dbUser}" differs from the login user "${expect.user}"`);
  }
  if (expect.allowedUsers && !expect.allowedUsers.includes(parsed.dbUser)) {
    return reject("not-allowed", `user "${parsed.dbUser}" is not in the gateway's allowed users`);
  }
  if (credential.sessionToken !== undefined) {
    if (parsed.securityToken === undefined) {
      return reject(
        "session-token",
        `access key ${parsed.accessKeyId} is temporary but X-Amz-Security-Token is missing`,
      );
    }
    if (!timingSafeEqualString(parsed.securityToken, credential.sessionToken)) {
      return reject(
        "session-token",
        `X-Amz-Security-Token is not the session token of access key ${parsed.accessKeyId}`,
      );
    }
  }
  const credentialExpiresAt =
    credential.expiration === undefined ? undefined : new Date(credential.expiration).getTime();
  if (credentialExpiresAt !== undefined && expect.now >= credentialExpiresAt) {
    return reject(
      "credentials-expired",
      `the credentials of access key ${parsed.accessKeyId} expired at ${iso(credentialExpiresAt)}`,
    );
  }
  if (parsed.expiresSeconds > MAX_EXPIRES_SECONDS) {
    return reject(
      "expires-too-long",
      `X-Amz-Expires is ${parsed.expiresSeconds} s, at most ${MAX_EXPIRES_SECONDS} s is allowed`,
    );
  }
  if (parsed.dateMs - expect.now > expect.clockSkewSeconds * 1000) {
    return reject(
      "not-yet-valid",
      `X-Amz-Date ${iso(parsed.dateMs)} is more than ${expect.clockSkewSeconds} s after the gateway's clock (${iso(expect.now)})`,
    );
  }
  const expiresAt = parsed.dateMs + parsed.expiresSeconds * 1000;
  if (expect.now >= expiresAt) {
    return reject(
      "expired",
      `the token expired at ${iso(expiresAt)}; the gateway's clock is ${iso(expect.now)}`,
    );
  }
  return { ok: true, accessKeyId: credential.accessKeyId };
}
