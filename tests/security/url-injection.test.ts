import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { type DatabaseUrlFlavor, iamDatabaseUrl } from "@rds-iam/core";
import { parse as parsePgUrl } from "pg-connection-string";
import { describe, expect, it } from "vitest";
import { buildDatabaseUrl } from "../../packages/core/src/database-url";

const HOST = "mydb.cluster-abc123.us-east-1.rds.amazonaws.com";
const CREDENTIALS = {
  accessKeyId: "AKIDEXAMPLEURLTEST01",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYzEXAMPLEKEY",
};

/** How Prisma's engine reads TLS from a URL: each key once, the last value wins. */
function prismaEngineTls(url: string): { sslmode?: string; sslaccept?: string; sslcert?: string } {
  const seen: Record<string, string> = {};
  for (const [key, value] of new URL(url).searchParams) seen[key] = value;
  return {
    ...(seen.sslmode === undefined ? {} : { sslmode: seen.sslmode }),
    ...(seen.sslaccept === undefined ? {} : { sslaccept: seen.sslaccept }),
    ...(seen.sslcert === undefined ? {} : { sslcert: seen.sslcert }),
  };
}

/** mysql2's own URL parser, as `createConnection(url)` runs it (not an exported path). */
const require = createRequire(import.meta.url);
const ConnectionConfig = require(
  join(dirname(require.resolve("mysql2")), "lib", "connection_config.js"),
) as { parseUrl(url: string): Record<string, unknown> };
const parseMysql2Url = (url: string): Record<string, unknown> => ConnectionConfig.parseUrl(url);

const FLAVOURS: readonly { flavor: DatabaseUrlFlavor; engine: "postgres" | "mysql" }[] = [
  { flavor: "prisma", engine: "postgres" },
  { flavor: "node-postgres", engine: "postgres" },
  { flavor: "mysql2", engine: "mysql" },
];

// Each one, appended after our TLS parameters, would have turned verification off,
// pointed it at another CA, or sent the token somewhere else.
const ATTACKS: Readonly<Record<string, string>> = {
  sslmode: "disable",
  SSLMODE: "disable",
  sslaccept: "accept_invalid_certs",
  sslrootcert: "/tmp/attacker-ca.pem",
  sslcert: "/tmp/attacker-ca.pem",
  ssl: '{"rejectUnauthorized":false}',
  enableCleartextPlugin: "true",
  verifyIdentity: "false",
  host: "attacker.example",
  hostaddr: "192.0.2.2",
  port: "1",
  user: "root",
  password: "x",
  socket: "/tmp/attacker.sock",
  socketPath: "/tmp/attacker.sock",
  debug: "true",
  // mysql2 parses a nested URL and copies its parameters (debug=true among them) in.
  uri: "mysql://x@y/?debug=true",
};

describe("URL parameters cannot switch TLS off or redirect the token", () => {
  for (const { flavor, engine } of FLAVOURS) {
    for (const [key, value] of Object.entries(ATTACKS)) {
      it(`${flavor}: params.${key} is refused before a token is minted`, async () => {
        let calls = 0;
        const error = await iamDatabaseUrl({
          engine,
          flavor,
          host: HOST,
          user: "app",
          credentials: async () => {
            calls++;
            return CREDENTIALS;
          },
          params: { schema: "app", [key]: value },
        }).catch((e: unknown) => e);
        expect(error).toMatchObject({ code: "CONFLICTING_OPTIONS", option: `params.${key}` });
        expect(calls).toBe(0);
        expect(() =>
          buildDatabaseUrl({
            engine,
            flavor,
            host: HOST,
            port: 5432,
            user: "app",
            token: "t",
            params: { [key]: value },
          }),
        ).toThrow(expect.objectContaining({ code: "CONFLICTING_OPTIONS" }));
      });
    }
  }

  it("refuses parameter names that are not plain, and non-string values", async () => {
    for (const params of [{ "a&sslmode": "disable" }, { "a=b": "c" }, { "": "x" }, { a: 1 }]) {
      await expect(
        iamDatabaseUrl({
          engine: "postgres",
          host: HOST,
          user: "app",
          credentials: CREDENTIALS,
          params: params as never,
        }),
      ).rejects.toMatchObject({ code: "INVALID_OPTION" });
    }
  });
});

