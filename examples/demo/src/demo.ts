import { join } from "node:path";
import { fromNodeProviderChain } from "@aws-sdk/credential-providers";
import { generateAuthToken } from "@rds-iam/core";
import { type Gateway, startCredentialServer, startGateway } from "@rds-iam/gateway";
import pg from "pg";
import {
  type Contender,
  knexContender,
  prismaContender,
  type Target,
  typeormContender,
} from "./contenders";
import { startEmbeddedPostgres } from "./embedded-postgres";
import { createMysqlDatabase, createPostgresDatabase } from "./real-databases";
import { bad, bold, dim, heading, ok, say, statsRow, table } from "./report";
import { createTimeMachine } from "./time-machine";

const ENDPOINT = "demo.cluster-c0ffee123456.us-east-1.rds.amazonaws.com";

/** A database behind its own gateway, and the ORMs logged in to it. */
interface Stage {
  readonly label: string;
  readonly gateway: Gateway;
  readonly target: Target;
  readonly contenders: Contender[];
  readonly cleanup: () => Promise<void>;
}

async function main(): Promise<void> {
  const started = Date.now();
  const time = createTimeMachine();
  const failures: string[] = [];
  const cleanups: (() => Promise<void>)[] = [];

  heading("rds-iam demo: IAM database authentication for knex, TypeORM and Prisma, offline");
  const credentials = await startCredentialServer({
    clock: time.now,
    lifetimeMs: 60 * 60_000,
    renewBeforeMs: 15 * 60_000,
    latencyMs: 5,
  });
  cleanups.push(() => credentials.close());
  useOnlyTheDemoCredentials(credentials.env());
  say(
    `credentials endpoint (as ECS serves it) at ${credentials.url}: temporary keys that live 60 min`,
  );

  const stages: Stage[] = [];
  try {
    const embedded = await startEmbeddedPostgres();
    cleanups.push(() => embedded.close());
    say(`embedded PostgreSQL (PGlite) on ${embedded.host}:${embedded.port}`);
    stages.push(
      await stage("PostgreSQL (embedded)", "postgres", time.now, credentials.issued, {
        host: embedded.host,
        port: embedded.port,
        user: "app_user",
        database: "postgres",
        password: undefined,
        drop: async () => undefined,
      }),
    );
    if (process.env.DEMO_POSTGRES_URL) {
      const real = await createPostgresDatabase(process.env.DEMO_POSTGRES_URL);
      say(`real PostgreSQL at ${real.host}:${real.port} (DEMO_POSTGRES_URL), user ${real.user}`);
      stages.push(await stage("PostgreSQL", "postgres", time.now, credentials.issued, real));
    }
    if (process.env.DEMO_MYSQL_URL) {
      const real = await createMysqlDatabase(process.env.DEMO_MYSQL_URL);
      say(`real MySQL/MariaDB at ${real.host}:${real.port} (DEMO_MYSQL_URL), user ${real.user}`);
      stages.push(await stage("MySQL", "mysql", time.now, credentials.issued, real));
    }
    for (const s of stages) cleanups.push(s.cleanup);
    say(
      `each behind a gateway standing for ${bold(`${ENDPOINT}`)}: TLS, and every token checked as RDS checks it`,
    );

    // The recipe from most blog posts: one token, signed at start-up, given to a pool.
    const naive = stages[0] as Stage;
    const snapshot = await generateAuthToken({
      hostname: ENDPOINT,
      port: 5432,
      username: naive.target.user,
      region: "us-east-1",
      signingDate: new Date(time.now()),
      credentials: fromNodeProviderChain(),
    });

    heading("1. Log in and write");
    for (const s of stages) {
      for (const orm of ORMS) {
        try {
          s.contenders.push(await orm(s.target));
        } catch (error) {
          failures.push(`${s.label}: ${(error as Error).message}`);
          bad("setup", `${s.label}: ${(error as Error).message}`);
        }
      }
    }
    await round(stages, "first rows", failures);
    await naiveLogin(naive, snapshot, "a token signed at start-up", true, failures);

    heading("2. Sixteen minutes later: every token has expired");
    time.travel(16);
    say(dim("pools open new connections; each needs a new token"));
    await round(stages, "after 16 minutes", failures, true);
    await naiveLogin(naive, snapshot, "the start-up token, reused", false, failures);

    heading("3. Seventy-six minutes in: the temporary credentials have expired too");
    time.travel(60);
    say(dim("the AWS SDK fetches new keys from the endpoint; new tokens are signed with them"));
    await round(stages, "after 76 minutes", failures, true);

    heading("Summary");
    table([
      ["database", "logins accepted", "rejected", "why rejected"],
      ...stages.map((s) => {
        const stats = s.gateway.stats();
        const rejected = Object.values(stats.rejected).reduce((a, b) => a + (b ?? 0), 0);
        return [
          s.label,
          stats.accepted,
          rejected,
          Object.entries(stats.rejected)
            .map(([reason, count]) => `${reason} x${count}`)
            .join(", ") || "-",
        ];
      }),
    ]);
    console.log();
    table([
      [
        "ORM (database)",
        "tokens minted",
        "cache hits",
        "credential reads",
        "refreshed ahead",
        "invalidated",
      ],
      ...stages.flatMap((s) =>
        s.contenders.map((c) => statsRow(`${c.name} (${s.label})`, c.stats())),
      ),
    ]);
    const endpoint = credentials.stats();
    console.log();
    say(
      `credentials endpoint: ${endpoint.requests} requests, ${endpoint.issued} sets of keys issued (rotated ${endpoint.issued - 1} time${endpoint.issued === 2 ? "" : "s"})`,
    );
    if (endpoint.issued < 2) failures.push("the credentials never rotated");
  } catch (error) {
    failures.push((error as Error).message);
  } finally {
    for (const s of stages) for (const c of s.contenders) await c.close().catch(() => undefined);
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  }

  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (failures.length > 0) {
    heading(`Failed (${seconds} s)`);
    for (const failure of failures) bad("", failure);
    process.exitCode = 1;
  } else {
    heading(
      `Done in ${seconds} s: every ORM kept logging in across token and credential rotation.`,
    );
  }
}

