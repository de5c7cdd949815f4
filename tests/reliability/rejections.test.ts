import { isRdsIamError } from "@rds-iam/core";
import { isAuthFailure } from "@rds-iam/core/driver";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { IamFixture } from "../support/iam-fixture";
import { assertNoLeaks, observe } from "../support/secret-scan";
import { type BindingUnderTest, CORE_BINDINGS } from "./support/bindings";
import { rejectionOf, startScannedFixture, tick } from "./support/simulation";

const fixtures: Partial<Record<"postgres" | "mysql", IamFixture>> = {};

beforeAll(async () => {
  [fixtures.postgres, fixtures.mysql] = await Promise.all([
    startScannedFixture("postgres"),
    startScannedFixture("mysql"),
  ]);
});
afterAll(async () => {
  await Promise.all([fixtures.postgres?.close(), fixtures.mysql?.close()]);
  assertNoLeaks({ secretKeyShape: true });
});

function fixtureFor(binding: BindingUnderTest): IamFixture {
  const fixture = fixtures[binding.engine];
  if (fixture === undefined) throw new Error(`no ${binding.engine} fixture`);
  return fixture;
}

/** Refusals the gateway injected so far. */
const injected = (fixture: IamFixture) => fixture.gateway.stats().rejected.injected ?? 0;

describe.each(CORE_BINDINGS)("database rejections: $name", (binding) => {
  it("one rejection: exactly one retry, with a fresh token, that succeeds", async () => {
    const fixture = fixtureFor(binding);
    const open = binding.open({ ...fixture.iamOptions(), database: fixture.database });
    try {
      await open.login();
      const before = { injected: injected(fixture), accepted: fixture.gateway.stats().accepted };
      const stats = open.auth.stats();
      fixture.gateway.faults.rejectNextLogins(1);
      await open.login();
      expect(injected(fixture)).toBe(before.injected + 1);
      expect(fixture.gateway.stats().accepted).toBe(before.accepted + 1);
      // The rejected token was dropped and a new one minted, once.
      expect(open.auth.stats().invalidations).toBe(stats.invalidations + 1);
      expect(open.auth.stats().mints).toBe(stats.mints + 1);
    } finally {
      fixture.gateway.faults.reset();
      await open.close();
    }
  });

  it("persistent rejection: a clear AUTH_REJECTED after one retry, then nothing more", async () => {
    const fixture = fixtureFor(binding);
    const open = binding.open({ ...fixture.iamOptions(), database: fixture.database });
    try {
      const before = injected(fixture);
      fixture.gateway.faults.rejectNextLogins(1000);
      const error = await rejectionOf(open.login());
      expect(isRdsIamError(error)).toBe(true);
      expect(error).toMatchObject({ code: "AUTH_REJECTED" });
      expect((error as Error).message).toContain(fixture.user);
      expect((error as Error).message).toContain(fixture.iamHost);
      // The database's own answer is the cause (PostgreSQL 28000 / MySQL 1045).
      expect(isAuthFailure((error as Error).cause, binding.engine)).toBe(true);
      expect(injected(fixture)).toBe(before + 2);
      // No loop in the background either.
      await tick(300);
      expect(injected(fixture)).toBe(before + 2);
      expect(open.auth.stats().invalidations).toBe(2);
      observe(`${binding.name} AUTH_REJECTED`, error);

      // Once the database accepts tokens again, the same pool recovers by itself.
      fixture.gateway.faults.reset();
      await open.login();
    } finally {
      fixture.gateway.faults.reset();
      await open.close();
    }
  });

  it("concurrent logins rejected together: each retried exactly once, all succeed", async () => {
    const fixture = fixtureFor(binding);
    const open = binding.open({ ...fixture.iamOptions(), database: fixture.database });
    try {
      await open.login();
      const before = { injected: injected(fixture), accepted: fixture.gateway.stats().accepted };
      const mints = open.auth.stats().mints;
      fixture.gateway.faults.rejectNextLogins(3);
      await Promise.all([open.login(), open.login(), open.login()]);
      expect(injected(fixture)).toBe(before.injected + 3);
      expect(fixture.gateway.stats().accepted).toBe(before.accepted + 3);
      // At most one mint per rejection. (Re-signing in the same second with the same
      // credentials yields the identical token, so `invalidate(token)` cannot tell a
      // re-mint from the rejected token and each rejection may re-mint once.)
      expect(open.auth.stats().mints - mints).toBeGreaterThanOrEqual(1);
      expect(open.auth.stats().mints - mints).toBeLessThanOrEqual(3);
    } finally {
      fixture.gateway.faults.reset();
      await open.close();
    }
  });
});
