import { describe, expect, it } from "vitest";
import { isIpAddress, isLoopbackHost } from "../src/ip-address";

describe("isIpAddress", () => {
  it.each([
    "10.0.0.12",
    "0.0.0.0",
    "::1",
    "2001:db8::5",
    "::ffff:10.0.0.1",
    "[::1]",
    "[2001:db8::5]",
    "fe80::1%eth0",
    "fe80::1%25en0",
    "[fe80::1%eth0]",
    " 10.0.0.12 ", // surrounding spaces are trimmed
  ])("%s is an address", (host) => {
    expect(isIpAddress(host)).toBe(true);
  });

  it.each([
    ["a name that contains an address", "10.0.0.1.nip.io"],
    ["an RDS hostname", "mydb.cluster-abc123.us-east-1.rds.amazonaws.com"],
    ["bracketed IPv4", "[10.0.0.1]"],
    ["an unclosed bracket", "[::1"],
    ["an empty zone id", "fe80::1%"],
    ["a zone id on IPv4", "10.0.0.1%eth0"],
    ["an IPv4 part out of range", "256.0.0.1"],
    ["a short IPv4 form", "127.1"],
    ["an address with a port", "10.0.0.1:5432"],
    ["empty", ""],
  ])("%s is not", (_name, host) => {
    expect(isIpAddress(host)).toBe(false);
  });

  it("answers false for a non-string instead of throwing", () => {
    expect(isIpAddress(42 as never)).toBe(false);
    expect(isIpAddress(undefined as never)).toBe(false);
  });
});

describe("isLoopbackHost", () => {
  it.each([
    "localhost",
    "LOCALHOST",
    "localhost.",
    "gateway.localhost",
    "127.0.0.1",
    "127.0.0.2",
    "127.255.255.254",
    " 127.0.0.1 ",
    "::1",
    "[::1]",
    "0:0:0:0:0:0:0:1",
    "::ffff:127.0.0.1",
  ])("%s is loopback", (host) => {
    expect(isLoopbackHost(host)).toBe(true);
  });

  it.each([
    "10.0.0.1",
    "128.0.0.1",
    "0.0.0.0",
    "::",
    "::2",
    "::ffff:10.0.0.1",
    "127.0.0.1.nip.io",
    "localhost.example.com",
    "mylocalhost",
    "mydb.cluster-abc123.us-east-1.rds.amazonaws.com",
    "",
  ])("%s is not", (host) => {
    expect(isLoopbackHost(host)).toBe(false);
  });
});
