import {
  createIamAuth,
  iamDatabaseUrl,
  isRdsIamError,
  mysql2IamConfig,
  pgIamConfig,
  TokenCache,
} from "@rds-iam/core";
import { createMariadbConnectionFactory } from "@rds-iam/core/driver";
import { iamConnection } from "@rds-iam/knex";
import { createIamAdapter, iamDatasourceUrl } from "@rds-iam/prisma";
import { iamAuthOf, withIamAuth } from "@rds-iam/typeorm";
import fc from "fast-check";
import * as mariadb from "mariadb";
import { afterAll, describe, expect, it } from "vitest";
import { buildDatabaseUrl } from "../../packages/core/src/database-url";
import { isolatedAwsEnv, withEnv } from "../support/aws-env";

/**
 * Property: whatever options a caller passes to a public entry point, the outcome is
 * a valid result or an RdsIamError naming an option; never a hang, never an untyped
 * error, never a secret in a message. Seeded and bounded, so a run is reproducible.
 */
const SEED = 20_261_202;
const RUNS = 400;
const TIME_LIMIT_MS = 8_000;
/** An entry point that has not settled by then has hung. */
const HANG_MS = 5_000;

const HOST = "mydb.cluster-abc123.us-east-1.rds.amazonaws.com";
// Secrets the generator hands out; no message may ever contain them.
const SECRET_KEY = "fuzzSecretKey/K7MDENG+bPxRfiCYzEXAMPLEKEY";
const SESSION_TOKEN = "FuzzSessionToken//////////wEaCXVzLWVhc3QtMSJHMEUCIQ";
const ENV_SECRET = "fuzzEnvSecret/K7MDENG+bPxRfiCYzEXAMPLEKEY";
const SECRETS = [SECRET_KEY, SESSION_TOKEN, ENV_SECRET];

const THROWING_GETTER = "<an object whose getter throws>";
const REVOKED_PROXY = "<a revoked Proxy>";

/** Values that are hostile in themselves: a throwing getter, a revoked Proxy. */
function throwingGetter(): object {
  const value = {};
  Object.defineProperty(value, "ca", {
    enumerable: true,
    get() {
      throw new Error("getter threw");
    },
  });
  return value;
}
function revokedProxy(): object {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
}

const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.boolean(),
  fc.integer({ min: -10, max: 70_000 }),
  fc.double(),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, -0, 1e12, 2 ** 31),
  fc.string({ maxLength: 40 }),
  fc.constantFrom(
    "",
    " ",
    "__proto__",
    "constructor",
    "postgres",
    "mysql",
    "mariadb",
    HOST,
    `${HOST}:5432`,
    `postgres://${HOST}`,
    "127.0.0.1",
    "::1",
    "localhost",
    "us-east-1",
    "disable",
    "require",
    "prisma",
    "node-postgres",
    "mysql2",
  ),
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
  fc.object({ maxDepth: 1, maxKeys: 3 }),
  fc.constant(() => Date.now()),
  fc.constant(() => "not a number"),
  fc.constant(async () => ({ accessKeyId: "AKIDFUZZPROVIDER", secretAccessKey: SECRET_KEY })),
  fc.constant(async () => {
    throw new Error("provider failed");
  }),
  fc.constant(new TokenCache()),
  fc.constant(new Map()),
  // fast-check itself looks into values (to print and clone them): hostile ones travel
  // as markers and are made only inside the property.
  fc.constant(THROWING_GETTER),
  fc.constant(REVOKED_PROXY),
);

