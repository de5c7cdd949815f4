import { inspect } from "node:util";
import { isRdsIamError, TokenCache } from "@rds-iam/core";
import { type IamKnexConnectionOptions, iamConnection } from "@rds-iam/knex";
import knex, { type Knex } from "knex";
import { afterEach, describe, expect, it, vi } from "vitest";
import { CREDENTIALS, fakeClock, HOST, thrown } from "./support";

const MINUTE = 60_000;

function options(extra: Partial<IamKnexConnectionOptions> = {}): IamKnexConnectionOptions {
  return { host: HOST, user: "app", database: "app", credentials: CREDENTIALS, ...extra };
}

// Knex clients are built for real (they load their driver) but never connect here:
// these tests call the connection function the way knex's pool does.
const opened: Knex[] = [];
function client(name: string, connection: ReturnType<typeof iamConnection>): Knex {
  const db = knex({ client: name, connection });
  opened.push(db);
  return db;
}
afterEach(async () => {
  await Promise.all(opened.splice(0).map((db) => db.destroy()));
});

async function rejection(fn: () => unknown) {
  const error = await thrown(fn);
  expect(isRdsIamError(error), String(error)).toBe(true);
  return error as { code: string; option: string | undefined; message: string };
}

describe("iamConnection: options", () => {
  it.each([
    ["host", { host: undefined }, "MISSING_OPTION"],
    ["user", { user: "" }, "MISSING_OPTION"],
    ["iamHost", { host: "10.0.0.5" }, "IAM_HOST_REQUIRED"],
    ["iamRegion", { iamRegion: "nowhere" }, "INVALID_OPTION"],
    ["iamTokenExpiration", { iamTokenExpiration: 901 }, "INVALID_OPTION"],
    ["engine", { engine: "oracle" }, "INVALID_OPTION"],
    ["ssl", { ssl: false }, "PLAINTEXT_REFUSED"],
    ["ssl", { ssl: 42 }, "INVALID_OPTION"],
    ["iamAllowPlaintext", { ssl: false, iamAllowPlaintext: "yes" }, "INVALID_OPTION"],
  ] as const)("refuses a bad %s when called, before any query", async (option, extra, code) => {
    const error = await rejection(() =>
      iamConnection(options(extra as Partial<IamKnexConnectionOptions>)),
    );
    expect(error).toMatchObject({ code, option });
  });

  it("allows plaintext only to a loopback host, and only when asked", async () => {
    expect(() =>
      iamConnection(
        options({ host: "127.0.0.1", iamHost: HOST, ssl: false, iamAllowPlaintext: true }),
      ),
    ).not.toThrow();
    const error = await rejection(() =>
      iamConnection(
        options({ host: "db.internal", iamHost: HOST, ssl: false, iamAllowPlaintext: true }),
      ),
    );
    expect(error.code).toBe("PLAINTEXT_REFUSED");
  });

  it.each([
    ["password", { password: "hunter2" }],
    ["connectionString", { connectionString: "postgres://app@db/app" }],
    ["uri", { uri: "mysql://app@db/app" }],
  ])("refuses %s, which would override the token", async (option, extra) => {
    // @ts-expect-error The types refuse these options too.
    const error = await rejection(() => iamConnection(options(extra)));
    expect(error).toMatchObject({ code: "CONFLICTING_OPTIONS", option });
    expect(error.message).not.toContain("hunter2");
  });
});

