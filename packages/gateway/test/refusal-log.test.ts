import { describe, expect, it } from "vitest";
import { formatRefusal, formatStats, printable } from "../src/refusal-log";

describe("refusal log lines", () => {
  it("names reason, client, user and access key, then the detail", () => {
    expect(
      formatRefusal({
        reason: "region",
        detail: 'signed for region "eu-west-1", expected "us-east-1"',
        user: "app",
        client: "127.0.0.1:5000",
        accessKeyId: "AKIDEXAMPLE",
      }),
    ).toBe(
      'refused (region) client 127.0.0.1:5000, user "app", access key AKIDEXAMPLE: signed for region "eu-west-1", expected "us-east-1"',
    );
    expect(
      formatRefusal({
        reason: "timeout",
        detail: "no verified login within 10000 ms",
        user: undefined,
        client: "[::1]:5000",
        accessKeyId: undefined,
      }),
    ).toBe("refused (timeout) client [::1]:5000: no verified login within 10000 ms");
  });

  it("a user name cannot forge a line or flood the log", () => {
    const line = formatRefusal({
      reason: "user",
      detail: "x",
      user: `app\nrds-iam-gateway: refused nothing${"a".repeat(1000)}`,
      client: "127.0.0.1:1",
      accessKeyId: undefined,
    });
    expect(line).not.toContain("\n");
    expect(line).toContain("app\\u000ards-iam-gateway");
    expect(line.length).toBeLessThan(300);
    expect(printable("tab\there\u2028")).toBe("tab\\u0009here\\u2028");
  });

  it("a user name cannot fake the fields after it, reverse the line, or leave half an escape", () => {
    const line = formatRefusal({
      reason: "signature",
      detail: "x",
      user: 'app", access key AKIAFAKE: ok\u202etxt.exe',
      client: "127.0.0.1:1",
      accessKeyId: undefined,
    });
    expect(line).toContain('user "app\\u0022, access key AKIAFAKE: ok\\u202etxt.exe"');
    expect(line).not.toContain("\u202e");
    // Cut before escaping: the last escape is whole.
    expect(printable(`${"a".repeat(199)}\n`)).toBe(`${"a".repeat(199)}\\u000a`);
    expect(printable(`${"a".repeat(200)}\n`)).toBe(`${"a".repeat(200)}...`);
  });

  it("counts: connections, accepted, refused by reason", () => {
    expect(
      formatStats({
        connections: 7,
        active: 0,
        accepted: 3,
        rejected: { signature: 2, expired: 1, plaintext: 0 },
        cancelRequests: 0,
      }),
    ).toBe("7 connections, 3 accepted, 3 refused (expired 1, signature 2)");
    expect(
      formatStats({ connections: 1, active: 1, accepted: 1, rejected: {}, cancelRequests: 2 }),
    ).toBe("1 connection, 1 accepted, 0 refused, 2 cancel requests");
  });
});
