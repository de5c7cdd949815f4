import { Signer } from "@aws-sdk/rds-signer";
import { type CredentialsOption, type IamAuth, pgIamConfig } from "@rds-iam/core";
import { type CredentialServer, startCredentialServer, verifyToken } from "@rds-iam/gateway";
import { iamConnection, iamAuthOf as knexAuthOf } from "@rds-iam/knex";
import { createIamAdapter } from "@rds-iam/prisma";
import { iamAuthOf as typeormAuthOf, withIamAuth } from "@rds-iam/typeorm";
import pg from "pg";
import { describeError } from "../describe-error";
import { ratio, round, since } from "../measure";
import { applyEnv, isolatedAwsEnv, RDS_ENDPOINTS, REGION } from "../setup";
import { countSignatures } from "../signature-counter";

/**
 * Where the credentials come from:
 * - `provider`: one `credentials` function that behaves like the AWS SDK's memoized
 *   temporary credentials, on the fake clock (1-hour sets from a fake-clock endpoint,
 *   fetched again within 5 minutes of expiry or on `forceRefresh`). Ours: the same
 *   function for all 50 objects. Naive: one such function per ORM object.
 * - `chain`: the SDK's real default chain (`fromNodeProviderChain`) reaching the same
 *   kind of endpoint through `AWS_CONTAINER_CREDENTIALS_FULL_URI`. Ours: no
 *   `credentials` option (core's shared chain). Naive: the blog recipe's
 *   `new Signer({...})` with no credentials, i.e. a new default chain per Signer.
 */
export type CredentialVariant = "provider" | "chain";

export const VARIANT_LABELS: Readonly<Record<CredentialVariant, string>> = {
  provider: "shared credentials function (SDK-like memoized, fake clock)",
  chain: "real default chain (container endpoint)",
};

/** What one contender cost in one variant. */
export interface SharedCredentialsCounts {
  /** Token requests made (one per new physical connection). */
  readonly tokenRequests: number;
  /** Requests the credential endpoint answered: real credential fetches. */
  readonly credentialRequests: number;
  /** Credential sets the endpoint issued (a request may get the current set again). */
  readonly credentialSetsIssued: number;
  /** Tokens signed: ours from the providers' `stats().mints`, naive from `Signer#getAuthToken` calls. */
  readonly signatures: number;
  /**
   * Ours only: distinct tokens the ORM objects were handed (a cross-check of
   * `signatures`; the naive recipe's tokens signed in the same real second coincide).
   */
  readonly distinctTokens?: number | undefined;
  /**
   * Tokens handed out that RDS would have refused at that moment (checked with the
   * gateway's verifier: signature, endpoint, user, expiry, credentials' expiry), by
   * reason. Ours at clock time; the naive recipe signs at real time, so at real time.
   */
  readonly refused: Readonly<Record<string, number>>;
  /** After the first simulated minute only: 50 objects created at once, each opening one connection. */
  readonly firstMinute: { readonly credentialRequests: number; readonly signatures: number };
  /** Ours only: calls into the credential provider (`stats().credentialResolutions`), which the chain or function may answer from memory. */
  readonly providerCalls?: number | undefined;
  /** Ours only: `Signer#getAuthToken` calls (0: with a `clock`, core signs at clock time itself). */
  readonly signerCalls?: number | undefined;
  readonly errors: number;
  readonly errorSamples: readonly string[];
  readonly realSeconds: number;
}

export interface SharedCredentialsVariantResult {
  readonly variant: CredentialVariant;
  readonly ours: SharedCredentialsCounts;
  readonly naive: SharedCredentialsCounts;
  /** naive / ours. */
  readonly ratios: {
    readonly credentialRequests: number;
    readonly signatures: number;
    readonly firstMinuteCredentialRequests: number;
  };
}

export interface SharedCredentialsResult {
  readonly objects: number;
  /** How the 50 objects of ours are built (adapter entry point -> count). */
  readonly oursMix: Readonly<Record<string, number>>;
  readonly simulatedMinutes: number;
  /** Each object opens one new physical connection this often (simulated minutes). */
  readonly connectEveryMinutes: number;
  readonly credentialLatencyMs: number;
  /** Credential sets live this long and are renewed by the endpoint this long before expiry. */
  readonly credentialLifetimeMinutes: number;
  readonly endpointRenewsBeforeMinutes: number;
  readonly variants: SharedCredentialsVariantResult[];
  readonly realSeconds: number;
}

