import { createRequire } from "node:module";
import { TokenCache } from "@rds-iam/core";
import {
  createMariadbConnectionFactory,
  mariadbConfigOf,
  prepareBinding,
} from "@rds-iam/core/driver";
import { iamConnection } from "@rds-iam/knex";
import { withIamAuth } from "@rds-iam/sequelize";
import { withIamAuth as withIamAuth7 } from "@rds-iam/sequelize/v7";
import { Sequelize as Sequelize7 } from "@sequelize/core";
import { MariaDbDialect } from "@sequelize/mariadb";
import knex from "knex";
import { Sequelize } from "sequelize";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IamPrismaMariadbAdapterFactory } from "../../packages/prisma/src/mariadb-adapter";
import { type IamFixture, startIamFixture } from "../support/iam-fixture";
import { type MysqlVersionProxy, startMysqlVersionProxy } from "../support/mysql-version-proxy";

// The attack: a server that is not the endpoint (here the gateway, whose test CA the
// client was NOT given, so its certificate must be refused) receives the IAM token
// anyway, because the mariadb connector before 3.5.1 checks a MariaDB server's
// certificate only after the login. 3.4.5 is what @prisma/adapter-mariadb 7 and
// @mikro-orm/mariadb 6.6 pin, so users get it without asking.
const require = createRequire(import.meta.url);
const OLD_CONNECTOR = require("mariadb-3.4") as {
  version: string;
  createConnection(config: Record<string, unknown>): Promise<{ end(): Promise<void> }>;
};

