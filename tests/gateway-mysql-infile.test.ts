import { Readable } from "node:stream";
import { mysql2IamConfig } from "@rds-iam/core";
import mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type IamFixture, startIamFixture } from "./support/iam-fixture";

/**
 * LOAD DATA LOCAL INFILE through the gateway: the file's packets count their sequence
 * numbers up past 255 to 0 again. Read as commands, a data packet starting with 0x11
 * looked like COM_CHANGE_USER and the session was killed; one starting with 0x03 and
 * reading like `KILL <id>` would have been rewritten inside the file.
 */
describe("MySQL gateway: LOAD DATA LOCAL INFILE", () => {
  let fixture: IamFixture;
  beforeAll(async () => {
    fixture = await startIamFixture("mysql");
  });
  afterAll(async () => {
    await fixture?.close();
  });

  it("relays 600 file packets whose bytes look like commands, unchanged", async () => {
    const lines = Array.from({ length: 600 }, (_, i) =>
      i % 2 === 0 ? `\x11row${i}\n` : `\x03KILL 1073741825\n`,
    );
    const { config, auth } = mysql2IamConfig({
      ...fixture.iamOptions(),
      database: fixture.database,
    });
    const connection = await mysql.createConnection({
      ...(config as mysql.ConnectionOptions),
      flags: ["+LOCAL_FILES"],
      // One stream chunk per line: mysql2 sends each as a packet of its own.
      infileStreamFactory: () => Readable.from(lines.map((line) => Buffer.from(line, "latin1"))),
    });
    try {
      await connection.query("create table infile_rows (b blob)");
      const [result] = await connection.query(
        "LOAD DATA LOCAL INFILE 'rows.csv' INTO TABLE infile_rows",
      );
      expect((result as { affectedRows: number }).affectedRows).toBe(600);
      const [rows] = await connection.query("select b from infile_rows");
      const stored = (rows as { b: Buffer }[]).map((row) => row.b.toString("latin1"));
      expect(stored).toEqual(lines.map((line) => line.slice(0, -1)));
      // The session goes on, and a command after the file is still inspected.
      const [who] = await connection.query("select substring_index(current_user(), '@', 1) as u");
      expect((who as { u: string }[])[0]?.u).toBe(fixture.user);
    } finally {
      await connection.end().catch(() => {});
      auth.close();
    }
  });
});
