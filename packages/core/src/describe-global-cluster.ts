import type { AwsCredentialIdentity } from "@smithy/types";
import { RdsIamError } from "./errors";

/** What one look-up of a global cluster's writer needs. */
export interface WriterLookup {
  /** The global cluster identifier: the first label of the global writer endpoint. */
  readonly globalClusterIdentifier: string;
  /** The global writer endpoint, for messages. */
  readonly iamHost: string;
  /** The region whose RDS API is asked (the application's: AWS_REGION, the profile, ...). */
  readonly apiRegion: string;
  /** The credentials the tokens are signed with: the same identity asks. */
  readonly credentials: AwsCredentialIdentity;
  /** Aborted when the look-up's time is up. */
  readonly signal: AbortSignal;
}

/** Looks up the writer's region; `describeWriterRegion` in production, a stand-in in tests. */
export type DescribeWriterRegion = (lookup: WriterLookup) => Promise<string>;

/** The permission the look-up needs, named in every error. */
export const DESCRIBE_PERMISSION = "rds:DescribeGlobalClusters";

// `arn:<partition>:rds:<region>:<account>:cluster:<name>`; the region's shape, never a list.
const CLUSTER_ARN =
  /^arn:aws[a-z-]*:rds:(?<region>[a-z]{2,}(?:-[a-z0-9]+)*-[0-9]+):[0-9]*:cluster:.+$/;

const DENIED = new Set([
  "AccessDenied",
  "AccessDeniedException",
  "UnauthorizedOperation",
  "NotAuthorized",
  // The API refused the credentials themselves.
  "InvalidClientTokenId",
  "SignatureDoesNotMatch",
  "ExpiredToken",
  "ExpiredTokenException",
  "UnrecognizedClientException",
]);

type ClientRds = typeof import("@aws-sdk/client-rds");
let clientRds: Promise<ClientRds> | undefined;

/**
 * The region of the global cluster's writer: `DescribeGlobalClusters` for the
 * identifier, the member with `IsWriter`, the region of its `DBClusterArn` (as the AWS
 * JDBC and Node.js wrappers read it).
 *
 * `@aws-sdk/client-rds` is imported here, on the first look-up: only applications that
 * connect to a global writer endpoint ever load it. The SDK honours
 * `AWS_ENDPOINT_URL_RDS` (a VPC endpoint, or a local stand-in).
 *
 * @throws RdsIamError `GLOBAL_WRITER_ACCESS_DENIED`, `GLOBAL_CLUSTER_NOT_FOUND` or
 *   `GLOBAL_WRITER_LOOKUP_FAILED`, naming the permission and `iamRegion`.
 */
export async function describeWriterRegion(lookup: WriterLookup): Promise<string> {
  clientRds ??= import("@aws-sdk/client-rds").catch((error: unknown) => {
    clientRds = undefined;
    throw error;
  });
  const { DescribeGlobalClustersCommand, RDSClient } = await clientRds;
  // One client per look-up: look-ups are rare (the first connection, then after a
  // rejection), and a client kept would hold keep-alive sockets between them.
  // A copy: the SDK marks the identity it is given (`$source`), and the caller's may be frozen.
  const client = new RDSClient({
    region: lookup.apiRegion,
    credentials: { ...lookup.credentials },
  });
  let members: readonly { DBClusterArn?: string | undefined; IsWriter?: boolean | undefined }[];
  try {
    const output = await client.send(
      new DescribeGlobalClustersCommand({
        GlobalClusterIdentifier: lookup.globalClusterIdentifier,
      }),
      { abortSignal: lookup.signal },
    );
    const cluster = output.GlobalClusters?.find(
      (candidate) =>
        candidate.GlobalClusterIdentifier?.toLowerCase() === lookup.globalClusterIdentifier,
    );
    if (cluster === undefined) throw notFound(lookup, undefined);
    members = cluster.GlobalClusterMembers ?? [];
  } catch (error) {
    if (error instanceof RdsIamError) throw error;
    throw lookupError(lookup, error);
  } finally {
    client.destroy();
  }
  const writer = members.find((member) => member.IsWriter === true);
  if (writer === undefined) {
    throw new RdsIamError(
      "GLOBAL_WRITER_LOOKUP_FAILED",
      `${about(lookup)}: DescribeGlobalClusters lists no member that is the writer (a failover in progress?). The next connection looks again; ${fallback()}`,
      { option: "iamRegion" },
    );
  }
  const region = CLUSTER_ARN.exec(writer.DBClusterArn ?? "")?.groups?.region;
  if (region === undefined) {
    throw new RdsIamError(
      "GLOBAL_WRITER_LOOKUP_FAILED",
      `${about(lookup)}: the writer's DBClusterArn ${JSON.stringify(String(writer.DBClusterArn).slice(0, 200))} names no region. ${fallback()}`,
      { option: "iamRegion" },
    );
  }
  return region;
}

