import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A loopback stand-in for the RDS Query API, answering `DescribeGlobalClusters` the
 * way RDS does (XML, `ErrorResponse` faults), for tests of global writer endpoints.
 * Point the AWS SDK at it with `AWS_ENDPOINT_URL_RDS`. Every request must be SigV4
 * signed (header form, service `rds`) with one of the credentials it was given: the
 * signature is checked here with node:crypto, independently of the SDK.
 */
export interface RdsApiStandIn {
  /** `http://127.0.0.1:<port>`: the value for `AWS_ENDPOINT_URL_RDS`. */
  readonly url: string;
  /** `DescribeGlobalClusters` requests received (whatever they were answered). */
  calls(identifier?: string): number;
  /** Every request, in order: what it asked and who signed it. */
  readonly requests: readonly RdsApiRequest[];
  /** Makes the member in `region` the writer of global cluster `identifier` (a failover). */
  setWriter(identifier: string, region: string): void;
  /** How the next requests are answered. */
  setMode(mode: RdsApiMode): void;
  /** Stops the server (and any request it holds). */
  close(): Promise<void>;
}

/** `ok`; a fault as RDS sends it; or `hang` (accept, never answer). */
export type RdsApiMode = "ok" | "access-denied" | "throttled" | "hang";

export interface RdsApiRequest {
  readonly action: string | undefined;
  readonly globalClusterIdentifier: string | undefined;
  /** The access key id that signed it. */
  readonly accessKeyId: string;
  /** The region in its credential scope. */
  readonly region: string;
}

const NS = "http://rds.amazonaws.com/doc/2014-10-31/";
const ACCOUNT = "123456789012";

