import {
  type CredentialSourceNames,
  createCredentialProvider,
  credentialExpiry,
  resolveCredentials,
} from "../credentials";

/** The CLI has no credentials option: it reads the environment and --profile. */
const CLI_CREDENTIAL_NAMES: CredentialSourceNames = {
  option: "--profile",
  check:
    "--profile (or AWS_PROFILE) and the environment's credential source: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, `aws sso login --profile <name>`, web identity, the ECS / EC2 metadata endpoint",
};

import { type IamAuthOptions, MAX_TOKEN_EXPIRATION_SECONDS, resolveIamOptions } from "../options";
import type { RdsEndpointKind } from "../rds-hostname";
import type { RegionSource } from "../region";
import { rdsCaBundle } from "../tls";
import { FLAG_NAMES } from "./options";

const KIND: Readonly<Record<RdsEndpointKind, string>> = {
  instance: "DB instance endpoint",
  cluster: "Aurora cluster writer endpoint",
  "cluster-ro": "Aurora cluster reader endpoint",
  "cluster-custom": "Aurora custom cluster endpoint",
  proxy: "RDS Proxy default endpoint",
  "proxy-endpoint": "RDS Proxy custom endpoint",
  "shard-group": "Aurora Limitless shard group endpoint",
  global: "Aurora global database writer endpoint",
};

const REGION_SOURCE: Readonly<Record<RegionSource, string>> = {
  iamRegion: "from --region",
  hostname: "from the hostname",
  AWS_REGION: "from AWS_REGION",
  AWS_DEFAULT_REGION: "from AWS_DEFAULT_REGION",
  profile: "from the AWS profile's region",
  DescribeGlobalClusters: "the current writer's, looked up with DescribeGlobalClusters",
};

export interface TargetReport {
  readonly data: Record<string, unknown>;
  readonly text: string;
  /** `--check` was asked for and the credentials did not load: the CLI exits 1. */
  readonly credentialsFailed: boolean;
}

/**
 * What a token for these options would be signed for, and where credentials would
 * come from. Never includes a secret: at most a masked access key id.
 */
export async function describeTarget(
  options: IamAuthOptions,
  context: { env: NodeJS.ProcessEnv; check: boolean; engineGiven: boolean },
): Promise<TargetReport> {
  const resolved = resolveIamOptions(options, FLAG_NAMES);
  const endpoint = resolved.endpoint;
  const source = credentialSource(resolved.awsProfile, context.env);
  const data: Record<string, unknown> = {
    host: resolved.host,
    signingHost: resolved.iamHost,
    signingPort: resolved.iamDefaultPort,
    portIsDefault: options.port === undefined && options.iamDefaultPort === undefined,
    endpointKind: endpoint?.kind ?? "custom",
    endpointName: endpoint?.name,
    region: resolved.region,
    regionSource: resolved.regionSource,
    globalWriter: resolved.globalWriter,
    partition: endpoint?.partition,
    fips: endpoint?.fips ?? false,
    user: options.user === "<user>" ? undefined : resolved.user,
    service: "rds-db",
    action: "connect",
    tokenLifetimeSeconds: MAX_TOKEN_EXPIRATION_SECONDS,
    credentialSource: source,
    tls: `verified against the RDS CA bundle (${rdsCaBundle().length} certificates); the certificate must name ${resolved.iamHost}`,
  };

  if (context.check) {
    try {
      const provider = createCredentialProvider(undefined, resolved.awsProfile);
      const identity = await resolveCredentials(provider, false, CLI_CREDENTIAL_NAMES);
      const expiry = credentialExpiry(identity);
      data.credentials = {
        loaded: true,
        accessKeyId: maskKeyId(identity.accessKeyId),
        temporary: identity.sessionToken !== undefined,
        expiresAt: expiry === undefined ? undefined : new Date(expiry).toISOString(),
      };
    } catch (error) {
      data.credentials = {
        loaded: false,
        error: error instanceof Error ? error.message : "failed",
      };
    }
  }

  const portNote = data.portIsDefault
    ? context.engineGiven
      ? " (the engine's default)"
      : " (default for PostgreSQL; MySQL uses 3306: pass --port or --engine)"
    : "";
  const lines = [
    ["Host", resolved.host],
    [
      "Endpoint",
      endpoint === undefined
        ? `custom name; tokens are signed for --iam-host ${resolved.iamHost}`
        : `${KIND[endpoint.kind]} "${endpoint.name}"`,
    ],
    [
      "Region",
      resolved.globalWriter === undefined
        ? `${resolved.region} (${REGION_SOURCE[resolved.regionSource]})`
        : `${REGION_SOURCE[resolved.regionSource]} in ${resolved.globalWriter.apiRegion} (needs rds:DescribeGlobalClusters; --region signs for a fixed one)`,
    ],
    ...(endpoint === undefined
      ? []
      : [["Partition", `${endpoint.partition}${endpoint.fips ? ", FIPS endpoint" : ""}`]]),
    [
      "Signed for",
      `https://${resolved.iamHost}:${resolved.iamDefaultPort}/?Action=connect&DBUser=${data.user ?? "<--user>"}${portNote}`,
    ],
    ["Service", "rds-db (SigV4 presigned, X-Amz-Expires=900: valid 15 minutes)"],
    ["Credentials", source],
    ...(data.credentials === undefined ? [] : [["Loaded", describeLoaded(data.credentials)]]),
    ["TLS", String(data.tls)],
  ];
  const width = Math.max(...lines.map(([label]) => String(label).length));
  return {
    data,
    text: lines.map(([label, value]) => `${String(label).padEnd(width)}  ${value}`).join("\n"),
    credentialsFailed: context.check && (data.credentials as { loaded?: boolean }).loaded !== true,
  };
}

