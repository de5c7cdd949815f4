import { randomBytes } from "node:crypto";
import { isIP } from "node:net";
import { generate } from "selfsigned";

/** A key pair and certificate, PEM-encoded. */
export interface GatewayCertificate {
  /** The private key (PEM). */
  readonly key: string;
  /** The certificate (PEM); clients pass it as their `ca`. */
  readonly cert: string;
}

/**
 * A self-signed certificate for the names clients may verify: the RDS endpoint the
 * gateway stands for (clients that check the endpoint's name), and loopback (clients
 * that check the address they dial). It is its own CA, so passing it as `ca` is all a
 * client needs to verify it.
 */
export async function selfSignedCertificate(names: readonly string[]): Promise<GatewayCertificate> {
  const unique = [...new Set([...names, "localhost", "127.0.0.1", "::1"])];
  const altNames = unique.map((name) =>
    isIP(name) !== 0 ? { type: 7 as const, ip: name } : { type: 2 as const, value: name },
  );
  const now = Date.now();
  // A unique subject: clients that trust several gateways' certificates at once look
  // issuers up by subject name, and two alike would shadow each other.
  const subject = [
    { name: "commonName", value: names[0] ?? "localhost" },
    { name: "organizationName", value: `rds-iam gateway ${randomBytes(6).toString("hex")}` },
  ];
  const pems = await generate(subject, {
    keyType: "ec",
    curve: "P-256",
    algorithm: "sha256",
    // Back-dated a day so a gateway whose clock a test skews still presents a valid certificate.
    notBeforeDate: new Date(now - 86_400_000),
    notAfterDate: new Date(now + 30 * 86_400_000),
    extensions: [
      { name: "basicConstraints", cA: true },
      { name: "keyUsage", digitalSignature: true, keyCertSign: true, keyEncipherment: true },
      { name: "extKeyUsage", serverAuth: true },
      { name: "subjectAltName", altNames },
    ],
  });
  return { key: pems.private, cert: pems.cert };
}