const CREDENTIAL_LIFETIME_MS = 60 * 60_000;
const ENDPOINT_RENEWS_BEFORE_MS = 15 * 60_000;
/** The SDK's memoized providers treat credentials as expired this long before they are. */
const SDK_REFRESH_WINDOW_MS = 5 * 60_000;

/** How ours' 50 ORM objects are built: one entry point of each adapter, and core's own. */
const OURS_MIX = { knex: 20, typeorm: 10, prisma: 10, core: 10 } as const;
const OBJECTS = OURS_MIX.knex + OURS_MIX.typeorm + OURS_MIX.prisma + OURS_MIX.core;

const DATABASE_USER = "app_user";
const DATABASE = "app";

type Clock = () => number;

/** One ORM object: opens a new physical connection, i.e. asks for a password. */
interface OrmObject {
  newConnection(): Promise<string>;
  close(): void;
}

interface Contender {
  readonly objects: readonly OrmObject[];
  /** Tokens signed so far. */
  signatures(): number;
  /** Ours: calls into the credential provider so far. */
  providerCalls?(): number;
  /** Ours: `Signer#getAuthToken` calls so far. */
  signerCalls?(): number;
}

type ProviderOptions = { forceRefresh?: boolean };
type CredentialProvider = (options?: ProviderOptions) => Promise<{
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}>;

/**
 * Temporary credentials as the AWS SDK memoizes them (`memoize` of
 * `@smithy/property-provider`, as in `fromContainerMetadata`): fetched on first use,
 * again when less than 5 minutes are left (by `clock`) or on `forceRefresh`;
 * concurrent fetches share one request. Every fetch is a request to `server`.
 */
function memoizedTemporaryCredentials(server: CredentialServer, clock: Clock): CredentialProvider {
  let current: Awaited<ReturnType<CredentialProvider>> | undefined;
  let pending: Promise<Awaited<ReturnType<CredentialProvider>>> | undefined;
  const fetchOnce = () => {
    pending ??= (async () => {
      const response = await fetch(server.url);
      if (!response.ok) throw new Error(`credential endpoint answered ${response.status}`);
      const body = (await response.json()) as {
        AccessKeyId: string;
        SecretAccessKey: string;
        Token: string;
        Expiration: string;
      };
      return {
        accessKeyId: body.AccessKeyId,
        secretAccessKey: body.SecretAccessKey,
        sessionToken: body.Token,
        expiration: new Date(body.Expiration),
      };
    })().finally(() => {
      pending = undefined;
    });
    return pending;
  };
  return async (options) => {
    const expiration = current?.expiration?.getTime();
    if (
      current === undefined ||
      options?.forceRefresh === true ||
      (expiration !== undefined && expiration - clock() < SDK_REFRESH_WINDOW_MS)
    ) {
      current = await fetchOnce();
    }
    return current;
  };
}

/**
 * Ours: 50 ORM objects through the adapters' real entry points, same endpoint, user,
 * clock and credential source. Each entry point is called the way its ORM calls it
 * for a new physical connection, without a database:
 * - knex `iamConnection()`: knex's pool `create` (knex 3.3 `client.js`) calls the
 *   function with `this` = its client when the last config's `expirationChecker`
 *   says so (always the first time), then pg calls the config's `password`;
 * - TypeORM `withIamAuth()`: pg calls the options' `password` function;
 * - Prisma `createIamAdapter()`: its pg pool's `password` function returns
 *   `adapter.auth.getToken()`, called here directly (the pool config is private);
 * - core `pgIamConfig()`: pg calls `config.password`.
 */