function describeLoaded(value: unknown): string {
  const info = value as {
    loaded: boolean;
    accessKeyId?: string;
    temporary?: boolean;
    expiresAt?: string;
    error?: string;
  };
  if (!info.loaded) return `no: ${info.error}`;
  return `yes, access key ${info.accessKeyId}, ${info.temporary ? "temporary" : "long-term"}${
    info.expiresAt === undefined ? "" : `, expires ${info.expiresAt}`
  }`;
}

/**
 * Which link of the AWS SDK's node provider chain would answer, read from the
 * environment only (nothing is loaded, nothing is printed that is secret).
 */
export function credentialSource(awsProfile: string | undefined, env: NodeJS.ProcessEnv): string {
  const profile = awsProfile ?? env.AWS_PROFILE?.trim();
  // With a profile set, the SDK skips the environment's static keys.
  if (profile) {
    return `AWS profile "${profile}" (shared config/credentials files: static keys, SSO, assumed role or credential_process)`;
  }
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    return `environment variables (AWS_ACCESS_KEY_ID ${maskKeyId(env.AWS_ACCESS_KEY_ID)}${
      env.AWS_SESSION_TOKEN ? " with AWS_SESSION_TOKEN: temporary" : ""
    })`;
  }
  if (env.AWS_WEB_IDENTITY_TOKEN_FILE && env.AWS_ROLE_ARN) {
    return `web identity (AWS_ROLE_ARN ${env.AWS_ROLE_ARN}), e.g. EKS IRSA`;
  }
  if (env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI || env.AWS_CONTAINER_CREDENTIALS_FULL_URI) {
    return "container credentials endpoint (ECS task role or EKS Pod Identity)";
  }
  return 'the default provider chain: profile "default" in the shared files (keys, SSO, role), else EC2 instance metadata';
}

/** `AKIAIOSFODNN7EXAMPLE` -> `AKIA************MPLE`: enough to tell keys apart. */
function maskKeyId(id: string): string {
  if (id.length <= 8) return "*".repeat(id.length);
  return `${id.slice(0, 4)}${"*".repeat(id.length - 8)}${id.slice(-4)}`;
}