describe("iamConnection: configs for knex", () => {
  it.each(["pg", "postgres", "postgresql"])(
    "gives the %s client a pg config with a password function, verified TLS and the driver options",
    async (name) => {
      const connection = iamConnection(options({ application_name: "tests", port: 6543 }));
      const db = client(name, connection);
      const config = await connection.call(db.client);
      expect(config).toMatchObject({
        host: HOST,
        port: 6543,
        user: "app",
        database: "app",
        application_name: "tests",
      });
      expect(config).not.toHaveProperty("engine");
      expect(config).not.toHaveProperty("credentials");
      expect(typeof config.password).toBe("function");
      expect(await (config.password as () => Promise<string>)()).toBe(
        await connection.auth?.getToken(),
      );
      expect(config.ssl).toMatchObject({ rejectUnauthorized: true, servername: HOST });
      expect(connection.auth?.target).toMatchObject({ engine: "postgres", port: 6543 });
    },
  );

  it("gives the mysql2 client the clear-password plugin and verified TLS, no password", async () => {
    const connection = iamConnection(options({ timezone: "Z", charset: "utf8mb4" }));
    const config = await connection.call(client("mysql2", connection).client);
    expect(config).toMatchObject({ host: HOST, port: 3306, user: "app", timezone: "Z" });
    expect(config).not.toHaveProperty("password");
    expect(Object.keys(config.authPlugins as object)).toContain("mysql_clear_password");
    expect(config.ssl).toMatchObject({ rejectUnauthorized: true, servername: HOST });
    expect(connection.auth?.target.engine).toBe("mysql");
  });

  it("gives the mariadb client the token as a password that JSON and inspect do not show", async () => {
    const connection = iamConnection(options());
    const config = await connection.call(client("mariadb", connection).client);
    const token = await connection.auth?.getToken();
    expect(token).toMatch(new RegExp(`^${HOST}:3306/\\?Action=connect`));
    expect(config.password).toBe(token);
    expect(Object.keys(config)).not.toContain("password");
    expect(config.ssl).toMatchObject({ rejectUnauthorized: true, servername: HOST });
  });

  it("returns a fresh object each call, with a checker that turns true when the token's window ends", async () => {
    const clock = fakeClock();
    const connection = iamConnection(options({ clock, iamTokenExpiration: 600 }));
    const db = client("pg", connection);
    const first = await connection.call(db.client);
    const second = await connection.call(db.client);
    expect(second).not.toBe(first);
    expect(connection.stats().mints).toBe(1);

    clock.advance(10 * MINUTE - 31_000);
    expect(first.expirationChecker()).toBe(false);
    // In the last 30 s the checker looks the next token up in the background, which
    // starts the provider's refresh ahead; at the deadline the next one is in hand.
    clock.advance(10_000);
    expect(first.expirationChecker()).toBe(false);
    clock.advance(21_000);
    expect(first.expirationChecker()).toBe(false);
    await vi.waitFor(() => expect(first.expirationChecker()).toBe(true));
    // knex calls again, and must get a config that is not expired (knex 3.2+ throws
    // "still reported expired after refresh" otherwise).
    const third = await connection.call(db.client);
    expect(third.expirationChecker()).toBe(false);
    expect(connection.stats().mints).toBe(2);
  });

  it("ends the window before temporary credentials expire", async () => {
    const clock = fakeClock();
    const expiration = new Date(clock() + 5 * MINUTE);
    const connection = iamConnection(
      options({
        clock,
        credentials: async () => ({ ...CREDENTIALS, sessionToken: "x", expiration }),
      }),
    );
    const config = await connection.call(client("mysql2", connection).client);
    clock.advance(4 * MINUTE - 31_000);
    expect(config.expirationChecker()).toBe(false);
    clock.advance(31_000);
    expect(config.expirationChecker()).toBe(false);
    await vi.waitFor(() => expect(config.expirationChecker()).toBe(true));
  });

  it("never says 'expired' on the strength of a token that has itself expired", async () => {
    const clock = fakeClock();
    let down = false;
    const connection = iamConnection(
      options({
        clock,
        credentials: async () => {
          if (down) throw new Error("credential source down (test)");
          return CREDENTIALS;
        },
      }),
    );
    const config = await connection.call(client("pg", connection).client);
    // Traffic up to 10 s before the deadline: the next token is fetched ahead.
    clock.advance(870_000 - 25_000);
    config.expirationChecker();
    await new Promise((resolve) => setImmediate(resolve));
    clock.advance(10_000);
    config.expirationChecker();
    await vi.waitFor(() => expect(connection.stats().mints).toBe(2));
    // Then the pool idles overnight and the credentials go away: the token fetched
    // ahead has expired too, so nothing may replace a working pooled connection.
    down = true;
    clock.advance(8 * 60 * MINUTE);
    for (let i = 0; i < 20; i++) {
      expect(config.expirationChecker()).toBe(false);
      await new Promise((resolve) => setImmediate(resolve));
    }
  });

  it("keeps saying 'not expired' while no new token can be had, asking the credentials at most every 5 s", async () => {
    const clock = fakeClock();
    let down = false;
    let asked = 0;
    const connection = iamConnection(
      options({
        clock,
        credentials: async () => {
          asked++;
          if (down) throw new Error("credential source down (test)");
          return CREDENTIALS;
        },
      }),
    );
    const config = await connection.call(client("pg", connection).client);
    const settle = () => new Promise((resolve) => setImmediate(resolve));
    down = true;
    clock.advance(870_000 + 40_000);
    const before = asked;
    // knex 3.2+ validates a pooled connection on every acquisition: many calls, one look-up.
    for (let i = 0; i < 50; i++) {
      expect(config.expirationChecker()).toBe(false);
      await settle();
    }
    expect(asked - before).toBe(1);
    clock.advance(5_000);
    expect(config.expirationChecker()).toBe(false);
    await settle();
    expect(asked - before).toBe(2);
    // The source is back: the next look-up finds a token, and then "expired" is true.
    down = false;
    clock.advance(5_000);
    expect(config.expirationChecker()).toBe(false);
    await vi.waitFor(() => expect(config.expirationChecker()).toBe(true));
    // knex calls again and gets the token the look-up found: no further mint.
    const mints = connection.stats().mints;
    const next = await connection.call(client("pg", connection).client);
    expect(next.expirationChecker()).toBe(false);
    expect(connection.stats().mints).toBe(mints);
  });

  it("answers 100 concurrent calls on a cold provider with one mint", async () => {
    const connection = iamConnection(options());
    const db = client("pg", connection);
    const configs = await Promise.all(
      Array.from({ length: 100 }, () => connection.call(db.client)),
    );
    expect(new Set(configs).size).toBe(100);
    expect(connection.stats()).toMatchObject({ mints: 1, credentialResolutions: 1 });
  });

  it("shares tokens through a tokenCache", async () => {
    const tokenCache = new TokenCache();
    const a = iamConnection(options({ tokenCache }));
    const b = iamConnection(options({ tokenCache }));
    await a.call(client("pg", a).client);
    await b.call(client("pg", b).client);
    expect(await a.auth?.getToken()).toBe(await b.auth?.getToken());
  });

  it("makes the client that calls it retry rejected logins", async () => {
    const connection = iamConnection(options());
    const db = client("pg", connection);
    const own = Object.getOwnPropertyDescriptor(db.client, "acquireRawConnection");
    expect(own).toBeUndefined();
    await connection.call(db.client);
    await connection.call(db.client);
    const wrapped = Object.getOwnPropertyDescriptor(db.client, "acquireRawConnection");
    expect(wrapped?.value.name).toBe("acquireRawConnectionWithIamRetry");
    // Installed once, whatever the number of calls.
    expect(Object.getPrototypeOf(db.client).acquireRawConnection).not.toBe(wrapped?.value);
  });
});

