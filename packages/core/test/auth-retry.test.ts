import { describe, expect, it } from "vitest";
import { registerCredentials, trackTokens } from "../../../tests/support/secret-scan";
import { authRejected, withAuthRetry, withCheckoutAuthRetry } from "../src/auth-retry";
import { isRdsIamError, RdsIamError } from "../src/errors";
import { type CreateIamAuthOptions, createIamAuth, type IamAuth } from "../src/iam-auth";
import { fakeClock } from "./support";

const HOST = "mydb.cluster-abc123.us-east-1.rds.amazonaws.com";
const CREDENTIALS = {
  accessKeyId: "AKIDEXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
};
registerCredentials(CREDENTIALS);

/** What node-postgres raises when RDS refuses an IAM token. */
const pgRejection = () =>
  Object.assign(new Error('PAM authentication failed for user "app"'), {
    severity: "FATAL",
    code: "28000",
  });

/** What mysql2 / the mariadb connector raise when RDS refuses an IAM token. */
const mysqlRejection = () =>
  Object.assign(new Error("Access denied for user 'app'@'10.0.0.1' (using password: YES)"), {
    code: "ER_ACCESS_DENIED_ERROR",
    errno: 1045,
    sqlState: "28000",
    fatal: true,
  });

/** A real token provider with static credentials and a clock that moves only when told. */
function iam(extra: Partial<CreateIamAuthOptions> = {}) {
  const clock = fakeClock();
  const auth = trackTokens(
    createIamAuth({
      engine: "postgres",
      host: HOST,
      user: "app",
      credentials: CREDENTIALS,
      clock,
      ...extra,
    }),
  );
  return { auth, clock };
}

/** A login that fails with `errors` in turn, then answers `ok`; records the tokens it got. */
function logins(...errors: unknown[]) {
  const tokens: string[] = [];
  const attempt = async (token: string) => {
    tokens.push(token);
    const error = errors.shift();
    if (error !== undefined) throw error;
    return "connection";
  };
  return { attempt, tokens };
}

const caught = async (promise: Promise<unknown>) => {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
};

describe("withAuthRetry", () => {
  it("opens with the current token, once, when it is accepted", async () => {
    const { auth } = iam();
    const { attempt, tokens } = logins();
    await expect(withAuthRetry(auth, attempt)).resolves.toBe("connection");
    expect(tokens).toEqual([await auth.getToken()]);
    expect(auth.stats()).toMatchObject({ mints: 1, invalidations: 0 });
    auth.close();
  });

  it("after a rejection drops that token and tries once more with a fresh one", async () => {
    const { auth, clock } = iam();
    const stale = await auth.getToken();
    clock.advance(60_000);
    const { attempt, tokens } = logins(pgRejection());
    await expect(withAuthRetry(auth, attempt)).resolves.toBe("connection");
    expect(tokens).toHaveLength(2);
    expect(tokens[0]).toBe(stale);
    expect(tokens[1]).not.toBe(stale);
    // The fresh token is the one handed out from now on.
    expect(await auth.getToken()).toBe(tokens[1]);
    expect(auth.stats()).toMatchObject({ mints: 2, invalidations: 1 });
    auth.close();
  });

  it("gives up after the second rejection with AUTH_REJECTED, the database's error as cause", async () => {
    const { auth } = iam();
    const second = pgRejection();
    const { attempt, tokens } = logins(pgRejection(), second);
    const error = await caught(withAuthRetry(auth, attempt));
    expect(isRdsIamError(error)).toBe(true);
    expect(error).toMatchObject({ code: "AUTH_REJECTED" });
    expect((error as Error).cause).toBe(second);
    expect(tokens).toHaveLength(2);
    expect(auth.stats().invalidations).toBe(2);
    auth.close();
  });

  it("retries MySQL's 1045 for a mysql provider", async () => {
    const { auth } = iam({ engine: "mysql" });
    const { attempt, tokens } = logins(mysqlRejection());
    await expect(withAuthRetry(auth, attempt)).resolves.toBe("connection");
    expect(tokens).toHaveLength(2);
    auth.close();
  });

  it("does not retry another engine's rejection: a MySQL 1045 means nothing to postgres", async () => {
    const { auth } = iam({ engine: "postgres" });
    const mysql = mysqlRejection();
    const { attempt, tokens } = logins(mysql);
    expect(await caught(withAuthRetry(auth, attempt))).toBe(mysql);
    expect(tokens).toHaveLength(1);
    auth.close();
  });

  it.each([
    [
      "a pg_hba.conf refusal (also 28000)",
      () =>
        Object.assign(new Error('no pg_hba.conf entry for host "10.0.0.1", user "app"'), {
          code: "28000",
        }),
    ],
    [
      "a refused connection",
      () =>
        Object.assign(new Error("connect ECONNREFUSED 10.0.0.1:5432"), { code: "ECONNREFUSED" }),
    ],
    [
      "a missing database",
      () => Object.assign(new Error('database "nope" does not exist'), { code: "3D000" }),
    ],
  ])("passes %s through untouched, keeping the token", async (_name, make) => {
    const { auth } = iam();
    const failure = make();
    const { attempt, tokens } = logins(failure);
    expect(await caught(withAuthRetry(auth, attempt))).toBe(failure);
    expect(tokens).toHaveLength(1);
    expect(auth.stats().invalidations).toBe(0);
    expect(await auth.getToken()).toBe(tokens[0]);
    auth.close();
  });

  it("does not retry an AUTH_REJECTED from a nested retry: it is final", async () => {
    const { auth } = iam();
    const inner = new RdsIamError("AUTH_REJECTED", "rejected twice", { cause: pgRejection() });
    const { attempt, tokens } = logins(inner);
    const error = await caught(withAuthRetry(auth, attempt));
    expect(error).toBe(inner);
    expect(tokens).toHaveLength(1);
    expect(auth.stats().invalidations).toBe(0);
    auth.close();
  });

  it("passes a different failure of the second attempt through as is", async () => {
    const { auth } = iam();
    const refused = Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
    const { attempt } = logins(pgRejection(), refused);
    expect(await caught(withAuthRetry(auth, attempt))).toBe(refused);
    auth.close();
  });

  it("does not try at all when no token can be had", async () => {
    const { auth } = iam();
    auth.close();
    const { attempt, tokens } = logins();
    expect(await caught(withAuthRetry(auth, attempt))).toMatchObject({ code: "CLOSED" });
    expect(tokens).toEqual([]);
  });
});

