import { describe, expect, it } from "vitest";
import { mayBeKill, translateKill } from "../src/mysql-kill";

const query = (sql: string) => Buffer.concat([Buffer.from([0x03]), Buffer.from(sql, "latin1")]);
const ids = new Map([[0x4000_0001, 4242]]);
const backendIdOf = (id: number) => ids.get(id);
const text = (payload: Buffer | undefined) => payload?.subarray(1).toString("latin1");

describe("KILL of a gateway connection id", () => {
  it.each([
    ["KILL 1073741825", "KILL 4242"],
    ["kill query 1073741825", "kill query 4242"],
    ["KILL CONNECTION 1073741825;", "KILL CONNECTION 4242;"],
    ["  KILL HARD QUERY  1073741825 ", "  KILL HARD QUERY  4242 "],
    ["KILL SOFT 1073741825", "KILL SOFT 4242"],
  ])("%j becomes %j", (sql, expected) => {
    expect(mayBeKill(0x03, sql.length + 1)).toBe(true);
    expect(text(translateKill(query(sql), backendIdOf))).toBe(expected);
  });

  it.each([
    "KILL 4242", // a real thread id, read from the backend: sent as it is
    "KILL QUERY ID 1073741825", // a query id, not a connection id
    "KILL USER app",
    "SELECT 1073741825",
    "KILL 1073741825; DROP TABLE t",
  ])("leaves %j alone", (sql) => {
    expect(translateKill(query(sql), backendIdOf)).toBeUndefined();
  });

  it("rewrites COM_PROCESS_KILL's 4-byte id", () => {
    const payload = Buffer.from([0x0c, 0, 0, 0, 0]);
    payload.writeUInt32LE(0x4000_0001, 1);
    expect(mayBeKill(0x0c, 5)).toBe(true);
    expect(translateKill(payload, backendIdOf)?.readUInt32LE(1)).toBe(4242);
  });

  it("does not hold long queries or other commands for a look", () => {
    expect(mayBeKill(0x03, 10_000)).toBe(false);
    expect(mayBeKill(0x16, 20)).toBe(false);
  });
});