describe("the host cannot carry parameters", () => {
  const hosts = [
    "192.0.2.2/app?sslmode=disable&x=",
    "attacker.example?sslmode=disable",
    "attacker.example#",
    "user:pw@attacker.example",
    "postgres://attacker.example",
    `${HOST}:5432`,
    "a b.example",
    "attacker.example\r\nx",
    // isIpAddress takes any zone id; one carrying URL syntax is refused here.
    "::1%x]:1/?host=127.0.0.1&port=5432&sslmode=disable&a=[",
    "fe80::1%eth0\r\nx",
  ];
  for (const host of hosts) {
    it(`refuses host ${JSON.stringify(host)}`, async () => {
      await expect(
        iamDatabaseUrl({
          engine: "postgres",
          flavor: "node-postgres",
          host,
          iamHost: HOST,
          user: "app",
          credentials: CREDENTIALS,
        }),
      ).rejects.toMatchObject({ code: "INVALID_OPTION", option: "host" });
      expect(() =>
        buildDatabaseUrl({
          engine: "postgres",
          flavor: "node-postgres",
          host,
          port: 5432,
          user: "app",
          token: "t",
        }),
      ).toThrow(expect.objectContaining({ code: "INVALID_OPTION", option: "host" }));
    });
  }

  it("accepts hostnames and IP literals, and encodes the rest", () => {
    for (const host of [HOST, `${HOST}.`, "127.0.0.1", "::1", "[::1]", "db_1.internal"]) {
      const url = buildDatabaseUrl({
        engine: "postgres",
        flavor: "node-postgres",
        host,
        port: 5432,
        user: "a@b:c/d?e",
        token: "t&sslmode=disable",
        database: "my db",
      });
      const parsed = parsePgUrl(url);
      expect(parsed.password).toBe("t&sslmode=disable");
      expect(parsed.user).toBe("a@b:c/d?e");
      expect(parsed.database).toBe("my db");
      expect(parsed.sslmode).toBe("verify-full");
    }
  });
});

describe("the URLs we build, read the way each consumer reads them", () => {
  const base = {
    host: HOST,
    user: "app",
    database: "app",
    credentials: CREDENTIALS,
    params: { schema: "app", connection_limit: "5", application_name: "svc" },
  };

  it("node-postgres (pg-connection-string): verified TLS, our host, the token as password", async () => {
    const url = await iamDatabaseUrl({ ...base, engine: "postgres", flavor: "node-postgres" });
    const config = parsePgUrl(url);
    expect(config.host).toBe(HOST);
    expect(config.password).toMatch(/^mydb\.cluster-abc123.*X-Amz-Signature=/);
    expect(config.sslmode).toBe("verify-full");
    const ssl = config.ssl as { rejectUnauthorized?: boolean; ca?: string };
    expect(typeof ssl).toBe("object");
    expect(ssl.rejectUnauthorized).not.toBe(false);
    expect(ssl.ca).toContain("BEGIN CERTIFICATE");
  });

  it("Prisma's engine: sslmode=require with sslaccept=strict and our CA file, last", async () => {
    const url = await iamDatabaseUrl({ ...base, engine: "postgres", flavor: "prisma" });
    const tls = prismaEngineTls(url);
    expect(tls.sslmode).toBe("require");
    expect(tls.sslaccept).toBe("strict");
    expect(readFileSync(tls.sslcert ?? "", "utf8")).toContain("BEGIN CERTIFICATE");
    expect(new URL(url).hostname).toBe(HOST);
  });

  it("mysql2 (ConnectionConfig.parseUrl): chain and name verified, CA inline", async () => {
    const url = await iamDatabaseUrl({ ...base, engine: "mysql", flavor: "mysql2" });
    const options = parseMysql2Url(url);
    expect(options.host).toBe(HOST);
    expect(options.ssl).toMatchObject({ rejectUnauthorized: true, verifyIdentity: true });
    const ca = (options.ssl as { ca: string[] }).ca;
    // The region's part of the RDS bundle: small enough for an environment variable.
    expect(ca.length).toBeGreaterThan(0);
    expect(ca.join("")).toContain("BEGIN CERTIFICATE");
    expect(url.length).toBeLessThan(100_000);
  });
});
