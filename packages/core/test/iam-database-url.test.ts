import { readFileSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { inspect } from "node:util";
import { afterEach, describe, expect, it, vi } from "vitest";
import { registerCredentials, registerSecret } from "../../../tests/support/secret-scan";
import { type BindingSpec, prepareBinding } from "../src/binding";
import { isRdsIamError } from "../src/errors";
import {
  type IamDatabaseUrlOptions,
  iamDatabaseUrl,
  iamDatabaseUrlOf,
} from "../src/iam-database-url";
import { rdsCaBundleForRegion } from "../src/tls";
import { TokenCache } from "../src/token-cache";
import { decodeToken } from "./support";

// tests/prisma-url.test.ts logs real clients in with these URLs through the gateway;
// this file checks what iamDatabaseUrl / iamDatabaseUrlOf themselves decide, offline.

const HOST = "mydb.cluster-abc123.us-east-1.rds.amazonaws.com";
const CREDENTIALS = Object.freeze({
  accessKeyId: "AKIDEXAMPLEURL01",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
});
registerCredentials(CREDENTIALS);

/** A PEM-shaped CA of the test's own (the code copies it; it never parses it). */
const OWN_CA = "-----BEGIN CERTIFICATE-----\nTESTONLYNOTACERTIFICATE\n-----END CERTIFICATE-----\n";

const base = { host: HOST, user: "app", credentials: CREDENTIALS } as const;

/** A credential source that counts how often it is asked (`calls`). */
function countingCredentials() {
  const source = Object.assign(
    async () => {
      source.calls++;
      return CREDENTIALS;
    },
    { calls: 0 },
  );
  return source;
}

/** Builds a URL and registers its token with the secret scan. */
async function url(options: IamDatabaseUrlOptions): Promise<URL> {
  const text = await iamDatabaseUrl(options);
  const parsed = new URL(text);
  registerSecret(decodeURIComponent(parsed.password));
  return parsed;
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection, but the promise resolved");
}

/** The URL's password, decoded, read as the presigned URL RDS checks. */
function tokenOf(parsed: URL) {
  const token = decodeURIComponent(parsed.password);
  return { token, decoded: decodeToken(token) };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("iamDatabaseUrl: flavours", () => {
  it("postgres defaults to the prisma flavour: sslmode=require, sslaccept=strict, sslcert=<RDS bundle file>", async () => {
    const parsed = await url({ ...base, engine: "postgres", database: "orders" });
    expect(parsed.protocol).toBe("postgresql:");
    expect(parsed.host).toBe(`${HOST}:5432`);
    expect(decodeURIComponent(parsed.username)).toBe("app");
    expect(parsed.pathname).toBe("/orders");
    expect([...parsed.searchParams.keys()]).toEqual(["sslmode", "sslcert", "sslaccept"]);
    expect(parsed.searchParams.get("sslmode")).toBe("require");
    expect(parsed.searchParams.get("sslaccept")).toBe("strict");
    const caFile = parsed.searchParams.get("sslcert") ?? "";
    expect(isAbsolute(caFile)).toBe(true);
    expect(readFileSync(caFile, "utf8").match(/BEGIN CERTIFICATE/g)?.length).toBeGreaterThan(50);
  });

  it("node-postgres: sslmode=verify-full with sslrootcert naming a file with the CA given in ssl.ca", async () => {
    const parsed = await url({
      ...base,
      engine: "postgresql",
      flavor: "node-postgres",
      ssl: { ca: OWN_CA },
    });
    expect(parsed.protocol).toBe("postgresql:");
    expect(Object.fromEntries(parsed.searchParams)).toEqual({
      sslmode: "verify-full",
      sslrootcert: expect.any(String),
    });
    // The user's CA, not the RDS bundle.
    expect(readFileSync(parsed.searchParams.get("sslrootcert") ?? "", "utf8")).toBe(OWN_CA);
  });

  it("mysql2: the region's RDS CAs inline with verifyIdentity, and enableCleartextPlugin", async () => {
    const parsed = await url({ ...base, engine: "mariadb", flavor: "mysql2", database: "shop" });
    expect(parsed.protocol).toBe("mysql:");
    expect(parsed.host).toBe(`${HOST}:3306`);
    expect(parsed.pathname).toBe("/shop");
    expect([...parsed.searchParams.keys()]).toEqual(["ssl", "enableCleartextPlugin"]);
    expect(parsed.searchParams.get("enableCleartextPlugin")).toBe("true");
    const ssl = JSON.parse(parsed.searchParams.get("ssl") ?? "{}");
    expect(ssl).toMatchObject({ rejectUnauthorized: true, verifyIdentity: true });
    expect(ssl.ca).toEqual([...rdsCaBundleForRegion("us-east-1")]);
  });

  it("mysql2 with ssl.ca: exactly that CA inline", async () => {
    const parsed = await url({ ...base, engine: "mysql2", flavor: "mysql2", ssl: { ca: OWN_CA } });
    expect(JSON.parse(parsed.searchParams.get("ssl") ?? "{}").ca).toEqual([OWN_CA]);
  });

  it("spells an unverified TLS (rejectUnauthorized: false) and an allowed loopback plaintext per flavour", async () => {
    const noVerify = await url({ ...base, engine: "postgres", ssl: { rejectUnauthorized: false } });
    expect(Object.fromEntries(noVerify.searchParams)).toEqual({
      sslmode: "require",
      sslaccept: "accept_invalid_certs",
    });
    const plaintext = await url({
      ...base,
      engine: "postgres",
      host: "127.0.0.1",
      iamHost: HOST,
      ssl: false,
      iamAllowPlaintext: true,
      flavor: "node-postgres",
    });
    expect(Object.fromEntries(plaintext.searchParams)).toEqual({ sslmode: "disable" });
    // Plaintext anywhere else is refused before a token exists.
    await expect(iamDatabaseUrl({ ...base, engine: "postgres", ssl: false })).rejects.toMatchObject(
      {
        code: "PLAINTEXT_REFUSED",
      },
    );
  });
});

describe("iamDatabaseUrl: flavour refusals", () => {
  it("refuses mysql with the prisma flavour, given or by default, before asking for credentials", async () => {
    const credentials = countingCredentials();
    for (const flavor of ["prisma", undefined] as const) {
      const error = await rejectionOf(
        iamDatabaseUrl({ ...base, credentials, engine: "mysql", flavor }),
      );
      expect(isRdsIamError(error)).toBe(true);
      expect(error).toMatchObject({ code: "CONFLICTING_OPTIONS", option: "flavor" });
      expect((error as Error).message).toContain("prisma/prisma#10304");
      expect((error as Error).message).toContain('flavor "mysql2"');
    }
    expect(credentials.calls).toBe(0);
  });

  it('refuses "node-postgres" for mysql and "mysql2" for postgres, before asking for credentials', async () => {
    const credentials = countingCredentials();
    await expect(
      iamDatabaseUrl({ ...base, credentials, engine: "mysql", flavor: "node-postgres" }),
    ).rejects.toMatchObject({
      code: "CONFLICTING_OPTIONS",
      option: "flavor",
      message: expect.stringContaining('for MySQL use "mysql2"'),
    });
    await expect(
      iamDatabaseUrl({ ...base, credentials, engine: "postgres", flavor: "mysql2" }),
    ).rejects.toMatchObject({
      code: "CONFLICTING_OPTIONS",
      option: "flavor",
      message: expect.stringContaining('"prisma" or "node-postgres"'),
    });
    expect(credentials.calls).toBe(0);
  });

  it("refuses an unknown flavour, listing the known ones", async () => {
    const error = await rejectionOf(
      iamDatabaseUrl({ ...base, engine: "postgres", flavor: "libpq" as never }),
    );
    expect(error).toMatchObject({ code: "INVALID_OPTION", option: "flavor" });
    expect((error as Error).message).toContain('"prisma", "node-postgres", "mysql2"');
    expect((error as Error).message).toContain('"libpq"');
  });
});

describe("iamDatabaseUrl: options", () => {
  it("refuses an unknown option, naming it, before asking for credentials", async () => {
    const credentials = countingCredentials();
    // `schema` belongs in params; at the top level the URL would silently lack it.
    const error = await rejectionOf(
      iamDatabaseUrl({ ...base, credentials, engine: "postgres", schema: "app" } as never),
    );
    expect(error).toMatchObject({ code: "INVALID_OPTION", option: "schema" });
    expect((error as Error).message).toContain('Unknown option "schema" for a database URL');
    expect((error as Error).message).toContain("params");
    // A look-alike of an rds-iam option is named with its likely spelling.
    await expect(
      iamDatabaseUrl({ ...base, credentials, engine: "postgres", iamRegon: "us-east-1" } as never),
    ).rejects.toMatchObject({ code: "INVALID_OPTION", option: "iamRegon" });
    expect(credentials.calls).toBe(0);
    // The control: the same source is asked once a URL is built.
    registerSecret(
      decodeURIComponent(
        new URL(await iamDatabaseUrl({ ...base, credentials, engine: "postgres" })).password,
      ),
    );
    expect(credentials.calls).toBe(1);
  });

  it("rejects (never throws synchronously) for bad input", async () => {
    const pending = iamDatabaseUrl(null as never);
    expect(pending).toBeInstanceOf(Promise);
    await expect(pending).rejects.toMatchObject({ code: "INVALID_OPTION" });
    await expect(iamDatabaseUrl({ ...base } as never)).rejects.toMatchObject({
      code: "MISSING_OPTION",
      option: "engine",
    });
  });

  it("refuses an empty or non-string database / caFile", async () => {
    for (const key of ["database", "caFile"] as const) {
      for (const value of ["", 7]) {
        await expect(
          iamDatabaseUrl({ ...base, engine: "postgres", [key]: value } as never),
        ).rejects.toMatchObject({ code: "INVALID_OPTION", option: key });
      }
    }
  });

  it("URL-encodes the token: decoded, it is a presigned URL for the endpoint, user and region", async () => {
    const parsed = await url({
      ...base,
      engine: "postgres",
      flavor: "node-postgres",
      user: "app+ops",
    });
    const raw = parsed.toString();
    // Nothing of the token is left raw in the URL: its "&" and "=" would end the password.
    expect(raw).not.toMatch(/[?&]X-Amz-/);
    expect(raw).not.toContain("Action=connect");
    expect(raw).toContain("%26X-Amz-Signature%3D");
    expect([...parsed.searchParams.keys()]).toEqual(["sslmode", "sslrootcert"]);
    const { token, decoded } = tokenOf(parsed);
    expect(token.startsWith(`${HOST}:5432/?`)).toBe(true);
    expect(decodeURIComponent(parsed.username)).toBe("app+ops");
    expect(decoded).toMatchObject({
      host: `${HOST}:5432`,
      region: "us-east-1",
      service: "rds-db",
      accessKeyId: CREDENTIALS.accessKeyId,
    });
    expect(decoded.params.get("Action")).toBe("connect");
    expect(decoded.params.get("DBUser")).toBe("app+ops");
    expect(decoded.params.get("X-Amz-Algorithm")).toBe("AWS4-HMAC-SHA256");
    // Presigned for the 900 s RDS allows (the provider hands it out for 870 s of that).
    expect(decoded.params.get("X-Amz-Expires")).toBe("900");
    expect(decoded.params.get("X-Amz-Signature")).toMatch(/^[0-9a-f]{64}$/);
    expect(decoded.params.get("X-Amz-Credential")).toMatch(
      /^AKIDEXAMPLEURL01\/\d{8}\/us-east-1\/rds-db\/aws4_request$/,
    );
  });

  it("dials host:port but signs for iamHost:iamDefaultPort (a tunnel), in iamRegion", async () => {
    const parsed = await url({
      ...base,
      engine: "postgres",
      host: "localhost",
      port: 15432,
      iamHost: HOST.replace("us-east-1", "eu-west-1"),
      iamDefaultPort: 5433,
      iamRegion: "eu-west-1",
      flavor: "node-postgres",
    });
    expect(parsed.host).toBe("localhost:15432");
    const { decoded } = tokenOf(parsed);
    expect(decoded.host).toBe(`${HOST.replace("us-east-1", "eu-west-1")}:5433`);
    expect(decoded.region).toBe("eu-west-1");
  });

  it("resolves a relative caFile to an absolute path; keeps an absolute one; mysql2 ignores it", async () => {
    const relative = await url({ ...base, engine: "postgres", caFile: "certs/my ca+1.pem" });
    const named = relative.searchParams.get("sslcert") ?? "";
    expect(isAbsolute(named)).toBe(true);
    expect(named).toBe(resolve(process.cwd(), "certs/my ca+1.pem"));
    const pg = await url({
      ...base,
      engine: "postgres",
      flavor: "node-postgres",
      caFile: "./ca.pem",
    });
    expect(pg.searchParams.get("sslrootcert")).toBe(resolve("ca.pem"));
    const absolute = await url({ ...base, engine: "postgres", caFile: "/etc/ssl/rds ca.pem" });
    expect(absolute.searchParams.get("sslcert")).toBe("/etc/ssl/rds ca.pem");
    // mysql2 cannot read files: its URL carries the CA inline, and names no file.
    const mysql2 = await url({ ...base, engine: "mysql", flavor: "mysql2", caFile: "ca.pem" });
    expect(mysql2.toString()).not.toContain("ca.pem");
  });

  it("appends params after the TLS ones", async () => {
    const parsed = await url({
      ...base,
      engine: "postgres",
      params: { schema: "app", connection_limit: "5", "application.name": "a b&c" },
    });
    expect([...parsed.searchParams]).toEqual([
      ["sslmode", "require"],
      ["sslcert", expect.any(String)],
      ["sslaccept", "strict"],
      ["schema", "app"],
      ["connection_limit", "5"],
      ["application.name", "a b&c"],
    ]);
  });

  it.each([
    ["sslmode", "disable"],
    ["SSLMode", "disable"],
    ["sslaccept", "accept_invalid_certs"],
    ["sslrootcert", "/tmp/evil.pem"],
    ["rejectUnauthorized", "false"],
    ["ssl", '{"rejectUnauthorized":false}'],
  ])(
    "refuses the TLS-weakening param %s, naming params.<key>, before asking for credentials",
    async (key, value) => {
      const credentials = countingCredentials();
      for (const [engine, flavor] of [
        ["postgres", "prisma"],
        ["postgres", "node-postgres"],
        ["mysql", "mysql2"],
      ] as const) {
        const error = await rejectionOf(
          iamDatabaseUrl({ ...base, credentials, engine, flavor, params: { [key]: value } }),
        );
        expect(error).toMatchObject({ code: "CONFLICTING_OPTIONS", option: `params.${key}` });
        expect((error as Error).message).toContain("governs TLS");
      }
      expect(credentials.calls).toBe(0);
    },
  );

  it("refuses params that redirect the token or log packets, and malformed params", async () => {
    const refused = async (params: unknown) =>
      rejectionOf(iamDatabaseUrl({ ...base, engine: "postgres", params } as never));
    expect(await refused({ host: "evil.example.com" })).toMatchObject({
      code: "CONFLICTING_OPTIONS",
      option: "params.host",
    });
    expect(await refused({ password: "x" })).toMatchObject({
      code: "CONFLICTING_OPTIONS",
      option: "params.password",
    });
    expect(await refused({ debug: "true" })).toMatchObject({
      code: "CONFLICTING_OPTIONS",
      option: "params.debug",
    });
    expect(await refused({ schema: 5 })).toMatchObject({
      code: "INVALID_OPTION",
      option: "params.schema",
    });
    expect(await refused({ "a&sslmode": "disable" })).toMatchObject({
      code: "INVALID_OPTION",
      option: "params",
    });
    expect(await refused(["schema=app"])).toMatchObject({
      code: "INVALID_OPTION",
      option: "params",
    });
  });

  it("names no secret in its errors", async () => {
    const error = await rejectionOf(
      iamDatabaseUrl({ ...base, engine: "mysql", params: { sslmode: "disable" } }),
    );
    for (const text of [inspect(error, { depth: null }), JSON.stringify(error), String(error)]) {
      expect(text).not.toContain(CREDENTIALS.secretAccessKey);
    }
  });
});

describe("iamDatabaseUrlOf: a prepared binding, custom names, and the one-shot provider", () => {
  const spec = (extra: Partial<BindingSpec> = {}): BindingSpec => ({ what: "test url", ...extra });

  it("takes its engine from the binding's spec", async () => {
    const binding = prepareBinding(
      { ...base, flavor: "mysql2", tokenCache: new TokenCache() },
      spec({ engine: "mysql" }),
    );
    const parsed = new URL(await iamDatabaseUrlOf(binding));
    registerSecret(decodeURIComponent(parsed.password));
    expect(parsed.protocol).toBe("mysql:");
    expect(tokenOf(parsed).decoded.host).toBe(`${HOST}:3306`);
  });

  it("names options the way the caller spells them (custom names)", async () => {
    const names = { engine: "--engine", iamRegion: "--region", iamTimeout: "--timeout" };
    // No engine anywhere: the error names the caller's spelling.
    const missing = await rejectionOf(
      Promise.resolve().then(() => iamDatabaseUrlOf(prepareBinding(base, spec({ names })))),
    );
    expect(missing).toMatchObject({ code: "MISSING_OPTION", option: "--engine" });
    expect((missing as Error).message).toContain("--engine");
    // Checked when the binding is prepared, named as the caller spells it.
    expect(() =>
      prepareBinding({ ...base, engine: "postgres", iamRegion: "Mars" }, spec({ names })),
    ).toThrow(expect.objectContaining({ code: "INVALID_OPTION", option: "--region" }));
    // The provider iamDatabaseUrlOf creates names the caller's iamTimeout too.
    const hung = prepareBinding(
      {
        ...base,
        engine: "postgres",
        iamTimeout: 100,
        tokenCache: new TokenCache(),
        credentials: () => new Promise<never>(() => {}),
      },
      spec({ names }),
    );
    const timeout = await rejectionOf(iamDatabaseUrlOf(hung));
    expect(timeout).toMatchObject({ code: "TIMEOUT", option: "--timeout" });
    expect((timeout as Error).message).toContain("--timeout (100 ms)");
  });

  it("refuses the binding's unknown driver options, naming the first", async () => {
    const binding = prepareBinding(
      { ...base, engine: "postgres", schema: "app", poolSize: 3 },
      spec(),
    );
    await expect(iamDatabaseUrlOf(binding)).rejects.toMatchObject({
      code: "INVALID_OPTION",
      option: "schema",
    });
  });

  it("closes a provider of its own when done: no refresh timer is left, the binding stays usable", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval"] });
    const tokenCache = new TokenCache();
    const options = { ...base, engine: "postgres", flavor: "node-postgres", tokenCache } as const;
    const binding = prepareBinding(options, spec());
    const first = new URL(await iamDatabaseUrlOf(binding));
    registerSecret(decodeURIComponent(first.password));
    // A provider left open would keep a refresh timer scheduled ahead of expiry.
    expect(vi.getTimerCount()).toBe(0);
    // Nothing runs in the background past the refresh point (870 s - 30 s)...
    await vi.advanceTimersByTimeAsync(60_000);
    expect(vi.getTimerCount()).toBe(0);
    // ...and the URL view closed only its own provider: the binding's other views (a
    // pool's password function) still get the token, and a second URL works too.
    const auth = binding.auth("postgres");
    expect(await auth.getToken()).toBe(decodeURIComponent(first.password));
    expect(auth.stats()).toMatchObject({ mints: 0, cacheHits: 1 });
    expect(new URL(await iamDatabaseUrlOf(binding)).password).toBe(first.password);
    auth.close();
  });

  it("closes its provider when minting fails too, leaving the binding's open", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval"] });
    let down = true;
    const binding = prepareBinding(
      {
        ...base,
        engine: "postgres",
        tokenCache: new TokenCache(),
        credentials: async () => {
          if (down) throw new Error("credential source down (test)");
          return CREDENTIALS;
        },
      },
      spec(),
    );
    const error = await rejectionOf(iamDatabaseUrlOf(binding));
    expect(error).toMatchObject({ code: "CREDENTIALS_UNAVAILABLE" });
    expect(vi.getTimerCount()).toBe(0);
    down = false;
    const token = await binding.auth("postgres").getToken();
    registerSecret(token);
    expect(token).toContain("X-Amz-Signature=");
    binding.auth("postgres").close();
  });
});
