import { rootCertificates } from "node:tls";
import { describe, expect, it } from "vitest";
import {
  createMariadbConnectionFactory,
  LAZY_MARIADB,
  type MariadbModuleLike,
  mariadbConnector,
  mariadbIamConfig,
} from "../src/mariadb-binding";
import { STATIC_CREDENTIALS } from "./support";

const HOST = "mydb.cluster-abc123.us-east-1.rds.amazonaws.com";
const iam = { host: HOST, user: "app", credentials: STATIC_CREDENTIALS };

describe("createMariadbConnectionFactory", () => {
  it("opens each connection with a current token", async () => {
    const seen: Array<Record<string, unknown>> = [];
    const fake = {
      version: "3.5.4",
      createConnection: async (config: Record<string, unknown>) => {
        seen.push(config);
        return { id: seen.length };
      },
    };
    // A user of its own: providers for the same user and keys share one cached token.
    const { connect, auth, config } = createMariadbConnectionFactory(fake, {
      ...iam,
      user: "orders_app",
      database: "orders",
    });
    await connect();
    await connect();
    expect(seen).toHaveLength(2);
    expect(seen[0]?.password).toBe(await auth.getToken());
    expect(config).not.toHaveProperty("password");
    expect(auth.stats().mints).toBe(1);
    auth.close();
  });

  it("retries once with a fresh token on an auth rejection, then gives up clearly", async () => {
    let calls = 0;
    const rejecting = {
      version: "3.5.4",
      createConnection: async () => {
        calls++;
        throw Object.assign(
          new Error("Access denied for user 'app'@'10.0.0.1' (using password: YES)"),
          { errno: 1045, sqlState: "28000" },
        );
      },
    };
    const { connect, auth } = createMariadbConnectionFactory(rejecting, iam);
    await expect(connect()).rejects.toMatchObject({ code: "AUTH_REJECTED" });
    expect(calls).toBe(2);
    expect(auth.stats().invalidations).toBe(2);
    auth.close();
  });
});

describe("mariadb connectors that check the certificate after the login", () => {
  const opened: unknown[] = [];
  const old = {
    version: "3.4.5",
    createConnection: async (config: Record<string, unknown>) => {
      opened.push(config);
      return {};
    },
  };

  it("createMariadbConnectionFactory refuses one before 3.5.1, opening nothing", () => {
    expect(() => createMariadbConnectionFactory(old, iam)).toThrow(
      expect.objectContaining({ code: "TLS_VERIFICATION_FAILED", option: "mariadb" }),
    );
    expect(opened).toEqual([]);
  });

  it("mariadbConnector refuses one before each connection, before it gets the token", async () => {
    const view = mariadbIamConfig({ ...iam, user: "old_connector" });
    await expect(mariadbConnector(old, view)()).rejects.toMatchObject({
      code: "TLS_VERIFICATION_FAILED",
    });
    expect(opened).toEqual([]);
    view.auth.close();
  });

  it("a lazy loader (LAZY_MARIADB) is trusted to check the module it loads", async () => {
    const view = mariadbIamConfig({ ...iam, user: "lazy_connector" });
    const lazy: MariadbModuleLike<object> = {
      version: LAZY_MARIADB,
      createConnection: old.createConnection,
    };
    await mariadbConnector(lazy, view)();
    expect(opened).toHaveLength(1);
    opened.length = 0;
    view.auth.close();
  });
});

describe("mariadb TLS objects", () => {
  const sslOf = (ssl: unknown) =>
    mariadbIamConfig({ ...iam, ssl }).config.ssl as Record<string, unknown> | false;

  it("one without ca gets Node's root certificates, so the connector verifies before the login", () => {
    const ssl = sslOf({ minVersion: "TLSv1.2" });
    expect(ssl).toMatchObject({ minVersion: "TLSv1.2", ca: [...rootCertificates] });
  });

  it("keeps a given ca, and leaves an explicit opt-out of verification alone", () => {
    expect(sslOf({ ca: "PEM" })).toMatchObject({ ca: "PEM" });
    expect(sslOf({ rejectUnauthorized: false })).not.toHaveProperty("ca");
  });

  it("the default is the RDS CA bundle", () => {
    expect((sslOf(undefined) as { ca: unknown[] }).ca.length).toBeGreaterThan(10);
  });
});
