import { inspect } from "node:util";
import { type IamAuth, isRdsIamError, TokenCache } from "@rds-iam/core";
import { type IamKnexConnection, iamConnection } from "@rds-iam/knex";
import knex, { type Knex } from "knex";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fakeClock, knexTracker, poolDrained, REAPING_POOL, rejectedSince } from "../knex/helpers";
import { type IamFixture, startIamFixture } from "../support/iam-fixture";
import { assertNoLeaks, observe, registerCredentials, trackTokens } from "../support/secret-scan";
import { rejectionOf, TOKEN_LIFETIME_MS } from "./support/simulation";

/**
 * A credential outage that coincides with the cached token's expiry, met by a query
 * that needs a NEW connection: the login cannot get a token. Each knex client must
 * report our error (CREDENTIALS_UNAVAILABLE for a failing source, TIMEOUT for a hung
 * one), not the driver's wrapper of it: mysql2 sets `code = "AUTH_SWITCH_PLUGIN_ERROR"`
 * on whatever its auth plugin throws, which would hide the cause. Then the source
 * recovers and queries succeed again without intervention.
 *
 * The clock is fake and shared with the gateway, so "past the token's lifetime" is
 * the same moment for the provider, knex's expiration checker and the gateway.
 */

const IAM_TIMEOUT_MS = 500;

const CLIENTS = [
  { client: "mysql2", engine: "mysql" },
  { client: "mariadb", engine: "mysql" },
  { client: "pg", engine: "postgres" },
] as const;

/** A credential source the test switches between answering, failing and hanging. */
function controlledSource(answer: () => { accessKeyId: string; secretAccessKey: string }) {
  let mode: "up" | "down" | "hung" = "up";
  let calls = 0;
  const waiting: ((credentials: ReturnType<typeof answer>) => void)[] = [];
  const credentials = async () => {
    calls++;
    if (mode === "down") throw new Error("credential source down (test)");
    if (mode === "hung") return new Promise<ReturnType<typeof answer>>((r) => waiting.push(r));
    return answer();
  };
  return {
    credentials,
    get calls() {
      return calls;
    },
    fail() {
      mode = "down";
    },
    hang() {
      mode = "hung";
    },
    /** Answers again, including the calls left hanging. */
    recover() {
      mode = "up";
      for (const resolve of waiting.splice(0)) resolve(answer());
    },
  };
}

function whoAmI(db: Knex, engine: "postgres" | "mysql"): Promise<string> {
  const sql =
    engine === "postgres"
      ? "current_user as who"
      : "substring_index(current_user(), '@', 1) as who";
  return db
    .first(db.raw(sql))
    .then((row: { who: string } | undefined) => (row === undefined ? "" : row.who));
}

