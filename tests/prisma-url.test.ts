import { randomBytes } from "node:crypto";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { inspect } from "node:util";
import { loadConfigFromFile } from "@prisma/config";
import { rdsCaBundle } from "@rds-iam/core";
import { iamDatasourceUrl } from "@rds-iam/prisma";
import mysql from "mysql2/promise";
import pg from "pg";
import { parse, parseIntoClientConfig } from "pg-connection-string";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { buildDatabaseUrl } from "../packages/core/src/database-url";
import { rdsCaBundleForRegion } from "../packages/core/src/tls";
import { isolatedAwsEnv, withEnv } from "./support/aws-env";
import { type IamFixture, startIamFixture, testCredentials } from "./support/iam-fixture";

/** Session credentials whose token carries `+`, `/` and `=`: the characters URLs mangle. */
function sessionCredentials() {
  return {
    ...testCredentials(),
    sessionToken: `IQoJb3JpZ2luX2Vj/+${randomBytes(48).toString("base64")}==`,
  };
}

function fixtureOptions(fixture: IamFixture, credentials: ReturnType<typeof sessionCredentials>) {
  return { ...fixture.iamOptions(), credentials, database: fixture.database };
}

/** Reads a Prisma-flavour URL the way Prisma's engine does: WHATWG parsing, percent-decoding. */
function credentialsOf(url: string): { user: string; password: string; database: string } {
  const parsed = new URL(url);
  return {
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    database: decodeURIComponent(parsed.pathname.slice(1)),
  };
}

async function pgCurrentUser(config: pg.ClientConfig): Promise<string | undefined> {
  const client = new pg.Client(config);
  await client.connect();
  try {
    const result = await client.query<{ user: string }>('SELECT current_user AS "user"');
    return result.rows[0]?.user;
  } finally {
    await client.end();
  }
}

