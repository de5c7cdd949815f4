import { isRdsIamError, mysql2IamConfig, pgIamConfig } from "@rds-iam/core";
import { createMariadbConnectionFactory } from "@rds-iam/core/driver";
import { selfSignedCertificate } from "@rds-iam/gateway";
import { iamConnection } from "@rds-iam/knex";
import { withIamAuth } from "@rds-iam/typeorm";
import knex, { type Knex } from "knex";
import * as mariadb from "mariadb";
import mysql from "mysql2/promise";
import pg from "pg";
import { DataSource } from "typeorm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type IamFixture, startIamFixture } from "../support/iam-fixture";

/**
 * The attack: a server whose certificate chains to a CA the client trusts (`ssl.ca`)
 * but names another host (`attacker.example`, plus the loopback names the client
 * dials through a tunnel). The token is signed for the RDS endpoint; it must only be
 * sent to a server that proves to be that endpoint.
 */
const QUIET: Knex.Logger = { warn: () => {}, error: () => {} };

function expectNoTokenReached(fixture: IamFixture): void {
  // A token that reached the gateway would be accepted (it is valid) or rejected.
  expect(fixture.gateway.stats().accepted).toBe(0);
  expect(fixture.gateway.stats().rejected).toEqual({});
}

/**
 * The token stays here either way: mysql2 itself fails the handshake (`host` is the
 * endpoint and `verifyIdentity` is on, so it checks the name), or, where it could not,
 * the clear-password plugin refuses with TLS_VERIFICATION_FAILED.
 */
function expectNameRefusal(error: unknown): void {
  const chain: unknown[] = [];
  for (
    let e: unknown = error;
    typeof e === "object" && e !== null && chain.length < 4;
    e = (e as { cause?: unknown }).cause
  ) {
    chain.push(e);
  }
  const refusal = chain.find(
    (e) =>
      (isRdsIamError(e) && e.code === "TLS_VERIFICATION_FAILED") ||
      /does not match certificate's altnames/.test(String((e as Error).message)),
  ) as Error | undefined;
  expect(refusal, String(error)).toBeDefined();
  expect(refusal?.message).toContain("mydb.cluster-abc123.us-east-1.rds.amazonaws.com");
}

describe.each(["mysql", "postgres"] as const)(
  "a %s server whose certificate names another host",
  (engine) => {
    let fixture: IamFixture;
    let ca: string;
    beforeAll(async () => {
      const attacker = await selfSignedCertificate(["attacker.example"]);
      ca = attacker.cert;
      fixture = await startIamFixture(engine, { gateway: { tls: attacker } });
    });
    afterAll(async () => {
      await fixture?.close();
    });

    const options = () => ({ ...fixture.iamOptions(), ssl: { ca } });

    if (engine === "mysql") {
      it("core mysql2IamConfig refuses before the token leaves", async () => {
        const { config, auth } = mysql2IamConfig(options());
        try {
          const error = await mysql
            .createConnection(config as mysql.ConnectionOptions)
            .then(async (c) => {
              await c.end();
              return undefined;
            })
            .catch((e: unknown) => e);
          expectNameRefusal(error);
          expectNoTokenReached(fixture);
        } finally {
          auth.close();
        }
      });

      it("knex mysql2 refuses", async () => {
        const db = knex({ client: "mysql2", connection: iamConnection(options()), log: QUIET });
        try {
          const error = await db.raw("select 1").catch((e: unknown) => e);
          expectNameRefusal(error);
          expectNoTokenReached(fixture);
        } finally {
          await db.destroy();
        }
      });

      it.each(["mysql", "mariadb"] as const)("TypeORM %s refuses", async (type) => {
        const { iamHost, iamDefaultPort, iamRegion, credentials, host, port, user } = options();
        const dataSource = new DataSource(
          withIamAuth({
            type,
            host,
            port,
            username: user,
            ssl: { ca },
            iam: { iamHost, iamDefaultPort, iamRegion, credentials },
          }),
        );
        const error = await dataSource.initialize().catch((e: unknown) => e);
        if (dataSource.isInitialized) await dataSource.destroy();
        expectNameRefusal(error);
        expectNoTokenReached(fixture);
      });

      it("the mariadb connector refuses (Prisma's MySQL adapter and knex mariadb use it)", async () => {
        const { connect, auth } = createMariadbConnectionFactory(mariadb, options());
        try {
          const error = await connect()
            .then(async (c) => {
              await c.end();
              return undefined;
            })
            .catch((e: unknown) => e);
          expect(error).toBeInstanceOf(Error);
          expect(String((error as Error).message)).toMatch(/does not match|altnames/i);
          expectNoTokenReached(fixture);
        } finally {
          auth.close();
        }
      });

      it("a checkServerIdentity mysql2 would ignore, or verifyIdentity: false, is refused", () => {
        expect(() =>
          mysql2IamConfig({ ...options(), ssl: { ca, checkServerIdentity: () => undefined } }),
        ).toThrow(
          expect.objectContaining({
            code: "CONFLICTING_OPTIONS",
            option: "ssl.checkServerIdentity",
          }),
        );
        expect(() => mysql2IamConfig({ ...options(), ssl: { ca, verifyIdentity: false } })).toThrow(
          expect.objectContaining({ code: "CONFLICTING_OPTIONS", option: "ssl.verifyIdentity" }),
        );
      });

      it("through a tunnel, mysql2 checks the endpoint's name and dials the tunnel", () => {
        const { config, auth } = mysql2IamConfig(options());
        auth.close();
        expect(config.host).toBe(fixture.iamHost);
        expect(typeof config.stream).toBe("function");
        expect(config.ssl).toMatchObject({ verifyIdentity: true, rejectUnauthorized: true });
      });
    } else {
      it("pg refuses: a user's ssl object is checked against iamHost, not the dialled IP", async () => {
        const { config, auth } = pgIamConfig(options());
        const client = new pg.Client(config as pg.ClientConfig);
        try {
          const error = await client.connect().catch((e: unknown) => e);
          expect(error).toBeInstanceOf(Error);
          expect(String((error as Error).message)).toMatch(/does not match|altnames/i);
          expect(String((error as Error).message)).toContain(fixture.iamHost);
          expectNoTokenReached(fixture);
        } finally {
          await client.end().catch(() => {});
          auth.close();
        }
      });
    }
  },
);