describe("a mariadb connector that checks the certificate after the login gets no token", () => {
  let fixture: IamFixture;
  beforeAll(async () => {
    fixture = await startIamFixture("mysql");
  });
  afterAll(async () => {
    await fixture?.close();
  });

  /** The fixture's options without its CA: the gateway's certificate is not trusted. */
  const untrusted = () => {
    const { ssl: _trusted, ...options } = fixture.iamOptions();
    return { ...options, database: fixture.database, tokenCache: new TokenCache() };
  };
  const accepted = () => fixture.gateway.stats().accepted;

  it("the attack is real: 3.4.5 sends a valid token to a server it does not trust", async () => {
    expect(OLD_CONNECTOR.version).toBe("3.4.5");
    const { config, auth } = mariadbConfigOf(
      prepareBinding(untrusted(), { what: "replay", engine: "mysql" }),
    );
    const before = accepted();
    // What core did before the check: the connector, the token, the RDS CA bundle.
    const outcome = await OLD_CONNECTOR.createConnection({
      ...config,
      password: await auth.getToken(),
    }).then(
      (connection) => connection.end().then(() => "connected"),
      (error: Error) => error.message,
    );
    expect(outcome).toContain("self-signed certificate");
    // ...but only after the gateway had accepted the token: the login succeeded.
    expect(accepted()).toBe(before + 1);
    auth.close();
  });

  describe("3.5.4 with a TLS object without ca, at a server announcing MariaDB 11.4", () => {
    // 3.5 relaxes certificate checks for a MariaDB 11.4.1+ server when the TLS options
    // name no ca (it checks a fingerprint after the login instead). A server can announce
    // any version: this relay makes the gateway's greeting say 11.4.4.
    let proxy: MysqlVersionProxy;
    beforeAll(async () => {
      proxy = await startMysqlVersionProxy(fixture, "11.4.4-MariaDB");
    });
    afterAll(async () => {
      await proxy?.close();
    });
    const current = require("mariadb") as typeof OLD_CONNECTOR;
    const viaProxy = () => ({
      ...untrusted(),
      host: proxy.host,
      port: proxy.port,
      ssl: { rejectUnauthorized: true },
    });

    it("the connector alone accepts the certificate, then refuses to send a cleartext password", async () => {
      expect(current.version).toBe("3.5.4");
      const { config, auth } = mariadbConfigOf(
        prepareBinding(viaProxy(), { what: "replay", engine: "mysql" }),
      );
      // The user's TLS object as given, without the ca core adds.
      const { ca: _roots, ...ssl } = config.ssl as { ca?: unknown };
      const before = accepted();
      const outcome = current
        .createConnection({ ...config, ssl, password: await auth.getToken() })
        .then((connection) => connection.end());
      // Its own last line: no token for a plugin that is not MITM-proof (ours is cleartext).
      await expect(outcome).rejects.toThrow(
        /Unsupported authentication plugin mysql_clear_password with Self signed/,
      );
      expect(accepted()).toBe(before);
      auth.close();
    });

    it("core's TLS object names Node's root certificates: the TLS handshake itself refuses the server", async () => {
      const { connect, auth } = createMariadbConnectionFactory(current, viaProxy());
      const before = accepted();
      // Node's TLS error, not the connector's plugin check: the certificate was never accepted.
      await expect(connect()).rejects.toThrow(/^self-signed certificate/);
      expect(accepted()).toBe(before);
      auth.close();
    });
  });

  it("core's connection factory refuses it before anything opens", () => {
    const before = accepted();
    expect(() => createMariadbConnectionFactory(OLD_CONNECTOR, untrusted())).toThrow(
      expect.objectContaining({ code: "TLS_VERIFICATION_FAILED", option: "mariadb" }),
    );
    expect(accepted()).toBe(before);
  });

  it("knex's mariadb client refuses it at the first connection", async () => {
    const db = knex({ client: "mariadb", connection: iamConnection(untrusted()) });
    (db.client as { driver: unknown }).driver = OLD_CONNECTOR;
    const before = accepted();
    try {
      await expect(db.raw("select 1")).rejects.toMatchObject({ code: "TLS_VERIFICATION_FAILED" });
      expect(accepted()).toBe(before);
    } finally {
      await db.destroy();
    }
  });

  it("Sequelize's mariadb dialect refuses it at the first connection", async () => {
    const { host, port, user, database: _database, ...iam } = untrusted();
    const sequelize = new Sequelize(
      withIamAuth({
        dialect: "mariadb",
        host,
        port,
        username: user,
        database: fixture.database,
        logging: false,
        iam,
      }),
    );
    (sequelize.connectionManager as unknown as { lib: unknown }).lib = OLD_CONNECTOR;
    const before = accepted();
    try {
      await expect(sequelize.authenticate()).rejects.toMatchObject({
        code: "TLS_VERIFICATION_FAILED",
      });
      expect(accepted()).toBe(before);
    } finally {
      await sequelize.close();
    }
  });

  describe("Sequelize 7's mariadb dialect", () => {
    const v7Options = () => {
      const { host, port, user, database: _database, ...iam } = untrusted();
      return { dialect: MariaDbDialect, host, port, user, database: fixture.database, iam };
    };

    it("refuses it as mariaDbModule before anything is built", () => {
      const before = accepted();
      expect(() => withIamAuth7({ ...v7Options(), mariaDbModule: OLD_CONNECTOR } as never)).toThrow(
        expect.objectContaining({ code: "TLS_VERIFICATION_FAILED", option: "mariadb" }),
      );
      expect(accepted()).toBe(before);
    });

    it("hands the dialect the connector @sequelize/mariadb itself resolves", async () => {
      const own = createRequire(require.resolve("@sequelize/mariadb"))("mariadb");
      const sequelize = new Sequelize7(withIamAuth7({ ...v7Options(), logging: false }) as never);
      try {
        expect((sequelize.dialect.options as { mariaDbModule?: unknown }).mariaDbModule).toBe(own);
      } finally {
        await sequelize.close();
      }
    });

    it("refuses it at the first connection when that is the connector @sequelize/mariadb resolves", async () => {
      // What a lockfile resolving @sequelize/mariadb's "mariadb": "^3.4.5" to 3.4.5 does:
      // its require("mariadb") returns the old connector.
      const dialectRequire = createRequire(require.resolve("@sequelize/mariadb"));
      const cached = require.cache[dialectRequire.resolve("mariadb")];
      if (cached === undefined) throw new Error("@sequelize/mariadb's mariadb is not loaded");
      const current = cached.exports;
      cached.exports = OLD_CONNECTOR;
      let sequelize: Sequelize7 | undefined;
      try {
        sequelize = new Sequelize7(withIamAuth7({ ...v7Options(), logging: false }) as never);
      } finally {
        cached.exports = current;
      }
      expect((sequelize.dialect.options as { mariaDbModule?: unknown }).mariaDbModule).toBe(
        OLD_CONNECTOR,
      );
      const before = accepted();
      try {
        await expect(sequelize.authenticate()).rejects.toMatchObject({
          code: "TLS_VERIFICATION_FAILED",
        });
        expect(accepted()).toBe(before);
      } finally {
        await sequelize.close();
      }
    });
  });

  it("Prisma's mariadb adapter refuses it at the first connection", async () => {
    const factory = new IamPrismaMariadbAdapterFactory(
      { engine: "mysql", ...untrusted() },
      undefined,
      // The connector Prisma would load: the one @prisma/adapter-mariadb pins.
      Promise.resolve(OLD_CONNECTOR) as never,
    );
    const before = accepted();
    const query = async () => {
      const adapter = await factory.connect();
      try {
        await adapter.queryRaw({ sql: "select 1", args: [], argTypes: [] });
      } finally {
        await adapter.dispose();
      }
    };
    await expect(query()).rejects.toThrow(/mariadb connector 3\.4\.5/);
    expect(accepted()).toBe(before);
  });
});