describe("iamDatasourceUrl on PostgreSQL", () => {
  const credentials = sessionCredentials();
  let fixture: IamFixture;
  beforeAll(async () => {
    fixture = await startIamFixture("postgres", { credentials: [credentials] });
  });
  afterAll(async () => {
    await fixture?.close();
  });

  it("node-postgres flavour: pg-connection-string parses it into a login the gateway accepts", async () => {
    const url = await iamDatasourceUrl({
      engine: "postgres",
      ...fixtureOptions(fixture, credentials),
      flavor: "node-postgres",
    });
    const parsed = parse(url);
    expect(parsed.password).toContain("X-Amz-Security-Token=");
    expect(
      decodeURIComponent(
        new URL(`https://${parsed.password}`).searchParams.get("X-Amz-Security-Token") ?? "",
      ),
    ).toBe(credentials.sessionToken);
    expect(parsed).toMatchObject({
      user: fixture.user,
      database: fixture.database,
      port: String(fixture.port),
    });
    // sslrootcert named a file holding the CA we asked to trust.
    expect(parsed.ssl).toMatchObject({ ca: expect.stringContaining(fixture.ca.trim()) });
    expect(await pgCurrentUser(parseIntoClientConfig(url))).toBe(fixture.user);
    expect(fixture.gateway.stats().rejected).toEqual({});
  });

  it("prisma flavour: sslmode=require, sslaccept=strict and sslcert=<CA file>; the token survives", async () => {
    const url = await iamDatasourceUrl({
      engine: "postgres",
      ...fixtureOptions(fixture, credentials),
    });
    const query = new URL(url).searchParams;
    expect(query.get("sslmode")).toBe("require");
    expect(query.get("sslaccept")).toBe("strict");
    expect(readFileSync(query.get("sslcert") ?? "", "utf8")).toContain(fixture.ca.trim());
    const { password, user, database } = credentialsOf(url);
    expect(password).toContain("X-Amz-Signature=");
    expect(
      await pgCurrentUser({
        host: fixture.host,
        port: fixture.port,
        user,
        password,
        database,
        ssl: { ca: fixture.ca },
      }),
    ).toBe(fixture.user);
  });

  it("writes the RDS CA bundle to a file by default", async () => {
    const url = await iamDatasourceUrl({
      engine: "postgres",
      host: fixture.iamHost,
      user: fixture.user,
      credentials,
    });
    const caFile = new URL(url).searchParams.get("sslcert") ?? "";
    const bundle = readFileSync(caFile, "utf8");
    expect(bundle.match(/BEGIN CERTIFICATE/g)?.length).toBeGreaterThan(50);
    // The same bundle is written once and reused.
    const again = await iamDatasourceUrl({
      engine: "postgres",
      host: fixture.iamHost,
      user: fixture.user,
      credentials,
    });
    expect(new URL(again).searchParams.get("sslcert")).toBe(caFile);
  });

  it("shows why the WHATWG URL.password setter is not used: it breaks the token", async () => {
    const url = await iamDatasourceUrl({
      engine: "postgres",
      ...fixtureOptions(fixture, credentials),
      flavor: "node-postgres",
    });
    const token = parse(url).password ?? "";
    const naive = new URL(`postgresql://${fixture.host}:${fixture.port}/${fixture.database}`);
    naive.username = fixture.user;
    naive.password = token;
    expect(parse(naive.toString()).password).not.toBe(token);
    expect(
      parse(
        buildDatabaseUrl({
          engine: "postgres",
          flavor: "node-postgres",
          host: fixture.host,
          port: fixture.port,
          user: fixture.user,
          token,
        }),
      ).password,
    ).toBe(token);
  });

  it("loads through @prisma/config from a prisma.config.ts with an awaited URL", async () => {
    const caFile = join(tmpdir(), `rds-iam-test-ca-${randomBytes(4).toString("hex")}.pem`);
    writeFileSync(caFile, fixture.ca);
    onTestFinished(() => rmSync(caFile, { force: true }));
    const loaded = await withEnv(
      isolatedAwsEnv({
        AWS_ACCESS_KEY_ID: credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
        AWS_SESSION_TOKEN: credentials.sessionToken,
        RDS_IAM_TEST_HOST: fixture.host,
        RDS_IAM_TEST_PORT: String(fixture.port),
        RDS_IAM_TEST_USER: fixture.user,
        RDS_IAM_TEST_DATABASE: fixture.database,
        RDS_IAM_TEST_IAM_HOST: fixture.iamHost,
        RDS_IAM_TEST_IAM_PORT: String(fixture.iamDefaultPort),
        RDS_IAM_TEST_CA_FILE: caFile,
      }),
      () =>
        loadConfigFromFile({
          configFile: fileURLToPath(
            new URL("../packages/prisma/test/fixtures/prisma.config.ts", import.meta.url),
          ),
        }),
    );
    expect(loaded.error).toBeUndefined();
    const url = loaded.config?.datasource?.url ?? "";
    expect(url).toMatch(/^postgresql:\/\//);
    expect(new URL(url).searchParams.get("sslaccept")).toBe("strict");
    const { password, user, database } = credentialsOf(url);
    expect(
      await pgCurrentUser({
        host: fixture.host,
        port: fixture.port,
        user,
        password,
        database,
        ssl: { ca: fixture.ca },
      }),
    ).toBe(fixture.user);
  });

  it("refuses what would not work, naming the option, with no token in the error", async () => {
    await expect(
      iamDatasourceUrl({
        engine: "postgres",
        ...fixtureOptions(fixture, credentials),
        flavor: "mysql2",
      }),
    ).rejects.toMatchObject({ code: "CONFLICTING_OPTIONS", option: "flavor" });
    await expect(
      iamDatasourceUrl({ engine: "postgres", ...fixtureOptions(fixture, credentials), ssl: false }),
    ).rejects.toMatchObject({ code: "PLAINTEXT_REFUSED" });
    const error = await iamDatasourceUrl({
      engine: "postgres",
      ...fixtureOptions(fixture, credentials),
      flavor: "libpq" as "prisma",
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "INVALID_OPTION", option: "flavor" });
    expect(`${inspect(error)}${JSON.stringify(error)}`).not.toContain(credentials.secretAccessKey);
  });
});

describe("iamDatasourceUrl on MySQL / MariaDB", () => {
  const credentials = sessionCredentials();
  let fixture: IamFixture;
  beforeAll(async () => {
    fixture = await startIamFixture("mysql", { credentials: [credentials] });
  });
  afterAll(async () => {
    await fixture?.close();
  });

  it("mysql2 flavour: mysql2's URL parser turns it into a login the gateway accepts", async () => {
    const url = await iamDatasourceUrl({
      engine: "mysql",
      ...fixtureOptions(fixture, credentials),
      flavor: "mysql2",
    });
    const query = new URL(url).searchParams;
    expect(query.get("enableCleartextPlugin")).toBe("true");
    expect(JSON.parse(query.get("ssl") ?? "{}")).toMatchObject({ rejectUnauthorized: true });
    // mysql2 parses the URL itself (ConnectionConfig.parseUrl).
    const connection = await mysql.createConnection(url);
    try {
      const [rows] = await connection.query(
        "SELECT SUBSTRING_INDEX(CURRENT_USER(), '@', 1) AS user",
      );
      expect((rows as { user: string }[])[0]?.user).toBe(fixture.user);
    } finally {
      await connection.end();
    }
    expect(fixture.gateway.stats().rejected).toEqual({});
  });

  it("mysql2 flavour carries the region's RDS CAs inline, with a name check, when no CA is given", async () => {
    const url = await iamDatasourceUrl({
      engine: "mysql",
      host: fixture.iamHost,
      user: fixture.user,
      credentials,
      flavor: "mysql2",
    });
    const ssl = JSON.parse(new URL(url).searchParams.get("ssl") ?? "{}");
    expect(ssl).toMatchObject({ rejectUnauthorized: true, verifyIdentity: true });
    expect(ssl.ca).toEqual([...rdsCaBundleForRegion("us-east-1")]);
    expect(ssl.ca.length).toBeLessThan(rdsCaBundle().length);
  });

  it("refuses the prisma flavour: Prisma's engine cannot send a cleartext password", async () => {
    const error = await iamDatasourceUrl({
      engine: "mysql",
      ...fixtureOptions(fixture, credentials),
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "CONFLICTING_OPTIONS", option: "flavor" });
    expect(String((error as Error).message)).toContain("prisma/prisma#10304");
    expect(String((error as Error).message)).toContain("deployMysqlMigrations");
  });
});
