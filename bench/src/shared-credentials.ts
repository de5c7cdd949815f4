/**
 * `pnpm --filter @rds-iam/bench shared`: 50 ORM objects (knex instances, as in tests,
 * multi-tenant apps and serverless handlers) for one database user in one process,
 * over 3 simulated hours in which each opens a new physical connection every minute.
 * Counts credential requests (fetches from the credential source) and signatures,
 * ours vs the naive recipe, side by side in one run. No database and no network: the
 * connections are the calls knex and pg make to get a password; credentials are
 * temporary (1 h) and memoized by their source, as the SDK's chain does.
 */
import { Signer } from "@aws-sdk/rds-signer";
import { iamConnection } from "@rds-iam/knex";
import type { AwsCredentialIdentity } from "@smithy/types";
import { round } from "./measure";

const OBJECTS = 50;
const HOURS = 3;
const MINUTE = 60_000;
const CREDENTIAL_LIFETIME_MS = 60 * MINUTE;
/** The SDK refreshes memoized temporary credentials within 5 minutes of expiry. */
const REFRESH_WINDOW_MS = 5 * MINUTE;
const HOST = "mydb.cluster-abc123.us-east-1.rds.amazonaws.com";
const USER = "app_user";

let now = Date.UTC(2026, 11, 2, 8, 0, 0);
const clock = () => now;

/**
 * A credential source as the SDK's default chain presents it: temporary credentials,
 * memoized until 5 minutes before they expire (by the simulated clock); `fetches`
 * counts real requests. A `forceRefresh` within the memo's life is answered from it,
 * for both contenders alike: the SDK's Signer asks for one whenever the credentials'
 * expiry is near by the real clock, which the simulated one is not.
 */
function temporaryCredentials() {
  let fetches = 0;
  let current: AwsCredentialIdentity | undefined;
  const provider = async () => {
    const expiring =
      current?.expiration === undefined || current.expiration.getTime() - now <= REFRESH_WINDOW_MS;
    if (current === undefined || expiring) {
      fetches++;
      current = {
        accessKeyId: `ASIABENCH${String(fetches).padStart(8, "0")}`,
        secretAccessKey: "benchSecretKeyNotARealOneEXAMPLEKEY0000",
        sessionToken: `bench-session-${fetches}`,
        expiration: new Date(now + CREDENTIAL_LIFETIME_MS),
      };
    }
    return current;
  };
  return Object.assign(provider, { fetches: () => fetches });
}

interface Tally {
  readonly credentialRequests: number;
  readonly signatures: number;
  readonly passwords: number;
}

/** Ours: 50 `iamConnection()`s, called and used the way knex and pg use them. */
async function ours(): Promise<Tally> {
  const credentials = temporaryCredentials();
  const objects = Array.from({ length: OBJECTS }, () => ({
    connection: iamConnection({
      engine: "postgres",
      host: HOST,
      user: USER,
      credentials,
      clock,
    }),
    config: undefined as (Record<string, unknown> & { expirationChecker(): boolean }) | undefined,
  }));
  let passwords = 0;
  await simulate(async () => {
    for (const object of objects) {
      // knex asks for a config when it has none or the last one's checker says so...
      if (object.config === undefined || object.config.expirationChecker()) {
        object.config = await object.connection.call(undefined);
      }
      // ...and pg calls the password function once per new physical connection.
      const password = object.config.password as () => Promise<string>;
      await password();
      passwords++;
    }
  });
  const signatures = objects.reduce((sum, { connection }) => sum + connection.stats().mints, 0);
  for (const { connection } of objects) connection.close();
  return { credentialRequests: credentials.fetches(), signatures, passwords };
}

/** The naive recipe: per ORM object its own Signer and credentials, a token per connection. */
async function naive(): Promise<Tally> {
  const sources = Array.from({ length: OBJECTS }, () => temporaryCredentials());
  const signers = sources.map(
    (credentials) =>
      new Signer({ hostname: HOST, port: 5432, username: USER, region: "us-east-1", credentials }),
  );
  let signatures = 0;
  await simulate(async () => {
    for (const signer of signers) {
      await signer.getAuthToken();
      signatures++;
    }
  });
  const credentialRequests = sources.reduce((sum, source) => sum + source.fetches(), 0);
  return { credentialRequests, signatures, passwords: signatures };
}

/** Every simulated minute, each object opens one new connection (pool churn, reaping). */
async function simulate(minute: () => Promise<void>): Promise<void> {
  for (let m = 0; m < HOURS * 60; m++) {
    await minute();
    now += MINUTE;
    // Let background refreshes started in this minute land before the next one.
    await new Promise((resolve) => setImmediate(resolve));
  }
}

async function main(): Promise<void> {
  const start = now;
  const mine = await ours();
  now = start;
  const theirs = await naive();
  const rows = [
    ["@rds-iam (knex iamConnection, shared per process)", mine],
    ["naive: a Signer and credentials per ORM object, a token per connection", theirs],
  ] as const;
  const lines = [
    `# ${OBJECTS} ORM objects, one user, ${HOURS} simulated hours, a new connection per object per minute`,
    "",
    "| contender | connections (passwords asked) | credential requests | signatures |",
    "| --- | --- | --- | --- |",
    ...rows.map(
      ([name, t]) => `| ${name} | ${t.passwords} | ${t.credentialRequests} | ${t.signatures} |`,
    ),
    "",
    `naive / ours: credential requests ${round(theirs.credentialRequests / mine.credentialRequests, 1)}x, signatures ${round(theirs.signatures / mine.signatures, 1)}x`,
    `(temporary credentials live ${CREDENTIAL_LIFETIME_MS / MINUTE} min; tokens are handed out for 870 s and refreshed ahead)`,
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
  const { writeFileSync } = await import("node:fs");
  writeFileSync(
    new URL("../results/shared-credentials.md", import.meta.url),
    `${lines.join("\n")}\n`,
  );
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