function ours(clock: Clock, credentials: CredentialsOption | undefined): Contender {
  const endpoint = RDS_ENDPOINTS.postgres;
  const iam = {
    iamRegion: REGION,
    clock,
    ...(credentials === undefined ? {} : { credentials }),
  };
  const target = { host: endpoint.hostname, port: endpoint.port };
  const auths: IamAuth[] = [];
  const objects: OrmObject[] = [];
  const signerBefore = countSignatures()();

  for (let i = 0; i < OURS_MIX.knex; i++) {
    const connection = iamConnection({
      ...target,
      ...iam,
      engine: "postgres",
      user: DATABASE_USER,
      database: DATABASE,
    });
    // What knex's pool keeps on its client between connections.
    const client: {
      driverName: string;
      checker: (() => boolean) | null;
      settings: Record<string, unknown>;
    } = { driverName: "pg", checker: () => true, settings: {} };
    objects.push({
      async newConnection() {
        if (client.checker?.() === true) {
          const config = (await connection.call(client)) as Record<string, unknown>;
          client.checker = (config.expirationChecker as () => boolean) ?? null;
          delete config.expirationChecker;
          client.settings = config;
        }
        return (client.settings.password as () => Promise<string>)();
      },
      close: () => connection.close(),
    });
    // `engine` is given, so the provider exists before knex's first call.
    auths.push(knexAuthOf(connection));
  }
  for (let i = 0; i < OURS_MIX.typeorm; i++) {
    const options = withIamAuth({
      type: "postgres",
      ...target,
      username: DATABASE_USER,
      database: DATABASE,
      driver: pg,
      iam,
    });
    // The DataSource options' `password`: the function pg calls per new connection.
    const { password } = options as unknown as { password: () => Promise<string> };
    const auth = typeormAuthOf(options);
    auths.push(auth);
    objects.push({ newConnection: () => password(), close: () => auth.close() });
  }
  for (let i = 0; i < OURS_MIX.prisma; i++) {
    const adapter = createIamAdapter({
      engine: "postgres",
      ...target,
      ...iam,
      user: DATABASE_USER,
      database: DATABASE,
    });
    auths.push(adapter.auth);
    objects.push({
      newConnection: () => adapter.auth.getToken(),
      close: () => adapter.auth.close(),
    });
  }
  for (let i = 0; i < OURS_MIX.core; i++) {
    const { config, auth } = pgIamConfig({
      ...target,
      ...iam,
      user: DATABASE_USER,
      database: DATABASE,
    });
    auths.push(auth);
    objects.push({ newConnection: () => config.password(), close: () => auth.close() });
  }
  const sum = (field: "mints" | "credentialResolutions") =>
    auths.reduce((total, auth) => total + auth.stats()[field], 0);
  return {
    objects,
    signatures: () => sum("mints"),
    providerCalls: () => sum("credentialResolutions"),
    signerCalls: () => countSignatures()() - signerBefore,
  };
}

/**
 * The naive recipe per ORM object: `await new Signer({...}).getAuthToken()` on every
 * new connection. `provider`: each object has its own memoized credentials function;
 * `chain`: no credentials, so each Signer builds its own default chain.
 */
function naive(variant: CredentialVariant, server: CredentialServer, clock: Clock): Contender {
  const endpoint = RDS_ENDPOINTS.postgres;
  const signatures = countSignatures();
  const before = signatures();
  const objects: OrmObject[] = Array.from({ length: OBJECTS }, () => {
    const credentials =
      variant === "provider" ? memoizedTemporaryCredentials(server, clock) : undefined;
    return {
      newConnection: () =>
        new Signer({
          hostname: endpoint.hostname,
          port: endpoint.port,
          username: DATABASE_USER,
          region: REGION,
          ...(credentials === undefined ? {} : { credentials }),
        }).getAuthToken(),
      close() {},
    };
  });
  return { objects, signatures: () => signatures() - before };
}

