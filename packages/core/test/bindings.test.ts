import type { PeerCertificate } from "node:tls";
import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import {
  createMariadbConnectionFactory,
  mysql2AuthPlugins,
  mysql2IamConfig,
  pgIamConfig,
  rdsCaBundle,
  resolveTls,
  splitIamOptions,
} from "../src/index";
import { STATIC_CREDENTIALS, tlsStream } from "./support";

const HOST = "mydb.cluster-abc123.us-east-1.rds.amazonaws.com";
const iam = { host: HOST, user: "app", credentials: STATIC_CREDENTIALS };

describe("resolveTls", () => {
  it("defaults to TLS verified against the RDS CA bundle, naming the endpoint", () => {
    const tls = resolveTls({ host: "127.0.0.1", iamHost: HOST });
    expect(tls).not.toBe(false);
    if (tls === false) return;
    expect(tls.rejectUnauthorized).toBe(true);
    expect(tls.servername).toBe(HOST);
    expect(Array.isArray(tls.ca) && tls.ca.length).toBeGreaterThan(50);
    expect(rdsCaBundle().every((pem) => pem.includes("BEGIN CERTIFICATE"))).toBe(true);
    expect(resolveTls({ host: HOST, iamHost: HOST, ssl: true })).toMatchObject({
      rejectUnauthorized: true,
    });
    expect(resolveTls({ host: HOST, iamHost: HOST, ssl: "require" })).toMatchObject({
      rejectUnauthorized: true,
    });
  });

  it("uses the user's own TLS options as given", () => {
    const own = { ca: "PEM", rejectUnauthorized: true, servername: "own.example" };
    expect(resolveTls({ host: HOST, iamHost: HOST, ssl: own })).toMatchObject(own);
    const checks = { ca: "PEM", checkServerIdentity: () => undefined };
    expect(resolveTls({ host: HOST, iamHost: HOST, ssl: checks })).toEqual(checks);
    const optOut = { rejectUnauthorized: false };
    expect(resolveTls({ host: HOST, iamHost: HOST, ssl: optOut })).toEqual(optOut);
  });

  it("adds a name check against iamHost to a user's TLS object (a tunnel's IP is not the name)", () => {
    const tls = resolveTls({ host: "127.0.0.1", iamHost: HOST, ssl: { ca: "PEM" } });
    if (tls === false) throw new Error("expected TLS");
    expect(tls.servername).toBe(HOST);
    const cert = (names: string[]) =>
      tlsStream(names).getPeerCertificate() as unknown as PeerCertificate;
    expect(tls.checkServerIdentity?.("127.0.0.1", cert([HOST]))).toBeUndefined();
    expect(
      tls.checkServerIdentity?.("127.0.0.1", cert(["attacker.example", "127.0.0.1"])),
    ).toBeInstanceOf(Error);
  });

  it("refuses plaintext without the explicit opt-out, and to remote hosts even with it", () => {
    expect(() => resolveTls({ host: "127.0.0.1", iamHost: HOST, ssl: false })).toThrow(
      expect.objectContaining({ code: "PLAINTEXT_REFUSED", option: "ssl" }),
    );
    expect(() =>
      resolveTls({ host: HOST, iamHost: HOST, ssl: false, iamAllowPlaintext: true }),
    ).toThrow(expect.objectContaining({ code: "PLAINTEXT_REFUSED" }));
    expect(
      resolveTls({ host: "localhost", iamHost: HOST, ssl: false, iamAllowPlaintext: true }),
    ).toBe(false);
    expect(
      resolveTls({ host: "::1", iamHost: HOST, ssl: "disable", iamAllowPlaintext: true }),
    ).toBe(false);
  });

  it("rejects nonsense", () => {
    expect(() => resolveTls({ host: HOST, iamHost: HOST, ssl: 1 })).toThrow(
      expect.objectContaining({ code: "INVALID_OPTION" }),
    );
    expect(() =>
      resolveTls({ host: HOST, iamHost: HOST, iamAllowPlaintext: "yes" as unknown as boolean }),
    ).toThrow(expect.objectContaining({ option: "iamAllowPlaintext" }));
  });
});

describe("pgIamConfig", () => {
  it("passes driver options through and adds a password function and TLS", async () => {
    const { config, auth } = pgIamConfig({
      ...iam,
      database: "orders",
      max: 5,
      iamRegion: "us-east-1",
    });
    expect(config).toMatchObject({
      host: HOST,
      port: 5432,
      user: "app",
      database: "orders",
      max: 5,
    });
    expect(config).not.toHaveProperty("iamRegion");
    expect(config).not.toHaveProperty("credentials");
    expect(typeof config.password).toBe("function");
    expect(await config.password()).toContain(`${HOST}:5432/?Action=connect`);
    expect(auth.stats().mints).toBe(1);
    auth.close();
  });

  it("refuses a connection string or a static password", () => {
    expect(() => pgIamConfig({ ...iam, connectionString: "postgres://app@host/db" })).toThrow(
      expect.objectContaining({ code: "CONFLICTING_OPTIONS", option: "connectionString" }),
    );
    expect(() => pgIamConfig({ ...iam, password: "hunter2" })).toThrow(
      expect.objectContaining({ code: "CONFLICTING_OPTIONS", option: "password" }),
    );
    try {
      pgIamConfig({ ...iam, password: "hunter2" });
    } catch (error) {
      expect(String(error)).not.toContain("hunter2");
    }
  });

  it("never shows the token when the config is inspected or serialised", async () => {
    const { config, auth } = pgIamConfig(iam);
    const token = await auth.getToken();
    expect(inspect(config, { depth: 5 })).not.toContain(token);
    expect(JSON.stringify(config)).not.toContain(token);
    auth.close();
  });
});