/** Starts the stand-in; `credentials` are the keys whose signatures it accepts. */
export async function startRdsApi(options: {
  credentials: readonly { accessKeyId: string; secretAccessKey: string }[];
  /** Global cluster identifier -> the region of its writer member. */
  writers?: Record<string, string>;
}): Promise<RdsApiStandIn> {
  const writers = new Map(Object.entries(options.writers ?? {}));
  const requests: RdsApiRequest[] = [];
  const held = new Set<ServerResponse>();
  let mode: RdsApiMode = "ok";

  const server = createServer((request, response) => {
    void readBody(request).then((body) => {
      const signer = verifySignature(request, body, options.credentials);
      if (!signer.ok) {
        send(response, 403, fault("Sender", "SignatureDoesNotMatch", signer.why));
        return;
      }
      const form = new URLSearchParams(body);
      const action = form.get("Action") ?? undefined;
      const identifier = form.get("GlobalClusterIdentifier") ?? undefined;
      requests.push({
        action,
        globalClusterIdentifier: identifier,
        accessKeyId: signer.accessKeyId,
        region: signer.region,
      });
      if (action !== "DescribeGlobalClusters" || form.get("Version") !== "2014-10-31") {
        send(response, 400, fault("Sender", "InvalidAction", `not a stand-in action: ${action}`));
        return;
      }
      if (mode === "hang") {
        held.add(response);
        response.once("close", () => held.delete(response));
        return;
      }
      if (mode === "access-denied") {
        send(
          response,
          403,
          fault(
            "Sender",
            "AccessDenied",
            `User: arn:aws:iam::${ACCOUNT}:user/app is not authorized to perform: rds:DescribeGlobalClusters on resource: arn:aws:rds::${ACCOUNT}:global-cluster:${identifier} because no identity-based policy allows the rds:DescribeGlobalClusters action`,
          ),
        );
        return;
      }
      if (mode === "throttled") {
        send(response, 400, fault("Sender", "Throttling", "Rate exceeded"));
        return;
      }
      const writer = identifier === undefined ? undefined : writers.get(identifier);
      if (identifier === undefined || writer === undefined) {
        send(
          response,
          404,
          fault("Sender", "GlobalClusterNotFoundFault", `Global cluster ${identifier} not found.`),
        );
        return;
      }
      send(response, 200, describeResult(identifier, writer));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    calls: (identifier) =>
      requests.filter(
        (r) =>
          r.action === "DescribeGlobalClusters" &&
          (identifier === undefined || r.globalClusterIdentifier === identifier),
      ).length,
    setWriter(identifier, region) {
      writers.set(identifier, region);
    },
    setMode(next) {
      mode = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const response of held) response.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A global cluster with a member in the writer's region and a secondary elsewhere. */
function describeResult(identifier: string, writerRegion: string): string {
  const secondary = writerRegion === "ap-southeast-2" ? "sa-east-1" : "ap-southeast-2";
  const member = (region: string, isWriter: boolean) =>
    `<GlobalClusterMember><DBClusterArn>arn:aws:rds:${region}:${ACCOUNT}:cluster:${identifier}-${region}</DBClusterArn><Readers/><IsWriter>${isWriter}</IsWriter><SynchronizationStatus>connected</SynchronizationStatus></GlobalClusterMember>`;
  // The secondary first: the writer is the member that says IsWriter, not the first one.
  return `<DescribeGlobalClustersResponse xmlns="${NS}"><DescribeGlobalClustersResult><GlobalClusters><GlobalClusterMember><GlobalClusterIdentifier>${identifier}</GlobalClusterIdentifier><GlobalClusterResourceId>cluster-abc</GlobalClusterResourceId><GlobalClusterArn>arn:aws:rds::${ACCOUNT}:global-cluster:${identifier}</GlobalClusterArn><Status>available</Status><Engine>aurora-postgresql</Engine><GlobalClusterMembers>${member(secondary, false)}${member(writerRegion, true)}</GlobalClusterMembers><Endpoint>${identifier}.global-abc123.global.rds.amazonaws.com</Endpoint></GlobalClusterMember></GlobalClusters></DescribeGlobalClustersResult><ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ResponseMetadata></DescribeGlobalClustersResponse>`;
}

function fault(type: string, code: string, message: string): string {
  return `<ErrorResponse xmlns="${NS}"><Error><Type>${type}</Type><Code>${code}</Code><Message>${escapeXml(message)}</Message></Error><RequestId>00000000-0000-0000-0000-000000000001</RequestId></ErrorResponse>`;
}

function send(response: ServerResponse, status: number, xml: string): void {
  response.writeHead(status, { "content-type": "text/xml", "x-amzn-requestid": "stand-in" });
  response.end(xml);
}

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    request.on("error", reject);
  });
}

type Signer = { ok: true; accessKeyId: string; region: string } | { ok: false; why: string };

/** SigV4 (header form) checked from scratch: canonical request, scope, key, signature. */
function verifySignature(
  request: IncomingMessage,
  body: string,
  credentials: readonly { accessKeyId: string; secretAccessKey: string }[],
): Signer {
  const authorization = request.headers.authorization ?? "";
  const match =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(
      authorization,
    );
  if (match === null) return { ok: false, why: "the request is not SigV4-signed" };
  const [, accessKeyId = "", date = "", region = "", service = "", signedList = "", given = ""] =
    match;
  if (service !== "rds") return { ok: false, why: `signed for service ${service}, not rds` };
  const secret = credentials.find((c) => c.accessKeyId === accessKeyId)?.secretAccessKey;
  if (secret === undefined) return { ok: false, why: `unknown access key ${accessKeyId}` };
  const amzDate = String(request.headers["x-amz-date"] ?? "");
  if (!amzDate.startsWith(date)) return { ok: false, why: "x-amz-date is not the scope's date" };
  const signed = signedList.split(";");
  if (!signed.includes("host") || !signed.includes("x-amz-date")) {
    return { ok: false, why: "host and x-amz-date must be signed" };
  }
  const url = new URL(request.url ?? "/", "http://stand-in");
  const canonicalHeaders = signed
    .map((name) => {
      const value = request.headers[name];
      const text = Array.isArray(value) ? value.join(",") : String(value ?? "");
      return `${name}:${text.trim().replace(/\s+/g, " ")}\n`;
    })
    .join("");
  const query = [...url.searchParams]
    .map(([k, v]) => `${encodeRfc3986(k)}=${encodeRfc3986(v)}`)
    .sort()
    .join("&");
  const canonical = [
    request.method ?? "POST",
    url.pathname,
    query,
    canonicalHeaders,
    signedList,
    sha256(body),
  ].join("\n");
  const scope = `${date}/${region}/${service}/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256(canonical)].join("\n");
  let key = hmac(`AWS4${secret}`, date);
  for (const part of [region, service, "aws4_request"]) key = hmac(key, part);
  const expected = createHmac("sha256", key).update(toSign).digest("hex");
  if (!timingSafeEqual(Buffer.from(expected), Buffer.from(given))) {
    return { ok: false, why: "the signature does not match" };
  }
  return { ok: true, accessKeyId, region };
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac("sha256", key).update(data).digest();
}

function sha256(data: string): string {
  return createHash("sha256").update(data).digest("hex");
}

function encodeRfc3986(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}
