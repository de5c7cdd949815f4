import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { buildDatabaseUrl } from "../src/database-url";
import { iamDatabaseUrl } from "../src/iam-database-url";
import { rdsCaBundle } from "../src/tls";
import { decodeToken, SESSION_CREDENTIALS } from "./support";

const HOST = "mydb.cluster-abc123.us-east-1.rds.amazonaws.com";
// Every character a token or a name can carry that a URL treats specially.
const TOKEN = `${HOST}:5432/?Action=connect&DBUser=app&X-Amz-Credential=AKID%2F20261124&X-Amz-Security-Token=a+b/c==&X-Amz-Signature=abc`;

describe("buildDatabaseUrl", () => {
  it("encodes user, token and database with encodeURIComponent", () => {
    const url = buildDatabaseUrl({
      engine: "postgres",
      flavor: "node-postgres",
      host: HOST,
      port: 5432,
      user: "app@team",
      token: TOKEN,
      database: "my db",
    });
    const parsed = new URL(url);
    expect(decodeURIComponent(parsed.password)).toBe(TOKEN);
    expect(decodeURIComponent(parsed.username)).toBe("app@team");
    expect(decodeURIComponent(parsed.pathname.slice(1))).toBe("my db");
    expect(url).not.toContain("&DBUser");
  });

  it("writes each flavour's TLS parameters", () => {
    const common = { host: HOST, port: 5432, user: "app", token: "t", caFile: "/ca dir/ca+1.pem" };
    const prisma = new URL(buildDatabaseUrl({ engine: "postgres", flavor: "prisma", ...common }));
    expect(Object.fromEntries(prisma.searchParams)).toEqual({
      sslmode: "require",
      sslcert: "/ca dir/ca+1.pem",
      sslaccept: "strict",
    });
    const noVerify = new URL(
      buildDatabaseUrl({ engine: "postgres", flavor: "prisma", ...common, tls: "no-verify" }),
    );
    expect(noVerify.searchParams.get("sslaccept")).toBe("accept_invalid_certs");
    const pg = new URL(
      buildDatabaseUrl({ engine: "postgres", flavor: "node-postgres", ...common }),
    );
    expect(Object.fromEntries(pg.searchParams)).toEqual({
      sslmode: "verify-full",
      sslrootcert: "/ca dir/ca+1.pem",
    });
    const disabled = new URL(
      buildDatabaseUrl({ engine: "postgres", flavor: "node-postgres", ...common, tls: "disable" }),
    );
    expect(disabled.searchParams.get("sslmode")).toBe("disable");
    const mysqlRds = new URL(
      buildDatabaseUrl({ engine: "mysql", flavor: "mysql2", ...common, port: 3306 }),
    );
    // mysql2's "Amazon RDS" profile checks the chain only: the CA travels inline,
    // with verifyIdentity.
    expect(mysqlRds.searchParams.get("enableCleartextPlugin")).toBe("true");
    const rdsSsl = JSON.parse(mysqlRds.searchParams.get("ssl") ?? "{}");
    expect(rdsSsl).toMatchObject({ rejectUnauthorized: true, verifyIdentity: true });
    expect(rdsSsl.ca).toHaveLength(rdsCaBundle().length);
    const mysqlCa = new URL(
      buildDatabaseUrl({ engine: "mysql", flavor: "mysql2", ...common, ca: "PEM\n", port: 3306 }),
    );
    expect(JSON.parse(mysqlCa.searchParams.get("ssl") ?? "")).toEqual({
      ca: "PEM\n",
      rejectUnauthorized: true,
      verifyIdentity: true,
    });
    const extra = new URL(
      buildDatabaseUrl({
        engine: "postgres",
        flavor: "prisma",
        ...common,
        params: { schema: "a&b" },
      }),
    );
    expect(extra.searchParams.get("schema")).toBe("a&b");
  });

  it("brackets IPv6 hosts", () => {
    const url = buildDatabaseUrl({
      engine: "postgres",
      flavor: "node-postgres",
      host: "::1",
      port: 5432,
      user: "u",
      token: "t",
      tls: "disable",
    });
    expect(new URL(url).hostname).toBe("[::1]");
  });

  it("refuses flavours meant for the other engine", () => {
    const common = { host: HOST, port: 1, user: "u", token: "t" };
    expect(() => buildDatabaseUrl({ engine: "mysql", flavor: "node-postgres", ...common })).toThrow(
      expect.objectContaining({ code: "CONFLICTING_OPTIONS", option: "flavor" }),
    );
    expect(() => buildDatabaseUrl({ engine: "postgres", flavor: "mysql2", ...common })).toThrow(
      expect.objectContaining({ code: "CONFLICTING_OPTIONS", option: "flavor" }),
    );
  });
});

describe("iamDatabaseUrl", () => {
  it("mints a token signed for the endpoint and defaults to the prisma flavour", async () => {
    const url = await iamDatabaseUrl({
      engine: "postgres",
      host: HOST,
      user: "app",
      database: "app",
      credentials: SESSION_CREDENTIALS,
    });
    const parsed = new URL(url);
    expect(parsed.protocol).toBe("postgresql:");
    const token = decodeToken(decodeURIComponent(parsed.password));
    expect(token).toMatchObject({ host: `${HOST}:5432`, region: "us-east-1", service: "rds-db" });
    expect(token.params.get("X-Amz-Security-Token")).toBe(SESSION_CREDENTIALS.sessionToken);
    expect(parsed.searchParams.get("sslaccept")).toBe("strict");
    expect(readFileSync(parsed.searchParams.get("sslcert") ?? "", "utf8")).toContain(
      "BEGIN CERTIFICATE",
    );
  });

  it("refuses MySQL for Prisma's engine and unknown options, naming them", async () => {
    const mysql = { engine: "mysql", host: HOST, user: "app", credentials: SESSION_CREDENTIALS };
    await expect(iamDatabaseUrl(mysql)).rejects.toMatchObject({
      code: "CONFLICTING_OPTIONS",
      message: expect.stringContaining("prisma/prisma#10304"),
    });
    await expect(
      iamDatabaseUrl({ ...mysql, flavor: "mysql2", poolSize: 3 } as never),
    ).rejects.toMatchObject({ code: "INVALID_OPTION", option: "poolSize" });
    await expect(
      iamDatabaseUrl({ ...mysql, flavor: "mysql2", database: 7 as never }),
    ).rejects.toMatchObject({
      code: "INVALID_OPTION",
      option: "database",
    });
  });
});
