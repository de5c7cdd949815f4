import { isRdsIamError, mysql2IamConfig, pgIamConfig } from "@rds-iam/core";
import { withMysql2AuthRetry, withPgAuthRetry } from "@rds-iam/core/driver";
import mysql from "mysql2";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fakeClock } from "../knex/helpers";
import { type IamFixture, startIamFixture } from "../support/iam-fixture";

const MINUTE = 60_000;

/**
 * Credentials that can be switched off (an outage of the credential source), and a
 * token clock that can be moved past the token's life: together, a pool whose
 * provider could not mint a token now.
 */
function failingSource(fixture: IamFixture) {
  let down = false;
  const clock = fakeClock();
  return {
    clock,
    credentials: async () => {
      if (down) throw new Error("credential source down (test)");
      return fixture.credentials;
    },
    fail() {
      down = true;
      clock.advance(20 * MINUTE);
    },
  };
}

/** A pool under test: check out a pooled connection, query, give it back. */
interface Checkout {
  query(): Promise<void>;
  /** Opens one more physical connection while the first is held. */
  queryOnNewConnection(): Promise<void>;
  close(): Promise<void>;
}

for (const engine of ["postgres", "mysql"] as const) {
  describe(`${engine}: a checkout that reuses an idle connection needs no token`, () => {
    let fixture: IamFixture;
    beforeAll(async () => {
      fixture = await startIamFixture(engine);
    });
    afterAll(async () => {
      await fixture?.close();
    });

    function open(source: ReturnType<typeof failingSource>) {
      const options = {
        ...fixture.iamOptions(),
        database: fixture.database,
        credentials: source.credentials,
        clock: source.clock,
      };
      if (engine === "postgres") {
        const { config, auth } = pgIamConfig(options);
        const pool = new (withPgAuthRetry(pg.Pool, auth))({ ...config, max: 2 });
        const checkout: Checkout = {
          async query() {
            const client = await pool.connect();
            try {
              await client.query("select 1");
            } finally {
              client.release();
            }
          },
          async queryOnNewConnection() {
            const held = await pool.connect();
            try {
              await checkout.query();
            } finally {
              held.release();
            }
          },
          async close() {
            await pool.end();
            auth.close();
          },
        };
        return { auth, checkout };
      }
      const { config, auth } = mysql2IamConfig(options);
      const pool = withMysql2AuthRetry(mysql.createPool({ ...config, connectionLimit: 2 }), auth);
      const get = () =>
        new Promise<mysql.PoolConnection>((resolve, reject) =>
          pool.getConnection((error, connection) => (error ? reject(error) : resolve(connection))),
        );
      const checkout: Checkout = {
        async query() {
          const connection = await get();
          try {
            await connection.promise().query("select 1");
          } finally {
            connection.release();
          }
        },
        async queryOnNewConnection() {
          const held = await get();
          try {
            await checkout.query();
          } finally {
            held.release();
          }
        },
        async close() {
          await pool.promise().end();
          auth.close();
        },
      };
      return { auth, checkout };
    }

    it("keeps serving queries while credentials are unavailable and the token has expired", async () => {
      const source = failingSource(fixture);
      const { auth, checkout } = open(source);
      try {
        await checkout.query();
        const warm = auth.stats();
        expect(warm.mints).toBe(1);

        source.fail();
        // The idle connection is logged in already: no token, no credentials needed.
        for (let i = 0; i < 5; i++) await checkout.query();
        expect(auth.stats()).toMatchObject({ mints: 1, failures: 0, cacheHits: warm.cacheHits });

        // The control: a new connection does need a token, and says why it cannot get one.
        const error = await checkout.queryOnNewConnection().then(
          () => undefined,
          (reason: unknown) => reason,
        );
        expect(isRdsIamError(error) && error.code).toBe("CREDENTIALS_UNAVAILABLE");
      } finally {
        await checkout.close();
      }
    });
  });
}