describe("iamConnection: clients and engines", () => {
  it("refuses the mysql driver, which cannot send a token, and says what to use", async () => {
    const connection = iamConnection(options());
    // knex's "mysql" client would need the mysql package; its driverName is what counts.
    const error = await rejection(() => connection.call({ driverName: "mysql" }));
    expect(error).toMatchObject({ code: "INVALID_OPTION", option: "client" });
    expect(error.message).toContain('"mysql2"');
  });

  it("refuses pgnative, which can neither rotate tokens nor verify the RDS certificate", async () => {
    const connection = iamConnection(options());
    const error = await rejection(() => connection.call(client("pgnative", connection).client));
    expect(error).toMatchObject({ code: "INVALID_OPTION", option: "client" });
    expect(error.message).toContain('Use client "pg"');
  });

  it.each(["sqlite3", "mssql", "cockroachdb"])("refuses the %s client", async (name) => {
    const connection = iamConnection(options());
    const error = await rejection(() => connection.call({ driverName: name }));
    expect(error.option).toBe("client");
  });

  it("refuses an engine that contradicts the client", async () => {
    const connection = iamConnection(options({ engine: "mysql" }));
    const error = await rejection(() => connection.call(client("pg", connection).client));
    expect(error).toMatchObject({ code: "CONFLICTING_OPTIONS", option: "engine" });
  });

  it("serves one driver per connection function", async () => {
    const connection = iamConnection(options());
    await connection.call(client("mysql2", connection).client);
    const error = await rejection(() => connection.call(client("mariadb", connection).client));
    expect(error.code).toBe("CONFLICTING_OPTIONS");
  });

  it("outside knex, needs engine and then uses pg or mysql2", async () => {
    const error = await rejection(() => iamConnection(options())());
    expect(error).toMatchObject({ code: "MISSING_OPTION", option: "engine" });
    expect(await iamConnection(options({ engine: "postgresql" }))()).toHaveProperty("password");
    expect(await iamConnection(options({ engine: "mariadb" }))()).toHaveProperty("authPlugins");
  });

  it("fails with CLOSED once closed, before or after its first use", async () => {
    const unused = iamConnection(options({ engine: "postgres" }));
    expect(unused.stats().mints).toBe(0);
    unused.close();
    expect((await rejection(() => unused())).code).toBe("CLOSED");

    const used = iamConnection(options({ engine: "postgres" }));
    await used();
    used.close();
    expect((await rejection(() => used())).code).toBe("CLOSED");
  });
});

describe("iamConnection: secrets", () => {
  it("never shows the token or the secret key in configs, the function, the client or errors", async () => {
    for (const name of ["pg", "mysql2", "mariadb"]) {
      const connection = iamConnection(options());
      const db = client(name, connection);
      const config = await connection.call(db.client);
      const token = await connection.auth?.getToken();
      expect(token).toBeTruthy();
      const secrets = [token as string, CREDENTIALS.secretAccessKey];
      const other = name === "pg" ? "mysql2" : "pg";
      const mismatch = await thrown(() => connection.call({ driverName: other }));
      const shown = [
        JSON.stringify(config),
        inspect(config, { depth: null }),
        inspect(connection, { depth: null, showHidden: true }),
        JSON.stringify(connection.auth),
        inspect(db.client, { depth: 4 }),
        inspect(mismatch, { depth: null }),
      ];
      for (const text of shown) {
        for (const secret of secrets) expect(text).not.toContain(secret);
      }
    }
  });
});