/** An SDK failure as one of our codes; AWS error messages name ARNs and actions, never secrets. */
function lookupError(lookup: WriterLookup, error: unknown): RdsIamError {
  const name = errorName(error);
  const detail = `${name}: ${errorMessage(error)}`;
  if (DENIED.has(name)) {
    return new RdsIamError(
      "GLOBAL_WRITER_ACCESS_DENIED",
      `${about(lookup)}: the RDS API refused DescribeGlobalClusters (${detail}). Allow ${DESCRIBE_PERMISSION} for these credentials (besides rds-db:connect), or ${fallback()}`,
      { option: "iamRegion", cause: error },
    );
  }
  if (name === "GlobalClusterNotFoundFault") return notFound(lookup, error);
  return new RdsIamError(
    "GLOBAL_WRITER_LOOKUP_FAILED",
    `${about(lookup)}: DescribeGlobalClusters failed (${detail}). The look-up needs the RDS API of ${lookup.apiRegion} (or AWS_ENDPOINT_URL_RDS) to be reachable and ${DESCRIBE_PERMISSION}; or ${fallback()}`,
    { option: "iamRegion", cause: error },
  );
}

function notFound(lookup: WriterLookup, cause: unknown): RdsIamError {
  return new RdsIamError(
    "GLOBAL_CLUSTER_NOT_FOUND",
    `${about(lookup)}: DescribeGlobalClusters (asked in ${lookup.apiRegion}) knows no global cluster ${JSON.stringify(lookup.globalClusterIdentifier)}. The first label of the global writer endpoint must be the global database's identifier, and the credentials (which need ${DESCRIBE_PERMISSION}) must belong to its account; or ${fallback()}`,
    { option: "iamRegion", ...(cause === undefined ? {} : { cause }) },
  );
}

function about(lookup: WriterLookup): string {
  return `Could not look up the writer of Aurora global database ${JSON.stringify(lookup.globalClusterIdentifier)} (${lookup.iamHost}), whose region the token must be signed for`;
}

/** The way out that makes no call, and what it costs. */
export function fallback(): string {
  return "set iamRegion to the writer's region to sign without a look-up (it then does not follow a cross-Region failover).";
}

function errorName(error: unknown): string {
  if (typeof error !== "object" || error === null) return "Error";
  const named = error as { name?: unknown; Code?: unknown; code?: unknown };
  const code = typeof named.Code === "string" ? named.Code : undefined;
  const name = typeof named.name === "string" ? named.name : undefined;
  // Network errors carry their errno in `code` (ECONNREFUSED, ENOTFOUND, ...).
  const errno = typeof named.code === "string" ? named.code : undefined;
  return code ?? (name === "Error" && errno !== undefined ? errno : (name ?? errno ?? "Error"));
}

function errorMessage(error: unknown): string {
  let message: string;
  try {
    message = error instanceof Error ? String(error.message) : String(error);
  } catch {
    message = "an error that cannot be printed";
  }
  return message.length > 300 ? `${message.slice(0, 300)}...` : message;
}