/** The options as the entry point sees them: markers replaced by the hostile values. */
function materialize(input: Record<string, unknown>): Record<string, unknown> {
  const hostile = (value: unknown) =>
    value === THROWING_GETTER ? throwingGetter() : value === REVOKED_PROXY ? revokedProxy() : value;
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    Object.defineProperty(result, key, {
      value: hostile(value),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return result;
}

/** Mostly plausible values per key, so that valid results are reached too. */
const plausible: Record<string, fc.Arbitrary<unknown>> = {
  engine: fc.constantFrom("postgres", "mysql", "pg", "mariadb", "postgresql"),
  host: fc.constantFrom(HOST, "127.0.0.1", "localhost", "db.example.com"),
  port: fc.constantFrom(5432, 3306, 15432, "5432"),
  user: fc.constantFrom("app", "app_user", "a@b"),
  iamHost: fc.constantFrom(HOST, "mydb.abc123.eu-west-1.rds.amazonaws.com"),
  iamDefaultPort: fc.constantFrom(5432, 3306),
  iamRegion: fc.constantFrom("us-east-1", "eu-west-1"),
  iamTokenExpiration: fc.constantFrom(60, 870, 900),
  iamTimeout: fc.constantFrom(100, 5000),
  credentials: fc.constantFrom(
    { accessKeyId: "AKIDFUZZSTATIC01", secretAccessKey: SECRET_KEY },
    { accessKeyId: "ASIAFUZZSESSION1", secretAccessKey: SECRET_KEY, sessionToken: SESSION_TOKEN },
  ),
  awsProfile: fc.constantFrom("default", "fuzz"),
  ssl: fc.constantFrom(true, "require", { rejectUnauthorized: false }, { ca: "PEM" }, false),
  iamAllowPlaintext: fc.boolean(),
  database: fc.constantFrom("app", "my db"),
  flavor: fc.constantFrom("prisma", "node-postgres", "mysql2"),
  params: fc.constantFrom({ schema: "app" }, { sslmode: "disable" }, { host: "evil" }),
};

const KEYS = [
  ...Object.keys(plausible),
  "clock",
  "tokenCache",
  "iamAllowTokenInDebugOutput",
  "caFile",
  "password",
  "connectionString",
  "uri",
  "debug",
  "max",
  "connectionLimit",
  "acquireTimeout",
  "idleTimeout",
  "iamRegoin",
  "IAMHost",
  "awsProfle",
  "__proto__",
];

const options: fc.Arbitrary<Record<string, unknown>> = fc
  .array(
    fc.tuple(
      fc.constantFrom(...KEYS),
      fc.oneof(
        { weight: 3, arbitrary: fc.constant("plausible" as const) },
        { weight: 1, arbitrary: fc.constant("any" as const) },
      ),
      anyValue,
    ),
    { maxLength: 9 },
  )
  .chain((entries) =>
    fc
      .tuple(
        ...entries.map(([key, kind, value]) =>
          kind === "plausible" && Object.hasOwn(plausible, key)
            ? (plausible[key] as fc.Arbitrary<unknown>).map((v) => [key, v] as const)
            : fc.constant([key, value] as const),
        ),
      )
      .map((pairs) => {
        // Base values keep most runs past the required-option checks.
        const result: Record<string, unknown> = { engine: "postgres", host: HOST, user: "app" };
        for (const [key, value] of pairs) {
          Object.defineProperty(result, key, {
            value,
            enumerable: true,
            writable: true,
            configurable: true,
          });
        }
        return result;
      }),
  );

type Outcome = "ok" | string;
const counts: Record<string, Record<Outcome, number>> = {};

function record(entry: string, outcome: Outcome): void {
  counts[entry] ??= {};
  const forEntry = counts[entry] as Record<Outcome, number>;
  forEntry[outcome] = (forEntry[outcome] ?? 0) + 1;
}

/** Closes whatever a successful call returned that holds a provider. */
function dispose(value: unknown): void {
  const candidate = value as {
    close?: unknown;
    auth?: { close?: unknown };
  } | null;
  if (typeof candidate !== "object" && typeof candidate !== "function") return;
  if (candidate === null) return;
  if (typeof candidate.close === "function") (candidate.close as () => void)();
  if (typeof candidate.auth?.close === "function") (candidate.auth.close as () => void)();
}

const ENTRY_POINTS: Record<string, (input: Record<string, unknown>) => unknown> = {
  createIamAuth: (o) => createIamAuth(o as never),
  pgIamConfig: (o) => pgIamConfig(o as never),
  mysql2IamConfig: (o) => mysql2IamConfig(o as never),
  createMariadbConnectionFactory: (o) => createMariadbConnectionFactory(mariadb, o as never),
  iamDatabaseUrl: (o) => iamDatabaseUrl(o as never),
  buildDatabaseUrl: (o) =>
    buildDatabaseUrl({
      flavor: "node-postgres",
      engine: "postgres",
      port: 5432,
      token: "t",
      ...o,
    } as never),
  "knex iamConnection": (o) => iamConnection(o as never),
  "Prisma createIamAdapter": (o) => createIamAdapter(o as never),
  "Prisma iamDatasourceUrl": (o) => iamDatasourceUrl(o as never),
  "TypeORM withIamAuth": (o) => {
    const { engine, host, port, user, ssl, database, password, debug, ...iam } = o;
    const type =
      engine === "mysql" || engine === "mariadb"
        ? engine
        : engine === "postgres"
          ? "postgres"
          : engine;
    const result = withIamAuth({
      type,
      host,
      port,
      username: user,
      ssl,
      database,
      password,
      debug,
      iam,
    } as never);
    iamAuthOf(result).close();
    return undefined;
  },
  TokenCache: (o) => new TokenCache(o as never),
};

async function settle(call: () => unknown): Promise<{ value?: unknown; error?: unknown }> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("HUNG")), HANG_MS);
  });
  try {
    const value = await Promise.race([Promise.resolve().then(call), hang]);
    return { value };
  } catch (error) {
    return { error };
  } finally {
    clearTimeout(timer);
  }
}

