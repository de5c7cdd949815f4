import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { type CredentialServer, startCredentialServer } from "@rds-iam/gateway";
import { isolatedAwsEnv } from "../../support/aws-env";
import {
  type IamFixture,
  type IamFixtureOptions,
  startIamFixture,
} from "../../support/iam-fixture";
import { registerCredentials } from "../../support/secret-scan";

/** A clock that only moves when told to: shared by core (`clock`), the gateway (`now`) and the credential server. */
export interface SimClock {
  (): number;
  advance(ms: number): void;
}

/**
 * Starts at the real time, never earlier: the AWS SDK's memoized credentials judge
 * expiry by the real `Date.now`, so credentials issued by a clock ahead of real time
 * never look stale to the SDK, and every refresh in a simulation is one that core
 * forced by its own clock (`forceRefresh`). A clock behind real time would make the
 * SDK refetch on every call instead.
 */
export function simClock(start = Date.now()): SimClock {
  let now = start;
  return Object.assign(() => now, {
    advance(ms: number) {
      now += ms;
    },
  });
}

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;

/** Core's defaults, restated so tests can compute the theoretical mint count. */
export const TOKEN_LIFETIME_MS = 870 * SECOND;
export const REFRESH_AHEAD_MS = 30 * SECOND;

/**
 * Tokens a continuously used provider mints over `spanMs` when uses come every
 * `stepMs`: one at the start, then one each time a use finds the token past its
 * refresh point (`TOKEN_LIFETIME_MS - REFRESH_AHEAD_MS` after it was minted; the
 * bindings and Prisma ask on every new connection), or, with `onExpiry`, past the end
 * of its hand-out window (knex asks for a new config only once the last one expired).
 */
export function theoreticalMints(
  spanMs: number,
  stepMs: number,
  { onExpiry = false }: { onExpiry?: boolean } = {},
): number {
  const due = onExpiry ? TOKEN_LIFETIME_MS : TOKEN_LIFETIME_MS - REFRESH_AHEAD_MS;
  const period = Math.ceil(due / stepMs) * stepMs;
  return 1 + Math.floor(spanMs / period);
}

/** A gateway in front of a real database and a loopback credential endpoint, on one simulated clock. */
export interface RotatingWorld {
  readonly clock: SimClock;
  readonly fixture: IamFixture;
  readonly server: CredentialServer;
  /** Environment in which the SDK's default provider chain finds only the credential server. */
  readonly env: Record<string, string | undefined>;
  /** IAM options for the fixture without static credentials: the default provider chain is used. */
  iamOptions(): Omit<ReturnType<IamFixture["iamOptions"]>, "credentials"> & {
    clock: SimClock;
    database: string;
  };
  close(): Promise<void>;
}

/**
 * The world of the soak and outage tests: the credential server issues temporary
 * credentials (one-hour lifetime by default) on the simulated clock; the gateway
 * accepts any set it issued, until that set expires by the same clock.
 */
export async function startRotatingWorld(
  engine: "postgres" | "mysql",
  options: {
    clock?: SimClock;
    lifetimeMs?: number;
    renewBeforeMs?: number;
    gateway?: IamFixtureOptions["gateway"];
  } = {},
): Promise<RotatingWorld> {
  const clock = options.clock ?? simClock();
  const server = await startCredentialServer({
    clock,
    ...(options.lifetimeMs === undefined ? {} : { lifetimeMs: options.lifetimeMs }),
    ...(options.renewBeforeMs === undefined ? {} : { renewBeforeMs: options.renewBeforeMs }),
    onIssue: (issued) => registerCredentials(issued),
  });
  let fixture: IamFixture;
  try {
    fixture = await startIamFixture(engine, {
      credentials: () => server.issued(),
      gateway: { now: clock, ...options.gateway },
    });
  } catch (error) {
    await server.close();
    throw error;
  }
  registerCredentials(fixture.credentials);
  return {
    clock,
    fixture,
    server,
    env: isolatedAwsEnv(server.env()),
    iamOptions() {
      const { credentials: _static, ...rest } = fixture.iamOptions();
      return { ...rest, clock, database: fixture.database };
    },
    async close() {
      await fixture.close();
      await server.close();
    },
  };
}

/** Starts a fixture and registers its credentials with the secret scan. */
export async function startScannedFixture(
  engine: "postgres" | "mysql",
  options: IamFixtureOptions = {},
): Promise<IamFixture> {
  const fixture = await startIamFixture(engine, options);
  registerCredentials(fixture.credentials);
  return fixture;
}

/** The rejection of `promise`, or a failure if it resolved. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection, but the promise resolved");
}

let collect: (() => void) | undefined;

/** Runs a full garbage collection (without needing `--expose-gc` on the command line). */
export function fullGc(): void {
  if (collect === undefined) {
    setFlagsFromString("--expose-gc");
    collect = runInNewContext("gc") as () => void;
  }
  collect();
  collect();
}

/** Heap in use after a full collection, in bytes. */
export function settledHeap(): number {
  fullGc();
  return process.memoryUsage().heapUsed;
}

/** Lets pending I/O callbacks and timers of zero delay run. */
export function tick(ms = 0): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
