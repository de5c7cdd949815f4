import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Gateway, type GatewayCredential, startGateway } from "@rds-iam/gateway";
import { BACKENDS, type BenchDatabaseUser } from "./databases";

export type Engine = "postgres" | "mysql";
export const ENGINES: readonly Engine[] = ["postgres", "mysql"];
export const ENGINE_LABELS: Readonly<Record<Engine, string>> = {
  postgres: "PostgreSQL",
  mysql: "MySQL (MariaDB)",
};

export const REGION = "us-east-1";

/** The RDS endpoints the gateways stand for (tokens are signed for these). */
export const RDS_ENDPOINTS: Readonly<Record<Engine, { hostname: string; port: number }>> = {
  postgres: { hostname: "mydb.cluster-abc123.us-east-1.rds.amazonaws.com", port: 5432 },
  mysql: { hostname: "mydb.cluster-abc123.us-east-1.rds.amazonaws.com", port: 3306 },
};

/** Static, made-up credentials (never real AWS keys) for CPU-only scenarios. */
export const BENCH_CREDENTIALS = {
  accessKeyId: `AKIDBENCH${randomBytes(6).toString("hex").toUpperCase()}`,
  secretAccessKey: randomBytes(30).toString("base64"),
};

/** Everything a contender needs to reach one gateway; plain data, so a child process can get it. */
export interface BenchTarget {
  readonly engine: Engine;
  /** Where clients dial: the gateway. */
  readonly host: string;
  readonly port: number;
  /** What tokens are signed for. */
  readonly iamHost: string;
  readonly iamDefaultPort: number;
  readonly region: string;
  readonly user: string;
  readonly database: string;
  /** The gateway's CA (PEM); every contender verifies the gateway's certificate with it. */
  readonly ca: string;
}

/**
 * An environment in which the AWS SDK's default provider chain finds only what the
 * benchmark serves: no ambient keys, no real shared config files, no instance
 * metadata. `extra` adds the container-credentials endpoint.
 */
export function isolatedAwsEnv(
  extra: Record<string, string> = {},
): Record<string, string | undefined> {
  const nowhere = join(tmpdir(), "rds-iam-bench-no-aws-config");
  return {
    AWS_ACCESS_KEY_ID: undefined,
    AWS_SECRET_ACCESS_KEY: undefined,
    AWS_SESSION_TOKEN: undefined,
    AWS_PROFILE: undefined,
    AWS_DEFAULT_PROFILE: undefined,
    AWS_REGION: undefined,
    AWS_DEFAULT_REGION: undefined,
    AWS_WEB_IDENTITY_TOKEN_FILE: undefined,
    AWS_ROLE_ARN: undefined,
    AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: undefined,
    AWS_CONTAINER_CREDENTIALS_FULL_URI: undefined,
    AWS_CONTAINER_AUTHORIZATION_TOKEN: undefined,
    AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: undefined,
    AWS_CONFIG_FILE: join(nowhere, "config"),
    AWS_SHARED_CREDENTIALS_FILE: join(nowhere, "credentials"),
    AWS_EC2_METADATA_DISABLED: "true",
    ...extra,
  };
}

/** Applies `env` to this process; returns a function that restores what was there. */
export function applyEnv(env: Record<string, string | undefined>): () => void {
  const saved: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(env)) {
    saved[key] = process.env[key];
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  return () => {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  };
}

/** Starts a gateway for `engine` in front of the machine's database, for `dbUser`. */
export async function startBenchGateway(
  dbUser: BenchDatabaseUser,
  credentials: () => readonly GatewayCredential[],
  now?: () => number,
): Promise<{ gateway: Gateway; target: BenchTarget }> {
  const engine = dbUser.engine;
  const backend = BACKENDS[engine];
  const gateway = await startGateway({
    engine,
    endpoint: RDS_ENDPOINTS[engine],
    region: REGION,
    credentials,
    allowedUsers: [dbUser.user],
    backend: {
      host: backend.host,
      port: backend.port,
      password: (user) => (user === dbUser.user ? dbUser.password : undefined),
    },
    ...(now === undefined ? {} : { now }),
  });
  return {
    gateway,
    target: {
      engine,
      host: gateway.host,
      port: gateway.port,
      iamHost: gateway.endpoint.hostname,
      iamDefaultPort: gateway.endpoint.port,
      region: gateway.region,
      user: dbUser.user,
      database: dbUser.database,
      ca: gateway.caCertificate,
    },
  };
}
