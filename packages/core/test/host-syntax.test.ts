import { describe, expect, it } from "vitest";
import { hostMistake, isHostOrIpLiteral } from "../src/host-syntax";

const HOST = "mydb.cluster-abc123.us-east-1.rds.amazonaws.com";

describe("isHostOrIpLiteral", () => {
  it.each([
    HOST,
    `${HOST}.`, // fully qualified, trailing dot
    "localhost",
    "db-1.internal",
    "_mysql._tcp.example.com", // service labels
    "a".repeat(63),
    `${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(61)}`, // 253
    "10.0.0.12",
    "::1",
    "[::1]",
    "2001:db8::5",
    "fe80::1%eth0",
    "[fe80::1%25en0]",
  ])("accepts %s", (host) => {
    expect(isHostOrIpLiteral(host)).toBe(true);
  });

  it.each([
    ["empty", ""],
    ["a scheme", `postgres://${HOST}`],
    ["a port", `${HOST}:5432`],
    ["a path", `${HOST}/app`],
    ["a query", `${HOST}?sslmode=disable`],
    ["a fragment", `${HOST}#x`],
    ["user info", `app@${HOST}`],
    ["a space inside", "my db.example.com"],
    ["surrounding spaces on a name", ` ${HOST}`],
    ["surrounding spaces on an address", "10.0.0.12 "],
    ["a newline", `${HOST}\n`],
    ["a NUL", `${HOST}\0`],
    ["a label starting with '-'", "-db.example.com"],
    ["a label ending with '-'", "db-.example.com"],
    ["an empty label", "db..example.com"],
    ["only a dot", "."],
    ["a 64-character label", `${"a".repeat(64)}.example.com`],
    [
      "more than 253 characters",
      `${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(63)}`,
    ],
    ["a zone id carrying a query", "fe80::1%eth0&sslmode=disable"],
    ["a zone id with a slash", "fe80::1%eth0/x"],
    ["a percent-encoded name", "db%2eexample.com"],
  ])("refuses %s", (_name, host) => {
    expect(isHostOrIpLiteral(host)).toBe(false);
  });

  it.each([42, null, undefined, {}, ["localhost"]])("refuses the non-string %j", (value) => {
    expect(isHostOrIpLiteral(value)).toBe(false);
  });
});

describe("hostMistake", () => {
  it("says to drop a scheme, naming it, before anything else", () => {
    const fix = hostMistake(`postgres://app@${HOST}:5432/app`);
    expect(fix).toContain('drop the "postgres://" scheme');
    expect(hostMistake(`mysql://${HOST}`)).toContain('"mysql://"');
  });

  it("says to drop a port, giving the hostname and the port to use instead", () => {
    expect(hostMistake(`${HOST}:5432`)).toBe(
      `drop the port: give only the hostname "${HOST}", and the port as the port option (5432)`,
    );
    expect(hostMistake("[::1]:3306")).toContain('hostname "[::1]"');
    expect(hostMistake("[::1]:3306")).toContain("(3306)");
  });

  it("says to drop a user part", () => {
    expect(hostMistake(`app@${HOST}`)).toContain("user part before @");
  });

  it("says to drop a path or query", () => {
    expect(hostMistake(`${HOST}/app`)).toContain("drop the path and query");
    expect(hostMistake(`${HOST}?sslmode=disable`)).toContain("drop the path and query");
  });

  it("says to remove spaces", () => {
    expect(hostMistake("my db")).toContain("remove the spaces");
  });

  it("otherwise says what a hostname is made of", () => {
    expect(hostMistake("db..example.com")).toBe(
      "give a hostname (letters, digits, '-', '.') or an IP address",
    );
  });
});