describe("withCheckoutAuthRetry", () => {
  it("asks for no token itself: reusing an idle connection needs no credentials", async () => {
    const broken = createIamAuth({
      engine: "postgres",
      host: HOST,
      user: "app",
      credentials: async () => {
        throw new Error("credential endpoint unavailable");
      },
    });
    await expect(withCheckoutAuthRetry(broken, async () => "idle connection")).resolves.toBe(
      "idle connection",
    );
    expect(broken.stats()).toMatchObject({ cacheHits: 0, mints: 0, credentialResolutions: 0 });
    broken.close();
  });

  /** A checkout that logs in the way a pool's new connection does: asking the provider. */
  function checkouts(
    { auth, clock }: { auth: IamAuth; clock: { advance(ms: number): void } },
    ...errors: unknown[]
  ) {
    const tokens: string[] = [];
    const checkout = async () => {
      tokens.push(await auth.getToken());
      // A second later, a fresh token is a different one (its X-Amz-Date moves).
      clock.advance(1_000);
      const error = errors.shift();
      if (error !== undefined) throw error;
      return "client";
    };
    return { checkout, tokens };
  }

  it("drops the rejected token and checks out once more", async () => {
    const provider = iam();
    const { auth } = provider;
    const { checkout, tokens } = checkouts(provider, pgRejection());
    await expect(withCheckoutAuthRetry(auth, checkout)).resolves.toBe("client");
    expect(tokens).toHaveLength(2);
    expect(tokens[1]).not.toBe(tokens[0]);
    expect(auth.stats()).toMatchObject({ mints: 2, invalidations: 1 });
    auth.close();
  });

  it("gives up after the second rejection with AUTH_REJECTED", async () => {
    const provider = iam({ engine: "mysql" });
    const { auth } = provider;
    const second = mysqlRejection();
    const { checkout, tokens } = checkouts(provider, mysqlRejection(), second);
    const error = await caught(withCheckoutAuthRetry(auth, checkout));
    expect(error).toMatchObject({ code: "AUTH_REJECTED" });
    expect((error as Error).cause).toBe(second);
    expect(tokens).toHaveLength(2);
    auth.close();
  });

  it("does not retry an AUTH_REJECTED from an inner retry: it is final", async () => {
    const { auth } = iam();
    const inner = new RdsIamError("AUTH_REJECTED", "rejected twice", { cause: pgRejection() });
    let calls = 0;
    const error = await caught(
      withCheckoutAuthRetry(auth, async () => {
        calls++;
        throw inner;
      }),
    );
    expect(error).toBe(inner);
    expect(calls).toBe(1);
    auth.close();
  });

  it("passes other failures through after one checkout", async () => {
    const provider = iam();
    const { auth } = provider;
    const timeout = new Error("timeout exceeded when trying to connect");
    const { checkout, tokens } = checkouts(provider, timeout);
    expect(await caught(withCheckoutAuthRetry(auth, checkout))).toBe(timeout);
    expect(tokens).toHaveLength(1);
    expect(auth.stats().invalidations).toBe(0);
    auth.close();
  });
});

describe("authRejected", () => {
  it("says what to check, naming the signed-for endpoint, user and region, and no secret", async () => {
    const { auth } = iam({ host: "127.0.0.1", port: 15432, iamHost: HOST, iamDefaultPort: 5432 });
    const token = await auth.getToken();
    const cause = pgRejection();
    const error = authRejected(auth, cause);
    expect(error).toBeInstanceOf(RdsIamError);
    expect(error).toMatchObject({ code: "AUTH_REJECTED", option: undefined });
    expect(error.cause).toBe(cause);
    expect(error.message).toContain('user "app"');
    expect(error.message).toContain(`${HOST}:5432 in us-east-1`);
    expect(error.message).not.toContain("15432");
    expect(error.message).toContain("GRANT rds_iam");
    expect(error.message).toContain("AWSAuthenticationPlugin");
    expect(error.message).toContain("rds-db:connect");
    expect(error.message).not.toContain(token);
    expect(error.message).not.toContain(CREDENTIALS.secretAccessKey);
    expect(error.message).not.toContain("X-Amz-Signature");
    auth.close();
  });
});
