import { isRdsIamError, TokenCache } from "@rds-iam/core";
import { isAuthFailure } from "@rds-iam/core/driver";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { IamFixture } from "../support/iam-fixture";
import { assertNoLeaks, observe } from "../support/secret-scan";
import { type BindingUnderTest, CORE_BINDINGS } from "./support/bindings";
import { MINUTE, rejectionOf, simClock, startScannedFixture } from "./support/simulation";

// One simulated clock for core (`clock`) and the gateways (`now`); skew is applied on top.
const clock = simClock();
const fixtures: Partial<Record<"postgres" | "mysql", IamFixture>> = {};

beforeAll(async () => {
  [fixtures.postgres, fixtures.mysql] = await Promise.all([
    startScannedFixture("postgres", { gateway: { now: clock } }),
    startScannedFixture("mysql", { gateway: { now: clock } }),
  ]);
});
afterEach(() => {
  fixtures.postgres?.gateway.faults.reset();
  fixtures.mysql?.gateway.faults.reset();
});
afterAll(async () => {
  await Promise.all([fixtures.postgres?.close(), fixtures.mysql?.close()]);
  assertNoLeaks({ secretKeyShape: true });
});

function setup(binding: BindingUnderTest, connectTimeoutMs?: number) {
  const fixture = fixtures[binding.engine];
  if (fixture === undefined) throw new Error(`no ${binding.engine} fixture`);
  // Each test counts its own binding's mints: a token cache of its own (by default,
  // providers for the same user share the process's tokens).
  const open = binding.open(
    { ...fixture.iamOptions(), database: fixture.database, clock, tokenCache: new TokenCache() },
    connectTimeoutMs,
  );
  const rejected = (reason: "expired" | "not-yet-valid") =>
    fixture.gateway.stats().rejected[reason] ?? 0;
  return { fixture, open, faults: fixture.gateway.faults, rejected };
}

describe.each(CORE_BINDINGS)("gateway faults: $name", (binding) => {
  it("latency spike (400 ms per handshake): logins are slower, nothing else changes", async () => {
    const { open, faults } = setup(binding);
    try {
      await open.login();
      const stats = open.auth.stats();
      faults.setHandshakeLatency(400);
      await Promise.all([open.login(), open.login()]);
      expect(open.auth.stats().mints).toBe(stats.mints);
      expect(open.auth.stats().invalidations).toBe(0);
    } finally {
      await open.close();
    }
  });

  it("latency beyond the driver's connect timeout: the driver's timeout error, token kept", async () => {
    // Generous numbers: a busy machine must not time out the logins that should pass.
    const { open, faults } = setup(binding, 1_500);
    try {
      await open.login();
      const mints = open.auth.stats().mints;
      faults.setHandshakeLatency(3_000);
      const error = await rejectionOf(open.login());
      // Not an IAM problem: no retry with a new token, no RdsIamError, the token stays.
      expect(isRdsIamError(error)).toBe(false);
      expect(isAuthFailure(error, binding.engine)).toBe(false);
      expect(open.auth.stats().invalidations).toBe(0);
      observe(`${binding.name} connect timeout`, error);
      faults.setHandshakeLatency(0);
      await open.login();
      expect(open.auth.stats().mints).toBe(mints);
    } finally {
      await open.close();
    }
  });

  it("connection dropped right after authentication: one failed login, token kept, next login works", async () => {
    const { fixture, open, faults } = setup(binding);
    try {
      await open.login();
      const mints = open.auth.stats().mints;
      const accepted = fixture.gateway.stats().accepted;
      faults.dropAfterAuth(1);
      const error = await rejectionOf(open.login());
      expect(isRdsIamError(error)).toBe(false);
      expect(isAuthFailure(error, binding.engine)).toBe(false);
      // The token was accepted; dropping the connection is not the token's fault.
      expect(fixture.gateway.stats().accepted).toBe(accepted + 1);
      expect(open.auth.stats().invalidations).toBe(0);
      observe(`${binding.name} dropped`, error);
      await open.login();
      expect(open.auth.stats().mints).toBe(mints);
    } finally {
      await open.close();
    }
  });

  it("database clock 4 min ahead: fresh tokens pass; an old cached token is rejected once, then replaced", async () => {
    const { open, faults, rejected } = setup(binding);
    try {
      await open.login();
      faults.skewClock(4 * MINUTE);
      await open.login();
      expect(open.auth.stats().invalidations).toBe(0);
      // 12 min later the cached token is still handed out (core serves it for 14.5 min),
      // but the database, 4 min ahead, sees it 16 min old: expired.
      clock.advance(12 * MINUTE);
      const before = rejected("expired");
      await open.login();
      expect(rejected("expired")).toBe(before + 1);
      expect(open.auth.stats().invalidations).toBe(1);
      expect(open.auth.stats().mints).toBe(2);
    } finally {
      await open.close();
    }
  });

  it("database clock 4 min behind: tokens dated in its future are accepted (5 min tolerance)", async () => {
    const { open, faults, rejected } = setup(binding);
    try {
      faults.skewClock(-4 * MINUTE);
      const before = rejected("not-yet-valid");
      await open.login();
      // Near the end of the token's hand-out window it is still valid there too.
      clock.advance(14 * MINUTE);
      await open.login();
      expect(rejected("not-yet-valid")).toBe(before);
      expect(open.auth.stats().invalidations).toBe(0);
    } finally {
      await open.close();
    }
  });

  it("database clock 6 min behind: AUTH_REJECTED after exactly one retry (fix the clock)", async () => {
    const { open, faults, rejected } = setup(binding);
    try {
      faults.skewClock(-6 * MINUTE);
      const before = rejected("not-yet-valid");
      const error = await rejectionOf(open.login());
      expect(error).toMatchObject({ code: "AUTH_REJECTED" });
      expect(rejected("not-yet-valid")).toBe(before + 2);
      observe(`${binding.name} skew rejected`, error);
    } finally {
      await open.close();
    }
  });
});
