import { Signer } from "@aws-sdk/rds-signer";
import { type IamAuth, type IamAuthStats, mysql2IamConfig, pgIamConfig } from "@rds-iam/core";
import mysql from "mysql2/promise";
import pg from "pg";
import type { BenchTarget } from "./setup";
import type { SessionGate } from "./socket-gate";

/**
 * Who connects:
 * - `ours`: `@rds-iam/core`'s driver binding (pg `password` function / mysql2 auth
 *   plugin backed by the token cache), default AWS SDK provider chain;
 * - `static`: a fixed password string (one token minted up front), the floor for any
 *   IAM approach on the same gateway, TLS and driver;
 * - `naive`: the blog recipe, `new Signer({...}).getAuthToken()` before every connection
 *   (default provider chain per Signer);
 * - `wrapper`: `aws-advanced-nodejs-wrapper` with only its `iam` plugin.
 */
export type ContenderName = "ours" | "static" | "naive" | "wrapper";

export const CONTENDER_LABELS: Readonly<Record<ContenderName, string>> = {
  ours: "@rds-iam/core",
  static: "static password",
  naive: "naive Signer per connection",
  wrapper: "AWS wrapper (iam plugin)",
};

/** One open database session. */
export interface Session {
  query(): Promise<void>;
  end(): Promise<void>;
}

export interface Contender {
  readonly name: ContenderName;
  open(): Promise<Session>;
  /** Token provider counters (ours only). */
  stats(): IamAuthStats | undefined;
  close(): void;
}

export interface ContenderOptions {
  /** Bounds open sockets (burst); omitted: connect directly. */
  readonly gate?: SessionGate | undefined;
  /** The `static` contender's password. */
  readonly staticPassword?: string | undefined;
}

function ignoreErrors(emitter: { on(event: "error", listener: () => void): unknown }) {
  // A session the gateway or the test closes must not crash the benchmark; failures
  // that matter surface through the awaited calls.
  emitter.on("error", () => {});
}

function pgSession(client: pg.Client): Session {
  ignoreErrors(client);
  return {
    async query() {
      await client.query("SELECT 1");
    },
    end: () => client.end(),
  };
}

function mysqlSession(connection: mysql.Connection): Session {
  ignoreErrors(connection);
  return {
    async query() {
      await connection.query("SELECT 1");
    },
    end: () => connection.end(),
  };
}

/** Plain driver options that reach the gateway over verified TLS, as every contender uses. */
function driverBase(target: BenchTarget, gate: SessionGate | undefined) {
  const stream =
    gate === undefined
      ? undefined
      : target.engine === "postgres"
        ? gate.pgStream(target.host, target.port)
        : gate.mysqlStream(target.host, target.port);
  return {
    host: target.host,
    port: target.port,
    user: target.user,
    database: target.database,
    ssl: { ca: target.ca },
    ...(stream === undefined ? {} : { stream }),
  };
}

type DriverBase = ReturnType<typeof driverBase>;

async function openWithPassword(
  target: BenchTarget,
  base: DriverBase,
  password: string,
): Promise<Session> {
  if (target.engine === "postgres") {
    const client = new pg.Client({ ...base, password } as pg.ClientConfig);
    await client.connect();
    return pgSession(client);
  }
  // mysql2 3.22+ refuses mysql_clear_password unless asked; IAM needs it.
  const connection = await mysql.createConnection({
    ...base,
    password,
    enableCleartextPlugin: true,
  } as mysql.ConnectionOptions);
  return mysqlSession(connection);
}

function ours(target: BenchTarget, gate: SessionGate | undefined): Contender {
  const input = {
    ...driverBase(target, gate),
    iamHost: target.iamHost,
    iamDefaultPort: target.iamDefaultPort,
    iamRegion: target.region,
  };
  let auth: IamAuth;
  let open: () => Promise<Session>;
  if (target.engine === "postgres") {
    const built = pgIamConfig(input);
    auth = built.auth;
    const config = built.config as pg.ClientConfig;
    open = async () => {
      const client = new pg.Client(config);
      await client.connect();
      return pgSession(client);
    };
  } else {
    const built = mysql2IamConfig(input);
    auth = built.auth;
    const config = built.config as mysql.ConnectionOptions;
    open = async () => mysqlSession(await mysql.createConnection(config));
  }
  return { name: "ours", open, stats: () => auth.stats(), close: () => auth.close() };
}

function naive(target: BenchTarget, gate: SessionGate | undefined): Contender {
  const base = driverBase(target, gate);
  return {
    name: "naive",
    async open() {
      const signer = new Signer({
        hostname: target.iamHost,
        port: target.iamDefaultPort,
        username: target.user,
        region: target.region,
      });
      return openWithPassword(target, base, await signer.getAuthToken());
    },
    stats: () => undefined,
    close() {},
  };
}

function fixed(target: BenchTarget, gate: SessionGate | undefined, password: string): Contender {
  const base = driverBase(target, gate);
  return {
    name: "static",
    open: () => openWithPassword(target, base, password),
    stats: () => undefined,
    close() {},
  };
}

interface WrapperClient {
  connect(): Promise<unknown>;
  query(query: unknown): Promise<unknown>;
  end(): Promise<unknown>;
}

async function wrapper(target: BenchTarget, gate: SessionGate | undefined): Promise<Contender> {
  // Only the iam plugin: the defaults (failover, efm2, auroraConnectionTracker) watch
  // cluster topology, which a single local endpoint does not have. Loaded lazily so
  // that processes which do not measure it never load it.
  const config = {
    ...driverBase(target, gate),
    plugins: "iam",
    // The wrapper caches detected dialects by host alone; both gateways listen on
    // 127.0.0.1, so name the dialect instead of letting PostgreSQL's stick to MySQL.
    dialect: target.engine === "postgres" ? "pg" : "mysql",
    iamHost: target.iamHost,
    iamDefaultPort: target.iamDefaultPort,
    iamRegion: target.region,
  };
  let create: () => WrapperClient;
  let select: unknown;
  if (target.engine === "postgres") {
    const { AwsPGClient } = await import("aws-advanced-nodejs-wrapper/pg");
    create = () => new AwsPGClient(config) as unknown as WrapperClient;
    select = "SELECT 1";
  } else {
    const { AwsMySQLClient } = await import("aws-advanced-nodejs-wrapper/mysql");
    // As with plain mysql2, the cleartext plugin must be enabled for the token.
    const mysqlConfig = { ...config, enableCleartextPlugin: true };
    create = () => new AwsMySQLClient(mysqlConfig) as unknown as WrapperClient;
    select = { sql: "SELECT 1" };
  }
  return {
    name: "wrapper",
    async open() {
      const client = create();
      await client.connect();
      return {
        async query() {
          await client.query(select);
        },
        async end() {
          await client.end();
        },
      };
    },
    stats: () => undefined,
    close() {},
  };
}

export async function createContender(
  name: ContenderName,
  target: BenchTarget,
  options: ContenderOptions = {},
): Promise<Contender> {
  switch (name) {
    case "ours":
      return ours(target, options.gate);
    case "naive":
      return naive(target, options.gate);
    case "wrapper":
      return wrapper(target, options.gate);
    case "static": {
      if (options.staticPassword === undefined) throw new Error("static needs a password");
      return fixed(target, options.gate, options.staticPassword);
    }
  }
}
