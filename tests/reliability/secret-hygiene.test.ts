import { randomBytes } from "node:crypto";
import {
  createIamAuth,
  generateAuthToken,
  iamDatabaseUrl,
  mysql2IamConfig,
  pgIamConfig,
  TokenCache,
} from "@rds-iam/core";
import { createMariadbConnectionFactory } from "@rds-iam/core/driver";
import { afterAll, describe, expect, it } from "vitest";
import { tlsStream } from "../../packages/core/test/support";
import {
  assertNoLeaks,
  type Captured,
  captured,
  findLeaks,
  forget,
  observe,
  record,
  registerCredentials,
  silenced,
  trackTokens,
} from "../support/secret-scan";

const HOST = "mydb.cluster-abc123.us-east-1.rds.amazonaws.com";

function freshCredentials() {
  return {
    accessKeyId: `AKIDHYGIENE${randomBytes(4).toString("hex").toUpperCase()}`,
    secretAccessKey: randomBytes(30).toString("base64"),
    sessionToken: randomBytes(48).toString("base64"),
  };
}

const PLANTED = "planted:";
/** Records text as a planted leak; `afterAll` forgets these before the suite-wide check. */
const plant = (text: string) => record(`${PLANTED}test`, text);
const leaksIn = (text: string, secretKeyShape = true) =>
  findLeaks([{ source: "probe", text }], { secretKeyShape });

describe("the secret scanner catches planted leaks (self-test)", () => {
  afterAll(() => {
    forget((entry) => entry.source.includes(PLANTED) || entry.text.includes(PLANTED));
  });

  it("finds a token printed with console.log, through the setup file's capture", async () => {
    const credentials = freshCredentials();
    const token = await generateAuthToken({
      hostname: HOST,
      port: 5432,
      username: "app",
      region: "us-east-1",
      credentials,
    });
    const before = captured().length;
    // A real leak, as a careless logger would make it; marked so it can be forgotten.
    await silenced(() => console.log(`${PLANTED} connecting with password ${token}`));
    const logged = captured()
      .slice(before)
      .filter((entry: Captured) => entry.text.includes(PLANTED));
    expect(logged.map((entry) => entry.source)).toContain("console.log");
    const leaks = findLeaks(logged);
    expect(leaks.map((leak) => leak.rule)).toEqual(
      expect.arrayContaining(["token-signature", "session-token"]),
    );
    // The report itself never repeats the secret.
    for (const leak of leaks) expect(leak.excerpt).not.toContain(credentials.sessionToken);
  });

  it("finds a token URL-encoded inside a database URL, and one in a process warning", async () => {
    const token = await generateAuthToken({
      hostname: HOST,
      port: 5432,
      username: "app",
      region: "us-east-1",
      credentials: freshCredentials(),
    });
    expect(
      leaksIn(`postgresql://app:${encodeURIComponent(token)}@${HOST}:5432/db`).map((l) => l.rule),
    ).toContain("token-signature");
    const before = captured().length;
    await silenced(() => process.emitWarning(`${PLANTED} retrying with ${token}`));
    const warned = captured()
      .slice(before)
      .filter((entry) => entry.source === "warning");
    expect(findLeaks(warned).length).toBeGreaterThan(0);
  });

  it("finds fragments of registered secrets in errors, JSON and raw stderr writes", async () => {
    const credentials = freshCredentials();
    registerCredentials(credentials);
    const error = new Error(`bad key ${credentials.secretAccessKey.slice(3, 27)}`, {
      cause: new Error(`session ${credentials.sessionToken.slice(10, 40)}`),
    });
    const text = observe(`${PLANTED}error`, error);
    expect(leaksIn(text, false).map((leak) => leak.rule)).toContain("registered-secret");
    expect(leaksIn(JSON.stringify({ credentials }), false).length).toBeGreaterThan(0);
    const before = captured().length;
    await silenced(() =>
      process.stderr.write(`${PLANTED} ${encodeURIComponent(credentials.secretAccessKey)}\n`),
    );
    expect(findLeaks(captured().slice(before), {}).length).toBeGreaterThan(0);
  });

  it("finds an unregistered secret-key-shaped string, but not ids, hashes or paths", () => {
    const stranger = freshCredentials().secretAccessKey;
    expect(leaksIn(`aws_secret_access_key = ${stranger}`).map((l) => l.rule)).toContain(
      "secret-key-shape",
    );
    const harmless = [
      "access key AKIDEXAMPLE0000000001 in us-east-1",
      `sha1 ${"0123456789abcdef".repeat(2)}01234567 and sha256 ${"ab".repeat(32)}`,
      "/work/main/packages/core/src/iam-auth.ts:123:45",
      "IamAuth { app@mydb.cluster-abc123.us-east-1.rds.amazonaws.com:5432 (us-east-1), mints: 3 }",
    ].join("\n");
    expect(leaksIn(harmless)).toEqual([]);
  });

  it("tracks every token a provider hands out, so even a bare signature is caught", async () => {
    const auth = trackTokens(
      createIamAuth({
        engine: "postgres",
        host: HOST,
        user: "app",
        credentials: freshCredentials(),
      }),
    );
    const token = await auth.getToken();
    auth.close();
    const signature = /X-Amz-Signature=([0-9a-f]{64})/.exec(token)?.[1] ?? "";
    expect(leaksIn(`sig=${signature.slice(8, 40)}`, false).map((l) => l.rule)).toEqual([
      "registered-secret",
    ]);
  });

  it("assertNoLeaks fails on a planted leak with a redacted report", async () => {
    const credentials = freshCredentials();
    registerCredentials(credentials);
    plant(`config dump: ${JSON.stringify(credentials)}`);
    let message = "";
    try {
      assertNoLeaks();
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/Secret hygiene: \d+ leak/);
    expect(message).toContain("[REDACTED]");
    expect(message).not.toContain(credentials.secretAccessKey);
    expect(message).not.toContain(credentials.sessionToken.slice(0, 20));
    forget((entry) => entry.source.includes(PLANTED));
  });
});

