import { type IamAuthStats, isRdsIamError, TokenCache } from "@rds-iam/core";
import { isAuthFailure } from "@rds-iam/core/driver";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withEnv } from "../../support/aws-env";
import type { IamFixture } from "../../support/iam-fixture";
import { assertNoLeaks, observe } from "../../support/secret-scan";
import {
  HOUR,
  MINUTE,
  type RotatingWorld,
  rejectionOf,
  startRotatingWorld,
  startScannedFixture,
  theoreticalMints,
  tick,
} from "./simulation";
import { describeFailures, runSoak, type SoakTarget } from "./soak";

/** An adapter's pool, reduced to what the reliability tests drive. */
export interface PoolUnderTest {
  /** Runs a query that proves the session works and checks its answer. */
  query(n: number): Promise<void>;
  /** Makes the pool open a new physical connection for its next query. */
  recycle(): Promise<void>;
  /** See {@link SoakTarget.settle}. */
  settle?(): Promise<void>;
  /** The adapter's token provider counters. */
  stats(): IamAuthStats;
  close(): Promise<void>;
}

export interface AdapterUnderTest {
  /** E.g. `knex "pg"`. */
  readonly name: string;
  readonly engine: "postgres" | "mysql";
  /**
   * Opens the adapter with the fixture's IAM options (`database` included). `size` is
   * the pool size: the soak uses 4, the rejection tests 1 (so every query after a
   * recycle needs a new login).
   */
  open(
    options: Record<string, unknown> & { database: string },
    size: number,
  ): Promise<PoolUnderTest>;
  /** knex asks for a token only once the last one's hand-out window ended. */
  readonly mintsOnExpiry?: boolean;
  /**
   * Prisma reports driver-adapter errors as its own `PrismaClientKnownRequestError`,
   * which keeps our `code` and message but is not an `RdsIamError` and has no `cause`.
   */
  readonly wrapsErrors?: boolean;
}

/** Simulated span of each adapter soak (the core bindings' soak runs 24 h). */
export const ADAPTER_SOAK_SPAN = 6 * HOUR;
const STEP = MINUTE;

/**
 * The reliability tests every adapter x engine runs: a rotation soak on the simulated
 * clock with credentials from the loopback endpoint, one rejected login (retried once,
 * succeeds), and persistent rejection (a clear AUTH_REJECTED after one retry, no loop).
 */