const ORMS = [knexContender, typeormContender, prismaContender];

async function stage(
  label: string,
  engine: "postgres" | "mysql",
  now: () => number,
  issued: () => readonly {
    accessKeyId: string;
    secretAccessKey: string;
    sessionToken: string;
    expiration: number;
  }[],
  backend: {
    host: string;
    port: number;
    user: string;
    database: string;
    password: string | undefined;
    drop(): Promise<void>;
  },
): Promise<Stage> {
  const gateway = await startGateway({
    engine,
    endpoint: { hostname: ENDPOINT },
    credentials: issued,
    backend: { host: backend.host, port: backend.port, password: backend.password },
    now,
  });
  return {
    label,
    gateway,
    target: {
      engine,
      host: gateway.host,
      port: gateway.port,
      user: backend.user,
      database: backend.database,
      iamHost: ENDPOINT,
      iamDefaultPort: gateway.endpoint.port,
      ca: gateway.caCertificate,
      clock: now,
    },
    contenders: [],
    cleanup: async () => {
      await gateway.close();
      await backend.drop();
    },
  };
}

async function round(stages: Stage[], label: string, failures: string[], reconnect = false) {
  for (const s of stages) {
    for (const c of s.contenders) {
      try {
        if (reconnect) await c.reconnect();
        const rows = await c.writeAndRead(`${c.name} ${label}`);
        ok(c.name, `${s.label}: wrote a row, read ${rows} back`);
      } catch (error) {
        failures.push(`${c.name} on ${s.label}: ${(error as Error).message}`);
        bad(c.name, `${s.label}: ${(error as Error).message}`);
      }
    }
  }
}

/** A new connection with a fixed token: fine at first, refused once the token expires. */
async function naiveLogin(
  s: Stage,
  token: string,
  what: string,
  shouldWork: boolean,
  failures: string[],
) {
  const client = new pg.Client({
    host: s.target.host,
    port: s.target.port,
    user: s.target.user,
    database: s.target.database,
    password: token,
    ssl: { ca: s.target.ca },
  });
  try {
    await client.connect();
    await client.query("select 1");
    if (shouldWork) ok("naive", `${what}: logs in`);
    else failures.push("the gateway accepted an expired token");
  } catch (error) {
    if (shouldWork) failures.push(`naive login: ${(error as Error).message}`);
    else
      bad("naive", `${what}: ${(error as Error).message} ${dim("(the bug this project fixes)")}`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The AWS SDK may find nothing but the demo's credentials endpoint: no keys, files or metadata. */
function useOnlyTheDemoCredentials(endpoint: Record<string, string>): void {
  for (const name of [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
  ]) {
    delete process.env[name];
  }
  const nowhere = join(process.cwd(), ".no-aws-config");
  Object.assign(process.env, {
    AWS_CONFIG_FILE: join(nowhere, "config"),
    AWS_SHARED_CREDENTIALS_FILE: join(nowhere, "credentials"),
    AWS_EC2_METADATA_DISABLED: "true",
    ...endpoint,
  });
}

await main();