async function simulate(
  variant: CredentialVariant,
  who: "ours" | "naive",
  options: { simulatedMinutes: number; connectEveryMinutes: number; credentialLatencyMs: number },
): Promise<SharedCredentialsCounts> {
  // A clock of its own per run: ours shares per clock, so runs never share tokens.
  let now = Date.now();
  const clock: Clock = () => now;
  const server = await startCredentialServer({
    clock,
    latencyMs: options.credentialLatencyMs,
    lifetimeMs: CREDENTIAL_LIFETIME_MS,
    renewBeforeMs: ENDPOINT_RENEWS_BEFORE_MS,
  });
  // Isolated from any real AWS configuration; the chain finds only this endpoint.
  const restoreEnv = applyEnv(isolatedAwsEnv(server.env()));
  const realStart = performance.now();
  const tokens = new Set<string>();
  const errors: string[] = [];
  const refused: Record<string, number> = {};
  const endpoint = RDS_ENDPOINTS.postgres;
  const check = (token: string) => {
    const verdict = verifyToken(token, {
      user: DATABASE_USER,
      endpoint,
      region: REGION,
      credentials: server.issued().map((issued) => ({
        accessKeyId: issued.accessKeyId,
        secretAccessKey: issued.secretAccessKey,
        sessionToken: issued.sessionToken,
        expiration: new Date(issued.expiration),
      })),
      // Ours signs at clock time; the naive recipe's Signer cannot be told the time.
      now: who === "ours" ? clock() : Date.now(),
      clockSkewSeconds: 300,
    });
    if (!verdict.ok) refused[verdict.reason] = (refused[verdict.reason] ?? 0) + 1;
  };
  let tokenRequests = 0;
  let contender: Contender | undefined;
  try {
    contender =
      who === "ours"
        ? ours(
            clock,
            variant === "provider" ? memoizedTemporaryCredentials(server, clock) : undefined,
          )
        : naive(variant, server, clock);
    const active = contender;
    const steps = Math.floor(options.simulatedMinutes / options.connectEveryMinutes);
    let firstMinute = { credentialRequests: 0, signatures: 0 };
    for (let step = 0; step < steps; step++) {
      // Every object opens one new connection (pool churn, idle reaping) per step.
      await Promise.all(
        active.objects.map(async (object) => {
          tokenRequests++;
          try {
            const token = await object.newConnection();
            tokens.add(token);
            check(token);
          } catch (error) {
            errors.push(describeError(error));
          }
        }),
      );
      if (step === 0) {
        firstMinute = {
          credentialRequests: server.stats().requests,
          signatures: active.signatures(),
        };
      }
      now += options.connectEveryMinutes * 60_000;
    }
    // A refresh ahead started in the last step may land a moment later.
    await new Promise((resolve) => setTimeout(resolve, 200));
    return {
      tokenRequests,
      credentialRequests: server.stats().requests,
      credentialSetsIssued: server.stats().issued,
      signatures: active.signatures(),
      ...(who === "ours" ? { distinctTokens: tokens.size } : {}),
      refused,
      firstMinute,
      ...(active.providerCalls === undefined ? {} : { providerCalls: active.providerCalls() }),
      ...(active.signerCalls === undefined ? {} : { signerCalls: active.signerCalls() }),
      errors: errors.length,
      errorSamples: [...new Set(errors)].slice(0, 3),
      realSeconds: round(since(realStart) / 1000, 1),
    };
  } finally {
    for (const object of contender?.objects ?? []) object.close();
    restoreEnv();
    await server.close();
  }
}

/**
 * Scenario 6: 50 ORM objects in one process, same endpoint and user, each opening a
 * new physical connection every simulated minute for 3 simulated hours (9,000 token
 * requests): how many credential requests and signatures that costs with ours (every
 * adapter's providers share one credential source and one token per process) and
 * with the naive recipe (its own Signer per connection, its own credentials per
 * object). No database: the counts are the result.
 */
export async function sharedCredentials(options: {
  simulatedMinutes: number;
  connectEveryMinutes: number;
  credentialLatencyMs: number;
}): Promise<SharedCredentialsResult> {
  const realStart = performance.now();
  const variants: SharedCredentialsVariantResult[] = [];
  for (const variant of ["provider", "chain"] as const) {
    const oursCounts = await simulate(variant, "ours", options);
    const naiveCounts = await simulate(variant, "naive", options);
    variants.push({
      variant,
      ours: oursCounts,
      naive: naiveCounts,
      ratios: {
        credentialRequests: round(
          ratio(naiveCounts.credentialRequests, oursCounts.credentialRequests),
          1,
        ),
        signatures: round(ratio(naiveCounts.signatures, oursCounts.signatures), 1),
        firstMinuteCredentialRequests: round(
          ratio(
            naiveCounts.firstMinute.credentialRequests,
            oursCounts.firstMinute.credentialRequests,
          ),
          1,
        ),
      },
    });
  }
  return {
    objects: OBJECTS,
    oursMix: {
      "knex iamConnection()": OURS_MIX.knex,
      "TypeORM withIamAuth()": OURS_MIX.typeorm,
      "Prisma createIamAdapter()": OURS_MIX.prisma,
      "core pgIamConfig()": OURS_MIX.core,
    },
    simulatedMinutes: options.simulatedMinutes,
    connectEveryMinutes: options.connectEveryMinutes,
    credentialLatencyMs: options.credentialLatencyMs,
    credentialLifetimeMinutes: CREDENTIAL_LIFETIME_MS / 60_000,
    endpointRenewsBeforeMinutes: ENDPOINT_RENEWS_BEFORE_MS / 60_000,
    variants,
    realSeconds: round(since(realStart) / 1000, 1),
  };
}