export function describeAdapterReliability(adapter: AdapterUnderTest): void {
  describe(`${adapter.name}: soak, rejections`, () => {
    let world: RotatingWorld;
    let fixture: IamFixture;
    beforeAll(async () => {
      [world, fixture] = await Promise.all([
        startRotatingWorld(adapter.engine),
        startScannedFixture(adapter.engine),
      ]);
    });
    afterAll(async () => {
      await Promise.all([world?.close(), fixture?.close()]);
      assertNoLeaks({ secretKeyShape: true });
    });

    it(`${ADAPTER_SOAK_SPAN / HOUR}-hour soak: tokens and credentials rotate, zero failed queries`, async () => {
      await withEnv(world.env, async () => {
        const pool = await adapter.open(world.iamOptions(), 4);
        try {
          const result = await runSoak({
            world,
            target: pool,
            spanMs: ADAPTER_SOAK_SPAN,
            stepMs: STEP,
            concurrency: 4,
          });
          expect(result.failures, describeFailures(result)).toEqual([]);
          expect(result.refused).toBe(0);
          expect(result.logins).toBeGreaterThanOrEqual(ADAPTER_SOAK_SPAN / STEP);
          const stats = pool.stats();
          const theory = theoreticalMints(ADAPTER_SOAK_SPAN, STEP, {
            onExpiry: adapter.mintsOnExpiry === true,
          });
          expect(
            Math.abs(stats.mints - theory),
            `${stats.mints} mints, theory ${theory}`,
          ).toBeLessThanOrEqual(2);
          expect(stats.failures).toBe(0);
          // Credentials rotate at least hourly, each set fetched once.
          expect(result.credentialSets).toBeGreaterThanOrEqual(ADAPTER_SOAK_SPAN / HOUR);
          expect(result.credentialSets).toBeLessThanOrEqual(ADAPTER_SOAK_SPAN / (40 * MINUTE) + 1);
          expect(result.credentialRequests).toBe(result.credentialSets);
          observe(`${adapter.name} soak stats`, stats);
        } finally {
          await pool.close();
        }
      });
    });

    it("one rejected login: exactly one retry with a fresh token, and the query succeeds", async () => {
      const pool = await adapter.open({ ...fixture.iamOptions(), database: fixture.database }, 1);
      try {
        await pool.query(1);
        const injected = fixture.gateway.stats().rejected.injected ?? 0;
        const accepted = fixture.gateway.stats().accepted;
        const stats = pool.stats();
        fixture.gateway.faults.rejectNextLogins(1);
        await pool.recycle();
        await pool.query(2);
        expect(fixture.gateway.stats().rejected.injected).toBe(injected + 1);
        expect(fixture.gateway.stats().accepted).toBe(accepted + 1);
        expect(pool.stats().invalidations).toBe(stats.invalidations + 1);
        expect(pool.stats().mints).toBe(stats.mints + 1);
      } finally {
        fixture.gateway.faults.reset();
        await pool.close();
      }
    });

    it("connection dropped right after authentication: not blamed on the token, next query works", async () => {
      const pool = await adapter.open({ ...fixture.iamOptions(), database: fixture.database }, 1);
      try {
        await pool.query(1);
        const stats = pool.stats();
        fixture.gateway.faults.dropAfterAuth(1);
        await pool.recycle();
        // The pool may surface the drop or retry it itself; either way it is no IAM error.
        const outcome = await pool.query(2).then(
          () => undefined,
          (error: unknown) => error,
        );
        if (outcome !== undefined) {
          expect(outcome).not.toMatchObject({ code: "AUTH_REJECTED" });
          expect(isRdsIamError(outcome)).toBe(false);
          observe(`${adapter.name} dropped`, outcome);
        }
        await pool.query(3);
        expect(pool.stats().invalidations).toBe(stats.invalidations);
        expect(pool.stats().mints).toBe(stats.mints);
      } finally {
        fixture.gateway.faults.reset();
        await pool.close();
      }
    });

    it("database clock 4 min ahead: a 12-minute-old cached token is rejected once and replaced", async () => {
      await withEnv(world.env, async () => {
        // A token cache of its own: the token must be the one this pool minted now, not
        // an older one another object of this suite left in the process's cache.
        const pool = await adapter.open({ ...world.iamOptions(), tokenCache: new TokenCache() }, 1);
        try {
          await pool.query(1);
          const stats = pool.stats();
          world.clock.advance(12 * MINUTE);
          world.fixture.gateway.faults.skewClock(4 * MINUTE);
          const expired = world.fixture.gateway.stats().rejected.expired ?? 0;
          await pool.recycle();
          await pool.query(2);
          expect(world.fixture.gateway.stats().rejected.expired).toBe(expired + 1);
          expect(pool.stats().invalidations).toBe(stats.invalidations + 1);
        } finally {
          world.fixture.gateway.faults.reset();
          await pool.close();
        }
      });
    });

    it("persistent rejection from the first query: at most 2 logins, then AUTH_REJECTED", async () => {
      const injected = fixture.gateway.stats().rejected.injected ?? 0;
      fixture.gateway.faults.rejectNextLogins(1000);
      let pool: PoolUnderTest | undefined;
      try {
        // Opening may itself query (Prisma's capability probe, TypeORM's initialize).
        const error = await rejectionOf(
          (async () => {
            pool = await adapter.open({ ...fixture.iamOptions(), database: fixture.database }, 1);
            await pool.query(1);
          })(),
        );
        expect(error).toMatchObject({ code: "AUTH_REJECTED" });
        const logins = (fixture.gateway.stats().rejected.injected ?? 0) - injected;
        observe(`${adapter.name} logins for a first failing query`, logins);
        expect(logins).toBeGreaterThanOrEqual(1);
        expect(logins).toBeLessThanOrEqual(2);
        await tick(300);
        expect((fixture.gateway.stats().rejected.injected ?? 0) - injected).toBe(logins);
      } finally {
        fixture.gateway.faults.reset();
        await pool?.close();
      }
    });

    it("persistent rejection: AUTH_REJECTED after one retry, never a loop; recovers after", async () => {
      const pool = await adapter.open({ ...fixture.iamOptions(), database: fixture.database }, 1);
      try {
        await pool.query(1);
        const injected = fixture.gateway.stats().rejected.injected ?? 0;
        fixture.gateway.faults.rejectNextLogins(1000);
        await pool.recycle();
        const error = await rejectionOf(pool.query(2));
        expect(error).toMatchObject({ code: "AUTH_REJECTED" });
        expect((error as Error).message).toContain("The database rejected the IAM token");
        if (adapter.wrapsErrors !== true) {
          expect(isRdsIamError(error), String(error)).toBe(true);
          expect(isAuthFailure((error as Error).cause, adapter.engine)).toBe(true);
        }
        expect(fixture.gateway.stats().rejected.injected).toBe(injected + 2);
        await tick(300);
        expect(fixture.gateway.stats().rejected.injected).toBe(injected + 2);
        observe(`${adapter.name} AUTH_REJECTED`, error);
        fixture.gateway.faults.reset();
        await pool.query(3);
      } finally {
        fixture.gateway.faults.reset();
        await pool.close();
      }
    });
  });
}