describe("mysql2 bindings", () => {
  it("answers mysql_clear_password with token + NUL over TLS, and refuses plaintext", async () => {
    const { config, auth } = mysql2IamConfig({ ...iam, database: "orders" });
    expect(config).toMatchObject({ host: HOST, port: 3306, user: "app", database: "orders" });
    expect(config.ssl).toMatchObject({ rejectUnauthorized: true, verifyIdentity: true });
    const plugins = config.authPlugins as ReturnType<typeof mysql2AuthPlugins>;
    const overTls = await plugins.mysql_clear_password({
      connection: { stream: tlsStream([HOST]) },
    })(Buffer.alloc(0));
    expect(overTls.endsWith("\0")).toBe(true);
    expect(overTls.slice(0, -1)).toBe(await auth.getToken());
    await expect(
      plugins.mysql_clear_password({ connection: { stream: {} } })(Buffer.alloc(0)),
    ).rejects.toMatchObject({
      code: "PLAINTEXT_REFUSED",
    });
    auth.close();
  });

  it("refuses a peer whose chain was not verified or whose certificate names another host", async () => {
    const { config, auth } = mysql2IamConfig({
      ...iam,
      host: "127.0.0.1",
      iamHost: HOST,
      ssl: { ca: "PEM" },
    });
    const plugins = config.authPlugins as ReturnType<typeof mysql2AuthPlugins>;
    const mysql2Config = { host: config.host, ssl: config.ssl };
    const answer = (stream: ReturnType<typeof tlsStream>, seen = mysql2Config) =>
      plugins.mysql_clear_password({ connection: { stream, config: seen } })(Buffer.alloc(0));
    await expect(answer(tlsStream(["attacker.example", "127.0.0.1"]))).rejects.toMatchObject({
      code: "TLS_VERIFICATION_FAILED",
      option: "iamHost",
    });
    await expect(answer(tlsStream([HOST], { authorized: false }))).rejects.toMatchObject({
      code: "TLS_VERIFICATION_FAILED",
      option: "ssl",
    });
    expect(auth.stats().mints).toBe(0);
    expect((await answer(tlsStream([HOST]))).endsWith("\0")).toBe(true);
    // A resumed session shows no certificate: accepted only because mysql2 checked
    // the name itself (host is the endpoint, verifyIdentity on), as the config says.
    expect(config.host).toBe(HOST);
    expect((await answer(tlsStream([], { reused: true }))).endsWith("\0")).toBe(true);
    for (const seen of [
      { host: "127.0.0.1", ssl: config.ssl },
      { host: HOST, ssl: { ...(config.ssl as object), verifyIdentity: false } },
    ]) {
      await expect(answer(tlsStream([], { reused: true }), seen)).rejects.toMatchObject({
        code: "TLS_VERIFICATION_FAILED",
      });
    }
    // rejectUnauthorized: false is the explicit opt-out of all checks.
    expect(
      (
        await answer(tlsStream(["other.example"], { authorized: false }), {
          host: HOST,
          ssl: { rejectUnauthorized: false },
        })
      ).endsWith("\0"),
    ).toBe(true);
    auth.close();
  });

  it("keeps our error code although mysql2 overwrites the code of a plugin's error", async () => {
    const plugins = mysql2AuthPlugins({ target: { iamHost: HOST, host: HOST } } as never, {});
    const error = await plugins
      .mysql_clear_password({ connection: { stream: tlsStream(["other.example"]) } })(
        Buffer.alloc(0),
      )
      .catch((e: unknown) => e as { code: string });
    // What mysql2's auth_switch does to it.
    (error as { code: string }).code = "AUTH_SWITCH_PLUGIN_ERROR";
    expect((error as { code: string }).code).toBe("TLS_VERIFICATION_FAILED");
  });

  it("keeps other auth plugins the user configured", () => {
    const other = () => async () => "x";
    const { config, auth } = mysql2IamConfig({ ...iam, authPlugins: { other } });
    expect((config.authPlugins as Record<string, unknown>).other).toBe(other);
    auth.close();
  });
});

describe("createMariadbConnectionFactory", () => {
  it("opens each connection with a current token", async () => {
    const seen: Array<Record<string, unknown>> = [];
    const fake = {
      createConnection: async (config: Record<string, unknown>) => {
        seen.push(config);
        return { id: seen.length };
      },
    };
    const { connect, auth, config } = createMariadbConnectionFactory(fake, {
      ...iam,
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

describe("splitIamOptions", () => {
  it("separates IAM options from the driver's", () => {
    const { iam: i, driver } = splitIamOptions({
      host: "h",
      user: "u",
      iamRegion: "r",
      database: "d",
      charset: "utf8mb4",
    });
    expect(i).toEqual({ host: "h", user: "u", iamRegion: "r" });
    expect(driver).toEqual({ database: "d", charset: "utf8mb4" });
  });
});