describe("our objects never show a token or a secret", () => {
  afterAll(() => {
    assertNoLeaks({ secretKeyShape: true });
  });

  it("IamAuth, TokenCache, bindings' configs and their errors, after tokens were minted", async () => {
    const credentials = freshCredentials();
    registerCredentials(credentials);
    const tokenCache = new TokenCache();
    const base = { host: HOST, user: "app", credentials, tokenCache };
    const pg = pgIamConfig({ ...base, database: "db" });
    const mysql = mysql2IamConfig({ ...base, database: "db" });
    const mariadb = createMariadbConnectionFactory(
      // A connector version that checks the certificate before the login (core refuses others).
      { version: "3.5.4", createConnection: () => Promise.reject(new Error("offline")) },
      { ...base, database: "db" },
    );
    for (const auth of [pg.auth, mysql.auth, mariadb.auth]) trackTokens(auth);
    // Mint through every path a driver uses.
    await pg.config.password();
    const plugin = (mysql.config.authPlugins as Record<string, CallableFunction>)
      .mysql_clear_password as (context: unknown) => (data: Buffer) => Promise<string>;
    await plugin({ connection: { stream: tlsStream([base.host]) } })(Buffer.alloc(0));
    await mariadb.auth.getToken();
    const url = await iamDatabaseUrl({ ...base, engine: "postgres", database: "db" });
    // The URL carries a token by design; it is the one thing that may.
    expect(leaksIn(url).length).toBeGreaterThan(0);

    for (const [label, value] of Object.entries({
      "pg config": pg.config,
      "pg auth": pg.auth,
      "mysql2 config": mysql.config,
      "mysql2 auth": mysql.auth,
      "mariadb config": mariadb.config,
      "mariadb auth": mariadb.auth,
      "token cache": tokenCache,
      "auth stats": pg.auth.stats(),
      "auth target": pg.auth.target,
    })) {
      const text = observe(label, value);
      expect(leaksIn(text), label).toEqual([]);
    }
    // A failing connect through the factory: the error and its cause hold no token.
    const error = await mariadb.connect().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(leaksIn(observe("mariadb connect error", error))).toEqual([]);
    for (const auth of [pg.auth, mysql.auth, mariadb.auth]) auth.close();
  });
});