describe("fuzzing every public entry point's options", () => {
  afterAll(() => {
    // The counts, for the record (no secrets: outcome codes only).
    console.log(`fuzz outcomes (seed ${SEED}): ${JSON.stringify(counts)}`);
  });

  for (const [entry, call] of Object.entries(ENTRY_POINTS)) {
    it(`${entry}: a result or an RdsIamError naming an option, never a hang or a secret`, async () => {
      await withEnv(
        isolatedAwsEnv({
          AWS_ACCESS_KEY_ID: "AKIDFUZZENVIRON01",
          AWS_SECRET_ACCESS_KEY: ENV_SECRET,
          AWS_REGION: "us-east-1",
        }),
        async () => {
          await fc.assert(
            fc.asyncProperty(options, async (input) => {
              const { value, error } = await settle(() => call(materialize(input)));
              if (error === undefined) {
                record(entry, "ok");
                dispose(value);
                return;
              }
              expect((error as Error).message).not.toBe("HUNG");
              expect(isRdsIamError(error), `${entry}: untyped ${String(error)}`).toBe(true);
              const typed = error as { code: string; option: unknown; message: string };
              record(entry, typed.code);
              const named = typed.option;
              // Minting failures name no option (the cause says why); every input error does.
              if (
                !["CREDENTIALS_UNAVAILABLE", "TOKEN_GENERATION_FAILED", "TIMEOUT"].includes(
                  typed.code,
                )
              ) {
                expect(
                  typeof named === "string" && named.length > 0,
                  `${entry}: ${typed.message}`,
                ).toBe(true);
              }
              for (const secret of SECRETS) expect(typed.message).not.toContain(secret);
            }),
            { seed: SEED, numRuns: RUNS, interruptAfterTimeLimit: TIME_LIMIT_MS },
          );
        },
      );
      const seen = counts[entry] ?? {};
      // Both sides of the property were reached: some calls succeeded, some refused.
      expect(Object.values(seen).reduce((a, b) => a + b, 0)).toBeGreaterThan(50);
    });
  }
});
