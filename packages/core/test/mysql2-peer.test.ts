import { X509Certificate } from "node:crypto";
import { describe, expect, it } from "vitest";
import { type Mysql2ConnectionLike, verifyMysql2Peer } from "../src/mysql2-peer";

const HOST = "mydb.cluster-abc123.us-east-1.rds.amazonaws.com";

/**
 * A real (public, self-signed) certificate whose names are
 * `*.cluster-abc123.us-east-1.rds.amazonaws.com` and the partial wildcard
 * `db*.partial.example`, so that Node's own name matching runs with our options.
 */
const PEER_CERT = new X509Certificate(`
-----BEGIN CERTIFICATE-----
MIIB6TCCAY+gAwIBAgIURsVsjbhkWzoOmWDAE16F0EfhSWswCgYIKoZIzj0EAwIw
ITEfMB0GA1UEAwwWcmRzLWlhbSB1bml0IHRlc3QgcGVlcjAgFw0yNjEyMDIxMzU5
MTlaGA8yMTI2MTEwODEzNTkxOVowITEfMB0GA1UEAwwWcmRzLWlhbSB1bml0IHRl
c3QgcGVlcjBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABC/mzUSiQvG8gcGdV3+5
JSGEjJOrSejQ37bXLZMaK6Flefefe0M0HkBlIrdwXC5oeet1zsu01g7Na6yVixkm
1s6jgaIwgZ8wHQYDVR0OBBYEFFEfTf8TaaEHUzDdRlGdbBwzND8aMB8GA1UdIwQY
MBaAFFEfTf8TaaEHUzDdRlGdbBwzND8aMA8GA1UdEwEB/wQFMAMBAf8wTAYDVR0R
BEUwQ4IsKi5jbHVzdGVyLWFiYzEyMy51cy1lYXN0LTEucmRzLmFtYXpvbmF3cy5j
b22CE2RiKi5wYXJ0aWFsLmV4YW1wbGUwCgYIKoZIzj0EAwIDSAAwRQIgbtADwaVH
6n0qF1hp4M7vlknI2+G1iFU8pm2OL3hEkucCIQCuyiXLJxvCRKizmGCtJfqp5PtZ
dHEiw/R7dWcUb0Og3A==
-----END CERTIFICATE-----
`);

type Stream = NonNullable<Mysql2ConnectionLike["stream"]>;

const verified = (extra: Partial<Stream> = {}): Stream => ({
  encrypted: true,
  authorized: true,
  authorizationError: null,
  isSessionReused: () => false,
  getPeerX509Certificate: () => PEER_CERT,
  ...extra,
});

const failure = (connection: Mysql2ConnectionLike, iamHost = HOST) => {
  try {
    verifyMysql2Peer(connection, iamHost);
  } catch (error) {
    return error as Error & { code: string; option: string };
  }
  throw new Error("expected verifyMysql2Peer to refuse");
};

describe("verifyMysql2Peer", () => {
  it("accepts a verified chain whose certificate names iamHost (one-label wildcard)", () => {
    expect(() => verifyMysql2Peer({ stream: verified() }, HOST)).not.toThrow();
    expect(() =>
      verifyMysql2Peer({ stream: verified() }, "other.cluster-abc123.us-east-1.rds.amazonaws.com"),
    ).not.toThrow();
  });

  it("refuses a certificate that does not name iamHost, naming iamHost and what it names", () => {
    const error = failure(
      { stream: verified() },
      "mydb.cluster-xyz789.us-east-1.rds.amazonaws.com",
    );
    expect(error).toMatchObject({ code: "TLS_VERIFICATION_FAILED", option: "iamHost" });
    expect(error.message).toContain(
      "does not name mydb.cluster-xyz789.us-east-1.rds.amazonaws.com",
    );
    expect(error.message).toContain("DNS:*.cluster-abc123.us-east-1.rds.amazonaws.com");
  });

  it("matches wildcards over one label only, and never partial wildcards", () => {
    expect(failure({ stream: verified() }, `a.${HOST}`).code).toBe("TLS_VERIFICATION_FAILED");
    expect(failure({ stream: verified() }, "cluster-abc123.us-east-1.rds.amazonaws.com").code).toBe(
      "TLS_VERIFICATION_FAILED",
    );
    // Node's defaults would take `db*.partial.example` for `db1.partial.example`.
    expect(PEER_CERT.checkHost("db1.partial.example")).toBe("db*.partial.example");
    expect(failure({ stream: verified() }, "db1.partial.example").code).toBe(
      "TLS_VERIFICATION_FAILED",
    );
  });

  it("refuses an unverified chain, with the reason, naming ssl", () => {
    const error = failure({
      stream: verified({ authorized: false, authorizationError: "SELF_SIGNED_CERT_IN_CHAIN" }),
    });
    expect(error).toMatchObject({ code: "TLS_VERIFICATION_FAILED", option: "ssl" });
    expect(error.message).toContain("SELF_SIGNED_CERT_IN_CHAIN");
    expect(error.message).toContain("chain was not verified");
  });

  it("refuses a connection without TLS at all", () => {
    expect(failure({})).toMatchObject({ code: "TLS_VERIFICATION_FAILED", option: "ssl" });
    expect(failure({}).message).toContain("no verification result");
    expect(failure({ stream: { encrypted: false } }).code).toBe("TLS_VERIFICATION_FAILED");
  });

  it("refuses a full handshake without a peer certificate", () => {
    const error = failure({ stream: verified({ getPeerX509Certificate: () => undefined }) });
    expect(error).toMatchObject({ code: "TLS_VERIFICATION_FAILED", option: "ssl" });
    expect(error.message).toContain("no TLS certificate");
  });

  it("checks nothing when the connection's ssl says rejectUnauthorized: false", () => {
    const connection = {
      stream: { authorized: false },
      config: { host: "10.0.0.1", ssl: { rejectUnauthorized: false } },
    };
    expect(() => verifyMysql2Peer(connection, HOST)).not.toThrow();
  });

  describe("a resumed TLS session (no certificate to look at)", () => {
    const resumed = verified({
      isSessionReused: () => true,
      getPeerX509Certificate: () => undefined,
    });

    it("is accepted when mysql2 checked the name itself: verifyIdentity on, host is iamHost", () => {
      for (const host of [HOST, HOST.toUpperCase(), `${HOST}.`]) {
        const connection = { stream: resumed, config: { host, ssl: { verifyIdentity: true } } };
        expect(() => verifyMysql2Peer(connection, HOST)).not.toThrow();
      }
    });

    it.each([
      ["verifyIdentity off", { host: HOST, ssl: { verifyIdentity: false } }],
      ["verifyIdentity not set", { host: HOST, ssl: {} }],
      ["another host (a tunnel)", { host: "127.0.0.1", ssl: { verifyIdentity: true } }],
      ["no host", { ssl: { verifyIdentity: true } }],
      ["no ssl object", { host: HOST, ssl: true }],
    ])("is refused with %s", (_name, config) => {
      const error = failure({ stream: resumed, config });
      expect(error).toMatchObject({ code: "TLS_VERIFICATION_FAILED", option: "ssl" });
      expect(error.message).toContain(`did not check against ${HOST}`);
    });

    it("still needs a verified chain", () => {
      const connection = {
        stream: { ...resumed, authorized: false },
        config: { host: HOST, ssl: { verifyIdentity: true } },
      };
      expect(failure(connection).message).toContain("chain was not verified");
    });
  });
});