describe.each(CLIENTS)(
  "knex client $client: credential outage past the token's lifetime ($engine)",
  ({ client, engine }) => {
    const clock = fakeClock();
    const dbs = knexTracker();
    let fixture: IamFixture;
    beforeAll(async () => {
      // Fails loudly (never skips) when the database is unreachable.
      fixture = await startIamFixture(engine, { gateway: { now: clock } });
      registerCredentials(fixture.credentials);
    });
    afterAll(async () => {
      await dbs.destroyAll();
      await fixture?.close();
      assertNoLeaks({ secretKeyShape: true });
    });

    /** Tokens handed out by the connection's provider, for the no-secret checks. */
    const tokens: string[] = [];

    function open(source: ReturnType<typeof controlledSource>) {
      const connection: IamKnexConnection = iamConnection({
        ...fixture.iamOptions(),
        database: fixture.database,
        clock,
        credentials: source.credentials,
        iamTimeout: IAM_TIMEOUT_MS,
        // Counts of this test's own (the process's cache would share tokens across tests).
        tokenCache: new TokenCache(),
      });
      // knex warns with every failed acquisition (message and stack): recorded for the
      // secret scan, not printed.
      const warnings: string[] = [];
      const log: Knex.Logger = {
        warn: (message: unknown) => {
          warnings.push(observe(`knex ${client} warn`, message));
        },
      };
      const db = dbs.track(knex({ client, connection, pool: { ...REAPING_POOL }, log }));
      return { db, connection, warnings };
    }

    function trackAuth(connection: IamKnexConnection): IamAuth {
      const auth = connection.auth;
      if (auth === undefined) throw new Error("no provider yet");
      trackTokens(auth);
      const getToken = auth.getToken.bind(auth);
      Object.defineProperty(auth, "getToken", {
        configurable: true,
        value: () =>
          getToken().then((token) => {
            tokens.push(token);
            return token;
          }),
      });
      return auth;
    }

    /** Our error, with its own code, and nothing secret anywhere in it. */
    function expectOwnError(error: unknown, code: "CREDENTIALS_UNAVAILABLE" | "TIMEOUT") {
      const shown = observe(`knex ${client} outage error`, error);
      expect(isRdsIamError(error)).toBe(true);
      expect((error as { code?: unknown }).code).toBe(code);
      expect((error as { code?: unknown }).code).not.toBe("AUTH_SWITCH_PLUGIN_ERROR");
      expect((error as Error).name).toBe("RdsIamError");
      // The code survives serialization too (what a log shipper sees).
      expect(JSON.parse(JSON.stringify(error))).toMatchObject({ code });
      const texts = [
        shown,
        (error as Error).message,
        String(error),
        inspect(error, { depth: null, showHidden: true }),
        JSON.stringify(error),
      ];
      for (const text of texts) {
        expect(text).not.toContain(fixture.credentials.secretAccessKey);
        expect(text).not.toMatch(/X-Amz-Signature/i);
        for (const token of tokens) expect(text).not.toContain(token);
      }
    }

    it("a failing source: a new connection fails with CREDENTIALS_UNAVAILABLE, then recovers", async () => {
      const source = controlledSource(() => fixture.credentials);
      const { db, connection, warnings } = open(source);
      expect(await whoAmI(db, engine)).toBe(fixture.user);
      const auth = trackAuth(connection);
      expect(auth.stats()).toMatchObject({ mints: 1, failures: 0 });

      // The pooled connection is closed, so the next query must log in anew...
      await poolDrained(db);
      // ... while the source fails and the cached token is past its hand-out window
      // (and past the 900 s the gateway accepts).
      source.fail();
      clock.advance(TOKEN_LIFETIME_MS + 60_000);
      const before = fixture.gateway.stats();
      const callsBefore = source.calls;

      const error = await rejectionOf(whoAmI(db, engine));
      expectOwnError(error, "CREDENTIALS_UNAVAILABLE");
      expect(error).toMatchObject({ option: "credentials" });
      if (client === "mysql2") {
        // It came through mysql2's auth-plugin error path (which marks it fatal and
        // writes code = "AUTH_SWITCH_PLUGIN_ERROR" on it): the code survived that write.
        expect((error as { fatal?: unknown }).fatal).toBe(true);
      }
      expect((error as Error).message).toMatch(/credentials/i);
      // The source's own error, for the operator.
      expect((error as Error).cause).toBeInstanceOf(Error);
      expect(String(((error as Error).cause as Error).message)).toContain(
        "credential source down (test)",
      );
      // No token left here: the gateway saw no login, accepted or rejected.
      const after = fixture.gateway.stats();
      expect(after.accepted).toBe(before.accepted);
      expect(rejectedSince(before.rejected, after.rejected)).toEqual({});
      // Not a storm: one failed mint (shared by the knex checker's look-up and the login).
      expect(source.calls - callsBefore).toBeLessThanOrEqual(2);
      expect(auth.stats().failures).toBeGreaterThanOrEqual(1);
      // knex's own warning carries our error too, never the driver's code.
      expect(warnings.join("\n")).not.toContain("AUTH_SWITCH_PLUGIN_ERROR");

      // The source recovers: the next query logs in with a new token, no intervention.
      source.recover();
      expect(await whoAmI(db, engine)).toBe(fixture.user);
      expect(auth.stats().mints).toBe(2);
      expect(rejectedSince(before.rejected, fixture.gateway.stats().rejected)).toEqual({});
    });

    it("a source failing from the start: the first query fails with CREDENTIALS_UNAVAILABLE, then recovers", async () => {
      const source = controlledSource(() => fixture.credentials);
      source.fail();
      const { db, connection } = open(source);
      const before = fixture.gateway.stats();
      // Here knex's connection function itself cannot get a token (no config yet).
      const error = await rejectionOf(whoAmI(db, engine));
      expectOwnError(error, "CREDENTIALS_UNAVAILABLE");
      expect(fixture.gateway.stats().accepted).toBe(before.accepted);
      source.recover();
      expect(await whoAmI(db, engine)).toBe(fixture.user);
      expect(connection.stats()).toMatchObject({ mints: 1 });
      expect(rejectedSince(before.rejected, fixture.gateway.stats().rejected)).toEqual({});
    });

    it("a hung source: a new connection fails with TIMEOUT after iamTimeout, then recovers", async () => {
      const source = controlledSource(() => fixture.credentials);
      const { db, connection } = open(source);
      expect(await whoAmI(db, engine)).toBe(fixture.user);
      const auth = trackAuth(connection);
      await poolDrained(db);
      source.hang();
      clock.advance(TOKEN_LIFETIME_MS + 60_000);
      const before = fixture.gateway.stats();

      const started = Date.now();
      const error = await rejectionOf(whoAmI(db, engine));
      const waited = Date.now() - started;
      expectOwnError(error, "TIMEOUT");
      expect(error).toMatchObject({ option: "iamTimeout" });
      expect((error as Error).message).toContain(`iamTimeout (${IAM_TIMEOUT_MS} ms)`);
      // Promptly: iamTimeout, not knex's 60 s acquire timeout nor a driver's connect timeout.
      expect(waited).toBeGreaterThanOrEqual(IAM_TIMEOUT_MS - 20);
      expect(waited).toBeLessThan(10 * IAM_TIMEOUT_MS);
      expect(fixture.gateway.stats().accepted).toBe(before.accepted);

      // The source answers again (the hung call included): queries succeed.
      source.recover();
      expect(await whoAmI(db, engine)).toBe(fixture.user);
      expect(auth.stats().mints).toBe(2);
      expect(rejectedSince(before.rejected, fixture.gateway.stats().rejected)).toEqual({});
    });
  },
);
