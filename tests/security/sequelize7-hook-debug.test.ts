import { TokenCache } from "@rds-iam/core";
import { iamAuthOf, withIamAuth } from "@rds-iam/sequelize/v7";
import { Sequelize } from "@sequelize/core";
import { MariaDbDialect } from "@sequelize/mariadb";
import { MySqlDialect } from "@sequelize/mysql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type IamFixture, startIamFixture } from "../support/iam-fixture";
import { captured, forget, silenced, trackTokens } from "../support/secret-scan";

/**
 * The drivers print packets in hex (mysql2: one run per packet; the mariadb connector:
 * a table of 16 bytes a row), which the suite's text scan cannot read: decode them
 * and look for a whole token.
 */
function printedTokens(text: string): number {
  const runs = [...text.matchAll(/\b((?:[0-9a-f]{2}){8,})\b/g)].map((m) => m[1] ?? "");
  const rows = [...text.matchAll(/^\| ((?:[0-9A-F]{2} {1,2}){1,16})/gm)].map((m) =>
    (m[1] ?? "").replace(/ /g, ""),
  );
  const bytes = Buffer.concat([...runs, ...rows].map((hex) => Buffer.from(hex, "hex")));
  return [...bytes.toString("latin1").matchAll(/X-Amz-Signature=[0-9a-f]{64}/g)].length;
}

/**
 * Sequelize 7 hands each new connection's config to the `beforeConnect` hooks before
 * the connection manager opens it. Core refuses the drivers' packet output switches in
 * withIamAuth's options (one packet is the token); a hook that turns one on in the
 * config must be refused the same way, before any token exists.
 */
describe("Sequelize 7: a beforeConnect hook that turns on packet debug output gets no token", () => {
  let fixture: IamFixture;
  beforeAll(async () => {
    fixture = await startIamFixture("mysql");
  });
  afterAll(async () => {
    await fixture?.close();
  });

  const print = (line: string) => console.log(line);
  const cases = [
    { name: "mysql2 debug", dialect: MySqlDialect, set: { debug: true }, option: "config.debug" },
    {
      name: "mariadb debug",
      dialect: MariaDbDialect,
      set: { debug: true, debugLen: 4096 },
      option: "config.debug",
    },
    {
      name: "mariadb logPackets",
      dialect: MariaDbDialect,
      set: { logPackets: true, debugLen: 4096, logger: { network: null, error: print } },
      option: "config.logPackets",
    },
    {
      name: "mariadb logger.network",
      dialect: MariaDbDialect,
      set: { debugLen: 4096, logger: { network: print } },
      option: "config.logger.network",
    },
    {
      name: "mariadb logger function",
      dialect: MariaDbDialect,
      set: { debugLen: 4096, logger: print },
      option: "config.logger",
    },
  ] as const;

  it.each(cases)("$name set by a hook: refused as $option, no token printed", async (row) => {
    const { host, port, user, ssl, ...iam } = fixture.iamOptions();
    const options = withIamAuth({
      dialect: row.dialect,
      host,
      port,
      user,
      database: fixture.database,
      ssl,
      logging: false,
      pool: { max: 1, min: 0 },
      ...(row.dialect === MariaDbDialect ? { connectTimeout: 10_000 } : {}),
      hooks: {
        beforeConnect: (config: Record<string, unknown>) => {
          Object.assign(config, row.set);
        },
      },
      iam: { ...iam, tokenCache: new TokenCache() },
    } as never);
    const auth = trackTokens(iamAuthOf(options));
    const sequelize = new Sequelize(options as never);
    const mark = captured().length;
    const accepted = fixture.gateway.stats().accepted;
    try {
      // Recorded, not printed: a token must not reach even the test log.
      const error = await silenced(() =>
        sequelize.authenticate().then(
          () => undefined,
          (caught: unknown) => caught,
        ),
      );
      const since = captured().slice(mark);
      const printed = printedTokens(since.map((entry) => entry.text).join("\n"));
      forget((entry) => since.includes(entry));
      expect(printed).toBe(0);
      expect(error).toMatchObject({
        name: "RdsIamError",
        code: "CONFLICTING_OPTIONS",
        option: row.option,
      });
      expect(fixture.gateway.stats().accepted).toBe(accepted);
      expect(auth.stats().mints).toBe(0);
    } finally {
      await sequelize.close();
      auth.close();
    }
  });

  it("a hook that tunes another option (connectTimeout) still logs in", async () => {
    const { host, port, user, ssl, ...iam } = fixture.iamOptions();
    const options = withIamAuth({
      dialect: MySqlDialect,
      host,
      port,
      user,
      database: fixture.database,
      ssl,
      logging: false,
      pool: { max: 1, min: 0 },
      hooks: {
        beforeConnect: (config: Record<string, unknown>) => {
          config.connectTimeout = 10_000;
        },
      },
      iam: { ...iam, tokenCache: new TokenCache() },
    } as never);
    const sequelize = new Sequelize(options as never);
    try {
      await sequelize.authenticate();
    } finally {
      await sequelize.close();
      iamAuthOf(options).close();
    }
  });
});
