import { randomBytes } from "node:crypto";
import {
  type Gateway,
  type GatewayBackend,
  type GatewayCredential,
  type GatewayOptions,
  startGateway,
} from "@rds-iam/gateway";
import {
  createMysqlUser,
  createPostgresUser,
  type DatabaseUser,
  MYSQL_BACKEND,
  POSTGRES_BACKEND,
} from "./databases";

/** The RDS endpoint every integration test pretends to reach. */
export const ENDPOINTS = {
  postgres: "mydb.cluster-abc123.us-east-1.rds.amazonaws.com",
  mysql: "mydb.cluster-abc123.us-east-1.rds.amazonaws.com",
} as const;
export const REGION = "us-east-1";

/** Fresh static test credentials (never real AWS keys). */
export function testCredentials(): { accessKeyId: string; secretAccessKey: string } {
  return {
    accessKeyId: `AKIDTEST${randomBytes(6).toString("hex").toUpperCase()}`,
    secretAccessKey: randomBytes(30).toString("base64"),
  };
}

/** A gateway standing for an RDS endpoint in front of a real database, with a user of its own. */
export interface IamFixture {
  readonly engine: "postgres" | "mysql";
  readonly gateway: Gateway;
  /** Where clients dial: the gateway (127.0.0.1). */
  readonly host: string;
  readonly port: number;
  /** What tokens are signed for. */
  readonly iamHost: string;
  readonly iamDefaultPort: number;
  readonly iamRegion: string;
  readonly user: string;
  readonly database: string;
  /** The credentials the gateway accepts; pass them as `credentials`. */
  readonly credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** The gateway's CA certificate (PEM); its certificate names iamHost, localhost and 127.0.0.1. */
  readonly ca: string;
  /** The database behind the gateway, with the user's password: for a second gateway in front of it. */
  readonly backend: GatewayBackend;
  /** The IAM and TLS options every binding/adapter takes to reach this fixture. */
  iamOptions(): {
    host: string;
    port: number;
    user: string;
    iamHost: string;
    iamDefaultPort: number;
    iamRegion: string;
    credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
    ssl: { ca: string };
  };
  /** Closes the gateway and drops the user and its database. */
  close(): Promise<void>;
}

export interface IamFixtureOptions {
  /** More credentials to accept (a list or a function read per login), besides the fixture's own. */
  readonly credentials?: GatewayOptions["credentials"];
  /** Anything else for the gateway (faults are on `fixture.gateway.faults`). */
  readonly gateway?: Partial<Omit<GatewayOptions, "engine" | "backend" | "credentials">>;
}

/** Starts a gateway for `engine` in front of the machine's database, with a fresh user. */
export async function startIamFixture(
  engine: "postgres" | "mysql",
  options: IamFixtureOptions = {},
): Promise<IamFixture> {
  const dbUser: DatabaseUser =
    engine === "postgres" ? await createPostgresUser() : await createMysqlUser();
  const own: GatewayCredential = testCredentials();
  // The fixture's own credentials are always accepted; `options.credentials` adds more.
  const extra = options.credentials;
  const credentials: GatewayOptions["credentials"] =
    typeof extra === "function" ? () => [own, ...extra()] : [own, ...(extra ?? [])];
  const backend = engine === "postgres" ? POSTGRES_BACKEND : MYSQL_BACKEND;
  const backendConfig: GatewayBackend = {
    host: backend.host,
    port: backend.port,
    password: (user) => (user === dbUser.user ? dbUser.password : undefined),
  };
  let gateway: Gateway;
  try {
    gateway = await startGateway({
      engine,
      endpoint: { hostname: ENDPOINTS[engine] },
      region: REGION,
      credentials,
      backend: backendConfig,
      ...options.gateway,
    });
  } catch (error) {
    await dbUser.drop();
    throw error;
  }
  const iamDefaultPort = gateway.endpoint.port;
  return {
    engine,
    gateway,
    host: gateway.host,
    port: gateway.port,
    iamHost: gateway.endpoint.hostname,
    iamDefaultPort,
    iamRegion: gateway.region,
    user: dbUser.user,
    database: dbUser.database,
    credentials: testCredentialsOf(own),
    ca: gateway.caCertificate,
    backend: backendConfig,
    iamOptions() {
      return {
        host: gateway.host,
        port: gateway.port,
        user: dbUser.user,
        iamHost: gateway.endpoint.hostname,
        iamDefaultPort,
        iamRegion: gateway.region,
        credentials: testCredentialsOf(own),
        ssl: { ca: gateway.caCertificate },
      };
    },
    async close() {
      await gateway.close();
      await dbUser.drop();
    },
  };
}

function testCredentialsOf(own: GatewayCredential): {
  accessKeyId: string;
  secretAccessKey: string;
} {
  return { accessKeyId: own.accessKeyId, secretAccessKey: own.secretAccessKey };
}
